use super::*;
use crate::commerce::membership::MembershipStatus;
use chrono::Duration;
use proptest::prelude::*;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(1_000_000 + s)
}

const DAY: i64 = 86_400;

fn period(from_day: i64, days: i64) -> Period {
    Period::new(t(from_day * DAY), t((from_day + days) * DAY)).expect("valid")
}

// Ranks as a Stripe integration gives them: created, invoice, updated, deleted.
fn stamp(at: i64, rank: u8, id: &str) -> EventStamp {
    EventStamp::new(t(at), rank, id).expect("valid")
}

fn terms(cancel: bool, tier: PricingTier) -> Option<SubscriptionTerms> {
    Some(SubscriptionTerms {
        cancel_at_period_end: cancel,
        plan: Some(Plan {
            tier,
            period_download_limit: Some(10),
        }),
        trial_ends_at: None,
        price_id: Some(format!("price_{tier}")),
    })
}

fn snap(
    stamp: EventStamp,
    status: SubscriptionStatus,
    period: Option<Period>,
    terms: Option<SubscriptionTerms>,
) -> SubscriptionSnapshot {
    SubscriptionSnapshot {
        subscription_id: "sub_1".into(),
        stamp,
        status,
        period,
        terms,
    }
}

fn start(s: &SubscriptionSnapshot) -> Membership {
    s.start(
        UserId::parse("ann").expect("valid"),
        Some("cus_1".into()),
        MembershipId::from_uuid(uuid::Uuid::nil()),
        t(0),
    )
    .expect("valid")
    .expect("starts")
}

#[test]
fn a_deletion_delivered_first_stays_final_with_its_own_terms() {
    use SubscriptionStatus as S;
    let created = snap(
        stamp(0, 0, "evt_a"),
        S::Active,
        Some(period(0, 30)),
        terms(false, PricingTier::Pro),
    );
    let updated = snap(
        stamp(10, 2, "evt_b"),
        S::Active,
        Some(period(0, 30)),
        terms(false, PricingTier::Pro),
    );
    let deleted = snap(
        stamp(20, 3, "evt_c"),
        S::Canceled,
        Some(period(0, 30)),
        terms(true, PricingTier::Pro),
    );
    let mut m = start(&deleted);
    assert_eq!(
        (m.status, m.cancel_at_period_end),
        (MembershipStatus::Canceled, true)
    );
    let ended = m.clone();
    assert!(
        !m.follow(&updated, t(30)).expect("older"),
        "an older update changes nothing"
    );
    assert!(!m.follow(&created, t(31)).expect("older"));
    assert_eq!(m, ended);
    // Even a newer live snapshot cannot revive it.
    let later = snap(
        stamp(40, 2, "evt_d"),
        S::Active,
        Some(period(30, 30)),
        terms(false, PricingTier::Pro),
    );
    m.follow(&later, t(40)).expect("merges");
    assert_eq!(m.status, MembershipStatus::Canceled);
}

#[test]
fn same_second_events_are_ordered_by_rank_then_id() {
    use SubscriptionStatus as S;
    // At renewal Stripe sends invoice.paid and subscription.updated in one
    // second; a past-due update in the same second as the invoice wins by rank.
    let invoice = snap(stamp(5, 1, "evt_z"), S::Active, Some(period(30, 30)), None);
    let update = snap(
        stamp(5, 2, "evt_a"),
        S::PastDue,
        Some(period(30, 30)),
        terms(false, PricingTier::Pro),
    );
    let created = snap(
        stamp(0, 0, "evt_0"),
        S::Active,
        Some(period(0, 30)),
        terms(false, PricingTier::Pro),
    );
    for order in [[&invoice, &update], [&update, &invoice]] {
        let mut m = start(&created);
        for s in order {
            m.follow(s, t(6)).expect("merges");
        }
        assert_eq!(m.status, MembershipStatus::PastDue);
        assert_eq!(m.past_due_since, Some(t(5)));
        assert_eq!(m.period, period(30, 30));
    }
    // Same second and rank: the larger event id decides.
    let a = snap(
        stamp(9, 2, "evt_a"),
        S::Active,
        None,
        terms(true, PricingTier::Pro),
    );
    let b = snap(
        stamp(9, 2, "evt_b"),
        S::Active,
        None,
        terms(false, PricingTier::Basic),
    );
    for order in [[&a, &b], [&b, &a]] {
        let mut m = start(&created);
        for s in order {
            m.follow(s, t(10)).expect("merges");
        }
        assert_eq!(
            (m.cancel_at_period_end, m.tier),
            (false, PricingTier::Basic)
        );
    }
}

