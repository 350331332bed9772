//! Insight's storage trait called directly ([`crate::store::AnalyticsStore`]):
//! daily rows, unique visitors, ranges, and the stats view.

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::records::{
    assert_err, audit, catalog, day, delta, direct, download, favorite, file, sell, slug, snapshot,
    user, wf_id, workflow,
};
use crate::catalog::workflow::WorkflowStatus;
use crate::insight::analytics::{DailyAnalytics, VisitorKey};
use crate::store::{Charge, Entity, Store, StoreError};
use crate::value::country::CountryCode;
use crate::value::money::Currency;
use crate::value::version::Version;

pub async fn store_record_analytics_fills_daily_rows_and_view_counts(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let before = snapshot(&*store).await;
    assert_err!(
        store.record_analytics(&delta(99, 0)).await,
        StoreError::NotFound {
            entity: Entity::Workflow,
            ..
        }
    );
    assert_eq!(snapshot(&*store).await, before);

    let mut view = delta(10, 0);
    view.views = 1;
    view.traffic_source = Some("google.com".into());
    store.record_analytics(&view).await.unwrap();
    store.record_analytics(&view).await.unwrap();
    let mut sale = delta(10, 0);
    sale.purchases = 1;
    sale.revenue = Decimal::new(4900, 2);
    sale.currency = Some(Currency::USD);
    store.record_analytics(&sale).await.unwrap();
    // A delta without views creates its row but leaves view_count alone.
    store.record_analytics(&delta(10, 2)).await.unwrap();

    let rows = store.analytics(wf_id(10), day(0), day(2)).await.unwrap();
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!((first.date, first.views, first.purchases), (day(0), 2, 1));
    assert_eq!(first.revenue, Decimal::new(4900, 2));
    assert_eq!(first.traffic_sources.get("google.com"), Some(&2));
    assert_eq!(rows[1], DailyAnalytics::empty(wf_id(10), day(2)));
    let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
    assert_eq!(w.stats.view_count, 2);
    // Counters do not touch the workflow's timestamps.
    assert_eq!(
        w.updated_at,
        workflow(10, "x", 1, WorkflowStatus::Draft).updated_at
    );
}

pub async fn store_a_visitor_is_unique_once_per_workflow_and_day(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let seen = |wf: u128, d: i64, who: &str| {
        let mut v = delta(wf, d);
        v.views = 1;
        // Ignored when a visitor is named: the store decides.
        v.unique_visitors = 5;
        v.visitor = Some(VisitorKey::User(user(who)));
        v
    };
    store.record_analytics(&seen(10, 0, "ann")).await.unwrap();
    store.record_analytics(&seen(10, 0, "ann")).await.unwrap();
    store.record_analytics(&seen(10, 0, "bob")).await.unwrap();
    store.record_analytics(&seen(10, 1, "ann")).await.unwrap();
    store.record_analytics(&seen(11, 0, "ann")).await.unwrap();
    // Without a visitor key the delta's own count is added.
    let mut anonymous = delta(10, 0);
    anonymous.unique_visitors = 3;
    store.record_analytics(&anonymous).await.unwrap();

    let unique = |rows: Vec<DailyAnalytics>| {
        rows.iter()
            .map(|r| (r.views, r.unique_visitors))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        unique(store.analytics(wf_id(10), day(0), day(1)).await.unwrap()),
        vec![(3, 5), (1, 1)]
    );
    assert_eq!(
        unique(store.analytics(wf_id(11), day(0), day(0)).await.unwrap()),
        vec![(1, 1)]
    );
}

