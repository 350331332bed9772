//! Reviews and their helpfulness votes, comments and their likes, and
//! bookmarking a workflow. Reads are open; writes need a signed-in user.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use vault_core::UserId;
use vault_core::community::comment::Comment;
use vault_core::community::comment_query::{CommentCursor, CommentOrder};
use vault_core::community::rating::{Dimension, DimensionRatings, Rating};
use vault_core::community::review::{ReviewInput, Vote};
use vault_core::value::ids::{CommentId, ReviewId};
use vault_core::value::tag::Tag;

use super::super::{AppState, PageError};
use super::catalog::{by_slug, limit, workflow_ref};
use super::dto::{CommentDto, CommentPage, ErrorBody, FavoriteDto, ReviewDto, author_name};
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller, OptionalJson, body_field, url_param};
use super::{ApiError, ApiResult};

/// How the authors of `users` are shown, in order.
async fn authors(app: &AppState, caller: &Caller, users: &[UserId]) -> ApiResult<Vec<String>> {
    let mut out = Vec::with_capacity(users.len());
    // `authors` takes at most a page (100) at a time.
    for chunk in users.chunks(100) {
        let shown = app.vault.authors(&caller.actor(), chunk).await?;
        out.extend(
            chunk
                .iter()
                .enumerate()
                .map(|(i, _)| author_name(shown.get(i))),
        );
    }
    Ok(out)
}

fn viewer(caller: &Caller) -> Option<&UserId> {
    caller.0.user.as_ref().map(|s| &s.user)
}

/// A workflow's reviews, most helpful first: the approved ones, and the
/// caller's own whatever its moderation status.
#[utoipa::path(get, path = "/api/workflows/{slug}/reviews", tag = "community",
    params(("slug" = String, Path, description = "The workflow's URL name")),
    responses(
        (status = 200, description = "The reviews", body = [ReviewDto]),
        (status = 404, description = "No such workflow", body = ErrorBody),
    ))]
pub async fn reviews(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<Json<Vec<ReviewDto>>> {
    let w = by_slug(&app, &caller, &slug).await?;
    let all = app.vault.reviews(&caller.actor(), w.id).await?;
    let users: Vec<UserId> = all.iter().map(|r| r.user_id.clone()).collect();
    let names = authors(&app, &caller, &users).await?;
    Ok(Json(
        all.iter()
            .zip(names)
            .map(|(r, name)| ReviewDto::of(r, name, viewer(&caller)))
            .collect(),
    ))
}

/// Stars per W.E.D.G.E. dimension, each optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionsBody {
    /// **W**orkflow complexity fit, 1 to 5.
    complexity: Option<u8>,
    /// **E**fficiency, 1 to 5.
    efficiency: Option<u8>,
    /// **D**igital maturity fit, 1 to 5.
    digital_maturity: Option<u8>,
    /// **G**rowth impact, 1 to 5.
    growth: Option<u8>,
    /// **E**xcellence, 1 to 5.
    excellence: Option<u8>,
}

/// A review to post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReview {
    /// Stars, 1 to 5.
    rating: u8,
    /// Stars per dimension.
    #[serde(default)]
    dimensions: DimensionsBody,
    /// Title, up to 200 characters.
    title: String,
    /// Body, up to 10 000 characters.
    body: String,
}

impl NewReview {
    /// Into the library's checked input, naming the field at fault.
    fn checked(self) -> ApiResult<ReviewInput> {
        let rating = Rating::new(self.rating).map_err(|e| body_field("rating", e))?;
        let d = &self.dimensions;
        let mut dimensions = DimensionRatings::default();
        for (dim, name, stars) in [
            (Dimension::Complexity, "dimensions.complexity", d.complexity),
            (Dimension::Efficiency, "dimensions.efficiency", d.efficiency),
            (
                Dimension::DigitalMaturity,
                "dimensions.digital_maturity",
                d.digital_maturity,
            ),
            (Dimension::Growth, "dimensions.growth", d.growth),
            (Dimension::Excellence, "dimensions.excellence", d.excellence),
        ] {
            let r = stars
                .map(|s| Rating::new_field("rating", s))
                .transpose()
                .map_err(|e| body_field(name, e))?;
            dimensions.set(dim, r);
        }
        let input = ReviewInput {
            rating,
            dimensions,
            title: self.title,
            body: self.body,
        };
        input.validate().map_err(|e| body_field(e.field(), e))?;
        Ok(input)
    }
}

/// Posts the caller's review (one per workflow). It waits for moderation
/// before it counts or others see it; its author sees it at once.
#[utoipa::path(post, path = "/api/workflows/{slug}/reviews", tag = "community",
    params(("slug" = String, Path, description = "The workflow's URL name")),
    request_body = NewReview,
    responses(
        (status = 201, description = "Posted, pending moderation", body = ReviewDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such workflow", body = ErrorBody),
        (status = 409, description = "The caller has reviewed it already", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "A field is wrong; `field` names it", body = ErrorBody),
    ))]
