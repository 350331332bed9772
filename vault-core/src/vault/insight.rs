//! Views, clicks, shares and the analytics reports.

use chrono::NaiveDate;

use super::Vault;
use crate::delivery::download::RequestInfo;
use crate::insight::analytics::{
    AnalyticsDelta, DailyAnalytics, VisitorKey, WorkflowStatsRow, check_days, traffic_source,
};
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::Result;
use crate::value::ids::WorkflowId;
use crate::value::validation::{Reason, ValidationError};
use crate::vault::authz::require_staff;

/// A user interaction worth counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interaction {
    /// A click on a call to action.
    Click,
    /// A share.
    Share,
}

impl<S: Store + ?Sized> Vault<S> {
    /// Records a page view: one view, its traffic source and country, and a
    /// unique visitor the first time this visitor (user, else salted IP hash)
    /// is seen that day. Anyone who can see the workflow may record one.
    pub async fn record_view(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        request: &RequestInfo,
    ) -> Result<()> {
        let span = tracing::info_span!("vault.record_view", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.workflow(actor, workflow).await?;
            let meta = request.to_meta(&self.config.ip_salt);
            let mut d = AnalyticsDelta::none(workflow, self.now());
            d.views = 1;
            d.traffic_source = Some(traffic_source(meta.referrer.as_deref()));
            d.country = meta.country;
            d.visitor = match (actor.user_id(), meta.ip_hash) {
                (Some(u), _) => Some(VisitorKey::User(u.clone())),
                (None, Some(h)) => Some(VisitorKey::Ip(h)),
                (None, None) => None,
            };
            Ok(self.writes.record_analytics(&d).await?)
        })
        .await
    }

    /// Records a click or a share.
    pub async fn record_interaction(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        what: Interaction,
    ) -> Result<()> {
        let span = tracing::info_span!("vault.record_interaction", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            self.workflow(actor, workflow).await?;
            let mut d = AnalyticsDelta::none(workflow, self.now());
            match what {
                Interaction::Click => d.clicks = 1,
                Interaction::Share => d.shares = 1,
            }
            Ok(self.writes.record_analytics(&d).await?)
        })
        .await
    }

    /// Daily analytics of a workflow for `from..=to` (staff), at most 366
    /// days, within the dates every store holds (see
    /// [`crate::insight::analytics::check_days`]).
    pub async fn analytics(
        &self,
        actor: &Actor,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyAnalytics>> {
        let span = tracing::info_span!("vault.analytics", actor = actor.kind(), workflow = %workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "analytics")?;
            check_days(from, to)?;
            if to < from || (to - from).num_days() > 366 {
                return Err(ValidationError::new(
                    "to",
                    Reason::OutOfRange {
                        min: "from".into(),
                        max: "from + 366 days".into(),
                    },
                )
                .into());
            }
            Ok(self.store.analytics(workflow, from, to).await?)
        })
        .await
    }

    /// The seed's `workflow_stats` view (staff).
    pub async fn workflow_stats(
        &self,
        actor: &Actor,
        workflow: Option<WorkflowId>,
    ) -> Result<Vec<WorkflowStatsRow>> {
        let span = tracing::info_span!("vault.workflow_stats", actor = actor.kind(), workflow = ?workflow, outcome = tracing::field::Empty);
        self.acting(actor, span, async move {
            require_staff(actor, "workflow_stats")?;
            Ok(self.store.workflow_stats(workflow).await?)
        })
        .await
    }
}