#[test]
fn invoices_move_status_and_period_but_never_terms() {
    use SubscriptionStatus as S;
    let created = snap(
        stamp(0, 0, "evt_0"),
        S::Active,
        Some(period(0, 30)),
        terms(true, PricingTier::Pro),
    );
    let mut m = start(&created);
    m.quota.used = 4;
    let failed = snap(stamp(30 * DAY, 1, "evt_f"), S::PastDue, None, None);
    assert!(m.follow(&failed, t(30 * DAY)).expect("merges"));
    assert_eq!(
        (m.status, m.quota.used, m.cancel_at_period_end),
        (MembershipStatus::PastDue, 4, true)
    );
    let paid = snap(
        stamp(31 * DAY, 1, "evt_p"),
        S::Active,
        Some(period(30, 30)),
        None,
    );
    assert!(m.follow(&paid, t(31 * DAY)).expect("merges"));
    assert_eq!(
        (m.status, m.past_due_since, m.quota.used),
        (MembershipStatus::Active, None, 0)
    );
    assert_eq!(m.period, period(30, 30));
    assert!(
        m.cancel_at_period_end,
        "an invoice says nothing about the cancel flag"
    );
    assert!(
        !m.follow(&paid, t(32 * DAY)).expect("repeat"),
        "a repeat changes nothing"
    );
}

#[test]
fn incomplete_starts_nothing_and_bad_snapshots_change_nothing() {
    use SubscriptionStatus as S;
    let incomplete = snap(
        stamp(0, 0, "evt_0"),
        S::Incomplete,
        Some(period(0, 30)),
        terms(false, PricingTier::Pro),
    );
    let none = incomplete
        .start(
            UserId::parse("ann").expect("valid"),
            None,
            MembershipId::from_uuid(uuid::Uuid::nil()),
            t(0),
        )
        .expect("valid");
    assert_eq!(none, None);
    let created = snap(
        stamp(0, 0, "evt_0"),
        S::Active,
        Some(period(0, 30)),
        terms(false, PricingTier::Pro),
    );
    let mut m = start(&created);
    let before = m.clone();
    let free = snap(
        stamp(9, 2, "evt_9"),
        S::Active,
        None,
        terms(false, PricingTier::Free),
    );
    assert!(matches!(m.follow(&free, t(9)), Err(Error::Invalid(e)) if e.field() == "tier"));
    let mut nul = snap(stamp(9, 2, "evt_9"), S::Active, None, None);
    nul.subscription_id = "sub_\u{0}".into();
    assert!(matches!(m.follow(&nul, t(9)), Err(Error::Invalid(_))));
    assert_eq!(m, before);
    let partial = snap(stamp(9, 1, "evt_9"), S::Active, Some(period(0, 30)), None);
    assert!(matches!(
        partial.start(UserId::parse("ann").expect("valid"), None, MembershipId::from_uuid(uuid::Uuid::nil()), t(0)),
        Err(Error::Invalid(e)) if e.field() == "subscription"
    ));
}

/// One plausible history of a subscription, as the events Stripe would
/// send: the subscription's own snapshots and its invoices.
fn history() -> impl Strategy<Value = Vec<SubscriptionSnapshot>> {
    use SubscriptionStatus as S;
    let first = prop_oneof![Just(S::Incomplete), Just(S::Trialing), Just(S::Active)];
    // Each step: (seconds after the previous one, 0 = the same second; what happens).
    let step = (prop_oneof![Just(0i64), 1i64..5, Just(DAY)], 0u8..5);
    (first, proptest::collection::vec(step, 0..8), any::<bool>()).prop_map(
        |(first, steps, delete)| {
            let mut out = Vec::new();
            let mut n = 0;
            let id = |n: &mut u32| {
                *n += 1;
                // Not in time order: Stripe's ids say nothing about time.
                format!("evt_{:04}", (*n * 7919) % 10_000)
            };
            let mut at = 0i64;
            let mut p = period(0, 30);
            let (mut cancel, mut tier) = (false, PricingTier::Pro);
            let mut status = first;
            out.push(snap(
                stamp(at, 0, &id(&mut n)),
                status,
                Some(p),
                terms(cancel, tier),
            ));
            if first == S::Incomplete {
                status = S::Active;
                out.push(snap(stamp(at, 1, &id(&mut n)), S::Active, Some(p), None));
                out.push(snap(
                    stamp(at, 2, &id(&mut n)),
                    status,
                    Some(p),
                    terms(cancel, tier),
                ));
            }
            for (gap, what) in steps {
                at += gap;
                match what {
                    0 => {
                        // Renewal: the invoice is paid, the subscription moves on.
                        p = Period::new(p.end, p.end + Duration::days(30)).expect("valid");
                        status = S::Active;
                        out.push(snap(stamp(at, 1, &id(&mut n)), S::Active, Some(p), None));
                        out.push(snap(
                            stamp(at, 2, &id(&mut n)),
                            status,
                            Some(p),
                            terms(cancel, tier),
                        ));
                    }
                    1 => {
                        status = S::PastDue;
                        out.push(snap(stamp(at, 1, &id(&mut n)), S::PastDue, None, None));
                        out.push(snap(
                            stamp(at, 2, &id(&mut n)),
                            status,
                            Some(p),
                            terms(cancel, tier),
                        ));
                    }
                    2 => {
                        cancel = !cancel;
                        out.push(snap(
                            stamp(at, 2, &id(&mut n)),
                            status,
                            Some(p),
                            terms(cancel, tier),
                        ));
                    }
                    3 => {
                        tier = if tier == PricingTier::Pro {
                            PricingTier::Premium
                        } else {
                            PricingTier::Pro
                        };
                        out.push(snap(
                            stamp(at, 2, &id(&mut n)),
                            status,
                            Some(p),
                            terms(cancel, tier),
                        ));
                    }
                    _ => {
                        // A trial ends into a paid period, or a past-due one recovers.
                        status = S::Active;
                        out.push(snap(stamp(at, 1, &id(&mut n)), S::Active, Some(p), None));
                        out.push(snap(
                            stamp(at, 2, &id(&mut n)),
                            status,
                            Some(p),
                            terms(cancel, tier),
                        ));
                    }
                }
            }
            if delete {
                at += 1;
                out.push(snap(
                    stamp(at, 3, &id(&mut n)),
                    S::Canceled,
                    Some(p),
                    terms(cancel, tier),
                ));
            }
            out
        },
    )
}

