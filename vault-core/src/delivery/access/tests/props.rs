//! Properties of the access rule: each rule restated from the module docs
//! and checked against random scenarios.

use super::*;

use std::cmp::Reverse;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;

/// Whole days and, sometimes, hours: equal instants are common, so the
/// boundaries (`now == expiry`, `released == updates_until`) get hit.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..90, prop_oneof![3 => Just(0i64), 1 => 0i64..24])
        .prop_map(|(d, h)| t(d) + Duration::hours(h))
}

fn tier() -> impl Strategy<Value = PricingTier> {
    select(PricingTier::ALL.to_vec())
}

fn owner() -> impl Strategy<Value = UserId> {
    prop_oneof![4 => Just(USER), 1 => Just("someone-else")]
        .prop_map(|u| UserId::parse(u).expect("valid"))
}

fn quota() -> impl Strategy<Value = Quota> {
    (0u32..6, option::of(1u32..5)).prop_map(|(used, limit)| Quota { used, limit })
}

fn item() -> impl Strategy<Value = PurchaseItem> {
    let bundle = |members: Vec<WorkflowId>| PurchaseItem::Bundle {
        bundle_id: BundleId::from_uuid(Uuid::from_u128(77)),
        members,
    };
    prop_oneof![
        4 => Just(PurchaseItem::Workflow {
            workflow_id: wf_id()
        }),
        2 => Just(bundle(vec![other_wf(), wf_id()])),
        1 => Just(bundle(vec![other_wf()])),
        1 => Just(PurchaseItem::Workflow {
            workflow_id: other_wf()
        }),
        1 => Just(PurchaseItem::MembershipIncluded {
            workflow_id: wf_id(),
            membership_id: mid(9),
        }),
    ]
}

/// Any purchase: any status, quota, expiry, update window and item. The
/// id is set by [`scenario`].
fn purchase() -> impl Strategy<Value = Purchase> {
    (
        owner(),
        item(),
        select(PaymentStatus::ALL.to_vec()),
        quota(),
        option::of(instant()),
        option::of(instant()),
        option::weighted(0.9, instant()),
        option::of(instant()),
        option::of(instant()),
    )
        .prop_map(
            |(owner, item, status, quota, expires, until, completed, disputed, refunded)| {
                let mut p = crate::commerce::purchase::tests::pending(item, 4900);
                p.user_id = owner;
                p.status = status;
                p.quota = quota;
                p.license_expires_at = expires;
                p.updates_until = until;
                p.completed_at = completed;
                p.disputed_at = disputed;
                p.refund = refunded.map(|at| RefundState {
                    refunded: usd(100),
                    reason: None,
                    refunded_at: at,
                });
                p
            },
        )
}

/// Any membership: any status, tier, period, quota and past_due_since.
fn membership() -> impl Strategy<Value = Membership> {
    (
        owner(),
        tier(),
        select(MembershipStatus::ALL.to_vec()),
        instant(),
        1i64..60,
        option::of(instant()),
        quota(),
        option::of(instant()),
        option::of(instant()),
        option::of(instant()),
    )
        .prop_map(
            |(owner, tier, status, start, len, trial_end, quota, past_due, canceled, ended)| {
                let mut m = member(0, PricingTier::Pro, false, None);
                m.user_id = owner;
                m.tier = tier;
                m.status = status;
                m.period = Period::new(start, start + Duration::days(len)).expect("valid");
                m.trial_ends_at = trial_end;
                m.quota = quota;
                m.past_due_since = past_due;
                m.canceled_at = canceled;
                m.ended_at = ended;
                m
            },
        )
}

fn file_access() -> impl Strategy<Value = FileAccess> {
    prop_oneof![
        Just(FileAccess::Public),
        Just(FileAccess::Standard),
        tier().prop_map(FileAccess::MinimumTier),
        Just(FileAccess::OwnersOnly),
    ]
}

fn file_target() -> impl Strategy<Value = FileTarget> {
    (file_access(), 0u32..4, instant())
        .prop_map(|(access, major, released)| file_at(access, Version::new(major, 0, 0), released))
}

