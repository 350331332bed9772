//! Memberships: start, renew, fail, change tier, cancel, expire; following
//! a provider's subscription; and the seed's `active_memberships` view.

use super::Vault;
use crate::commerce::membership::{LIVE, Membership, MembershipEvent, NewMembership, Period};
use crate::commerce::plan::MembershipPlan;
use crate::commerce::subscription::SubscriptionSnapshot;
use crate::insight::analytics::ActiveMembershipRow;
use crate::settings::system::SettingValue;
use crate::store::Store;
use crate::value::actor::{Actor, UserId};
use crate::value::error::{Entity, Error, Result, StoreError};
use crate::value::ids::MembershipId;
use crate::value::tier::PricingTier;
use crate::vault::authz::{require_self_or_staff, require_staff};

/// Who a subscription's membership belongs to, for a provider event that
/// may have to start it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// The member.
    pub user_id: UserId,
    /// The provider's customer id.
    pub customer_id: Option<String>,
}

/// What [`Vault::follow_subscription`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Followed {
    /// The membership that follows the subscription, after the event.
    Membership {
        /// The membership as stored now.
        membership: Box<Membership>,
        /// Whether the event changed it (false: repeated, or older than
        /// what it holds).
        changed: bool,
        /// Whether the event started it.
        started: bool,
    },
    /// No membership follows the subscription yet, and this event cannot
    /// start one (it is partial, like an invoice, or names no member):
    /// wait for the subscription's own events.
    UnknownSubscription,
    /// The event would start a membership, but its user holds another in
    /// good standing: wait until that one ends.
    SlotTaken {
        /// The user.
        user_id: UserId,
    },
    /// Nothing to follow yet: the subscription's first payment is pending.
    NotStarted,
}

