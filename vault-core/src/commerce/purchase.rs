//! Purchases: one-time buys of a workflow or a bundle, and their payment
//! lifecycle.
//!
//! ```text
//!  pending ──complete──▶ completed ──refund (full)──▶ refunded
//!   │  ▲                   │  ▲  └──refund (part)──▶ partially_refunded ─┐
//!  fail└─complete─ failed  │  └─dispute won──┐                         │
//!   ▼                      └──dispute──▶ disputed ──dispute lost──▶ refunded
//! failed
//! ```
//! A failed attempt is not terminal: a later successful payment completes a
//! failed purchase (a buyer retries, or an asynchronous payment that was
//! reported failed succeeds on a retry), as a Stripe PaymentIntent moves from
//! `requires_payment_method` back to `succeeded`. Completing a completed
//! purchase with the same payment reference is a no-op (webhooks arrive more
//! than once). Every other move not drawn is a typed
//! [`Error::InvalidTransition`]. Refunds and disputes are
//! [`crate::commerce::refund`]'s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::commerce::license::{LicenseKeyHash, LicenseType, Quota};
use crate::value::actor::UserId;
use crate::value::clock::check_time;
use crate::value::error::{Entity, Error};
use crate::value::ids::{BundleId, MembershipId, PurchaseId, WorkflowId};
use crate::value::money::{MAX_MINOR, Money, MoneyError};
use crate::value::tier::named_enum;
use crate::value::validation::{Reason, ValidationError, check_limit, check_text};

pub use crate::value::status::PaymentStatus;

named_enum!(
    /// How a closed dispute ended. Remembered on the purchase so that a
    /// dispute's opening, delivered after its close, changes nothing.
    DisputeOutcome, "dispute_outcome", "won, lost" {
        /// The merchant won: the funds stay, access is restored.
        Won = "won",
        /// The buyer won: the funds are gone, as in a full refund.
        Lost = "lost",
    }
);

named_enum!(
    /// The seed's `purchase_type`.
    PurchaseType, "purchase_type", "one_time, bundle, membership_included" {
        /// One workflow, paid once.
        OneTime = "one_time",
        /// A bundle of workflows, paid once.
        Bundle = "bundle",
        /// A workflow claimed through a membership that includes it to keep.
        MembershipIncluded = "membership_included",
    }
);

/// What was bought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PurchaseItem {
    /// A single workflow.
    Workflow {
        /// The workflow.
        workflow_id: WorkflowId,
    },
    /// A bundle; `members` is the bundle's content at purchase time, which is
    /// what the purchase grants (later additions to the bundle are not).
    Bundle {
        /// The bundle.
        bundle_id: BundleId,
        /// Its workflows when bought.
        members: Vec<WorkflowId>,
    },
    /// A workflow kept through a membership.
    MembershipIncluded {
        /// The workflow.
        workflow_id: WorkflowId,
        /// The membership that included it.
        membership_id: MembershipId,
    },
}

impl PurchaseItem {
    /// The seed's purchase type.
    pub fn purchase_type(&self) -> PurchaseType {
        match self {
            PurchaseItem::Workflow { .. } => PurchaseType::OneTime,
            PurchaseItem::Bundle { .. } => PurchaseType::Bundle,
            PurchaseItem::MembershipIncluded { .. } => PurchaseType::MembershipIncluded,
        }
    }

    /// True when this item grants `workflow`.
    pub fn covers(&self, workflow: WorkflowId) -> bool {
        match self {
            PurchaseItem::Workflow { workflow_id }
            | PurchaseItem::MembershipIncluded { workflow_id, .. } => *workflow_id == workflow,
            PurchaseItem::Bundle { members, .. } => members.contains(&workflow),
        }
    }

    /// Every workflow the item grants.
    pub fn workflows(&self) -> Vec<WorkflowId> {
        match self {
            PurchaseItem::Workflow { workflow_id }
            | PurchaseItem::MembershipIncluded { workflow_id, .. } => vec![*workflow_id],
            PurchaseItem::Bundle { members, .. } => members.clone(),
        }
    }
}

pub use crate::commerce::provider::ProviderRefs;

/// A reference naming one payment, unique across purchases: completing twice
/// with the same reference is idempotent, with another is a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PaymentRef(String);