/// Any workflow status, tier and price, archived on some day when
/// archived, and optionally a file.
fn target() -> impl Strategy<Value = Target> {
    (
        prop_oneof![
            6 => Just(WorkflowStatus::Published),
            2 => Just(WorkflowStatus::Archived),
            1 => Just(WorkflowStatus::Draft),
            1 => Just(WorkflowStatus::ComingSoon),
        ],
        tier(),
        option::of(1i64..10_000),
        instant(),
        option::of(file_target()),
    )
        .prop_map(|(status, tier, price, archived, file)| Target {
            workflow_id: wf_id(),
            status,
            tier,
            price: price.map(usd),
            archived_at: (status == WorkflowStatus::Archived).then_some(archived),
            file,
        })
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        1 => Just(Actor::Anonymous),
        8 => Just(user()),
        1 => Just(stranger()),
        1 => Just(Actor::admin(USER).expect("valid")),
        1 => Just(Actor::Service),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    actor: Actor,
    target: Target,
    ents: Entitlements,
    now: DateTime<Utc>,
    policy: AccessPolicy,
}

impl Scenario {
    fn decide(&self) -> AccessDecision {
        decide(
            &self.actor,
            &self.target,
            &self.ents,
            self.now,
            &self.policy,
        )
    }

    fn with(&self, ents: Entitlements) -> AccessDecision {
        decide(&self.actor, &self.target, &ents, self.now, &self.policy)
    }
}

/// Unique ids in random order: a random high half, the index below.
fn purchase_id(r: u64, i: usize) -> PurchaseId {
    PurchaseId::from_uuid(Uuid::from_u128((u128::from(r) << 64) | i as u128))
}

fn membership_id(r: u64, i: usize) -> MembershipId {
    MembershipId::from_uuid(Uuid::from_u128((u128::from(r) << 64) | i as u128))
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        actor(),
        target(),
        vec((any::<u64>(), purchase()), 0..5),
        vec((any::<u64>(), membership()), 0..5),
        any::<bool>(),
        instant(),
        0i64..10,
    )
        .prop_map(|(actor, target, ps, ms, before, now, grace)| Scenario {
            actor,
            target,
            ents: Entitlements {
                purchases: ps
                    .into_iter()
                    .enumerate()
                    .map(|(i, (r, mut p))| {
                        p.id = purchase_id(r, i);
                        p.terms()
                    })
                    .collect(),
                memberships: ms
                    .into_iter()
                    .enumerate()
                    .map(|(i, (r, mut m))| {
                        m.id = membership_id(r, i);
                        m
                    })
                    .collect(),
                downloaded_before: before,
            },
            now,
            policy: AccessPolicy {
                past_due_grace: Duration::days(grace),
            },
        })
}

fn file_access_of(target: &Target) -> Option<FileAccess> {
    target.file.as_ref().map(|f| f.access)
}

/// The tier a membership needs, straight from the module docs.
fn needed_tier(target: &Target) -> PricingTier {
    match file_access_of(target) {
        Some(FileAccess::MinimumTier(t)) if t > target.tier => t,
        _ => target.tier,
    }
}

/// Rule 6's conditions for a membership's standing, restated.
fn in_good_standing(m: &Membership, now: DateTime<Utc>, grace: Duration) -> bool {
    match m.status {
        MembershipStatus::Trialing => now < m.trial_ends_at.unwrap_or(m.period.end),
        MembershipStatus::Active => now < m.period.end,
        MembershipStatus::PastDue => now < m.past_due_since.unwrap_or(m.period.end) + grace,
        MembershipStatus::Canceled | MembershipStatus::Expired => false,
    }
}

/// Class (0 unlimited purchase, 1 unlimited membership, 2 limited
/// membership, 3 limited purchase), expiry (soonest first, none last),
/// room (most first), trial (paid first), id.
type CostKey = (u8, (bool, Option<DateTime<Utc>>), Reverse<u32>, bool, Uuid);