impl<S: Store + ?Sized> Vault<S> {
    /// Starts a membership (staff; billing, once the first payment or the
    /// trial sign-up is confirmed). Members cannot start their own: the
    /// request names its tier, period, quota and trial flag, so a member
    /// could grant themselves anything. A user holds at most one membership
    /// in good standing: starting a second is refused
    /// ([`Error::AlreadyExists`]), also when two starts race, in any
    /// process; change the tier of the first instead. Memberships whose time
    /// ran out are moved to expired in the same write.
    pub async fn start_membership(&self, actor: &Actor, new: NewMembership) -> Result<Membership> {
        let span = tracing::info_span!(
            "vault.start_membership",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "start_membership")?;
            let now = self.now();
            let mut m = new.build(MembershipId::from_uuid(self.uuid()), now)?;
            m.settle_grace(self.config.access.past_due_grace);
            self.writes
                .insert_membership(&m, now, self.config.access.past_due_grace)
                .await?;
            Ok(m)
        })
        .await
    }

    /// Merges what a payment provider says about a subscription into the
    /// membership that follows it (staff; billing webhooks), in whatever
    /// order the provider's events arrive: see [`crate::commerce::subscription`] for
    /// the rules. A membership no event has started yet is started from
    /// `enrollment` under the one-membership rule; an ended subscription
    /// starts an ended membership, so older events find it and change
    /// nothing. The merge is written under the membership's revision and
    /// retried when another write got there first.
    pub async fn follow_subscription(
        &self,
        actor: &Actor,
        snapshot: &SubscriptionSnapshot,
        enrollment: Option<&Enrollment>,
    ) -> Result<Followed> {
        let span = tracing::info_span!(
            "vault.follow_subscription",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "follow_subscription")?;
            snapshot.validate()?;
            let sub = snapshot.subscription_id.as_str();
            for _ in 0..self.config.conflict_retries.max(1) {
                let now = self.now();
                if let Some(current) = self.store.membership_by_subscription(sub).await? {
                    let mut next = current.clone();
                    if !next.follow(snapshot, now)? {
                        return Ok(Followed::Membership {
                            membership: Box::new(current),
                            changed: false,
                            started: false,
                        });
                    }
                    next.settle_grace(self.config.access.past_due_grace);
                    next.revision = current.revision + 1;
                    match self.writes.update_membership(&next, current.revision).await {
                        Ok(()) => {
                            return Ok(Followed::Membership {
                                membership: Box::new(next),
                                changed: true,
                                started: false,
                            });
                        }
                        Err(StoreError::Conflict { .. }) => continue,
                        Err(e) => return Err(e.into()),
                    }
                }
                let Some(enrollment) = enrollment.filter(|_| snapshot.terms.is_some()) else {
                    return Ok(Followed::UnknownSubscription);
                };
                let id = MembershipId::from_uuid(self.uuid());
                let Some(mut m) = snapshot.start(
                    enrollment.user_id.clone(),
                    enrollment.customer_id.clone(),
                    id,
                    now,
                )?
                else {
                    return Ok(Followed::NotStarted);
                };
                m.settle_grace(self.config.access.past_due_grace);
                match self
                    .writes
                    .insert_membership(&m, now, self.config.access.past_due_grace)
                    .await
                {
                    Ok(()) => {
                        return Ok(Followed::Membership {
                            membership: Box::new(m),
                            changed: true,
                            started: true,
                        });
                    }
                    // Another delivery started it meanwhile (follow that one),
                    // or the user's slot is held.
                    Err(StoreError::AlreadyExists { .. }) => {
                        if self.store.membership_by_subscription(sub).await?.is_none() {
                            return Ok(Followed::SlotTaken {
                                user_id: enrollment.user_id.clone(),
                            });
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(Error::Conflict {
                entity: Entity::Membership,
                key: sub.to_owned(),
                reason: "the membership kept changing while an event was merged",
            })
        })
        .await
    }

    async fn load_membership(&self, id: MembershipId) -> Result<Membership> {
        self.store
            .membership(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Membership,
                key: id.to_string(),
            })
    }

    /// The membership plans on sale (anyone may read them; none when the
    /// [`MembershipPlan::SETTING`] setting is unset), lowest tier first. A
    /// stored list that no longer parses is refused as invalid rather than
    /// read as no plans, so a broken setting shows instead of hiding the
    /// membership page.
    pub async fn membership_plans(&self, actor: &Actor) -> Result<Vec<MembershipPlan>> {
        let span = tracing::info_span!(
            "vault.membership_plans",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            let settings = self.store.settings().await?;
            let Some(setting) = settings
                .iter()
                .find(|s| s.key().name() == MembershipPlan::SETTING)
            else {
                return Ok(Vec::new());
            };
            match setting.value() {
                SettingValue::Json(j) => Ok(MembershipPlan::parse_list(j)?),
                _ => Ok(Vec::new()),
            }
        })
        .await
    }

    /// One membership (its member or staff; others read not found).
    pub async fn membership(&self, actor: &Actor, id: MembershipId) -> Result<Membership> {
        let span = tracing::info_span!("vault.membership", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let m = self.load_membership(id).await?;
            if require_self_or_staff(actor, &m.user_id, "membership").is_err() {
                return Err(Error::NotFound {
                    entity: Entity::Membership,
                    key: id.to_string(),
                });
            }
            Ok(m)
        })
        .await
    }

    /// The membership with this provider subscription id (staff).
    pub async fn membership_by_subscription(
        &self,
        actor: &Actor,
        subscription_id: &str,
    ) -> Result<Option<Membership>> {
        let span = tracing::info_span!(
            "vault.membership_by_subscription",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "membership_by_subscription")?;
            Ok(self
                .store
                .membership_by_subscription(subscription_id)
                .await?)
        })
        .await
    }

    /// Applies a state-machine event. Members may cancel their own
    /// membership (now or at period end); every other event (renewals,
    /// failed payments, tier changes, expiry) comes from billing and is for
    /// staff. Illegal transitions are [`Error::InvalidTransition`]; repeated
    /// events change nothing.
    pub async fn apply_membership_event(
        &self,
        actor: &Actor,
        id: MembershipId,
        event: MembershipEvent,
    ) -> Result<Membership> {
        let span = tracing::info_span!("vault.apply_membership_event", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let member_may = matches!(
                event,
                MembershipEvent::Cancel | MembershipEvent::CancelAtPeriodEnd(_)
            );
            let current = self.membership(actor, id).await?;
            if !member_may {
                require_staff(actor, "apply_membership_event")?;
            }
            let mut next = current.clone();
            if !next.apply(&event, self.now())? {
                return Ok(current);
            }
            next.settle_grace(self.config.access.past_due_grace);
            next.revision = current.revision + 1;
            self.writes
                .update_membership(&next, current.revision)
                .await?;
            Ok(next)
        })
        .await
    }

    /// Starts a new paid period (staff; billing): resets the period quota
    /// and returns a past_due or trialing membership to active.
    pub async fn renew_membership(
        &self,
        actor: &Actor,
        id: MembershipId,
        period: Period,
    ) -> Result<Membership> {
        let span = tracing::info_span!("vault.renew_membership", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.apply_membership_event(actor, id, MembershipEvent::Renew { period })
                .await
        })
        .await
    }

    /// Records a failed renewal payment (staff; billing): the membership is
    /// past_due and keeps access for the configured grace period.
    pub async fn mark_membership_past_due(
        &self,
        actor: &Actor,
        id: MembershipId,
    ) -> Result<Membership> {
        let span = tracing::info_span!("vault.mark_membership_past_due", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.apply_membership_event(actor, id, MembershipEvent::PaymentFailed)
                .await
        })
        .await
    }

    /// Upgrades or downgrades (staff; billing). The enrollment date stays.
    pub async fn change_membership_tier(
        &self,
        actor: &Actor,
        id: MembershipId,
        tier: PricingTier,
        period_download_limit: Option<u32>,
    ) -> Result<Membership> {
        let span = tracing::info_span!("vault.change_membership_tier", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.apply_membership_event(
                actor,
                id,
                MembershipEvent::ChangeTier {
                    tier,
                    period_download_limit,
                },
            )
            .await
        })
        .await
    }

    /// Cancels now, or at the end of the period (the member or staff).
    pub async fn cancel_membership(
        &self,
        actor: &Actor,
        id: MembershipId,
        at_period_end: bool,
    ) -> Result<Membership> {
        let span = tracing::info_span!("vault.cancel_membership", actor = actor.kind(), id = %id, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            let event = if at_period_end {
                MembershipEvent::CancelAtPeriodEnd(true)
            } else {
                MembershipEvent::Cancel
            };
            self.apply_membership_event(actor, id, event).await
        })
        .await
    }

    /// A user's memberships, newest first (the user or staff).
    pub async fn memberships_for_user(
        &self,
        actor: &Actor,
        user: &UserId,
    ) -> Result<Vec<Membership>> {
        let span = tracing::info_span!("vault.memberships_for_user", actor = actor.kind(), user = %user, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_self_or_staff(actor, user, "memberships_for_user")?;
            Ok(self.store.memberships_for_user(user).await?)
        })
        .await
    }

    /// The seed's `active_memberships` view (staff): memberships that grant
    /// access now, with their calculated standing, days and downloads left.
    pub async fn active_memberships(&self, actor: &Actor) -> Result<Vec<ActiveMembershipRow>> {
        let span = tracing::info_span!(
            "vault.active_memberships",
            actor = actor.kind(),
            outcome = tracing::field::Empty
        );
        self.acting(actor, span, async move {
            require_staff(actor, "active_memberships")?;
            let now = self.now();
            let grace = self.config.access.past_due_grace;
            let candidates = self.store.memberships_with_status(&LIVE).await?;
            Ok(candidates
                .iter()
                .filter_map(|m| ActiveMembershipRow::of(m, now, grace))
                .collect())
        })
        .await
    }
}