impl PaymentRef {
    /// 1-255 printable characters.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        check_text("payment_ref", s, true, 255)?;
        if s.chars().any(char::is_whitespace) {
            return Err(ValidationError::new(
                "payment_ref",
                Reason::Format {
                    expected: "no whitespace",
                },
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The reference.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PaymentRef {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PaymentRef> for String {
    fn from(p: PaymentRef) -> Self {
        p.0
    }
}

/// Refund bookkeeping on a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundState {
    /// Refunded so far (sum of all refunds).
    pub refunded: Money,
    /// The latest reason given.
    pub reason: Option<String>,
    /// When the latest refund happened.
    pub refunded_at: DateTime<Utc>,
}

/// A stored purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    /// Id.
    pub id: PurchaseId,
    /// Buyer.
    pub user_id: UserId,
    /// What was bought.
    pub item: PurchaseItem,
    /// License type.
    pub license_type: LicenseType,
    /// The SHA-256 of the license key, which is never stored: the key is
    /// derived from the purchase's id under the app's secret
    /// ([`crate::vault::Vault::license_key`] gives it to its buyer).
    pub license_key_hash: LicenseKeyHash,
    /// Download quota of the license.
    pub quota: Quota,
    /// After this instant the license no longer allows downloads.
    pub license_expires_at: Option<DateTime<Utc>>,
    /// Months of updates included, counted from completion (`None`: all).
    pub update_months: Option<u32>,
    /// Versions released after this instant are not covered; earlier ones
    /// are, forever. Set at completion from `update_months`.
    pub updates_until: Option<DateTime<Utc>>,
    /// Payment status.
    pub status: PaymentStatus,
    /// Subtotal before tax.
    pub amount: Money,
    /// Tax.
    pub tax: Money,
    /// Charged: always `amount + tax`.
    pub total: Money,
    /// Refunds, once any.
    pub refund: Option<RefundState>,
    /// The payment this purchase is settled by (idempotency key of completion).
    pub payment_ref: Option<PaymentRef>,
    /// Provider ids.
    pub provider: ProviderRefs,
    /// When the checkout started.
    pub created_at: DateTime<Utc>,
    /// When it was paid.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the dispute opened, while disputed.
    pub disputed_at: Option<DateTime<Utc>>,
    /// How the purchase's dispute closed, once it has.
    pub dispute_outcome: Option<DisputeOutcome>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What the access rule weighs of a purchase
/// ([`crate::delivery::access::decide`]): its item, payment state, quota
/// and dates, without its money, provider references or key digest. A
/// store's access read decodes only these, a third of a purchase's columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseTerms {
    /// Id.
    pub id: PurchaseId,
    /// Buyer.
    pub user_id: UserId,
    /// What was bought.
    pub item: PurchaseItem,
    /// Payment status.
    pub status: PaymentStatus,
    /// Download quota of the license.
    pub quota: Quota,
    /// After this instant the license no longer allows downloads.
    pub license_expires_at: Option<DateTime<Utc>>,
    /// Versions released after this instant are not covered.
    pub updates_until: Option<DateTime<Utc>>,
    /// When it was paid.
    pub completed_at: Option<DateTime<Utc>>,
    /// When the dispute opened, while disputed.
    pub disputed_at: Option<DateTime<Utc>>,
    /// When the latest refund happened, once any.
    pub refunded_at: Option<DateTime<Utc>>,
}

impl From<&Purchase> for PurchaseTerms {
    fn from(p: &Purchase) -> Self {
        Self {
            id: p.id,
            user_id: p.user_id.clone(),
            item: p.item.clone(),
            status: p.status,
            quota: p.quota,
            license_expires_at: p.license_expires_at,
            updates_until: p.updates_until,
            completed_at: p.completed_at,
            disputed_at: p.disputed_at,
            refunded_at: p.refund.as_ref().map(|r| r.refunded_at),
        }
    }
}

/// What the service needs to open a purchase (checkout started).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPurchase {
    /// Buyer.
    pub user_id: UserId,
    /// What is being bought.
    pub item: PurchaseItem,
    /// License type.
    pub license_type: LicenseType,
    /// Subtotal.
    pub amount: Money,
    /// Tax.
    pub tax: Money,
    /// Download limit of the license.
    pub download_limit: Option<u32>,
    /// License expiry.
    pub license_expires_at: Option<DateTime<Utc>>,
    /// Months of updates included (`None`: all).
    pub update_months: Option<u32>,
    /// Provider ids known at checkout.
    pub provider: ProviderRefs,
}

impl NewPurchase {
    /// Checks the amounts (same currency, non-negative) and builds the pending
    /// purchase with `total = amount + tax`.
    pub fn build(
        self,
        id: PurchaseId,
        license_key_hash: LicenseKeyHash,
        now: DateTime<Utc>,
    ) -> Result<Purchase, Error> {
        if self.amount.is_negative() {
            return Err(ValidationError::new("amount", Reason::Negative).into());
        }
        if self.tax.is_negative() {
            return Err(ValidationError::new("tax", Reason::Negative).into());
        }
        // The total must stay within what every store holds; the tax is the
        // part the caller chose, so it is the field refused.
        let total = match self.amount.checked_add(&self.tax) {
            Err(MoneyError::Overflow { .. }) => {
                let room = Money::from_minor(MAX_MINOR, self.amount.currency())
                    .checked_sub(&self.amount)
                    .map_or_else(|_| "0".to_owned(), |m| m.amount().to_string());
                return Err(ValidationError::new(
                    "tax",
                    Reason::OutOfRange {
                        min: "0".into(),
                        max: room,
                    },
                )
                .into());
            }
            total => total?,
        };
        self.provider.validate()?;
        check_limit("download_limit", self.download_limit)?;
        check_limit("update_months", self.update_months)?;
        if let PurchaseItem::Bundle { members, .. } = &self.item
            && members.is_empty()
        {
            return Err(ValidationError::new("members", Reason::Empty).into());
        }
        if let Some(at) = self.license_expires_at {
            check_time("license_expires_at", at)?;
        }
        if let Some(at) = self.license_expires_at
            && at <= now
        {
            return Err(ValidationError::new(
                "license_expires_at",
                Reason::Inconsistent {
                    detail: "a license must not expire before it is bought".into(),
                },
            )
            .into());
        }
        Ok(Purchase {
            id,
            user_id: self.user_id,
            item: self.item,
            license_type: self.license_type,
            license_key_hash,
            quota: Quota {
                used: 0,
                limit: self.download_limit,
            },
            license_expires_at: self.license_expires_at,
            update_months: self.update_months,
            updates_until: None,
            status: PaymentStatus::Pending,
            amount: self.amount,
            tax: self.tax,
            total,
            refund: None,
            payment_ref: None,
            provider: self.provider,
            created_at: now,
            completed_at: None,
            disputed_at: None,
            dispute_outcome: None,
            updated_at: now,
        })
    }
}

/// Adds `months` calendar months to `t`, clamping to the month's last day
/// (Jan 31 + 1 month = Feb 28/29). `None` past year 262143.
pub fn add_months(t: DateTime<Utc>, months: u32) -> Option<DateTime<Utc>> {
    t.checked_add_months(chrono::Months::new(months))
}

impl Purchase {
    /// What the access rule weighs of it.
    pub fn terms(&self) -> PurchaseTerms {
        PurchaseTerms::from(self)
    }

    /// The seed's purchase type.
    pub fn purchase_type(&self) -> PurchaseType {
        self.item.purchase_type()
    }

    /// Marks the purchase paid by `payment`, from pending or after a failed
    /// attempt. Idempotent for the same payment; a different payment on a
    /// settled purchase is a conflict. Returns `false` when it was already
    /// completed by this payment.
    pub fn complete(&mut self, payment: PaymentRef, now: DateTime<Utc>) -> Result<bool, Error> {
        match self.status {
            PaymentStatus::Pending | PaymentStatus::Failed => {
                self.status = PaymentStatus::Completed;
                self.payment_ref = Some(payment);
                self.completed_at = Some(now);
                self.updates_until = match self.update_months {
                    Some(m) => Some(add_months(now, m).ok_or(Error::Overflow {
                        what: "update window",
                    })?),
                    None => None,
                };
                self.updated_at = now;
                Ok(true)
            }
            _ if self.payment_ref.as_ref() == Some(&payment) => Ok(false),
            PaymentStatus::Completed
            | PaymentStatus::PartiallyRefunded
            | PaymentStatus::Refunded
            | PaymentStatus::Disputed => Err(Error::Conflict {
                entity: Entity::Purchase,
                key: self.id.to_string(),
                reason: "already settled by another payment",
            }),
        }
    }

    /// Marks a pending checkout failed; `false` when it already was. A paid
    /// purchase cannot fail: that is an [`Error::InvalidTransition`] (a
    /// failure reported after the success changes nothing).
    pub fn fail(&mut self, now: DateTime<Utc>) -> Result<bool, Error> {
        match self.status {
            PaymentStatus::Pending => {
                self.status = PaymentStatus::Failed;
                self.updated_at = now;
                Ok(true)
            }
            PaymentStatus::Failed => Ok(false),
            _ => Err(self.refuse("fail")),
        }
    }

    pub(crate) fn refuse(&self, event: &'static str) -> Error {
        Error::InvalidTransition {
            entity: Entity::Purchase,
            state: self.status.as_str(),
            event,
        }
    }
}

/// Whether `purchases` hold a license of `license_type` for `workflow` that
/// can still download at `now`: paid, unexpired and with downloads left.
/// What checkout refuses to sell again and what complete-the-bundle credits.
pub fn owns(
    purchases: &[Purchase],
    workflow: WorkflowId,
    license_type: LicenseType,
    now: DateTime<Utc>,
) -> bool {
    purchases.iter().any(|p| {
        p.status.is_paid()
            && p.item.covers(workflow)
            && p.license_type == license_type
            && p.license_expires_at.is_none_or(|at| now < at)
            && p.quota.has_room()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::commerce::license::LicenseKey;
    use crate::value::clock::SeededEntropy;
    use crate::value::money::Currency;

    pub(crate) fn pending(item: PurchaseItem, cents: i64) -> Purchase {
        NewPurchase {
            user_id: UserId::parse("buyer").expect("valid"),
            item,
            license_type: LicenseType::Personal,
            amount: Money::from_minor(cents, Currency::USD),
            tax: Money::from_minor(0, Currency::USD),
            download_limit: Some(5),
            license_expires_at: None,
            update_months: Some(12),
            provider: ProviderRefs::default(),
        }
        .build(
            PurchaseId::from_uuid(uuid::Uuid::nil()),
            LicenseKey::generate(&SeededEntropy::new(3)).hash(),
            DateTime::<Utc>::UNIX_EPOCH,
        )
        .expect("valid")
    }

    #[test]
    fn provider_ids_are_checked_by_field() {
        let ok = ProviderRefs {
            customer_id: Some("cus_NffrFeUfNV2Hib".into()),
            checkout_session_id: Some("cs_test_a1b2".into()),
            payment_intent_id: None,
            subscription_id: Some("sub_1MowQVLkdIwHu7ixeRlqHVzs".into()),
            price_id: Some("price_1MoBy5LkdIwHu7ixZhnattbh".into()),
        };
        assert_eq!(ok.validate(), Ok(()));
        type Set = fn(&mut ProviderRefs, String);
        let cases: [(&str, Set); 3] = [
            ("provider.customer_id", |p, v| p.customer_id = Some(v)),
            ("provider.payment_intent_id", |p, v| {
                p.payment_intent_id = Some(v)
            }),
            ("provider.price_id", |p, v| p.price_id = Some(v)),
        ];
        for (field, set) in cases {
            for bad in [
                String::new(),
                "x".repeat(256),
                "pi_1 2".into(),
                "pi_\u{0}".into(),
            ] {
                let mut p = ok.clone();
                set(&mut p, bad.clone());
                let err = p.validate().expect_err(&bad);
                assert_eq!(err.field(), field, "{bad:?}");
            }
        }
        // And nothing is built with them.
        let mut n = NewPurchase {
            user_id: UserId::parse("buyer").expect("valid"),
            item: wf(),
            license_type: LicenseType::Personal,
            amount: Money::from_minor(100, Currency::USD),
            tax: Money::from_minor(0, Currency::USD),
            download_limit: None,
            license_expires_at: None,
            update_months: None,
            provider: ok,
        };
        n.provider.checkout_session_id = Some("x".repeat(300));
        let built = n.build(
            PurchaseId::from_uuid(uuid::Uuid::nil()),
            LicenseKey::generate(&SeededEntropy::new(3)).hash(),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        assert!(
            matches!(built, Err(Error::Invalid(e)) if e.field() == "provider.checkout_session_id")
        );
        // The rule for one id, as lookups by id use it.
        assert_eq!(ProviderRefs::check_id("subscription_id", "sub_1"), Ok(()));
        for bad in ["", "sub_\u{0}", "sub 1", "sub_\u{7}"] {
            let e = ProviderRefs::check_id("subscription_id", bad).expect_err(bad);
            assert_eq!(e.field(), "subscription_id");
        }
    }

    #[test]
    fn totals_and_expiries_stay_within_what_stores_hold() {
        let new = |tax: Money, expires| {
            NewPurchase {
                user_id: UserId::parse("buyer").expect("valid"),
                item: wf(),
                license_type: LicenseType::Personal,
                amount: Money::from_minor(4900, Currency::USD),
                tax,
                download_limit: None,
                license_expires_at: expires,
                update_months: None,
                provider: ProviderRefs::default(),
            }
            .build(
                PurchaseId::from_uuid(uuid::Uuid::nil()),
                LicenseKey::generate(&SeededEntropy::new(3)).hash(),
                DateTime::<Utc>::UNIX_EPOCH,
            )
        };
        let field = |r: Result<Purchase, Error>| match r {
            Err(Error::Invalid(e)) => e.field(),
            other => panic!("expected Invalid, got {other:?}"),
        };
        let usd = |minor| Money::from_minor(minor, Currency::USD);
        assert_eq!(field(new(usd(MAX_MINOR), None)), "tax");
        assert_eq!(field(new(usd(MAX_MINOR - 4899), None)), "tax");
        let fullest = new(usd(MAX_MINOR - 4900), None).expect("total at the top");
        assert_eq!(fullest.total.to_minor(), Some(MAX_MINOR));
        assert_eq!(
            field(new(usd(0), Some(DateTime::<Utc>::MAX_UTC))),
            "license_expires_at"
        );
    }

    fn wf() -> PurchaseItem {
        PurchaseItem::Workflow {
            workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
        }
    }

    #[test]
    fn total_is_amount_plus_tax_in_one_currency() {
        let mut n = NewPurchase {
            user_id: UserId::parse("b").expect("valid"),
            item: wf(),
            license_type: LicenseType::Team,
            amount: Money::from_minor(1000, Currency::USD),
            tax: Money::from_minor(190, Currency::USD),
            download_limit: None,
            license_expires_at: None,
            update_months: None,
            provider: ProviderRefs::default(),
        };
        let id = PurchaseId::from_uuid(uuid::Uuid::nil());
        let key = LicenseKey::generate(&SeededEntropy::new(1)).hash();
        let p = n
            .clone()
            .build(id, key.clone(), DateTime::<Utc>::UNIX_EPOCH)
            .expect("valid");
        assert_eq!(p.total, Money::from_minor(1190, Currency::USD));
        n.tax = Money::from_minor(190, Currency::EUR);
        assert!(matches!(
            n.clone()
                .build(id, key.clone(), DateTime::<Utc>::UNIX_EPOCH),
            Err(Error::CurrencyMismatch { .. })
        ));
        n.tax = Money::from_minor(-1, Currency::USD);
        match n.build(id, key, DateTime::<Utc>::UNIX_EPOCH) {
            Err(Error::Invalid(e)) => assert_eq!(e.field(), "tax"),
            other => panic!("expected invalid tax, got {other:?}"),
        }
    }

    #[test]
    fn zero_update_months_refused() {
        let n = NewPurchase {
            user_id: UserId::parse("b").expect("valid"),
            item: wf(),
            license_type: LicenseType::Team,
            amount: Money::from_minor(1000, Currency::USD),
            tax: Money::from_minor(0, Currency::USD),
            download_limit: None,
            license_expires_at: None,
            update_months: Some(0),
            provider: ProviderRefs::default(),
        };
        let r = n.build(
            PurchaseId::from_uuid(uuid::Uuid::nil()),
            LicenseKey::generate(&SeededEntropy::new(1)).hash(),
            DateTime::<Utc>::UNIX_EPOCH,
        );
        assert!(matches!(r, Err(Error::Invalid(e)) if e.field() == "update_months"));
    }

    #[test]
    fn completion_is_idempotent_per_payment() {
        let mut p = pending(wf(), 1000);
        let pay = PaymentRef::parse("pi_1").expect("valid");
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(10);
        assert!(p.complete(pay.clone(), now).expect("completes"));
        assert_eq!(p.updates_until, add_months(now, 12));
        assert!(!p.complete(pay, now).expect("same payment is a no-op"));
        let other = PaymentRef::parse("pi_2").expect("valid");
        assert!(matches!(
            p.complete(other, now),
            Err(Error::Conflict { .. })
        ));
        assert!(matches!(p.fail(now), Err(Error::InvalidTransition { .. })));
    }

    #[test]
    fn a_failed_attempt_is_not_terminal() {
        let mut p = pending(wf(), 1000);
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert!(p.fail(now).expect("fails"));
        assert!(!p.fail(now).expect("a repeated failure is a no-op"));
        assert!(
            p.complete(PaymentRef::parse("pi").expect("v"), now)
                .expect("a later payment completes it")
        );
        assert_eq!(p.status, PaymentStatus::Completed);
        assert_eq!(p.updates_until, add_months(now, 12));
        assert!(
            matches!(
                p.fail(now),
                Err(Error::InvalidTransition {
                    state: "completed",
                    ..
                })
            ),
            "a paid purchase does not fail"
        );
        assert_eq!(p.status, PaymentStatus::Completed);
    }

    #[test]
    fn month_arithmetic_clamps() {
        let jan31 = DateTime::parse_from_rfc3339("2025-01-31T12:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        let feb = add_months(jan31, 1).expect("fits");
        assert_eq!(feb.to_rfc3339(), "2025-02-28T12:00:00+00:00");
    }

    proptest::proptest! {
        /// A list of purchases owns a workflow exactly when one of them
        /// does, and one does exactly when it is paid, covers the workflow
        /// under that license type, has not expired and has downloads left.
        #[test]
        fn owning_is_one_license_that_can_still_download(
            held in proptest::collection::vec((
                proptest::sample::select(PaymentStatus::ALL.to_vec()),
                proptest::bool::ANY,
                proptest::bool::ANY,
                proptest::option::of(-5i64..5),
                0u32..3,
                proptest::option::of(0u32..3),
            ), 0..6),
        ) {
            let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(10);
            let target = WorkflowId::from_uuid(uuid::Uuid::from_u128(1));
            let other = WorkflowId::from_uuid(uuid::Uuid::from_u128(2));
            let purchases: Vec<Purchase> = held
                .iter()
                .map(|(status, covers, team, expires, used, limit)| {
                    let mut p = pending(PurchaseItem::Workflow { workflow_id: if *covers { target } else { other } }, 1000);
                    p.status = *status;
                    p.license_type = if *team { LicenseType::Team } else { LicenseType::Personal };
                    p.license_expires_at = expires.map(|d| now + chrono::Duration::days(d));
                    p.quota = Quota { used: *used, limit: *limit };
                    p
                })
                .collect();
            let one = |p: &Purchase| {
                p.status.is_paid()
                    && p.item.covers(target)
                    && p.license_type == LicenseType::Personal
                    && p.license_expires_at.is_none_or(|at| now < at)
                    && p.quota.limit.is_none_or(|l| p.quota.used < l)
            };
            proptest::prop_assert_eq!(
                owns(&purchases, target, LicenseType::Personal, now),
                purchases.iter().any(one)
            );
            for p in &purchases {
                proptest::prop_assert_eq!(owns(std::slice::from_ref(p), target, LicenseType::Personal, now), one(p));
            }
        }
    }

    #[test]
    fn a_payment_ref_reads_back_as_written_and_refuses_spaces() {
        let r = PaymentRef::parse("pi_3Nx").expect("valid");
        assert_eq!(r.as_str(), "pi_3Nx");
        assert_eq!(String::from(r.clone()), "pi_3Nx");
        let json = serde_json::to_string(&r).expect("serializes");
        assert_eq!(json, "\"pi_3Nx\"");
        assert_eq!(serde_json::from_str::<PaymentRef>(&json).expect("reads"), r);
        for bad in ["", "pi 1", "pi\u{0}"] {
            assert_eq!(
                PaymentRef::parse(bad).expect_err(bad).field(),
                "payment_ref"
            );
        }
    }

    #[test]
    fn a_license_must_outlive_the_purchase() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(1);
        let with = |expires: DateTime<Utc>| {
            NewPurchase {
                user_id: UserId::parse("buyer").expect("valid"),
                item: PurchaseItem::Workflow {
                    workflow_id: WorkflowId::from_uuid(uuid::Uuid::nil()),
                },
                license_type: LicenseType::Personal,
                amount: Money::from_minor(100, Currency::USD),
                tax: Money::from_minor(0, Currency::USD),
                download_limit: None,
                license_expires_at: Some(expires),
                update_months: None,
                provider: ProviderRefs::default(),
            }
            .build(
                PurchaseId::from_uuid(uuid::Uuid::nil()),
                LicenseKey::generate(&SeededEntropy::new(3)).hash(),
                now,
            )
        };
        assert!(with(now + chrono::Duration::seconds(1)).is_ok());
        for at in [now, now - chrono::Duration::seconds(1)] {
            let err = with(at).expect_err("expires at or before the purchase");
            assert!(
                matches!(&err, Error::Invalid(v) if v.field() == "license_expires_at"),
                "{err:?}"
            );
        }
    }
}
