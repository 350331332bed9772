//! The catalog: listing and searching workflows, one workflow, the access
//! decision, categories and bundles.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use vault_core::Slug;
use vault_core::catalog::bundle::Availability;
use vault_core::catalog::query::{Cursor, WorkflowQuery, WorkflowSort};
use vault_core::catalog::workflow::Workflow;
use vault_core::value::ids::FileId;
use vault_core::value::tier::PricingTier;

use super::super::{AppState, PageError};
use super::dto::{
    AccessDto, BundleDto, CategoryDto, ErrorBody, FileDto, MoneyDto, RatingDto, WedgeDto,
    WorkflowDetail, WorkflowPage, WorkflowRef, WorkflowSummary,
};
use super::extract::{ApiPath, ApiQuery, Caller, url_param, workflow_slug};
use super::{ApiError, ApiResult};

/// The listing's query string, as typed: every value is parsed below, so
/// a bad one is a 400 naming its parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Search words (each a prefix of a word of the title, descriptions or
    /// tags), at most 200 characters.
    q: Option<String>,
    /// A category's slug.
    category: Option<String>,
    /// Pricing tiers, comma-separated (`pro,premium`).
    tier: Option<String>,
    /// `wedge_score` (default), `rating`, `bayesian_rating`, `downloads`,
    /// `newest`.
    sort: Option<String>,
    /// The `next` of the previous page (with the same sort).
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A page size from the query: 1 to 100, `default` when absent.
pub(super) fn limit(raw: &Option<String>, default: u32) -> ApiResult<u32> {
    let Some(raw) = present(raw) else {
        return Ok(default);
    };
    match raw.parse::<u32>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(ApiError(PageError::bad_request(
            "limit",
            "must be a whole number between 1 and 100",
        ))),
    }
}

/// The workflow named by the path, as the caller may see it.
pub(super) async fn by_slug(app: &AppState, caller: &Caller, raw: &str) -> ApiResult<Workflow> {
    let slug = workflow_slug(raw)?;
    app.vault
        .workflow_by_slug(&caller.actor(), &slug)
        .await
        .map_err(ApiError::url)
}

/// Lists published workflows: search, filters, one of five orders, and
/// keyset pages (`next` resumes exactly after the last item).
#[utoipa::path(get, path = "/api/workflows", tag = "catalog", params(ListParams),
    responses(
        (status = 200, description = "One page", body = WorkflowPage),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ErrorBody),
    ))]
pub async fn list_workflows(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(p): ApiQuery<ListParams>,
) -> ApiResult<Json<WorkflowPage>> {
    let actor = caller.actor();
    let sort = match present(&p.sort) {
        None => WorkflowSort::WedgeScore,
        Some(word) => WorkflowSort::parse(word)?,
    };
    let cursor = present(&p.cursor).map(Cursor::decode).transpose()?;
    let tiers = match present(&p.tier) {
        None => vec![],
        Some(list) => list
            .split(',')
            .map(|t| t.trim().parse::<PricingTier>())
            .collect::<Result<_, _>>()
            .map_err(|e| url_param("tier", e))?,
    };
    let category = match present(&p.category) {
        None => None,
        Some(raw) => {
            let slug = Slug::parse(raw).map_err(|e| url_param("category", e))?;
            let all = app.vault.categories(&actor).await?;
            let found = all
                .iter()
                .find(|c| c.slug == slug)
                .ok_or_else(|| ApiError(PageError::bad_request("category", "no such category")))?;
            Some(found.id)
        }
    };
    let query = WorkflowQuery {
        text: present(&p.q).map(str::to_owned),
        category,
        tiers,
        sort,
        cursor,
        limit: limit(&p.limit, 20)?,
        ..WorkflowQuery::default()
    };
    let page = app
        .vault
        .list_workflows(&actor, query)
        .await
        .map_err(|e| match e {
            // The library calls the search text `text`; here it is `q`.
            vault_core::Error::Invalid(v) if v.field() == "text" => url_param("q", v),
            e => ApiError::url(e),
        })?;
    Ok(Json(WorkflowPage {
        items: page.items.iter().map(WorkflowSummary::from).collect(),
        next: page.next.map(|c| c.encode()),
    }))
}

/// One workflow: its description, W.E.D.G.E., files and rating summary.
#[utoipa::path(get, path = "/api/workflows/{slug}", tag = "catalog",
    params(("slug" = String, Path, description = "The workflow's URL name")),
    responses(
        (status = 200, description = "The workflow", body = WorkflowDetail),
        (status = 404, description = "No such workflow (or not shown to the caller)", body = ErrorBody),
    ))]
