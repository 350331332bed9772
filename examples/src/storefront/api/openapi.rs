//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]`
//! attributes and the DTOs' `ToSchema`: what the document says is what
//! the code declares. `api::served_routes` is held to it by a test, both
//! ways, so a route added to one and not the other fails the build's tests.

use axum::Json;
use utoipa::OpenApi;

use super::{catalog, community, dto, me, shop};

/// The API's OpenAPI document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Workflow Vault storefront API",
        description = "The storefront's JSON API. Signed in by the site's session cookie; \
            every POST, PUT, PATCH and DELETE must be sent with \
            `Content-Type: application/json` (else 415), which is the API's defence \
            against cross-site requests. Errors are `{\"error\": {\"code\", \"field\", \"message\"}}`."
    ),
    paths(
        document,
        catalog::list_workflows,
        catalog::workflow,
        catalog::access,
        catalog::categories,
        catalog::bundles,
        community::reviews,
        community::post_review,
        community::vote,
        community::comments,
        community::post_comment,
        community::like,
        community::unlike,
        community::favorite,
        community::unfavorite,
        me::favorites,
        me::purchases,
        me::purchase,
        me::memberships,
        me::downloads,
        shop::download,
        shop::stripe_webhook,
        shop::checkout,
        shop::cancel_membership,
    ),
    components(schemas(dto::ErrorBody)),
    tags(
        (name = "catalog", description = "Workflows, access, categories, bundles"),
        (name = "community", description = "Reviews, comments, favorites"),
        (name = "me", description = "What the signed-in user has"),
        (name = "meta", description = "This document"),
        (name = "payments", description = "Stripe's webhook"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
