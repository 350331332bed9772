use super::*;
use proptest::prelude::*;

fn t(days: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(days)
}

fn member(trial: bool) -> Membership {
    NewMembership {
        user_id: UserId::parse("m").expect("valid"),
        tier: PricingTier::Pro,
        period: Period::new(t(0), t(30)).expect("valid"),
        trial,
        period_download_limit: Some(10),
        features: BTreeMap::new(),
        provider: ProviderRefs::default(),
    }
    .build(MembershipId::from_uuid(uuid::Uuid::nil()), t(0))
    .expect("valid")
}

#[test]
fn periods_end_within_the_dates_stores_hold() {
    let last = crate::value::clock::MAX_DATE
        .and_hms_opt(23, 59, 59)
        .expect("time")
        .and_utc();
    assert!(Period::new(t(0), last).is_ok());
    let field = |r: Result<Period, ValidationError>| r.expect_err("refused").field();
    assert_eq!(
        field(Period::new(t(0), DateTime::<Utc>::MAX_UTC)),
        "current_period_end"
    );
    assert_eq!(
        field(Period::new(DateTime::<Utc>::MIN_UTC, t(0))),
        "current_period_start"
    );
    let json = serde_json::json!({ "start": t(0), "end": last + Duration::seconds(1) });
    assert!(serde_json::from_value::<Period>(json).is_err());
}

#[test]
fn feature_strings_refuse_control_characters_at_any_depth() {
    let check = |v: serde_json::Value| {
        let features: BTreeMap<String, serde_json::Value> =
            serde_json::from_value(v).expect("a map");
        check_features(&features)
    };
    for hostile in [
        serde_json::json!({ "plan": "pro\u{0}" }),
        serde_json::json!({ "limits": { "note": "a\u{0}b" } }),
        serde_json::json!({ "limits": { "k\u{0}": 1 } }),
        serde_json::json!({ "tags": [["deep", "\u{1b}[31m"]] }),
    ] {
        assert_eq!(
            check(hostile.clone()).expect_err("refused").field(),
            "features",
            "{hostile}"
        );
    }
    assert!(check(serde_json::json!({ "seats": 3, "note": { "k": ["v\n", null] } })).is_ok());
    // As deep as a parsed body can be (serde_json stops at 128 levels).
    let deep = format!(
        r#"{{"deep":{}"\u0000"{}}}"#,
        "[".repeat(120),
        "]".repeat(120)
    );
    let features = serde_json::from_str(&deep).expect("parses");
    assert_eq!(
        check_features(&features).expect_err("refused").field(),
        "features"
    );
}

#[test]
fn features_and_provider_ids_are_bounded() {
    let build = |features: BTreeMap<String, serde_json::Value>, provider: ProviderRefs| {
        NewMembership {
            user_id: UserId::parse("m").expect("valid"),
            tier: PricingTier::Pro,
            period: Period::new(t(0), t(30)).expect("valid"),
            trial: false,
            period_download_limit: None,
            features,
            provider,
        }
        .build(MembershipId::from_uuid(uuid::Uuid::nil()), t(0))
    };
    let flags = |n: usize, value: serde_json::Value| -> BTreeMap<String, serde_json::Value> {
        (0..n)
            .map(|i| (format!("flag_{i}"), value.clone()))
            .collect()
    };
    assert!(build(flags(MAX_FEATURES, true.into()), ProviderRefs::default()).is_ok());
    let field = |r: Result<Membership, ValidationError>| r.expect_err("refused").field();
    assert_eq!(
        field(build(
            flags(MAX_FEATURES + 1, true.into()),
            ProviderRefs::default()
        )),
        "features"
    );
    let mut named = BTreeMap::new();
    named.insert(
        "n".repeat(MAX_FEATURE_NAME + 1),
        serde_json::Value::Bool(true),
    );
    assert_eq!(field(build(named, ProviderRefs::default())), "features");
    let mut empty_name = BTreeMap::new();
    empty_name.insert(String::new(), serde_json::Value::Bool(true));
    assert_eq!(
        field(build(empty_name, ProviderRefs::default())),
        "features"
    );
    let big = flags(2, "x".repeat(MAX_FEATURES_JSON / 2).into());
    assert_eq!(field(build(big, ProviderRefs::default())), "features");
    let provider = ProviderRefs {
        subscription_id: Some("sub 1".into()),
        ..ProviderRefs::default()
    };
    assert_eq!(
        field(build(BTreeMap::new(), provider)),
        "provider.subscription_id"
    );
}

