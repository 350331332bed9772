//! The storefront: the marketplace a person opens in a browser, on the
//! library's public API only. Server-rendered pages (askama templates,
//! escaped by default) that work without JavaScript, a JSON API under
//! `/api`, and a built-in fake Stripe so the whole loop runs offline.
//!
//! The areas, each its own module with its routes:
//! * [`pages`]: the catalog and a workflow's page;
//! * [`community`]: reviews and votes, comments and likes, favorites;
//! * [`auth`]: sign up, sign in, sign out, password reset, the dev mailbox;
//! * [`shop`]: checkout, the Stripe webhook, downloads, refunds, memberships
//!   (and [`fake_stripe`], the offline stand-in for Stripe);
//! * [`dashboard`]: what a signed-in user has;
//! * [`admin`]: staff pages;
//! * [`api`]: the JSON API and its OpenAPI document.
//!
//! Below them: [`session`] (who is asking, CSRF), [`error`] (one mapping
//! of the vault's errors to statuses), [`mail`] (the app's mail sender).
//!
//! Every value from outside is parsed into vault-core's checked types; a bad
//! one in the URL is a 400 naming the field, in a form a 422; a missing or
//! hidden record is a 404; nothing is written by a request that failed.

pub mod admin;
pub mod api;
pub mod auth;
pub mod community;
pub mod dashboard;
pub mod error;
pub mod fake_stripe;
pub mod jobs;
pub mod mail;
pub mod pages;
pub mod session;
pub mod shop;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Html;
use object_store::ObjectStore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use vault_core::store::Store;
use vault_core::{Clock, Vault};

pub use error::PageError;
pub use mail::{DevMailbox, Mail, Mailer};
pub use session::{CsrfForm, Sessions, SignedIn, Visitor};

/// How the storefront is set up.
pub struct Config {
    /// Where the site is reached from a browser, without a trailing slash
    /// (`http://127.0.0.1:8080`): links in mails and Stripe's return URLs.
    pub public_url: String,
    /// At least 64 random bytes: signs session cookies, derives CSRF
    /// tokens. A new key signs everybody out.
    pub cookie_key: Vec<u8>,
    /// Where the bytes of workflow files live (a local folder by default).
    pub files: Arc<dyn ObjectStore>,
    /// The app's mail sender.
    pub mailer: Arc<dyn Mailer>,
    /// Stripe: the built-in fake, or the real API.
    pub stripe: shop::StripeSetup,
    /// The clock (the system clock in production; tests may move it).
    pub clock: Arc<dyn Clock>,
    /// The folder served under `/static` (the stylesheet).
    pub assets: std::path::PathBuf,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("public_url", &self.public_url)
            .field("stripe", &self.stripe)
            .field("assets", &self.assets)
            .finish_non_exhaustive()
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The vault the pages read and write.
    pub vault: Vault<dyn Store>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Where the site is reached.
    pub public_url: String,
    /// Signed-in sessions.
    pub sessions: Sessions,
    /// Mail.
    pub mailer: Arc<dyn Mailer>,
    /// Where the bytes of workflow files live.
    pub files: Arc<dyn ObjectStore>,
    /// Sign-in throttling and password-reset tokens.
    pub auth: auth::AuthState,
    /// Files, payments and the fake Stripe.
    pub shop: shop::Shop,
}

/// The storefront's router over `vault`, for tests that start it
/// in-process: [`app`], with its job worker spawned on the current tokio
/// runtime (none, outside one: then nothing sends the queued mails).
pub fn router(vault: Vault<dyn Store>, config: Config) -> Router {
    let (router, worker) = app(vault, config);
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(worker.run());
    }
    router
}

/// The storefront's router and the worker that runs its jobs (its mails),
/// for an app that runs the two side by side and stops the worker when it
/// shuts down ([`jobs::Worker::stop`], then await [`jobs::Worker::run`]).
pub fn app(vault: Vault<dyn Store>, config: Config) -> (Router, jobs::Worker) {
    let state = Arc::new(AppState {
        sessions: Sessions::new(&config.cookie_key, config.public_url.starts_with("https:")),
        auth: auth::AuthState::default(),
        shop: shop::Shop::new(&vault, &config),
        clock: config.clock,
        mailer: config.mailer,
        files: Arc::clone(&config.files),
        public_url: config.public_url,
        vault,
    });
    let assets = ServeDir::new(&config.assets);
    let routes = Router::new()
        .merge(pages::routes())
        .merge(auth::routes())
        .merge(community::routes())
        .merge(shop::routes())
        .merge(fake_stripe::routes())
        .merge(dashboard::routes())
        .merge(admin::routes())
        .nest("/api", api::routes())
        .route("/healthz", axum::routing::get(|| async { "ok" }))
        .nest_service("/static", assets)
        .fallback(|| async { PageError::not_found("no such page") })
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            session::layer,
        ))
        .with_state(Arc::clone(&state));
    (with_layers(routes), jobs::Worker::new(state))
}

