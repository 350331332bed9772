//! Downloads: the vault decides and records, the object store serves.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use object_store::ObjectStoreExt;
use vault_core::RequestInfo;
use vault_core::value::ids::FileId;

use super::super::session::Visitor;
use super::super::{AppState, PageError};
use super::checkout::slug_or_404;

/// A file name safe inside a quoted `Content-Disposition` parameter:
/// letters, digits, `.`, `-` and `_`; anything else becomes `_`.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.trim_matches('.').is_empty() {
        "download".to_owned()
    } else {
        cleaned
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// `GET /download/{slug}/{file_id}`: the vault decides, charges the quota
/// and records the download; only then are the bytes streamed. A denial is
/// a 403 page with the decision in words ("3 of 3 downloads used; to get
/// access: …").
///
/// The download is recorded before the bytes are read: a file missing from
/// the store is a 500 that has used one download (the operator's fault to
/// fix, and visible in the log).
pub(in crate::storefront) async fn download(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path((slug, file_id)): Path<(String, String)>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let slug = slug_or_404(&slug, "workflow")?;
    let file_id = FileId::parse(&file_id).map_err(|_| PageError::not_found("no such file"))?;
    let actor = v.actor();
    let w = app.vault.workflow_by_slug(&actor, &slug).await?;
    let request = RequestInfo {
        ip: ext
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip()),
        user_agent: header_text(&headers, header::USER_AGENT),
        referrer: header_text(&headers, header::REFERER),
        country: None,
    };
    let ticket = app
        .vault
        .download(&actor, w.id, Some(file_id), &request)
        .await?;
    let path =
        object_store::path::Path::parse(&ticket.file.storage_key).map_err(PageError::internal)?;
    let got = app
        .shop
        .files
        .get(&path)
        .await
        .map_err(PageError::internal)?;
    let size = got.meta.size;
    let mut res = Body::from_stream(got.into_stream()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&ticket.file.mime_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        safe_file_name(&ticket.file.file_name)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn file_names_cannot_break_the_header() {
        assert_eq!(safe_file_name("invoice-chaser.json"), "invoice-chaser.json");
        assert_eq!(safe_file_name("a\"b;\r\nc d.pdf"), "a_b___c_d.pdf");
        assert_eq!(safe_file_name(".."), "download");
    }
}