#[test]
fn renewal_resets_quota_and_is_idempotent() {
    let mut m = member(false);
    m.quota.used = 7;
    let next = Period::new(t(30), t(60)).expect("valid");
    assert!(
        m.apply(&MembershipEvent::Renew { period: next }, t(30))
            .expect("ok")
    );
    assert_eq!(m.quota.used, 0);
    m.quota.used = 2;
    assert!(
        !m.apply(&MembershipEvent::Renew { period: next }, t(31))
            .expect("ok")
    );
    assert_eq!(
        m.quota.used, 2,
        "a repeated renewal must not reset the quota"
    );
}

#[test]
fn extending_the_current_period_keeps_its_quota() {
    let mut m = member(false);
    m.quota.used = 7;
    let longer = Period::new(t(0), t(60)).expect("valid");
    assert!(
        m.apply(&MembershipEvent::Renew { period: longer }, t(10))
            .expect("ok")
    );
    assert_eq!(m.period, longer);
    assert_eq!(m.quota.used, 7, "the same period, the same downloads");
    let mut trial = member(true);
    trial.quota.used = 3;
    let same = trial.period;
    trial
        .apply(&MembershipEvent::Renew { period: same }, t(10))
        .expect("converts");
    assert_eq!(trial.status, MembershipStatus::Active);
    assert_eq!(trial.quota.used, 3);
}

#[test]
fn trial_converts_on_first_payment() {
    let mut m = member(true);
    assert_eq!(m.status, MembershipStatus::Trialing);
    let next = Period::new(t(30), t(60)).expect("valid");
    m.apply(&MembershipEvent::Renew { period: next }, t(30))
        .expect("ok");
    assert_eq!(m.status, MembershipStatus::Active);
}

#[test]
fn tier_changes_keep_enrollment() {
    let mut m = member(false);
    let enrolled = m.enrolled_at;
    m.apply(
        &MembershipEvent::ChangeTier {
            tier: PricingTier::Premium,
            period_download_limit: None,
        },
        t(5),
    )
    .expect("upgrade");
    m.apply(
        &MembershipEvent::ChangeTier {
            tier: PricingTier::Basic,
            period_download_limit: Some(3),
        },
        t(6),
    )
    .expect("downgrade");
    assert_eq!(m.enrolled_at, enrolled);
    assert_eq!(m.tier, PricingTier::Basic);
}