/// Rule 7's order, restated from the module docs, as a sort key.
fn cost_key(source: DownloadSource, ents: &Entitlements) -> CostKey {
    match source {
        DownloadSource::Purchase(id) => {
            let p = ents.purchases.iter().find(|p| p.id == id).expect("exists");
            match p.quota.remaining() {
                None => (0, (false, None), Reverse(u32::MAX), false, id.as_uuid()),
                Some(left) => (
                    3,
                    (p.license_expires_at.is_none(), p.license_expires_at),
                    Reverse(left),
                    false,
                    id.as_uuid(),
                ),
            }
        }
        DownloadSource::Membership(id) => {
            let m = ents
                .memberships
                .iter()
                .find(|m| m.id == id)
                .expect("exists");
            let trial = m.status == MembershipStatus::Trialing;
            match m.quota.remaining() {
                None => (1, (false, None), Reverse(u32::MAX), trial, id.as_uuid()),
                Some(left) => (2, (false, None), Reverse(left), trial, id.as_uuid()),
            }
        }
        other => panic!("not an entitlement: {other:?}"),
    }
}

fn rank(rule: Rule) -> u8 {
    match rule {
        Rule::Release => 1,
        Rule::Staff => 2,
        Rule::PublicFile => 3,
        Rule::FreeWorkflow => 4,
        Rule::SignIn => 5,
        Rule::Purchase(_) | Rule::Membership(_) | Rule::Entitlements => 6,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A purchase grants only when paid (completed or partially
    /// refunded), its own, covering the workflow, unexpired, with quota
    /// room, covering the file's version, and bought before archiving.
    #[test]
    fn purchase_grants_only_when_paid_current_and_with_room(s in scenario()) {
        let d = s.decide();
        if let Some(Grant { source: DownloadSource::Purchase(id), kind, purchase_status, quota, .. }) = d.grant {
            let p = s.ents.purchases.iter().find(|p| p.id == id).expect("granted by a given purchase");
            prop_assert!(!s.actor.is_privileged());
            prop_assert_eq!(Some(&p.user_id), s.actor.user_id());
            prop_assert!(p.item.covers(s.target.workflow_id));
            prop_assert!(matches!(p.status, PaymentStatus::Completed | PaymentStatus::PartiallyRefunded), "{:?}", p.status);
            prop_assert_eq!(purchase_status, Some(p.status));
            prop_assert_eq!(quota, Some(p.quota));
            prop_assert_eq!(kind, AccessKind::Purchased);
            prop_assert!(p.license_expires_at.is_none_or(|at| s.now < at));
            prop_assert!(p.quota.has_room());
            if let (Some(f), Some(until)) = (&s.target.file, p.updates_until) {
                prop_assert!(f.released_at <= until);
            }
            if s.target.status == WorkflowStatus::Archived {
                let archived = s.target.archived_at.expect("archived");
                prop_assert!(p.completed_at.is_some_and(|c| c < archived));
            }
        }
    }

    /// A membership grants only in good standing (never canceled or
    /// expired), when its tier covers the required tier, the file is
    /// not owners-only and the period quota has room.
    #[test]
    fn membership_grants_only_in_standing_and_tier(s in scenario()) {
        let d = s.decide();
        if let Some(Grant { source: DownloadSource::Membership(id), kind, quota, period_start, purchase_status }) = d.grant {
            let m = s.ents.memberships.iter().find(|m| m.id == id).expect("granted by a given membership");
            prop_assert!(!s.actor.is_privileged());
            prop_assert_eq!(Some(&m.user_id), s.actor.user_id());
            prop_assert!(!matches!(m.status, MembershipStatus::Canceled | MembershipStatus::Expired));
            prop_assert!(in_good_standing(m, s.now, s.policy.past_due_grace));
            prop_assert!(m.tier.covers(needed_tier(&s.target)), "{} does not cover {}", m.tier, needed_tier(&s.target));
            prop_assert!(m.tier.covers(s.target.tier));
            prop_assert_ne!(file_access_of(&s.target), Some(FileAccess::OwnersOnly));
            prop_assert!(m.quota.has_room());
            prop_assert_eq!(quota, Some(m.quota));
            prop_assert_eq!(period_start, Some(m.period.start));
            prop_assert_eq!(purchase_status, None);
            let expected = if m.status == MembershipStatus::Trialing { AccessKind::Trial } else { AccessKind::Member };
            prop_assert_eq!(kind, expected);
            if s.target.status == WorkflowStatus::Archived {
                prop_assert!(s.ents.downloaded_before);
            }
        }
    }

    /// More entitlements never turn a grant into a denial.
    #[test]
    fn extra_entitlements_never_revoke(s in scenario(), p in purchase(), m in membership(), r in any::<u64>()) {
        let d = s.decide();
        let mut more = s.ents.clone();
        let mut p = p;
        p.id = purchase_id(r, 99);
        more.purchases.push(p.terms());
        let with_purchase = s.with(more.clone());
        let mut m = m;
        m.id = membership_id(r, 99);
        more.memberships.push(m);
        let with_both = s.with(more);
        if d.is_granted() {
            prop_assert!(with_purchase.is_granted(), "{}\n{}", d, with_purchase);
            prop_assert!(with_both.is_granted(), "{}\n{}", d, with_both);
        }
    }

    /// Entitlements of another user, or purchases of another workflow,
    /// change nothing at all.
    #[test]
    fn unrelated_entitlements_change_nothing(s in scenario(), p in purchase(), m in membership(), r in any::<u64>(), which in 0u8..3) {
        let d = s.decide();
        let mut more = s.ents.clone();
        let mut p = p;
        p.id = purchase_id(r, 99);
        let mut m = m;
        m.id = membership_id(r, 99);
        let someone_else = UserId::parse("a-third-user").expect("valid");
        match which {
            0 => {
                p.user_id = someone_else;
                more.purchases.push(p.terms());
            }
            1 => {
                p.item = PurchaseItem::Workflow { workflow_id: other_wf() };
                more.purchases.push(p.terms());
            }
            _ => {
                m.user_id = someone_else;
                more.memberships.push(m);
            }
        }
        prop_assert_eq!(s.with(more), d);
    }

    /// The order of the entitlement vectors does not matter, not even
    /// for the trace.
    #[test]
    fn decisions_do_not_depend_on_input_order(
        (s, ps, ms) in scenario().prop_flat_map(|s| {
            let ps = Just(s.ents.purchases.clone()).prop_shuffle();
            let ms = Just(s.ents.memberships.clone()).prop_shuffle();
            (Just(s), ps, ms)
        })
    ) {
        let shuffled = Entitlements {
            purchases: ps,
            memberships: ms,
            downloaded_before: s.ents.downloaded_before,
        };
        prop_assert_eq!(s.with(shuffled), s.decide());
    }

    /// Draft and coming_soon workflows: staff only, decided by rule 1.
    #[test]
    fn unreleased_is_for_staff_only(s in scenario()) {
        let d = s.decide();
        let unreleased = matches!(s.target.status, WorkflowStatus::Draft | WorkflowStatus::ComingSoon);
        if s.actor.is_privileged() {
            prop_assert_eq!(d.kind(), Some(AccessKind::Staff));
            prop_assert_eq!(d.decided_by, Rule::Staff);
        } else if unreleased {
            prop_assert!(!d.is_granted());
            prop_assert_eq!(d.decided_by, Rule::Release);
            prop_assert_eq!(d.reasons, vec![DenyReason::NotReleased { status: s.target.status }]);
        }
    }

    /// A denial gives at least one reason; a grant gives none, and no
    /// remedies.
    #[test]
    fn denials_have_reasons_and_grants_none(s in scenario()) {
        let d = s.decide();
        if d.is_granted() {
            prop_assert!(d.reasons.is_empty());
            prop_assert!(d.remedies.is_empty());
            prop_assert!(d.summary().starts_with("granted: "));
        } else {
            prop_assert!(!d.reasons.is_empty(), "{}", d);
            prop_assert!(d.summary().starts_with("denied: "));
        }
    }

    /// The trace runs through the rules in precedence order and ends
    /// with the deciding rule.
    #[test]
    fn trace_ends_with_the_deciding_rule(s in scenario()) {
        let d = s.decide();
        let last = d.trace.last().expect("never empty");
        prop_assert_eq!(last.rule, d.decided_by);
        if let Some(g) = d.grant {
            prop_assert_eq!(&last.verdict, &Verdict::Grants { kind: g.kind });
        }
        prop_assert_eq!(d.trace[0].rule, Rule::Release);
        let ranks: Vec<u8> = d.trace.iter().map(|s| rank(s.rule)).collect();
        prop_assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{:?}", ranks);
    }

    /// Rule 3 and 4: public previews and free workflows, when published,
    /// are free for everyone (staff excepted, who are staff).
    #[test]
    fn published_free_content_is_free_for_everyone(s in scenario()) {
        let d = s.decide();
        let published = s.target.status == WorkflowStatus::Published;
        let access = file_access_of(&s.target);
        let public = access == Some(FileAccess::Public);
        let stricter = matches!(access, Some(FileAccess::OwnersOnly))
            || matches!(access, Some(FileAccess::MinimumTier(t)) if t > s.target.tier);
        let free_workflow = s.target.tier == PricingTier::Free && !stricter;
        if published && !s.actor.is_privileged() && (public || free_workflow) {
            prop_assert_eq!(d.grant.map(|g| (g.kind, g.source)), Some((AccessKind::Free, DownloadSource::Free)), "{}", d);
        }
    }

    /// Rule 6/7: entitlements are judged each on its own; access is
    /// granted through them exactly when one of them alone would grant,
    /// and the one used is the cheapest of those (module docs' order).
    #[test]
    fn the_cheapest_passing_entitlement_is_used(s in scenario()) {
        let d = s.decide();
        if !matches!(d.decided_by, Rule::Purchase(_) | Rule::Membership(_) | Rule::Entitlements) {
            return Ok(());
        }
        let alone = |purchases: Vec<PurchaseTerms>, memberships: Vec<Membership>| {
            s.with(Entitlements { purchases, memberships, downloaded_before: s.ents.downloaded_before })
        };
        let mut passing: Vec<DownloadSource> = Vec::new();
        for p in &s.ents.purchases {
            if let Some(g) = alone(vec![p.clone()], vec![]).grant {
                prop_assert_eq!(g.source, DownloadSource::Purchase(p.id));
                passing.push(g.source);
            }
        }
        for m in &s.ents.memberships {
            if let Some(g) = alone(vec![], vec![m.clone()]).grant {
                prop_assert_eq!(g.source, DownloadSource::Membership(m.id));
                passing.push(g.source);
            }
        }
        match d.grant {
            None => prop_assert!(passing.is_empty()),
            Some(g) => {
                let best = passing.iter().copied().min_by_key(|src| cost_key(*src, &s.ents));
                prop_assert_eq!(Some(g.source), best, "{}", d);
            }
        }
    }

    /// A denial at rule 8 lists one reason per entitlement consulted (or
    /// a single general one), and only sensible remedies.
    #[test]
    fn denials_list_every_reason_and_sensible_remedies(s in scenario()) {
        let d = s.decide();
        if d.is_granted() || d.decided_by != Rule::Entitlements {
            return Ok(());
        }
        let mine = |u: &UserId| Some(u) == s.actor.user_id();
        let consulted = s.ents.purchases.iter().filter(|p| mine(&p.user_id) && p.item.covers(s.target.workflow_id)).count()
            + s.ents.memberships.iter().filter(|m| mine(&m.user_id)).count();
        prop_assert_eq!(d.reasons.len(), consulted.max(1), "{}", d);
        let archived = s.target.status == WorkflowStatus::Archived;
        for r in &d.remedies {
            match r {
                Remedy::SignIn => prop_assert!(false, "signed in already"),
                Remedy::Buy { price } => prop_assert_eq!(Some(*price), s.target.price),
                Remedy::Join { tier } => {
                    prop_assert_eq!(*tier, needed_tier(&s.target));
                    prop_assert_ne!(file_access_of(&s.target), Some(FileAccess::OwnersOnly));
                }
                Remedy::Upgrade { to, .. } => prop_assert_eq!(*to, needed_tier(&s.target)),
                Remedy::WaitUntil { at } => prop_assert!(*at > s.now, "waiting until the past: {}", d),
                Remedy::Renew { .. } => {}
            }
            prop_assert!(!archived, "archived workflows cannot be bought or joined: {}", d);
        }
    }
}