// Delivers in `order`; an invoice before any membership is parked and
// merged once one starts, as the vault does.
fn deliver(events: &[SubscriptionSnapshot], order: &[usize]) -> Option<Membership> {
    let mut m: Option<Membership> = None;
    let mut parked = Vec::new();
    for &i in order {
        let s = &events[i];
        match &mut m {
            Some(m) => {
                m.follow(s, t(0)).expect("merges");
            }
            None if s.terms.is_none() => parked.push(s),
            None => {
                m = s
                    .start(
                        UserId::parse("ann").expect("valid"),
                        None,
                        MembershipId::from_uuid(uuid::Uuid::nil()),
                        t(0),
                    )
                    .expect("valid");
                if let Some(m) = &mut m {
                    for p in parked.drain(..) {
                        m.follow(p, t(0)).expect("merges");
                    }
                }
            }
        }
    }
    m
}

proptest! {
    /// Whatever the delivery order and however often each event arrives,
    /// the membership ends the same, and as the history defines: status and
    /// terms from the newest event by stamp, the latest period, ended for
    /// good once deleted.
    #[test]
    fn delivery_order_does_not_matter(
        events in history(),
        picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..40),
    ) {
        let natural: Vec<usize> = (0..events.len()).collect();
        let mut shuffled = natural.clone();
        for (k, i) in picks.iter().enumerate() {
            if k % 2 == 0 {
                shuffled.push(i.index(events.len()));
            }
            let j = i.index(shuffled.len());
            let k = k % shuffled.len();
            shuffled.swap(j, k);
        }
        let a = deliver(&events, &natural).expect("started");
        let b = deliver(&events, &shuffled).expect("started");
        prop_assert_eq!(&a, &b);
        let newest = events.iter().max_by(|x, y| x.stamp.cmp(&y.stamp)).expect("some");
        let newest_terms = events
            .iter()
            .filter(|s| s.terms.is_some())
            .max_by(|x, y| x.stamp.cmp(&y.stamp))
            .and_then(|s| s.terms.clone())
            .expect("snapshots");
        let deleted = events.iter().any(|s| s.status == SubscriptionStatus::Canceled);
        let expected = if deleted {
            MembershipStatus::Canceled
        } else {
            match newest.status {
                SubscriptionStatus::PastDue => MembershipStatus::PastDue,
                SubscriptionStatus::Trialing => MembershipStatus::Trialing,
                _ => MembershipStatus::Active,
            }
        };
        prop_assert_eq!(b.status, expected);
        let latest = events.iter().filter_map(|s| s.period).max_by_key(|p| (p.start, p.end)).expect("periods");
        prop_assert_eq!(b.period, latest);
        prop_assert_eq!(b.cancel_at_period_end, newest_terms.cancel_at_period_end);
        prop_assert_eq!(Some(b.tier), newest_terms.plan.map(|p| p.tier));
    }
}

#[test]
fn a_started_membership_carries_the_subscription_it_follows() {
    let s = snap(
        stamp(5, 0, "evt_1"),
        SubscriptionStatus::Active,
        Some(period(0, 30)),
        terms(false, PricingTier::Pro),
    );
    let m = start(&s);
    assert_eq!(m.provider.customer_id.as_deref(), Some("cus_1"));
    assert_eq!(m.provider.subscription_id.as_deref(), Some("sub_1"));
    assert_eq!(m.provider.price_id.as_deref(), Some("price_pro"));
}

#[test]
fn a_snapshot_with_a_bad_price_id_is_refused_before_anything_merges() {
    for bad in ["price one", "price_\u{0}", ""] {
        let mut t = terms(false, PricingTier::Pro);
        if let Some(t) = t.as_mut() {
            t.price_id = Some(bad.into());
        }
        let s = snap(
            stamp(5, 0, "evt_1"),
            SubscriptionStatus::Active,
            Some(period(0, 30)),
            t,
        );
        assert_eq!(s.validate().expect_err(bad).field(), "provider.price_id");
    }
}