#[test]
fn illegal_transitions_are_typed_and_change_nothing() {
    let mut m = member(false);
    m.apply(&MembershipEvent::Cancel, t(1)).expect("cancel");
    let before = m.clone();
    for ev in [
        MembershipEvent::Renew {
            period: Period::new(t(30), t(60)).expect("valid"),
        },
        MembershipEvent::PaymentFailed,
        MembershipEvent::ChangeTier {
            tier: PricingTier::Premium,
            period_download_limit: None,
        },
        MembershipEvent::CancelAtPeriodEnd(true),
    ] {
        let e = m.apply(&ev, t(2)).expect_err("refused");
        assert!(
            matches!(
                e,
                Error::InvalidTransition {
                    state: "canceled",
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(m, before);
    }
    // An active membership cannot expire before its period ends.
    let mut a = member(false);
    assert!(matches!(
        a.apply(&MembershipEvent::Expire, t(10)),
        Err(Error::InvalidTransition {
            state: "active",
            event: "expire",
            ..
        })
    ));
    a.apply(&MembershipEvent::Expire, t(30))
        .expect("period over");
    assert_eq!(a.status, MembershipStatus::Expired);
}

#[test]
fn past_due_grace() {
    let mut m = member(false);
    m.apply(&MembershipEvent::PaymentFailed, t(29)).expect("ok");
    let grace = Duration::days(3);
    assert!(m.standing(t(31), grace).grants());
    assert!(!m.standing(t(32), grace).grants());
    assert!(matches!(m.standing(t(32), grace), Standing::Lapsed { .. }));
}

#[test]
fn an_endless_grace_does_not_panic() {
    let mut m = member(false);
    m.apply(&MembershipEvent::PaymentFailed, t(29)).expect("ok");
    assert!(m.standing(t(40), Duration::MAX).grants());
}

#[test]
fn periods_are_checked_on_deserialize() {
    let p = Period::new(t(0), t(30)).expect("valid");
    let json = serde_json::to_string(&p).expect("serializes");
    assert_eq!(serde_json::from_str::<Period>(&json).expect("valid"), p);
    let reversed = serde_json::to_string(&Period {
        start: t(30),
        end: t(0),
    })
    .expect("ser");
    let e = serde_json::from_str::<Period>(&reversed).expect_err("reversed");
    assert!(e.to_string().contains("current_period_end"), "{e}");
}

#[test]
fn one_membership_in_good_standing_per_user() {
    let grace = Duration::days(3);
    let mut held = member(false);
    held.id = MembershipId::from_uuid(uuid::Uuid::from_u128(1));
    let mut lapsed = member(false);
    lapsed.id = MembershipId::from_uuid(uuid::Uuid::from_u128(2));
    lapsed.period = Period::new(t(-60), t(-30)).expect("valid");
    let mut new = member(false);
    new.id = MembershipId::from_uuid(uuid::Uuid::from_u128(3));
    let slot = claim_slot(&[held.clone(), lapsed.clone()], &new, t(1), grace);
    assert_eq!(slot.held_by, Some(held.id));
    assert_eq!(slot.lapsed.len(), 1);
    assert_eq!(
        (
            slot.lapsed[0].id,
            slot.lapsed[0].status,
            slot.lapsed[0].revision
        ),
        (lapsed.id, MembershipStatus::Expired, lapsed.revision + 1)
    );
    // Free once the holder lapses too; an ended newcomer needs no slot.
    assert_eq!(
        claim_slot(&[held.clone()], &new, t(30), grace).held_by,
        None
    );
    let mut ended = new.clone();
    ended.status = MembershipStatus::Canceled;
    assert_eq!(
        claim_slot(&[held.clone(), lapsed], &ended, t(1), grace),
        Slot {
            held_by: None,
            lapsed: vec![]
        }
    );
    // Another user's membership never holds the slot.
    let mut other = held;
    other.user_id = UserId::parse("someone-else").expect("valid");
    assert_eq!(claim_slot(&[other], &new, t(1), grace).held_by, None);
}

fn arb_event() -> impl Strategy<Value = MembershipEvent> {
    prop_oneof![
        (0i64..200, 1i64..60).prop_map(|(s, len)| MembershipEvent::Renew {
            period: Period::new(t(s), t(s + len)).expect("valid"),
        }),
        Just(MembershipEvent::PaymentFailed),
        (1usize..5, proptest::option::of(1u32..20)).prop_map(|(i, l)| {
            MembershipEvent::ChangeTier {
                tier: PricingTier::ALL[i],
                period_download_limit: l,
            }
        }),
        any::<bool>().prop_map(MembershipEvent::CancelAtPeriodEnd),
        Just(MembershipEvent::Cancel),
        Just(MembershipEvent::Expire),
    ]
}

fn arb_stored() -> impl Strategy<Value = Membership> {
    (
        0usize..5,
        -90i64..30,
        1i64..60,
        proptest::option::of(-90i64..30),
    )
        .prop_map(|(status, start, len, past_due)| {
            let mut m = member(false);
            m.id = MembershipId::from_uuid(uuid::Uuid::from_u128(
                (status as u128) << 32 | (start + 100) as u128,
            ));
            m.status = MembershipStatus::ALL[status];
            m.period = Period::new(t(start), t(start + len)).expect("valid");
            m.past_due_since = past_due.map(t);
            m
        })
}

proptest! {
    /// The slot is held exactly when one stored membership grants at
    /// `now`; exactly the lapsed ones expire, one revision up; nothing
    /// else is touched.
    #[test]
    fn claim_slot_matches_standing(existing in proptest::collection::vec(arb_stored(), 0..6), day in -10i64..60) {
        let now = t(day);
        let grace = Duration::days(3);
        let mut new = member(false);
        new.id = MembershipId::from_uuid(uuid::Uuid::from_u128(u128::MAX));
        let slot = claim_slot(&existing, &new, now, grace);
        let granting = existing.iter().any(|m| m.standing(now, grace).grants());
        prop_assert_eq!(slot.held_by.is_some(), granting);
        let lapsed: Vec<MembershipId> = existing
            .iter()
            .filter(|m| matches!(m.standing(now, grace), Standing::Lapsed { .. }))
            .map(|m| m.id)
            .collect();
        prop_assert_eq!(slot.lapsed.iter().map(|m| m.id).collect::<Vec<_>>(), lapsed);
        for m in &slot.lapsed {
            prop_assert_eq!(m.status, MembershipStatus::Expired);
            prop_assert!(!m.standing(now, grace).grants());
        }
    }

    /// Whatever happens, enrollment never moves, ended memberships never
    /// grant, and a refused event leaves the membership untouched.
    #[test]
    fn state_machine_invariants(trial in any::<bool>(), events in proptest::collection::vec((arb_event(), 0i64..300), 0..30)) {
        let mut m = member(trial);
        let enrolled = m.enrolled_at;
        for (ev, day) in events {
            let before = m.clone();
            match m.apply(&ev, t(day)) {
                Ok(_) => {}
                Err(_) => prop_assert_eq!(&m, &before),
            }
            prop_assert_eq!(m.enrolled_at, enrolled);
            if matches!(m.status, MembershipStatus::Canceled | MembershipStatus::Expired) {
                prop_assert!(!m.standing(t(day), Duration::days(3)).grants());
            }
        }
    }
}

#[test]
fn cancelling_twice_changes_nothing_the_second_time() {
    let mut m = member(false);
    assert!(m.apply(&MembershipEvent::Cancel, t(1)).expect("cancel"));
    let once = m.clone();
    assert!(!m.apply(&MembershipEvent::Cancel, t(5)).expect("repeat"));
    // The first cancellation's times stand.
    assert_eq!(m, once);
    assert_eq!(m.canceled_at, Some(t(1)));
}

#[test]
fn a_period_holds_its_start_but_not_its_end() {
    let p = Period::new(t(0), t(30)).expect("valid");
    assert!(p.contains(t(0)));
    assert!(p.contains(t(29)));
    assert!(!p.contains(t(30)));
    assert!(!p.contains(t(-1)));
}

#[test]
fn the_grace_is_fixed_when_written_past_due_and_outlives_a_policy_change() {
    let mut m = member(false);
    m.settle_grace(Duration::days(3));
    assert_eq!(m.grace_ends_at, None, "active: no grace");
    m.apply(&MembershipEvent::PaymentFailed, t(10))
        .expect("fails");
    m.settle_grace(Duration::days(3));
    assert_eq!(m.grace_ends_at, Some(t(13)));
    // The policy shrinks later: this spell keeps the grace it was given.
    m.settle_grace(Duration::days(1));
    assert_eq!(m.grace_ends_at, Some(t(13)));
    assert_eq!(
        m.standing(t(12), Duration::days(1)),
        Standing::Grace { until: t(13) }
    );
    assert_eq!(
        m.standing(t(13), Duration::days(1)),
        Standing::Lapsed { since: t(13) }
    );
    // Paid again: no grace; a later failure starts a new spell.
    m.apply(
        &MembershipEvent::Renew {
            period: Period::new(t(30), t(60)).expect("period"),
        },
        t(12),
    )
    .expect("renews");
    m.settle_grace(Duration::days(1));
    assert_eq!(m.grace_ends_at, None);
    m.apply(&MembershipEvent::PaymentFailed, t(40))
        .expect("fails");
    m.settle_grace(Duration::days(1));
    assert_eq!(m.grace_ends_at, Some(t(41)));
}

#[test]
fn a_row_written_before_the_grace_was_stored_still_counts_it_from_the_policy() {
    let mut m = member(false);
    m.apply(&MembershipEvent::PaymentFailed, t(10))
        .expect("fails");
    assert_eq!(m.grace_ends_at, None);
    assert_eq!(
        m.standing(t(11), Duration::days(3)),
        Standing::Grace { until: t(13) }
    );
}

proptest! {
    #[test]
    fn a_settled_membership_stands_the_same_under_any_later_policy(
        trial in any::<bool>(),
        failed_at in 0i64..40,
        grace in 0i64..10,
        later in 0i64..10,
        at in 0i64..80,
        cancel in any::<bool>(),
    ) {
        let mut m = member(trial);
        let _ = m.apply(&MembershipEvent::PaymentFailed, t(failed_at));
        if cancel {
            let _ = m.apply(&MembershipEvent::Cancel, t(failed_at));
        }
        m.settle_grace(Duration::days(grace));
        let settled = m.standing(t(at), Duration::days(grace));
        prop_assert_eq!(m.standing(t(at), Duration::days(later)), settled);
        prop_assert_eq!(m.grace_ends_at.is_some(), m.status == MembershipStatus::PastDue);
        let again = m.clone();
        m.settle_grace(Duration::days(later));
        prop_assert_eq!(m, again, "settling twice changes nothing");
    }
}

#[test]
fn the_features_json_may_fill_its_size_exactly() {
    let of = |n: usize| {
        let mut m = NewMembership {
            user_id: UserId::parse("m").expect("valid"),
            tier: PricingTier::Pro,
            period: Period::new(t(0), t(30)).expect("valid"),
            trial: false,
            period_download_limit: None,
            features: BTreeMap::new(),
            provider: ProviderRefs::default(),
        };
        // `{"k":"…"}` is eight bytes around the value.
        m.features
            .insert("k".into(), serde_json::json!("x".repeat(n - 8)));
        m.build(MembershipId::from_uuid(uuid::Uuid::nil()), t(0))
    };
    assert!(of(MAX_FEATURES_JSON).is_ok());
    let err = of(MAX_FEATURES_JSON + 1).expect_err("one byte over");
    assert_eq!(err.field(), "features");
}

#[test]
fn repeated_events_change_nothing_and_say_so() {
    let mut m = member(false);
    m.apply(&MembershipEvent::PaymentFailed, t(1))
        .expect("fails");
    let before = m.clone();
    assert!(
        !m.apply(&MembershipEvent::PaymentFailed, t(2))
            .expect("allowed")
    );
    assert_eq!(m, before, "a second failure keeps the first one's time");
    let mut gone = member(false);
    gone.apply(&MembershipEvent::Cancel, t(1)).expect("cancels");
    gone.apply(&MembershipEvent::Expire, t(40))
        .expect("expires");
    let before = gone.clone();
    assert!(
        !gone
            .apply(&MembershipEvent::Expire, t(41))
            .expect("allowed")
    );
    assert_eq!(gone, before);
}

#[test]
fn ending_at_the_period_end_is_a_flag_any_live_membership_may_flip() {
    for mut m in [member(true), member(false), {
        let mut late = member(false);
        late.apply(&MembershipEvent::PaymentFailed, t(1))
            .expect("fails");
        late
    }] {
        let status = m.status;
        assert!(
            m.apply(&MembershipEvent::CancelAtPeriodEnd(true), t(2))
                .expect("allowed")
        );
        assert!(m.cancel_at_period_end);
        assert_eq!(m.updated_at, t(2));
        assert!(
            !m.apply(&MembershipEvent::CancelAtPeriodEnd(true), t(3))
                .expect("allowed")
        );
        assert_eq!(m.updated_at, t(2), "an unchanged flag is no write");
        assert!(
            m.apply(&MembershipEvent::CancelAtPeriodEnd(false), t(4))
                .expect("allowed")
        );
        assert!(!m.cancel_at_period_end);
        assert_eq!(m.status, status, "the flag moves no status");
    }
}

#[test]
fn a_tier_change_changes_when_the_tier_or_the_limit_moves() {
    let change = |tier, limit| MembershipEvent::ChangeTier {
        tier,
        period_download_limit: limit,
    };
    let mut m = member(false);
    assert!(
        !m.apply(&change(PricingTier::Pro, Some(10)), t(1))
            .expect("allowed")
    );
    assert!(
        m.apply(&change(PricingTier::Pro, Some(20)), t(1))
            .expect("allowed")
    );
    assert_eq!(m.quota.limit, Some(20));
    assert!(
        m.apply(&change(PricingTier::Premium, Some(20)), t(1))
            .expect("allowed")
    );
    assert_eq!(m.tier, PricingTier::Premium);
    assert!(
        m.apply(&change(PricingTier::Premium, None), t(1))
            .expect("allowed")
    );
    assert_eq!(m.quota.limit, None);
}

/// A stored membership as [`arb_stored`] makes it, sometimes on a trial,
/// sometimes following a provider's subscription.
fn arb_maintained() -> impl Strategy<Value = Membership> {
    (arb_stored(), any::<bool>(), proptest::option::of(0i64..20)).prop_map(
        |(mut m, provider, trial)| {
            if provider {
                m.provider.subscription_id = Some("sub_1".into());
            }
            m.trial_ends_at = trial.map(|d| m.period.start + Duration::days(d));
            m
        },
    )
}

fn maintained(m: &Membership, now: DateTime<Utc>, grace: Duration) -> (bool, Membership) {
    let mut m = m.clone();
    let changed = m.maintain(now, grace);
    m.settle_grace(grace);
    (changed, m)
}

proptest! {
    /// Maintenance stores what standing already reads: whether a
    /// membership grants access, now and at every later day, is the same
    /// before and after it; it is idempotent; and it never ends a
    /// provider-backed membership.
    #[test]
    fn maintenance_moves_storage_not_access(m in arb_maintained(), day in -100i64..120) {
        let grace = Duration::days(3);
        let now = t(day);
        let (changed, after) = maintained(&m, now, grace);
        for later in 0..12 {
            let at = now + Duration::days(later);
            prop_assert_eq!(
                m.standing(at, grace).grants(),
                after.standing(at, grace).grants(),
                "at {} ({:?} -> {:?})", at, m.status, after.status
            );
        }
        prop_assert_eq!(maintained(&after, now, grace), (false, after.clone()));
        if !changed {
            prop_assert_eq!(&after.status, &m.status);
        }
        if m.provider_backed() && changed {
            prop_assert_eq!(after.status, MembershipStatus::PastDue);
        }
    }

    /// When maintenance runs changes nothing but `updated_at`: run at two
    /// instants, or once at the later, it stores the same.
    #[test]
    fn maintenance_does_not_depend_on_when_it_runs(
        m in arb_maintained(),
        first in -100i64..120,
        gap in 0i64..30,
    ) {
        let grace = Duration::days(3);
        let (_, mut twice) = maintained(&m, t(first), grace);
        let (_, twice_more) = maintained(&twice, t(first + gap), grace);
        twice = twice_more;
        let (_, mut once) = maintained(&m, t(first + gap), grace);
        once.updated_at = twice.updated_at;
        prop_assert_eq!(once, twice);
    }
}

#[test]
fn a_late_stripe_renewal_is_past_due_a_local_one_expires() {
    let grace = Duration::days(3);
    let mut local = member(false);
    local.status = MembershipStatus::Active;
    let mut stripe = local.clone();
    stripe.provider.subscription_id = Some("sub_1".into());
    // Day 31: the period ended on day 30.
    let (_, l) = maintained(&local, t(31), grace);
    assert_eq!(
        (l.status, l.ended_at),
        (MembershipStatus::Expired, Some(t(30)))
    );
    let (_, s) = maintained(&stripe, t(31), grace);
    assert_eq!(
        (s.status, s.past_due_since, s.grace_ends_at),
        (MembershipStatus::PastDue, Some(t(30)), Some(t(30)))
    );
    assert!(!s.standing(t(31), grace).grants(), "no grace of its own");
    // The provider's failure starts the grace, as it would have without
    // maintenance: through the state machine (staff billing) and through
    // following the subscription (a repeated failure changes nothing).
    let mut failed = s.clone();
    assert!(
        failed
            .apply(&MembershipEvent::PaymentFailed, t(31))
            .unwrap()
    );
    failed.settle_grace(grace);
    assert_eq!(
        (failed.past_due_since, failed.grace_ends_at),
        (Some(t(31)), Some(t(34)))
    );
    assert!(failed.standing(t(33), grace).grants());
    assert!(
        !failed
            .apply(&MembershipEvent::PaymentFailed, t(32))
            .unwrap()
    );
    let mut renewed = s.clone();
    assert!(
        renewed
            .apply(
                &MembershipEvent::Renew {
                    period: Period::new(t(30), t(60)).unwrap()
                },
                t(31)
            )
            .unwrap()
    );
    assert_eq!(renewed.status, MembershipStatus::Active);
    // Long after the grace, it is still only past due: the provider ends it.
    let (changed, s) = maintained(&s, t(90), grace);
    assert!(!changed);
    assert_eq!(s.status, MembershipStatus::PastDue);
}
