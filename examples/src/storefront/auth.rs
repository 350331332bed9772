//! Sign up, sign in, sign out, and password reset by a mailed link.
//!
//! Passwords are hashed with Argon2id (the `argon2` crate's defaults, the
//! OWASP minimum: 19 MiB, two passes) on a blocking thread, and stored as
//! the account's opaque credential (a PHC string), which only the service
//! actor reads back. Sign-in takes as long for an unknown email as for a
//! known one (a dummy hash is verified), and says the same thing for both.
//! Failed sign-ins are throttled per email and per client address. A reset
//! link holds 32 random bytes; only their SHA-256 is kept, for 30 minutes,
//! and it works once; using it signs out every session of the account.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::Extensions;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use vault_core::account::email::Credential;
use vault_core::{Actor, Email, Error, Profile, UserId};

use super::session::{CsrfForm, Visitor};
use super::{AppState, Nav, PageError, render};

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 10;
/// The longest password accepted (Argon2 takes any length; this bounds the
/// work one request can ask for).
pub const MAX_PASSWORD: usize = 128;
/// Failed sign-ins allowed per email in [`WINDOW`].
pub const FAILS_PER_EMAIL: u32 = 5;
/// Failed sign-ins allowed per client address in [`WINDOW`].
pub const FAILS_PER_CLIENT: u32 = 20;
/// The throttling window.
pub const WINDOW: Duration = Duration::minutes(15);
/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::minutes(30);
// Bounds on what strangers can make this process remember.
const MAX_TRACKED: usize = 50_000;

/// Sign-in throttling and outstanding reset links.
#[derive(Default)]
pub struct AuthState {
    fails: Mutex<HashMap<String, Fails>>,
    resets: Mutex<HashMap<[u8; 32], Reset>>,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
struct Fails {
    count: u32,
    since: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Reset {
    user: UserId,
    expires: DateTime<Utc>,
}

impl AuthState {
    /// Seconds until `key` may try again, if it is over `limit`.
    fn blocked(&self, key: &str, limit: u32, now: DateTime<Utc>) -> Option<u64> {
        let fails = self.fails.lock().ok()?;
        let f = fails.get(key)?;
        let until = f.since + WINDOW;
        (f.count >= limit && until > now)
            .then(|| u64::try_from((until - now).num_seconds()).unwrap_or(1))
    }

    fn failed(&self, key: String, now: DateTime<Utc>) {
        let Ok(mut fails) = self.fails.lock() else {
            return;
        };
        if fails.len() >= MAX_TRACKED {
            fails.retain(|_, f| f.since + WINDOW > now);
        }
        let f = fails.entry(key).or_insert(Fails {
            count: 0,
            since: now,
        });
        if f.since + WINDOW <= now {
            *f = Fails {
                count: 0,
                since: now,
            };
        }
        f.count += 1;
    }

    fn forgive(&self, key: &str) {
        if let Ok(mut fails) = self.fails.lock() {
            fails.remove(key);
        }
    }

    pub(super) fn issue_reset(&self, user: UserId, now: DateTime<Utc>) -> String {
        let token = random_token();
        if let Ok(mut resets) = self.resets.lock() {
            resets.retain(|_, r| r.expires > now);
            if resets.len() < MAX_TRACKED {
                resets.insert(
                    Sha256::digest(token.as_bytes()).into(),
                    Reset {
                        user,
                        expires: now + RESET_TTL,
                    },
                );
            }
        }
        token
    }

    fn reset_user(&self, token: &str, now: DateTime<Utc>) -> Option<UserId> {
        let resets = self.resets.lock().ok()?;
        let r = resets.get(&<[u8; 32]>::from(Sha256::digest(token.as_bytes())))?;
        (r.expires > now).then(|| r.user.clone())
    }