pub async fn post_review(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewReview>,
) -> ApiResult<(StatusCode, Json<ReviewDto>)> {
    let user = caller.user()?.clone();
    let input = body.checked()?;
    let w = by_slug(&app, &caller, &slug).await?;
    let review = app
        .vault
        .submit_review(&caller.actor(), w.id, input)
        .await?;
    let name = authors(&app, &caller, std::slice::from_ref(&user)).await?;
    let name = name.into_iter().next().unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(ReviewDto::of(&review, name, Some(&user))),
    ))
}

/// A helpfulness vote.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoteWord {
    /// It helped.
    Helpful,
    /// It did not.
    NotHelpful,
}

/// The caller's vote on a review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    /// `helpful`, `not_helpful`, or `null` to withdraw the vote. Required.
    // `deserialize_with` makes the field required although it is an
    // Option: `{}` is a mistake, not a withdrawal.
    #[serde(deserialize_with = "Option::deserialize")]
    vote: Option<VoteWord>,
}

/// Votes an approved review helpful or not (one vote per user, not on
/// one's own review); `null` withdraws the vote.
#[utoipa::path(post, path = "/api/reviews/{id}/votes", tag = "community",
    params(("id" = String, Path, description = "The review's id")),
    request_body = VoteBody,
    responses(
        (status = 200, description = "The review with its counts after the vote", body = ReviewDto),
        (status = 400, description = "`id` is not an id, or malformed JSON", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 403, description = "One's own review", body = ErrorBody),
        (status = 404, description = "No such (approved) review", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "`vote` is wrong", body = ErrorBody),
    ))]
pub async fn vote(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<VoteBody>,
) -> ApiResult<Json<ReviewDto>> {
    let id = ReviewId::parse(&id).map_err(|e| url_param("id", e))?;
    let user = caller.user()?.clone();
    let vote = body.vote.map(|v| match v {
        VoteWord::Helpful => Vote::Helpful,
        VoteWord::NotHelpful => Vote::NotHelpful,
    });
    let review = app
        .vault
        .vote_review(&caller.actor(), id, vote)
        .await
        .map_err(ApiError::url)?;
    let name = authors(&app, &caller, std::slice::from_ref(&review.user_id)).await?;
    let name = name.into_iter().next().unwrap_or_default();
    Ok(Json(ReviewDto::of(&review, name, Some(&user))))
}

/// The comments' query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentParams {
    /// `newest` (default) or `most_liked`.
    order: Option<String>,
    /// The `next` of the previous page (with the same order).
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<String>,
}

async fn comment_dtos(
    app: &AppState,
    caller: &Caller,
    comments: &[Comment],
) -> ApiResult<Vec<CommentDto>> {
    let users: Vec<UserId> = comments.iter().map(|c| c.author.clone()).collect();
    let names = authors(app, caller, &users).await?;
    Ok(comments
        .iter()
        .zip(names)
        .map(|(c, name)| CommentDto::of(c, name, viewer(caller)))
        .collect())
}

/// One page of a workflow's comments, flat (every level of every thread;
/// `parent_id` and `depth` rebuild the threads).
#[utoipa::path(get, path = "/api/workflows/{slug}/comments", tag = "community",
    params(("slug" = String, Path, description = "The workflow's URL name"), CommentParams),
    responses(
        (status = 200, description = "One page", body = CommentPage),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ErrorBody),
        (status = 404, description = "No such workflow", body = ErrorBody),
    ))]
pub async fn comments(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(p): ApiQuery<CommentParams>,
) -> ApiResult<Json<CommentPage>> {
    let order = match p.order.as_deref().map(str::trim) {
        None | Some("" | "newest") => CommentOrder::Newest,
        Some("most_liked") => CommentOrder::MostLiked,
        Some(_) => {
            return Err(ApiError(PageError::bad_request(
                "order",
                "must be one of newest, most_liked",
            )));
        }
    };
    let cursor = match p.cursor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(token) => Some(CommentCursor::decode(token)?),
    };
    if cursor.is_some_and(|c| c.order() != order) {
        return Err(ApiError(PageError::bad_request(
            "cursor",
            "the cursor belongs to another order",
        )));
    }
    let limit = limit(&p.limit, 50)?;
    let w = by_slug(&app, &caller, &slug).await?;
    let page = app
        .vault
        .comments(&caller.actor(), w.id, order, cursor, limit)
        .await
        .map_err(ApiError::url)?;
    Ok(Json(CommentPage {
        items: comment_dtos(&app, &caller, &page.items).await?,
        next: page.next.map(|c| c.encode()),
    }))
}

/// A comment to post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// Text, 1 to 5 000 characters.
    body: String,
    /// The comment this answers (a reply); at most three levels.
    #[serde(default)]
    parent_id: Option<String>,
}

