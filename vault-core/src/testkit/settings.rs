//! System settings through the service: typed values, plans read from
//! their setting, and secrets that never show.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::account::{email, profile, user};
use super::audit::trail;
use super::{Fixture, NowUtc};
use crate::account::email::Credential;
use crate::account::settings::{Locale, TimeZone, UserSettings};
use crate::settings::system::{Setting, SettingKey, SettingValue};
use crate::store::{AccountQuery, Entity, Store};
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::tier::PricingTier;

pub async fn membership_plans_read_from_their_setting(store: Arc<dyn Store>) {
    use crate::commerce::plan::{BillingInterval, MembershipPlan};
    use crate::value::money::{Currency, Money};
    let f = Fixture::new(Arc::clone(&store)).await;
    let anyone = Actor::Anonymous;
    assert_eq!(f.vault.membership_plans(&anyone).await.unwrap(), vec![]);
    let plan = MembershipPlan {
        tier: PricingTier::Pro,
        name: "Pro".into(),
        price: Money::from_minor(1900, Currency::USD),
        interval: BillingInterval::Month,
        trial_days: Some(14),
        period_download_limit: Some(20),
        price_id: "price_pro".into(),
    };
    let json = serde_json::to_value([&plan]).unwrap();
    let key = SettingKey::parse(MembershipPlan::SETTING).unwrap();
    f.vault
        .set_setting(
            &f.admin,
            Setting::new(key, SettingValue::Json(json)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        f.vault.membership_plans(&anyone).await.unwrap(),
        vec![plan.clone()]
    );
    // A list no checkout could sell shows as invalid, not as no plans.
    let free = MembershipPlan {
        tier: PricingTier::Free,
        ..plan
    };
    let json = serde_json::to_value([&free]).unwrap();
    f.vault
        .set_setting(
            &f.admin,
            Setting::new(key, SettingValue::Json(json)).unwrap(),
        )
        .await
        .unwrap();
    let r = f.vault.membership_plans(&anyone).await;
    assert!(
        matches!(r, Err(Error::Invalid(ref e)) if e.field() == "tier"),
        "{r:?}"
    );
}

pub async fn settings_are_typed_and_secrets_never_show(store: Arc<dyn Store>) {
    let f = Fixture::new(Arc::clone(&store)).await;
    let set =
        |name: &str, v: SettingValue| Setting::new(SettingKey::parse(name).unwrap(), v).unwrap();
    let secret = "sk_live_TOPSECRET42";
    for s in [
        set("seller.name", SettingValue::Text("Vault Ltd".into())),
        set(
            "tax.default_rate_percent",
            SettingValue::Number(Decimal::new(1950, 2)),
        ),
        set("stripe.secret_key", SettingValue::Secret(secret.into())),
        set("reviews.require_purchase", SettingValue::Flag(true)),
    ] {
        f.vault.set_setting(&f.admin, s).await.unwrap();
    }
    // Set again: replaced, not added.
    f.vault
        .set_setting(
            &f.admin,
            set("seller.name", SettingValue::Text("Vault GmbH".into())),
        )
        .await
        .unwrap();
    let all = f.vault.settings(&f.admin).await.unwrap();
    assert_eq!(all.len(), 4);
    let name = all
        .iter()
        .find(|s| s.key().name() == "seller.name")
        .unwrap();
    assert_eq!(name.value(), &SettingValue::Text("Vault GmbH".into()));
    let stored = all
        .iter()
        .find(|s| s.key().name() == "stripe.secret_key")
        .unwrap();
    assert!(
        matches!(stored.value(), SettingValue::Secret(v) if v == secret),
        "stored as given"
    );
    let shown = format!("{all:?} {:?} {}", trail(&f).await, stored.value().shown());
    assert!(!shown.contains(secret), "{shown}");
    assert!(matches!(
        f.vault.settings(&Fixture::user("u")).await,
        Err(Error::Forbidden { .. })
    ));

    // User settings: defaults until saved; checked values read back.
    let gina = user("gina");
    let as_gina = Actor::User(gina.clone());
    assert_eq!(
        f.vault.user_settings(&as_gina, &gina).await.unwrap(),
        UserSettings::default()
    );
    let r = f
        .vault
        .save_user_settings(&as_gina, &gina, UserSettings::default())
        .await;
    assert!(
        matches!(
            r,
            Err(Error::NotFound {
                entity: Entity::Account,
                ..
            })
        ),
        "{r:?}"
    );
    f.vault
        .open_account(&as_gina, &gina, email("gina@example.com"), profile("Gina"))
        .await
        .unwrap();
    let mine = UserSettings {
        marketing_emails: true,
        locale: Locale::parse("pt-BR").unwrap(),
        timezone: TimeZone::parse("America/Sao_Paulo").unwrap(),
        ..UserSettings::default()
    };
    f.vault
        .save_user_settings(&as_gina, &gina, mine.clone())
        .await
        .unwrap();
    assert_eq!(f.vault.user_settings(&as_gina, &gina).await.unwrap(), mine);
    assert!(matches!(
        f.vault.user_settings(&Fixture::user("hank"), &gina).await,
        Err(Error::Forbidden { .. })
    ));

    // The credential: stored and read back by the service only, shown
    // nowhere else.
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$SECRETHASHVALUE";
    f.vault
        .set_credential(&as_gina, &gina, Some(Credential::new(phc).unwrap()))
        .await
        .unwrap();
    let back = f
        .vault
        .credential(&Actor::Service, &gina)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.expose(), phc);
    assert!(matches!(
        f.vault.credential(&as_gina, &gina).await,
        Err(Error::Forbidden { .. })
    ));
    let account = f.vault.account(&as_gina, &gina).await.unwrap();
    let listed = f
        .vault
        .accounts(&f.admin, &AccountQuery::default())
        .await
        .unwrap();
    let shown = format!("{account:?} {listed:?} {back:?} {:?}", trail(&f).await);
    assert!(!shown.contains("SECRETHASHVALUE"), "{shown}");
    // Sign-up with a password: the account and its credential in one
    // write; a taken email writes neither.
    let ivan = user("ivan");
    let as_ivan = Actor::User(ivan.clone());
    let ivan_phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$IVANHASH";
    f.vault
        .open_account_with_credential(
            &as_ivan,
            &ivan,
            email("ivan@example.com"),
            profile("Ivan"),
            Credential::new(ivan_phc).unwrap(),
        )
        .await
        .unwrap();
    let got = f.vault.credential(&Actor::Service, &ivan).await.unwrap();
    assert_eq!(
        got.map(|c| c.expose().to_owned()).as_deref(),
        Some(ivan_phc)
    );
    let jan = user("jan");
    assert!(matches!(
        f.vault
            .open_account_with_credential(
                &Actor::User(jan.clone()),
                &jan,
                email("IVAN@example.com"),
                profile("Jan"),
                Credential::new(ivan_phc).unwrap(),
            )
            .await,
        Err(Error::AlreadyExists { .. })
    ));
    assert!(store.account(&jan).await.unwrap().is_none());
    f.vault.record_login(&as_gina, &gina).await.unwrap();
    assert_eq!(
        store.account(&gina).await.unwrap().unwrap().last_login_at,
        Some(f.clock.now_utc())
    );
}
