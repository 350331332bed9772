//! Insight in memory: daily analytics and the workflow stats view.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::{MemoryStore, State};
use crate::catalog::workflow::Workflow;
use crate::insight::analytics::{
    ActiveMembershipRow, AnalyticsDelta, DailyAnalytics, WorkflowStatsRow,
};
use crate::insight::rebuild::{DayCount, DayCounts};
use crate::store::AnalyticsStore;
use crate::value::error::StoreResult;
use crate::value::ids::WorkflowId;

impl State {
    /// Checks that `deltas`, applied in order, can be: every workflow exists
    /// and each day's row takes its deltas by vault-core's rules
    /// ([`DailyAnalytics::apply`]: one currency per day, amounts in range),
    /// so a write is refused before anything of it is applied.
    pub(super) fn check_analytics<'a, I>(&self, deltas: I) -> StoreResult<()>
    where
        I: IntoIterator<Item = &'a AnalyticsDelta>,
    {
        let mut rows: BTreeMap<(WorkflowId, NaiveDate), DailyAnalytics> = BTreeMap::new();
        for d in deltas {
            self.workflow(d.workflow_id)?;
            let key = (d.workflow_id, d.date);
            match rows.entry(key) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(
                    self.analytics
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| DailyAnalytics::empty(d.workflow_id, d.date)),
                ),
            }
            .apply(d)?;
        }
        Ok(())
    }

    /// Applies a checked delta to its day's row, the unique visitor set and
    /// the workflow's view count.
    pub(super) fn apply_analytics(&mut self, delta: &AnalyticsDelta) -> StoreResult<()> {
        let (workflow, date) = (delta.workflow_id, delta.date);
        let delta = match &delta.visitor {
            // A known visitor counts once per workflow and day, whatever the
            // delta's own `unique_visitors` says.
            Some(visitor) => {
                let first = self.visitors.insert((workflow, date, visitor.clone()));
                Cow::Owned(AnalyticsDelta {
                    unique_visitors: u64::from(first),
                    ..delta.clone()
                })
            }
            None => Cow::Borrowed(delta),
        };
        self.analytics
            .entry((workflow, date))
            .or_insert_with(|| DailyAnalytics::empty(workflow, date))
            .apply(&delta)?;
        if delta.views > 0
            && let Some(w) = self.workflows.get_mut(&workflow)
        {
            w.stats.view_count = w.stats.view_count.saturating_add(delta.views);
        }
        Ok(())
    }

    fn record_analytics(&mut self, delta: &AnalyticsDelta) -> StoreResult<()> {
        self.check_analytics([delta])?;
        self.apply_analytics(delta)?;
        Ok(())
    }

    fn daily_rows(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> impl Iterator<Item = &DailyAnalytics> {
        // `BTreeMap::range` panics on an inverted range; that range is empty.
        let bounds = (from <= to).then_some((workflow, from)..=(workflow, to));
        bounds
            .into_iter()
            .flat_map(|r| self.analytics.range(r))
            .map(|(_, row)| row)
    }

    fn stats_row(&self, w: &Workflow) -> WorkflowStatsRow {
        let mut total_revenue = Decimal::ZERO;
        let mut currency = None;
        // Oldest first: the latest day that names a currency wins.
        for row in self.daily_rows(w.id, NaiveDate::MIN, NaiveDate::MAX) {
            total_revenue = total_revenue.saturating_add(row.revenue.saturating_sub(row.refunds));
            currency = row.currency.or(currency);
        }
        WorkflowStatsRow {
            workflow_id: w.id,
            slug: w.content.slug.clone(),
            title: w.content.title.clone(),
            status: w.status,
            pricing_tier: w.content.pricing_tier,
            category_id: w.content.category_id,
            category_name: self
                .categories
                .get(&w.content.category_id)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            rating: w.stats.rating,
            total_purchases: w.stats.purchase_count,
            total_revenue,
            currency,
            favorite_count: w.stats.favorite_count,
            download_count: w.stats.download_count,
            view_count: w.stats.view_count,
        }
    }

    fn workflow_stats(&self, only: Option<WorkflowId>) -> Vec<WorkflowStatsRow> {
        self.workflows
            .values()
            .filter(|w| only.is_none_or(|id| id == w.id))
            .map(|w| self.stats_row(w))
            .collect()
    }
}

#[async_trait]
impl AnalyticsStore for MemoryStore {
    async fn record_analytics(&self, delta: &AnalyticsDelta) -> StoreResult<()> {
        self.write(|s| s.record_analytics(delta))
    }

    async fn active_memberships_report(
        &self,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ActiveMembershipRow>> {
        // Keyed by id, so already in id order; no policy grace, as the views.
        Ok(self
            .lock()
            .memberships
            .values()
            .filter_map(|m| ActiveMembershipRow::of(m, now, Duration::zero()))
            .collect())
    }

    async fn analytics(
        &self,
        workflow: WorkflowId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<DailyAnalytics>> {
        crate::insight::analytics::check_days(from, to)?;
        Ok(self
            .lock()
            .daily_rows(workflow, from, to)
            .cloned()
            .collect())
    }

    async fn day_counts(&self, date: NaiveDate) -> StoreResult<DayCounts> {
        let state = self.lock();
        let recorded = state
            .analytics
            .values()
            .filter(|a| a.date == date)
            .map(|a| DayCount {
                workflow_id: a.workflow_id,
                downloads: a.downloads,
                purchases: a.purchases,
                refunds: a.refunds,
                favorites: a.favorites,
                reviews: a.reviews,
            })
            .collect();
        let mut counted: BTreeMap<WorkflowId, DayCount> = BTreeMap::new();
        let mut on = |w: WorkflowId, at: DateTime<Utc>, add: &dyn Fn(&mut DayCount)| {
            if at.date_naive() == date {
                add(counted.entry(w).or_insert_with(|| DayCount::zero(w)));
            }
        };
        for d in state.downloads.values() {
            on(d.workflow_id, d.downloaded_at, &|c| c.downloads += 1);
        }
        for p in state.purchases.values() {
            if let Some(at) = p.completed_at {
                let granted: std::collections::BTreeSet<WorkflowId> =
                    p.item.workflows().into_iter().collect();
                for w in granted {
                    on(w, at, &|c| c.purchases += 1);
                }
            }
        }
        for r in &state.refunds {
            on(r.workflow_id, r.refunded_at, &|c| {
                c.refunds += r.amount.amount()
            });
        }
        for (w, at) in &state.favorite_adds {
            on(*w, *at, &|c| c.favorites += 1);
        }
        for (w, at) in state.review_approvals.values() {
            on(*w, *at, &|c| c.reviews += 1);
        }
        Ok(DayCounts {
            recorded,
            counted: counted.into_values().collect(),
        })
    }

    async fn workflow_stats(
        &self,
        workflow: Option<WorkflowId>,
    ) -> StoreResult<Vec<WorkflowStatsRow>> {
        Ok(self.lock().workflow_stats(workflow))
    }
}
