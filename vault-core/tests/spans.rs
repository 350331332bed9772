//! The spans the service leaves in an app's traces: one per call, named
//! after it, with the actor's kind, the ids it names and how it ended, one
//! per store write inside it (`store.<method>`), and nothing secret. In its own test binary: tracing caches each callsite's
//! interest for the whole process, so a subscriber installed here must be
//! the first any callsite meets.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use vault_core::account::email::{Credential, Email};
use vault_core::account::profile::Profile;
use vault_core::settings::system::{Setting, SettingKey, SettingValue};
use vault_core::testkit::Fixture;
use vault_core::value::actor::{Actor, UserId};
use vault_core::{Error, MemoryStore, PricingTier, RequestInfo};

#[derive(Debug, Clone, Default)]
struct Captured {
    name: &'static str,
    fields: BTreeMap<String, String>,
    opened: Option<Instant>,
    lasted: Option<Duration>,
}

/// Every span and event, with every field as text.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<BTreeMap<u64, Captured>>>,
    events: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut c = Captured {
            name: attrs.metadata().name(),
            opened: Some(Instant::now()),
            ..Captured::default()
        };
        attrs.record(&mut Fields(&mut c.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), c);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(c) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut c.fields));
        }
    }
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = BTreeMap::new();
        event.record(&mut Fields(&mut f));
        self.events.lock().unwrap().push(f);
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(c) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            c.lasted = c.opened.map(|t| t.elapsed());
        }
    }
}

impl Capture {
    fn named(&self, name: &str) -> Vec<Captured> {
        self.spans
            .lock()
            .unwrap()
            .values()
            .filter(|c| c.name == name)
            .cloned()
            .collect()
    }