/// The layers every storefront route runs under; an app merging its own
/// routes into the storefront's wraps them the same way. Each `layer`
/// wraps the ones before it, so a request meets them bottom-up: it gets an
/// id, is traced with it, the id is copied to the response, the response
/// is compressed, a handler that takes too long is cut off, and one that
/// panics becomes the friendly 500 page (the connection and the server
/// live on).
pub fn with_layers(routes: Router) -> Router {
    routes
        .layer(CatchPanicLayer::custom(error::panic_page))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(10),
        ))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// The span of one request: its method, its route's pattern and its id.
/// The pattern (`/reset/{token}`), never the URI: a path or a query can
/// carry a secret (a reset token) or a payment's session id, and logs are
/// kept where secrets must not be.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(no route)", axum::extract::MatchedPath::as_str);
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("http", method = %req.method(), route, request_id = id)
}

/// What the layout's header needs: who is signed in (for the links) and the
/// CSRF token of the sign-out form.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// Someone is signed in.
    pub signed_in: bool,
    /// They are staff (the admin link shows).
    pub staff: bool,
    /// The session's CSRF token.
    pub csrf: String,
}

impl Nav {
    /// The header for `v`.
    pub fn of(v: &Visitor) -> Self {
        Self {
            signed_in: v.user.is_some(),
            staff: v.user.as_ref().is_some_and(SignedIn::is_staff),
            csrf: v.csrf.clone(),
        }
    }
}

/// Renders a template into a response, or a 500 page.
pub(crate) fn render(t: &impl askama::Template) -> Result<Html<String>, PageError> {
    t.render().map(Html).map_err(PageError::internal)
}

/// The demo's setup: files in `files_dir` (created), the dev mailbox, the
/// fake Stripe, a random cookie key (a restart signs everybody out), the
/// system clock.
pub fn demo_config(
    public_url: &str,
    files_dir: &std::path::Path,
) -> Result<Config, crate::AnyError> {
    std::fs::create_dir_all(files_dir)?;
    let files = object_store::local::LocalFileSystem::new_with_prefix(files_dir)?;
    let mut key = vec![0u8; 64];
    getrandom::fill(&mut key).map_err(|e| e.to_string())?;
    Ok(Config {
        public_url: public_url.trim_end_matches('/').to_owned(),
        cookie_key: key,
        files: Arc::new(files),
        mailer: Arc::new(DevMailbox::default()),
        stripe: shop::StripeSetup::Fake,
        clock: Arc::new(crate::SystemClock),
        assets: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("static"),
    })
}

/// The ports the binary tries, in order, when no `--port` is given.
pub const DEFAULT_PORTS: std::ops::Range<u16> = 8080..8100;

/// A loopback listener on the first port of `ports` that is free: the
/// storefront starts on a fixed, bookmarkable address unless another
/// program holds it, then on the next one.
pub async fn first_free_port(
    ports: std::ops::Range<u16>,
) -> Result<tokio::net::TcpListener, crate::AnyError> {
    let (first, end) = (ports.start, ports.end);
    for p in ports {
        if let Ok(l) = tokio::net::TcpListener::bind(("127.0.0.1", p)).await {
            return Ok(l);
        }
    }
    Err(format!(
        "no free port from {first} to {}; pass --port",
        end.saturating_sub(1)
    )
    .into())
}

/// The demo admin's email and password.
pub const DEMO_ADMIN: (&str, &str) = ("admin@example.com", "demo-admin-password");

/// Opens the demo admin account (once): returns its email and password.
pub async fn demo_admin(
    vault: &Vault<dyn Store>,
) -> Result<(&'static str, &'static str), crate::AnyError> {
    let (email, password) = DEMO_ADMIN;
    let email_v = vault_core::Email::parse(email)?;
    let user = vault_core::UserId::parse("demo-admin")?;
    if vault.store().account(&user).await?.is_none() {
        let credential = auth::hash_password(password.to_owned())
            .await
            .map_err(|e| e.message)?;
        let profile = vault_core::Profile {
            display_name: "Demo admin".into(),
            ..vault_core::Profile::default()
        };
        let service = vault_core::Actor::Service;
        vault
            .open_account_with_credential(&service, &user, email_v, profile, credential)
            .await?;
        vault
            .set_role(&service, &user, vault_core::Role::Admin)
            .await?;
    }
    Ok((email, password))
}