    fn take_reset(&self, token: &str, now: DateTime<Utc>) -> Option<UserId> {
        let mut resets = self.resets.lock().ok()?;
        let r = resets.remove(&<[u8; 32]>::from(Sha256::digest(token.as_bytes())))?;
        (r.expires > now).then_some(r.user)
    }
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system gives no randomness");
    const_hex::encode(b)
}

/// The routes of this area.
pub(super) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/sign-up", get(sign_up_page).post(sign_up))
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/reset", get(reset_request_page).post(reset_request))
        .route("/reset/{token}", get(reset_page).post(reset))
        .route("/dev/mailbox", get(mailbox))
}

/// Hashes a password with Argon2id and a fresh salt, off the async threads.
pub async fn hash_password(password: String) -> Result<Credential, PageError> {
    let phc = tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(PageError::internal)?;
        let salt = SaltString::encode_b64(&salt).map_err(PageError::internal)?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(PageError::internal)
    })
    .await
    .map_err(PageError::internal)??;
    Credential::new(phc).map_err(PageError::internal)
}

// Verified when the email has no account, so both cases take as long.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXlzYWx0ZHVtbXk$Jk4gk8m0NYfN9tyvVdoHkmi9bRdC3nY5LNf3mmvFZTs";

async fn verify_password(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| DUMMY_PHC.to_owned());
        let Ok(hash) = PasswordHash::new(&phc) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