    /// Every value any span or event carried, as text.
    fn all_text(&self) -> String {
        let spans = self.spans.lock().unwrap();
        let events = self.events.lock().unwrap();
        spans
            .values()
            .flat_map(|c| c.fields.values().cloned())
            .chain(events.iter().flat_map(|e| e.values().cloned()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn a_download_and_a_refused_call_leave_spans_without_secrets() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::set_global_default(subscriber).unwrap();
    vault_core::testkit::run(async {
        let f = Fixture::new(Arc::new(MemoryStore::new())).await;
        let (w, _) = f.workflow("traced", PricingTier::Pro, Some(4900)).await;
        let alice = Fixture::user("alice");
        let p = f
            .buy(&alice, vault_core::vault::CheckoutItem::Workflow(w.id))
            .await;
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let request = RequestInfo {
            ip: Some(ip),
            user_agent: Some("agent/1.0".into()),
            ..RequestInfo::default()
        };
        f.vault
            .download(&alice, w.id, None, &request)
            .await
            .unwrap();
        // A refused call: bob bought nothing.
        let bob = Fixture::user("bob");
        let refused = f.vault.download(&bob, w.id, None, &request).await;
        assert!(matches!(refused, Err(Error::Denied(_))), "{refused:?}");
        // A forbidden one: a user may not publish.
        let forbidden = f.vault.publish_workflow(&bob, w.id).await;
        assert!(matches!(forbidden, Err(Error::Forbidden { .. })));

        let downloads = capture.named("vault.download");
        assert_eq!(downloads.len(), 2, "{downloads:?}");
        let ok = downloads
            .iter()
            .find(|d| d.fields.get("outcome").map(String::as_str) == Some("ok"))
            .expect("the granted download");
        assert_eq!(ok.fields.get("actor").map(String::as_str), Some("user"));
        assert_eq!(
            ok.fields.get("workflow").map(String::as_str),
            Some(w.id.to_string().as_str())
        );
        assert!(ok.lasted.is_some(), "closed, so the subscriber timed it");
        let denied = downloads
            .iter()
            .find(|d| d.fields.get("outcome").map(String::as_str) == Some("denied"))
            .expect("the refused download");
        assert_eq!(denied.fields.get("actor").map(String::as_str), Some("user"));
        let publish = capture.named("vault.publish_workflow");
        assert!(
            publish
                .iter()
                .any(|s| s.fields.get("outcome").map(String::as_str) == Some("forbidden")),
            "{publish:?}"
        );
        // The granted download wrote once, in its own span; the refused
        // and forbidden calls wrote nothing.
        let writes = capture.named("store.record_download");
        assert_eq!(writes.len(), 1, "{writes:?}");
        let write = &writes[0];
        assert_eq!(write.fields.get("outcome").map(String::as_str), Some("ok"));
        assert_eq!(
            write.fields.get("workflow").map(String::as_str),
            Some(w.id.to_string().as_str())
        );
        assert!(write.fields.contains_key("file") && write.fields.contains_key("id"));
        assert!(write.lasted.is_some());
        // A write the store refuses says why.
        f.vault
            .add_favorite(&alice, w.id, None, vec![])
            .await
            .unwrap();
        let again = f.vault.add_favorite(&alice, w.id, None, vec![]).await;
        assert!(
            matches!(again, Err(Error::AlreadyExists { .. })),
            "{again:?}"
        );
        let outcomes: Vec<String> = capture
            .named("store.insert_favorite")
            .iter()
            .filter_map(|s| s.fields.get("outcome").cloned())
            .collect();
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        assert!(
            outcomes.contains(&"ok".to_owned()) && outcomes.contains(&"already_exists".to_owned())
        );
        assert!(!capture.named("store.insert_purchase").is_empty());
        assert!(!capture.named("store.settle_purchase").is_empty());
        // Every call and every write left a span with an outcome.
        for c in capture.spans.lock().unwrap().values() {
            if c.name.starts_with("vault.") || c.name.starts_with("store.") {
                assert!(c.fields.contains_key("outcome"), "{c:?}");
            }
        }
        // Accounts and settings: the credential, a secret setting, the
        // email and the ban reason stay out of every span, whatever the
        // call and its outcome.
        let carol = UserId::parse("carol").unwrap();
        let as_carol = Actor::User(carol.clone());
        f.vault
            .open_account(
                &as_carol,
                &carol,
                Email::parse("carol.secret@example.com").unwrap(),
                Profile {
                    display_name: "Carol Private".into(),
                    ..Profile::default()
                },
            )
            .await
            .unwrap();
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$HASHSHOULDNOTLEAK";
        f.vault
            .set_credential(&as_carol, &carol, Some(Credential::new(phc).unwrap()))
            .await
            .unwrap();
        f.vault.credential(&Actor::Service, &carol).await.unwrap();
        let key = SettingKey::parse("stripe.secret_key").unwrap();
        f.vault
            .set_setting(
                &f.admin,
                Setting::new(key, SettingValue::Secret("sk_live_SPANLEAK".into())).unwrap(),
            )
            .await
            .unwrap();
        f.vault.settings(&f.admin).await.unwrap();
        f.vault
            .ban_account(&f.admin, &carol, Some("reason-not-for-traces".into()))
            .await
            .unwrap();
        let refused = f.vault.record_login(&as_carol, &carol).await;
        assert!(matches!(refused, Err(Error::Refused { .. })), "{refused:?}");
        assert!(!capture.named("store.update_account").is_empty());
        assert!(!capture.named("store.put_setting").is_empty());
        // Nothing secret: no IP, no IP salt, no license key, no user agent.
        let text = capture.all_text();
        let key = f.vault.license_key(&p).expect("derived at purchase");
        for secret in [
            "203.0.113.9",
            "conformance-salt",
            key.as_str(),
            "agent/1.0",
            "HASHSHOULDNOTLEAK",
            "sk_live_SPANLEAK",
            "carol.secret@example.com",
            "Carol Private",
            "reason-not-for-traces",
        ] {
            assert!(
                !text.contains(secret),
                "{secret} reached the traces:\n{text}"
            );
        }
    });
}
