//! Shared by the webhook tests: a vault with a webhook handler on any store
//! (memory, SQLite, PostgreSQL), signed deliveries, and Stripe event
//! payloads shaped as Stripe sends them.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::Arc;

use serde_json::{Value, json};
use vault_core::commerce::license::LicenseType;
use vault_core::commerce::purchase::{ProviderRefs, Purchase};
use vault_core::store::{Store, WebhookStore};
use vault_core::testkit::Fixture;
use vault_core::value::actor::Actor;
use vault_core::value::ids::WorkflowId;
use vault_core::value::tier::PricingTier;
use vault_core::vault::{CheckoutItem, StartPurchase};
use vault_stripe::signature::{Verifier, WebhookSecret};
use vault_stripe::webhook::{Handled, WebhookConfig, WebhookError, WebhookHandler};

pub const SECRET: &str = "whsec_e2e_test_secret";

/// A vault over one store, with a webhook handler recording its events in
/// the same store.
pub struct World {
    pub f: Fixture,
    pub hooks: WebhookHandler<dyn Store>,
    pub events: Arc<dyn WebhookStore>,
    secret: WebhookSecret,
}

/// The handler's settings in these tests: no real waiting between
/// retries; pro members get 10 downloads a period.
pub fn config() -> WebhookConfig {
    WebhookConfig {
        backoff: std::time::Duration::from_millis(1),
        tier_limits: [
            (PricingTier::Pro, Some(10)),
            (PricingTier::Premium, Some(20)),
        ]
        .into_iter()
        .collect(),
        ..WebhookConfig::default()
    }
}

impl World {
    pub async fn on<S: Store + WebhookStore + 'static>(store: Arc<S>) -> World {
        let f = Fixture::new(store.clone() as Arc<dyn Store>).await;
        let events: Arc<dyn WebhookStore> = store;
        let hooks = WebhookHandler::new(
            f.vault.clone(),
            events.clone(),
            f.clock.clone(),
            Verifier::new(WebhookSecret::new(SECRET)),
            config(),
        );
        World {
            f,
            hooks,
            events,
            secret: WebhookSecret::new(SECRET),
        }
    }

    pub async fn memory() -> World {
        World::on(Arc::new(vault_core::MemoryStore::new())).await
    }

    /// On a SQLite file under the target directory.
    pub async fn sqlite() -> World {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("stripe-e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let store =
            vault_store_sqlite::SqliteStore::open(dir.join(format!("{}.db", uuid::Uuid::new_v4())))
                .await
                .unwrap();
        World::on(Arc::new(store)).await
    }

    /// On an in-memory SQLite database: the same SQL without the disk.
    pub async fn sqlite_in_memory() -> World {
        let store = vault_store_sqlite::SqliteStore::open_in_memory()
            .await
            .unwrap();
        World::on(Arc::new(store)).await
    }

    /// On a fresh PostgreSQL database; `None` (skipped) without a server,
    /// unless `VAULT_REQUIRE_POSTGRES=1`.
    pub async fn postgres() -> Option<World> {
        let store = vault_store_postgres::testkit::fresh_store().await?;
        Some(World::on(Arc::new(store)).await)
    }

    pub fn now(&self) -> i64 {
        vault_core::Clock::now(self.f.clock.as_ref()).timestamp()
    }

    pub fn signed(&self, event: &Value) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(event).unwrap();
        let header = self.secret.header(self.now(), &body);
        (body, header)
    }

    pub async fn deliver(&self, event: &Value) -> Result<Handled, WebhookError> {
        let (body, header) = self.signed(event);
        self.hooks.handle(&body, &header).await
    }

    /// A pending purchase of `workflow` by `user`, as checkout opens it.
    pub async fn pending(&self, user: &Actor, workflow: WorkflowId) -> Purchase {
        self.f
            .vault
            .start_purchase(
                user,
                StartPurchase {
                    user_id: user.user_id().unwrap().clone(),
                    item: CheckoutItem::Workflow(workflow),
                    license_type: LicenseType::Personal,
                    tax: None,
                    license_expires_at: None,
                    provider: ProviderRefs::default(),
                },
            )
            .await
            .unwrap()
    }
}

pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "created": created, "livemode": false,
           "api_version": "2024-06-20", "data": {"object": object}})
}

/// A Checkout Session event for `purchase`, paid by `pi`. `payment_status`
/// is `paid` or `unpaid` (an asynchronous payment still on its way).
pub fn session(
    id: &str,
    kind: &str,
    created: i64,
    purchase: &Purchase,
    pi: &str,
    payment_status: &str,
) -> Value {
    event(
        id,
        kind,
        created,
        json!({
            "id": format!("cs_{}", purchase.id), "object": "checkout.session", "mode": "payment",
            "payment_status": payment_status, "status": "complete",
            "client_reference_id": purchase.id.to_string(), "payment_intent": pi,
            "metadata": {"vault_purchase_id": purchase.id.to_string()}
        }),
    )
}

pub fn checkout_completed(id: &str, created: i64, purchase: &Purchase, pi: &str) -> Value {
    session(
        id,
        "checkout.session.completed",
        created,
        purchase,
        pi,
        "paid",
    )
}

/// `payment_intent.succeeded` or `payment_intent.payment_failed`.
pub fn intent(id: &str, kind: &str, created: i64, purchase: &Purchase, pi: &str) -> Value {
    event(
        id,
        kind,
        created,
        json!({"id": pi, "object": "payment_intent",
               "metadata": {"vault_purchase_id": purchase.id.to_string()}}),
    )
}

/// `charge.refunded` with the cumulative `amount_refunded` (minor units).
pub fn charge_refunded(id: &str, created: i64, pi: &str, amount: i64, refunded: i64) -> Value {
    event(
        id,
        "charge.refunded",
        created,
        json!({"id": format!("ch_{pi}"), "object": "charge", "payment_intent": pi, "amount": amount,
               "amount_refunded": refunded, "currency": "usd", "refunded": refunded == amount}),
    )
}

/// `charge.dispute.created` (status `needs_response`) or
/// `charge.dispute.closed` (`won` or `lost`).
pub fn dispute(id: &str, kind: &str, created: i64, pi: &str, status: &str) -> Value {
    event(
        id,
        kind,
        created,
        json!({"id": format!("dp_{pi}"), "object": "dispute", "charge": format!("ch_{pi}"),
               "payment_intent": pi, "status": status}),
    )
}

/// A subscription event: `sub` of `user` on `tier`, with its current period
/// and whatever `extra` sets (`cancel_at_period_end`, …).
#[allow(clippy::too_many_arguments)]
pub fn subscription(
    id: &str,
    kind: &str,
    created: i64,
    sub: &str,
    user: &str,
    status: &str,
    (start, end): (i64, i64),
    extra: Value,
) -> Value {
    let mut object = json!({"id": sub, "object": "subscription", "customer": format!("cus_{user}"),
        "status": status, "cancel_at_period_end": false,
        "metadata": {"vault_user_id": user, "vault_tier": "pro"},
        "items": {"data": [{"price": {"id": "price_pro"}, "current_period_start": start, "current_period_end": end}]}});
    if let (Some(o), Some(e)) = (object.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            if k == "vault_tier" {
                o["metadata"]["vault_tier"] = v.clone();
            } else {
                o.insert(k.clone(), v.clone());
            }
        }
    }
    event(id, kind, created, object)
}

/// `invoice.paid` or `invoice.payment_failed` of `sub` for a period.
pub fn invoice(id: &str, kind: &str, created: i64, sub: &str, (start, end): (i64, i64)) -> Value {
    event(
        id,
        kind,
        created,
        json!({"id": format!("in_{id}"), "object": "invoice", "subscription": sub,
               "amount_paid": if kind == "invoice.paid" { 1900 } else { 0 },
               "lines": {"data": [{"period": {"start": start, "end": end}}]}}),
    )
}