pub async fn workflow(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<WorkflowDetail>> {
    let w = by_slug(&app, &caller, &slug).await?;
    let actor = caller.actor();
    let vault = &app.vault;
    let files = vault.files(&actor, w.id).await?;
    let rating = vault.rating_summary(&actor, w.id).await?;
    let category = vault
        .categories(&actor)
        .await?
        .into_iter()
        .find(|c| c.id == w.content.category_id)
        .map(|c| c.slug.to_string());
    let c = &w.content;
    let wedge = &c.wedge;
    Ok(Json(WorkflowDetail {
        summary: WorkflowSummary::from(&w),
        description: c.description.clone(),
        category,
        status: w.status.to_string(),
        version: w.current_version.map(|v| v.to_string()),
        wedge: WedgeDto {
            score: wedge.score.value(),
            complexity: wedge.complexity.to_string(),
            efficiency: wedge.efficiency.value(),
            digital_maturity: wedge.digital_maturity.to_string(),
            growth_potential: wedge.growth_potential.to_string(),
            excellence_tier: wedge.excellence_tier.to_string(),
        },
        features: c.features.clone(),
        requirements: c.requirements.clone(),
        includes: c.includes.clone(),
        update_months: c.update_months,
        download_limit: c.download_limit,
        files: files.iter().map(FileDto::from).collect(),
        rating_summary: RatingDto {
            count: rating.count,
            average: rating.average,
            bayesian: rating.bayesian,
            distribution: rating.distribution.to_vec(),
            dimensions: rating.dimensions,
        },
    }))
}

/// The access query: optionally one file.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessParams {
    /// A file's id: decide for that file rather than the workflow.
    file: Option<String>,
}

/// Whether the caller may download the workflow now: the decision, every
/// reason and remedy (in words and structured) and the rules consulted.
/// Writes nothing.
#[utoipa::path(get, path = "/api/workflows/{slug}/access", tag = "catalog",
    params(("slug" = String, Path, description = "The workflow's URL name"), AccessParams),
    responses(
        (status = 200, description = "The decision, granted or not", body = AccessDto),
        (status = 400, description = "`file` is not an id", body = ErrorBody),
        (status = 404, description = "No such workflow or file", body = ErrorBody),
    ))]
pub async fn access(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(p): ApiQuery<AccessParams>,
) -> ApiResult<Json<AccessDto>> {
    let file = present(&p.file)
        .map(FileId::parse)
        .transpose()
        .map_err(|e| url_param("file", e))?;
    let w = by_slug(&app, &caller, &slug).await?;
    let decision = app
        .vault
        .check_access(&caller.actor(), w.id, file)
        .await
        .map_err(ApiError::url)?;
    Ok(Json(AccessDto::from(&decision)))
}

/// The nine business systems, in their order.
#[utoipa::path(get, path = "/api/categories", tag = "catalog",
    responses((status = 200, description = "Every active category", body = [CategoryDto])))]
pub async fn categories(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<CategoryDto>>> {
    let all = app.vault.categories(&caller.actor()).await?;
    Ok(Json(all.iter().map(CategoryDto::from).collect()))
}

/// Bundles on offer, with their pricing against the members' prices.
#[utoipa::path(get, path = "/api/bundles", tag = "catalog",
    responses((status = 200, description = "Every bundle the caller may see", body = [BundleDto])))]
pub async fn bundles(
    State(app): State<Arc<AppState>>,
    caller: Caller,
) -> ApiResult<Json<Vec<BundleDto>>> {
    let actor = caller.actor();
    let vault = &app.vault;
    let mut out = Vec::new();
    for b in vault.bundles(&actor).await? {
        let view = vault.bundle(&actor, b.id).await?;
        let mut workflows = Vec::with_capacity(b.workflow_ids.len());
        for id in &b.workflow_ids {
            workflows.push(workflow_ref(&app, &caller, *id).await?);
        }
        out.push(BundleDto {
            id: b.id.as_uuid(),
            slug: b.slug.to_string(),
            name: b.name.clone(),
            description: b.description.clone(),
            workflows,
            price: MoneyDto::from(&view.pricing.price),
            original_price: MoneyDto::from(&view.pricing.original),
            savings: MoneyDto::from(&view.pricing.savings),
            savings_percent: view.pricing.savings_percent,
            on_sale: matches!(view.availability, Availability::OnSale),
        });
    }
    Ok(Json(out))
}

/// A workflow named in a list: its slug and title when the caller may see
/// it, only its id when it is hidden from them now.
pub(super) async fn workflow_ref(
    app: &AppState,
    caller: &Caller,
    id: vault_core::WorkflowId,
) -> ApiResult<WorkflowRef> {
    match app.vault.workflow(&caller.actor(), id).await {
        Ok(w) => Ok(WorkflowRef {
            id: id.as_uuid(),
            slug: Some(w.content.slug.to_string()),
            title: Some(w.content.title),
        }),
        Err(vault_core::Error::NotFound { .. }) => Ok(WorkflowRef {
            id: id.as_uuid(),
            slug: None,
            title: None,
        }),
        Err(e) => Err(e.into()),
    }
}