fn check_password(password: &str) -> Result<(), PageError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(PageError::unprocessable(
            "password",
            format!("a password needs at least {MIN_PASSWORD} characters"),
        ));
    }
    if n > MAX_PASSWORD {
        return Err(PageError::unprocessable(
            "password",
            format!("a password has at most {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

/// Where to go after signing in: a path on this site only (no `//host`,
/// no scheme), else the dashboard.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

#[derive(askama::Template)]
#[template(path = "auth.html")]
struct AuthPage {
    nav: Nav,
    kind: &'static str,
    title: &'static str,
    email: String,
    name: String,
    next: String,
    token: String,
    notice: Option<String>,
    problem: Option<String>,
}

impl AuthPage {
    fn new(v: &Visitor, kind: &'static str, title: &'static str) -> Self {
        Self {
            nav: Nav::of(v),
            kind,
            title,
            email: String::new(),
            name: String::new(),
            next: String::new(),
            token: String::new(),
            notice: None,
            problem: None,
        }
    }
}

/// A form page shown again with what was typed (never the password) and
/// what was wrong, with the error's status.
fn again(page: AuthPage, e: PageError) -> Response {
    let status = e.status;
    let retry = e.retry_after;
    let page = AuthPage {
        problem: Some(match &e.field {
            Some(f) => format!("{f}: {}", e.message),
            None => e.message.clone(),
        }),
        ..page
    };
    match render(&page) {
        Ok(html) => {
            let mut res = (status, html).into_response();
            if let Some(s) = retry
                && let Ok(v) = s.to_string().parse()
            {
                res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct NextParam {
    next: Option<String>,
    reset: Option<String>,
}

async fn sign_up_page(v: Visitor) -> Result<Html<String>, PageError> {
    render(&AuthPage::new(&v, "sign-up", "Create your account"))
}

#[derive(Deserialize)]
struct SignUp {
    email: String,
    name: String,
    password: String,
}

async fn sign_up(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    CsrfForm(form): CsrfForm<SignUp>,
) -> Response {
    let mut page = AuthPage::new(&v, "sign-up", "Create your account");
    page.email = form.email.clone();
    page.name = form.name.clone();
    match create_account(&app, form).await {
        Ok(user) => {
            let jar = app.sessions.sign_in(&v, user, app.clock.now());
            (jar, Redirect::to("/dashboard")).into_response()
        }
        Err(e) => again(page, e),
    }
}

async fn create_account(app: &AppState, form: SignUp) -> Result<UserId, PageError> {
    let email =
        Email::parse(&form.email).map_err(|e| PageError::unprocessable("email", e.to_string()))?;
    let profile = Profile {
        display_name: form.name.trim().to_owned(),
        ..Profile::default()
    };
    profile
        .validate()
        .map_err(|e| PageError::unprocessable("name", e.to_string()))?;
    check_password(&form.password)?;
    let credential = hash_password(form.password).await?;
    let user = UserId::parse(&format!("u-{}", uuid::Uuid::new_v4()))?;
    let opened = app
        .vault
        .open_account_with_credential(
            &Actor::User(user.clone()),
            &user,
            email.clone(),
            profile,
            credential,
        )
        .await;
    match opened {
        Ok(_) => {}
        Err(Error::AlreadyExists { .. }) => {
            return Err(PageError::unprocessable(
                "email",
                "an account with this email exists; sign in, or reset its password",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    // The welcome mail was enqueued with the account, in its write
    // (VaultConfig::account_jobs); the worker sends it.
    Ok(user)
}

async fn sign_in_page(v: Visitor, Query(q): Query<NextParam>) -> Result<Html<String>, PageError> {
    let mut page = AuthPage::new(&v, "sign-in", "Sign in");
    page.next = safe_next(q.next.as_deref());
    if q.reset.is_some() {
        page.notice = Some("Your password was changed. Sign in with the new one.".into());
    }
    render(&page)
}

#[derive(Deserialize)]
struct SignIn {
    email: String,
    password: String,
    next: Option<String>,
}

fn client_key(ext: &Extensions) -> Option<String> {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| format!("ip:{}", a.ip()))
}

async fn sign_in(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    ext: Extensions,
    CsrfForm(form): CsrfForm<SignIn>,
) -> Response {
    let mut page = AuthPage::new(&v, "sign-in", "Sign in");
    page.email = form.email.clone();
    page.next = safe_next(form.next.as_deref());
    let next = page.next.clone();
    match check_sign_in(&app, &ext, form).await {
        Ok(user) => {
            let jar = app.sessions.sign_in(&v, user, app.clock.now());
            (jar, Redirect::to(&next)).into_response()
        }
        Err(e) => again(page, e),
    }
}

const WRONG: &str = "that email and password do not match an account";

async fn check_sign_in(
    app: &AppState,
    ext: &Extensions,
    form: SignIn,
) -> Result<UserId, PageError> {
    let now = app.clock.now();
    let email =
        Email::parse(&form.email).map_err(|e| PageError::unprocessable("email", e.to_string()))?;
    let email_key = format!("email:{}", email.key());
    let client = client_key(ext);
    for (key, limit) in [
        (Some(&email_key), FAILS_PER_EMAIL),
        (client.as_ref(), FAILS_PER_CLIENT),
    ] {
        if let Some(key) = key
            && let Some(wait) = app.auth.blocked(key, limit, now)
        {
            return Err(PageError::too_many(
                "too many failed sign-ins; wait a few minutes or reset your password",
                wait,
            ));
        }
    }
    let service = Actor::Service;
    let account = match app.vault.account_by_email(&service, &email).await {
        Ok(a) => Some(a),
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let phc = match &account {
        Some(a) => app
            .vault
            .credential(&service, &a.user_id)
            .await?
            .map(|c| c.expose().to_owned()),
        None => None,
    };
    if !verify_password(form.password, phc).await {
        app.auth.failed(email_key, now);
        if let Some(c) = client {
            app.auth.failed(c, now);
        }
        return Err(PageError::unprocessable("password", WRONG));
    }
    let Some(account) = account else {
        return Err(PageError::unprocessable("password", WRONG));
    };
    app.auth.forgive(&email_key);
    // A banned or deleted account is refused here, with its reason.
    app.vault
        .record_login(&Actor::Service, &account.user_id)
        .await?;
    Ok(account.user_id)
}

#[derive(Deserialize)]
struct Plain {}

async fn sign_out(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    CsrfForm(Plain {}): CsrfForm<Plain>,
) -> Response {
    let jar = app.sessions.sign_out(&v);
    (jar, Redirect::to("/")).into_response()
}

async fn reset_request_page(v: Visitor) -> Result<Html<String>, PageError> {
    render(&AuthPage::new(&v, "reset-request", "Reset your password"))
}

#[derive(Deserialize)]
struct ResetRequest {
    email: String,
}

async fn reset_request(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    CsrfForm(form): CsrfForm<ResetRequest>,
) -> Response {
    let mut page = AuthPage::new(&v, "reset-request", "Reset your password");
    page.email = form.email.clone();
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(e) => return again(page, PageError::unprocessable("email", e.to_string())),
    };
    // Whether an account exists is not told: the page says the same.
    match app.vault.account_by_email(&Actor::Service, &email).await {
        Ok(a) if a.refusal().is_none() => {
            // The worker mints the link when it sends the mail.
            if let Err(e) =
                super::jobs::enqueue_mail(&app, super::jobs::PASSWORD_RESET, &a.user_id).await
            {
                return again(page, e);
            }
        }
        Ok(_) | Err(Error::NotFound { .. }) => {}
        Err(e) => return again(page, e.into()),
    }
    page.kind = "notice";
    page.notice = Some(
        "If an account has this email, a link to reset its password is on its way. It works for 30 minutes."
            .into(),
    );
    match render(&page) {
        Ok(h) => h.into_response(),
        Err(e) => e.into_response(),
    }
}

fn check_token(token: &str) -> Result<(), PageError> {
    if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(PageError::not_found("this reset link is not valid"))
    }
}

async fn reset_page(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(token): Path<String>,
) -> Result<Html<String>, PageError> {
    check_token(&token)?;
    if app.auth.reset_user(&token, app.clock.now()).is_none() {
        return Err(PageError::not_found(
            "this reset link has expired or was used; ask for a new one",
        ));
    }
    let mut page = AuthPage::new(&v, "reset", "Choose a new password");
    page.token = token;
    render(&page)
}

#[derive(Deserialize)]
struct NewPassword {
    password: String,
}

async fn reset(
    State(app): State<Arc<AppState>>,
    v: Visitor,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<NewPassword>,
) -> Response {
    let mut page = AuthPage::new(&v, "reset", "Choose a new password");
    page.token = token.clone();
    let done = async {
        check_token(&token)?;
        check_password(&form.password)?;
        let now = app.clock.now();
        if app.auth.reset_user(&token, now).is_none() {
            return Err(PageError::not_found(
                "this reset link has expired or was used; ask for a new one",
            ));
        }
        let credential = hash_password(form.password).await?;
        // Taken only now: a password the form refused leaves the link usable.
        let user = app
            .auth
            .take_reset(&token, now)
            .ok_or_else(|| PageError::not_found("this reset link was just used"))?;
        app.vault
            .set_credential(&Actor::Service, &user, Some(credential))
            .await?;
        app.sessions.end_all(&user);
        Ok::<_, PageError>(())
    };
    match done.await {
        Ok(()) => {
            let jar = app.sessions.sign_out(&v);
            (jar, Redirect::to("/sign-in?reset=1")).into_response()
        }
        Err(e) => again(page, e),
    }
}

struct MailView {
    to: String,
    subject: String,
    body: String,
    sent_at: String,
}

#[derive(askama::Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    nav: Nav,
    mails: Vec<MailView>,
}

/// `GET /dev/mailbox`: the demo sender's mails; 404 with a real sender.
async fn mailbox(State(app): State<Arc<AppState>>, v: Visitor) -> Result<Html<String>, PageError> {
    let mails = app
        .mailer
        .mailbox()
        .ok_or_else(|| PageError::not_found("no such page"))?;
    render(&MailboxPage {
        nav: Nav::of(&v),
        mails: mails
            .into_iter()
            .map(|m| MailView {
                to: m.to,
                subject: m.subject,
                body: m.body,
                sent_at: m.sent_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            })
            .collect(),
    })
}
