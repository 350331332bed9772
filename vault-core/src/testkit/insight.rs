//! Insight through the service: revenue and refund analytics, views and
//! unique visitors, the stats view.

use std::sync::Arc;

use chrono::Duration;
use rust_decimal::Decimal;

use super::Fixture;
use super::helpers::{bundle_of_three, no_request, usd, workflow_of};
use crate::delivery::download::RequestInfo;
use crate::store::Store;
use crate::value::actor::Actor;
use crate::value::error::Error;
use crate::value::money::Currency;
use crate::value::tier::PricingTier;
use crate::vault::CheckoutItem;

pub async fn revenue_and_refund_analytics(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (bundle, members) = bundle_of_three(&f).await;
    let user = Fixture::user("analyst");
    let p = f.buy(&user, CheckoutItem::Bundle(bundle.id)).await;
    let day = super::epoch().date_naive();
    let mut revenue = Decimal::ZERO;
    let mut parts = Vec::new();
    for m in &members {
        let row = f.store.analytics(*m, day, day).await.unwrap().remove(0);
        assert_eq!(row.purchases, 1);
        assert_eq!(row.currency, Some(Currency::USD));
        revenue += row.revenue;
        parts.push(row.revenue);
    }
    assert_eq!(
        revenue,
        Decimal::from(80),
        "allocated revenue sums exactly to the charge"
    );
    assert_eq!(
        parts,
        vec![Decimal::from(48), Decimal::from(24), Decimal::from(8)]
    );
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(1000)), None)
        .await
        .unwrap();
    let mut refunds = Decimal::ZERO;
    for m in &members {
        refunds += f.store.analytics(*m, day, day).await.unwrap()[0].refunds;
    }
    assert_eq!(refunds, Decimal::from(10));
}

pub async fn views_and_unique_visitors(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("viewed", PricingTier::Free, None).await;
    let from = |ip: &str, referrer: Option<&str>, country: &str| RequestInfo {
        ip: Some(ip.parse().unwrap()),
        user_agent: None,
        referrer: referrer.map(str::to_owned),
        country: Some(crate::value::country::CountryCode::parse(country).unwrap()),
    };
    f.vault
        .record_view(
            &Actor::Anonymous,
            w.id,
            &from("203.0.113.1", Some("https://www.google.com/"), "US"),
        )
        .await
        .unwrap();
    f.vault
        .record_view(&Actor::Anonymous, w.id, &from("203.0.113.1", None, "US"))
        .await
        .unwrap();
    f.vault
        .record_view(
            &Actor::Anonymous,
            w.id,
            &from("203.0.113.2", Some("https://google.com/x"), "DE"),
        )
        .await
        .unwrap();
    f.vault
        .record_view(
            &Fixture::user("viewer"),
            w.id,
            &from("203.0.113.1", None, "US"),
        )
        .await
        .unwrap();
    f.vault
        .record_interaction(&Actor::Anonymous, w.id, crate::vault::Interaction::Share)
        .await
        .unwrap();
    let day = super::epoch().date_naive();
    let row = f
        .vault
        .analytics(&f.admin, w.id, day, day)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(row.views, 4);
    assert_eq!(row.unique_visitors, 3, "two IPs and one user");
    assert_eq!(row.shares, 1);
    assert_eq!(row.traffic_sources.get("google.com"), Some(&2));
    assert_eq!(row.traffic_sources.get("direct"), Some(&2));
    assert_eq!(
        row.countries
            .get(&crate::value::country::CountryCode::parse("US").unwrap()),
        Some(&3)
    );
    assert_eq!(workflow_of(&f, w.id).await.stats.view_count, 4);
    f.advance(Duration::days(1));
    f.vault
        .record_view(&Actor::Anonymous, w.id, &from("203.0.113.1", None, "US"))
        .await
        .unwrap();
    let rows = f
        .vault
        .analytics(&f.admin, w.id, day, day + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].unique_visitors, 1, "unique visitors are per day");
    assert!(matches!(
        f.vault.analytics(&Fixture::user("x"), w.id, day, day).await,
        Err(Error::Forbidden { .. })
    ));
    let bad = f
        .vault
        .analytics(&f.admin, w.id, day, day - Duration::days(1))
        .await;
    assert!(matches!(bad, Err(Error::Invalid(_))));
}

pub async fn workflow_stats_view(store: Arc<dyn Store>) {
    let f = Fixture::new(store).await;
    let (w, _) = f.workflow("stats", PricingTier::Pro, Some(4900)).await;
    let user = Fixture::user("stat-buyer");
    let p = f.buy(&user, CheckoutItem::Workflow(w.id)).await;
    f.vault
        .download(&user, w.id, None, &no_request())
        .await
        .unwrap();
    f.vault
        .add_favorite(&user, w.id, None, vec![])
        .await
        .unwrap();
    f.vault
        .refund_purchase(&Actor::Service, p.id, Some(usd(900)), None)
        .await
        .unwrap();
    let rows = f.vault.workflow_stats(&f.admin, Some(w.id)).await.unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.category_name, f.categories[0].name);
    assert_eq!(row.total_purchases, 1);
    assert_eq!(row.total_revenue, Decimal::from(40), "net of refunds");
    assert_eq!(row.download_count, 1);
    assert_eq!(row.favorite_count, 1);
    assert_eq!(
        f.vault.workflow_stats(&f.admin, None).await.unwrap().len(),
        1
    );
}