/// A download's write carries its whole delta, not only its count: views
/// go to the workflow's counter and the day's row, a named visitor is
/// counted once a day (and a visitor seen by a view before is not new), the
/// download, clicks, traffic source and country are counted, and the day's
/// money and currency, written before by a sale, stay. The day's row is
/// exactly vault-core's rule applied to the same deltas in turn, whether
/// the store applies it or adds in place.
pub async fn store_a_download_records_its_whole_delta(store: Arc<dyn Store>) {
    catalog(&*store).await;
    store
        .insert_file(&file(1, 10, Version::new(1, 0, 0), true), &audit())
        .await
        .unwrap();
    let mut sale = delta(10, 0);
    sale.purchases = 1;
    sale.revenue = Decimal::new(4900, 2);
    sale.currency = Some(Currency::USD);
    sale.views = 1;
    sale.visitor = Some(VisitorKey::User(user("cat")));
    sale.country = Some(CountryCode::parse("DE").unwrap());
    store.record_analytics(&sale).await.unwrap();
    let mut expected = DailyAnalytics::empty(wf_id(10), day(0));
    let mut counted = sale.clone();
    counted.unique_visitors = 1;
    expected.apply(&counted).unwrap();
    let downloads = [
        ("ann", 2, 1, Some("DE"), Some("google.com"), 1),
        ("ann", 2, 0, Some("DE"), None, 0),
        ("bob", 0, 0, Some("US"), Some("google.com"), 1),
        ("cat", 1, 2, None, Some("n8n.io"), 0),
    ];
    for (n, (who, views, clicks, country, source, new_visitor)) in downloads.into_iter().enumerate()
    {
        let mut d = delta(10, 0);
        d.downloads = 1;
        d.views = views;
        d.clicks = clicks;
        d.unique_visitors = 7; // ignored: the visitor is named
        d.visitor = Some(VisitorKey::User(user(who)));
        d.country = country.map(|c| CountryCode::parse(c).unwrap());
        d.traffic_source = source.map(str::to_owned);
        store
            .record_download(
                &download(n as u128 + 1, Some(who), 10, 1, 0),
                &Charge::Nothing,
                &d,
            )
            .await
            .unwrap();
        d.unique_visitors = new_visitor;
        expected.apply(&d).unwrap();
    }
    // Deltas that only count, naming no visitor, source or country (the
    // vault's own download delta is one of them): a store may add them in
    // place. Over the day's row, and as a next day's first row.
    let mut next_day = DailyAnalytics::empty(wf_id(10), day(1));
    for (n, on, clicks, uniques) in [(5u128, 0, 1, 2), (6, 1, 0, 0), (7, 1, 3, 1)] {
        let mut d = delta(10, on);
        d.downloads = 1;
        d.clicks = clicks;
        d.unique_visitors = uniques;
        d.shares = 2;
        d.favorites = 1;
        d.reviews = u64::from(on == 0);
        store
            .record_download(&download(n, Some("dan"), 10, 1, on), &Charge::Nothing, &d)
            .await
            .unwrap();
        let row = if on == 0 {
            &mut expected
        } else {
            &mut next_day
        };
        row.apply(&d).unwrap();
    }
    let rows = store.analytics(wf_id(10), day(0), day(1)).await.unwrap();
    assert_eq!(rows, vec![expected.clone(), next_day.clone()]);
    assert_eq!(
        (expected.downloads, expected.views, expected.unique_visitors),
        (5, 6, 5),
        "five downloads, their views and the sale's, three visitors and two counted"
    );
    assert_eq!(
        (next_day.downloads, next_day.clicks, next_day.shares),
        (2, 3, 4)
    );
    let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
    assert_eq!((w.stats.download_count, w.stats.view_count), (7, 6));

    // A sum past what a store's integers hold (SQL stores: i64) is refused,
    // and the download with it; a store that holds it counts it exactly.
    // Never wrapped or rounded, as an in-place sum could.
    let mut full = delta(10, 2);
    full.clicks = i64::MAX as u64;
    store.record_analytics(&full).await.unwrap();
    let mut d = delta(10, 2);
    d.downloads = 1;
    d.clicks = 1;
    let kept = store
        .record_download(&download(8, Some("dan"), 10, 1, 2), &Charge::Nothing, &d)
        .await
        .is_ok();
    let rows = store.analytics(wf_id(10), day(2), day(2)).await.unwrap();
    let w = store.workflow(wf_id(10)).await.unwrap().unwrap();
    if kept {
        assert_eq!(
            (rows[0].clicks, rows[0].downloads),
            (i64::MAX as u64 + 1, 1)
        );
        assert_eq!(w.stats.download_count, 8);
    } else {
        assert_eq!((rows[0].clicks, rows[0].downloads), (i64::MAX as u64, 0));
        assert_eq!(
            w.stats.download_count, 7,
            "the refused download kept nothing"
        );
    }
}

pub async fn store_analytics_ranges_are_inclusive_and_oldest_first(store: Arc<dyn Store>) {
    catalog(&*store).await;
    for d in [3, 1, 2, 5] {
        store.record_analytics(&delta(10, d)).await.unwrap();
    }
    store.record_analytics(&delta(11, 2)).await.unwrap();
    let dates: Vec<NaiveDate> = store
        .analytics(wf_id(10), day(1), day(3))
        .await
        .unwrap()
        .iter()
        .map(|r| r.date)
        .collect();
    assert_eq!(dates, vec![day(1), day(2), day(3)]);
    assert!(
        store
            .analytics(wf_id(10), day(3), day(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .analytics(wf_id(99), day(0), day(9))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn store_workflow_stats_sum_net_revenue_per_workflow(store: Arc<dyn Store>) {
    catalog(&*store).await;
    let money = |d: i64, revenue: i64, refunds: i64| {
        let mut m = delta(10, d);
        m.revenue = Decimal::new(revenue, 2);
        m.refunds = Decimal::new(refunds, 2);
        m.currency = Some(Currency::USD);
        m
    };
    store.record_analytics(&money(0, 4900, 0)).await.unwrap();
    store.record_analytics(&money(1, 2900, 4900)).await.unwrap();
    let mut views = delta(10, 2);
    views.views = 4;
    store.record_analytics(&views).await.unwrap();
    // Two sales, three downloads and a favorite, none of them with
    // analytics of their own.
    sell(&*store, 1, "ann", direct(10)).await;
    sell(&*store, 2, "bob", direct(10)).await;
    store
        .insert_file(&file(1, 10, Version::new(1, 0, 0), true), &audit())
        .await
        .unwrap();
    for n in 1..=3 {
        store
            .record_download(
                &download(n, Some("ann"), 10, 1, 2),
                &Charge::Nothing,
                &delta(10, 2),
            )
            .await
            .unwrap();
    }
    store
        .insert_favorite(&favorite("ann", 10, 2), &delta(10, 2))
        .await
        .unwrap();

    let rows = store.workflow_stats(None).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.workflow_id).collect::<Vec<_>>(),
        vec![wf_id(10), wf_id(11)]
    );
    let r = &rows[0];
    assert_eq!(r.slug, slug("lead-capture"));
    assert_eq!(r.category_name, "Category 1");
    assert_eq!(r.status, WorkflowStatus::Published);
    assert_eq!(r.total_revenue, Decimal::new(2900, 2));
    assert_eq!(r.currency, Some(Currency::USD));
    assert_eq!(
        (
            r.total_purchases,
            r.download_count,
            r.favorite_count,
            r.view_count
        ),
        (2, 3, 1, 4)
    );
    let idle = &rows[1];
    assert_eq!((idle.total_revenue, idle.currency), (Decimal::ZERO, None));

    assert_eq!(
        store.workflow_stats(Some(wf_id(10))).await.unwrap(),
        vec![r.clone()]
    );
    assert!(
        store
            .workflow_stats(Some(wf_id(99)))
            .await
            .unwrap()
            .is_empty()
    );
}