/// Posts a comment, or with `parent_id` a reply.
#[utoipa::path(post, path = "/api/workflows/{slug}/comments", tag = "community",
    params(("slug" = String, Path, description = "The workflow's URL name")),
    request_body = NewComment,
    responses(
        (status = 201, description = "Posted", body = CommentDto),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such workflow or parent", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "A field is wrong; `field` names it", body = ErrorBody),
    ))]
pub async fn post_comment(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> ApiResult<(StatusCode, Json<CommentDto>)> {
    caller.user()?;
    let parent = body
        .parent_id
        .as_deref()
        .map(CommentId::parse)
        .transpose()
        .map_err(|e| body_field("parent_id", e))?;
    let w = by_slug(&app, &caller, &slug).await?;
    let c = app
        .vault
        .post_comment(&caller.actor(), w.id, parent, body.body)
        .await?;
    let mut dto = comment_dtos(&app, &caller, std::slice::from_ref(&c)).await?;
    let dto = dto
        .pop()
        .ok_or_else(|| ApiError(PageError::internal("a posted comment vanished")))?;
    Ok((StatusCode::CREATED, Json(dto)))
}

async fn set_like(app: &AppState, caller: &Caller, id: &str, like: bool) -> ApiResult<CommentDto> {
    let id = CommentId::parse(id).map_err(|e| url_param("id", e))?;
    caller.user()?;
    let actor = caller.actor();
    let c = if like {
        app.vault.like_comment(&actor, id).await
    } else {
        app.vault.unlike_comment(&actor, id).await
    }
    .map_err(ApiError::url)?;
    let mut dto = comment_dtos(app, caller, std::slice::from_ref(&c)).await?;
    dto.pop()
        .ok_or_else(|| ApiError(PageError::internal("a liked comment vanished")))
}

/// Likes a comment (once per user; liking again changes nothing).
#[utoipa::path(post, path = "/api/comments/{id}/likes", tag = "community",
    params(("id" = String, Path, description = "The comment's id")),
    responses(
        (status = 200, description = "The comment with its like count", body = CommentDto),
        (status = 400, description = "`id` is not an id", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such comment", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
    ))]
pub async fn like(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CommentDto>> {
    set_like(&app, &caller, &id, true).await.map(Json)
}

/// Withdraws the caller's like.
#[utoipa::path(delete, path = "/api/comments/{id}/likes", tag = "community",
    params(("id" = String, Path, description = "The comment's id")),
    responses(
        (status = 200, description = "The comment with its like count", body = CommentDto),
        (status = 400, description = "`id` is not an id", body = ErrorBody),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such comment", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
    ))]
pub async fn unlike(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CommentDto>> {
    set_like(&app, &caller, &id, false).await.map(Json)
}

/// A bookmark's private note and tags (the body may be left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFavorite {
    /// Private note, up to 2 000 characters.
    #[serde(default)]
    note: Option<String>,
    /// Private tags, up to 20.
    #[serde(default)]
    tags: Vec<String>,
}

/// Bookmarks the workflow for the caller.
#[utoipa::path(post, path = "/api/workflows/{slug}/favorite", tag = "community",
    params(("slug" = String, Path, description = "The workflow's URL name")),
    request_body(content = Option<NewFavorite>, description = "Optional: a note and tags"),
    responses(
        (status = 201, description = "Bookmarked", body = FavoriteDto),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such workflow", body = ErrorBody),
        (status = 409, description = "Already bookmarked", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
        (status = 422, description = "A field is wrong; `field` names it", body = ErrorBody),
    ))]
pub async fn favorite(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
    OptionalJson(body): OptionalJson<NewFavorite>,
) -> ApiResult<(StatusCode, Json<FavoriteDto>)> {
    caller.user()?;
    let tags = body
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| Tag::parse(t).map_err(|e| body_field(&format!("tags[{i}]"), e)))
        .collect::<ApiResult<Vec<_>>>()?;
    let w = by_slug(&app, &caller, &slug).await?;
    let fav = app
        .vault
        .add_favorite(&caller.actor(), w.id, body.note, tags)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(FavoriteDto {
            workflow: workflow_ref(&app, &caller, fav.workflow_id).await?,
            note: fav.note,
            tags: fav.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            created_at: fav.created_at,
        }),
    ))
}

/// Removes the caller's bookmark: 204, or 404 when there was none.
#[utoipa::path(delete, path = "/api/workflows/{slug}/favorite", tag = "community",
    params(("slug" = String, Path, description = "The workflow's URL name")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Sign in first", body = ErrorBody),
        (status = 404, description = "No such workflow, or not bookmarked", body = ErrorBody),
        (status = 415, description = "Not sent as application/json", body = ErrorBody),
    ))]
pub async fn unfavorite(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    ApiPath(slug): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.user()?;
    let w = by_slug(&app, &caller, &slug).await?;
    if app.vault.remove_favorite(&caller.actor(), w.id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError(PageError::not_found("not bookmarked")))
    }
}
