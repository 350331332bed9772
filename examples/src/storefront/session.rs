//! Who is asking: the session cookie, the signed-in user, and the CSRF token
//! every form carries.
//!
//! Every visitor gets a session id: 32 random bytes in a cookie signed with
//! the site's key (HMAC-SHA256 through `cookie`'s signed jar), `HttpOnly`,
//! `SameSite=Lax`, `Secure` when the site is served over https. An
//! anonymous visitor's session is not stored anywhere: its CSRF token is
//! derived from the id (`HMAC(key, "csrf" || id)`), so a crawler opening a
//! million pages costs no memory. Only signed-in sessions are kept, keyed by
//! the SHA-256 of the id (a dump of the table cannot be replayed as
//! cookies), with an idle expiry. Signing in and out each start a new id,
//! so an id planted before sign-in is worth nothing after it.
//!
//! Sessions live in this process's memory: a restart signs everybody out,
//! and two storefront processes behind one balancer need sticky sessions.
//! An app that wants more keeps them in its own table; nothing else here
//! changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use vault_core::{Actor, UserId};

use super::AppState;
use super::error::PageError;

/// The session cookie's name.
pub const COOKIE: &str = "wv_session";

/// How long a signed-in session lives without a request.
const IDLE: Duration = Duration::days(7);

/// At most this many signed-in sessions are kept; the oldest idle ones go
/// first when it is reached.
const MAX_SESSIONS: usize = 100_000;

/// The signed-in sessions of this process.
pub struct Sessions {
    key: Key,
    secure: bool,
    live: Mutex<HashMap<[u8; 32], Live>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the key nor the ids: only how many.
        let n = self.live.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("Sessions").field("live", &n).finish()
    }
}

#[derive(Debug, Clone)]
struct Live {
    user: UserId,
    seen: DateTime<Utc>,
}

/// A fresh session id: 32 bytes from the operating system, hex.
fn new_id() -> String {
    let mut b = [0u8; 32];
    // Without OS randomness no session can be safe: fail loudly, as
    // uuid's v4 does.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut b).expect("the operating system gives no randomness");
    const_hex::encode(b)
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

impl Sessions {
    /// Sessions signed with `key` (at least 64 bytes; the first 32 sign,
    /// the rest derive CSRF tokens). `secure` adds the cookie's `Secure`
    /// flag (set it when the site is served over https).
    pub fn new(key: &[u8], secure: bool) -> Self {
        Self {
            key: Key::from(key),
            secure,
            live: Mutex::new(HashMap::new()),
        }
    }

    fn cookie(&self, id: String) -> Cookie<'static> {
        let mut c = Cookie::new(COOKIE, id);
        c.set_http_only(true);
        c.set_same_site(SameSite::Lax);
        c.set_path("/");
        c.set_secure(self.secure);
        c
    }

    /// The CSRF token of a session id: the same for every form of the
    /// session, unguessable without the key.
    fn csrf(&self, id: &str) -> String {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.encryption())
            .expect("HMAC takes a key of any length");
        mac.update(b"csrf");
        mac.update(id.as_bytes());
        const_hex::encode(mac.finalize().into_bytes())
    }

    fn user_of(&self, id: &str, now: DateTime<Utc>) -> Option<UserId> {
        let mut live = self.live.lock().ok()?;
        let key = digest(id);
        let entry = live.get_mut(&key)?;
        if now - entry.seen > IDLE {
            live.remove(&key);
            return None;
        }
        entry.seen = now;
        Some(entry.user.clone())
    }

    /// Starts a signed-in session for `user` in place of `old`: a new id
    /// (the old one is forgotten), returned as the cookie to set.
    pub(super) fn sign_in(
        &self,
        old: &Visitor,
        user: UserId,
        now: DateTime<Utc>,
    ) -> SignedCookieJar {
        let id = new_id();
        if let Ok(mut live) = self.live.lock() {
            live.remove(&digest(&old.id));
            if live.len() >= MAX_SESSIONS {
                live.retain(|_, s| now - s.seen <= IDLE);
                if live.len() >= MAX_SESSIONS
                    && let Some(oldest) = live.iter().min_by_key(|(_, s)| s.seen).map(|(k, _)| *k)
                {
                    live.remove(&oldest);
                }
            }
            live.insert(digest(&id), Live { user, seen: now });
        }
        SignedCookieJar::new(self.key.clone()).add(self.cookie(id))
    }

    /// Ends the session: its id is forgotten and a new anonymous id set.
    pub(super) fn sign_out(&self, old: &Visitor) -> SignedCookieJar {
        if let Ok(mut live) = self.live.lock() {
            live.remove(&digest(&old.id));
        }
        SignedCookieJar::new(self.key.clone()).add(self.cookie(new_id()))
    }

    /// Ends every session of `user` (after a password reset, a ban).
    pub(super) fn end_all(&self, user: &UserId) {
        if let Ok(mut live) = self.live.lock() {
            live.retain(|_, s| &s.user != user);
        }
    }
}

/// The person behind a request: their session id, who they are if signed
/// in, and the CSRF token their forms carry.
#[derive(Clone)]
pub struct Visitor {
    id: String,
    /// The signed-in user, if any.
    pub user: Option<SignedIn>,
    /// The token every form of this session carries.
    pub csrf: String,
}

impl std::fmt::Debug for Visitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The session id and the token are bearer secrets.
        f.debug_struct("Visitor")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A signed-in user and what the vault lets them do.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Their id.
    pub user: UserId,
    /// The vault's actor for them (`Admin` for staff).
    pub actor: Actor,
}

impl SignedIn {
    /// Whether they are staff.
    pub fn is_staff(&self) -> bool {
        matches!(self.actor, Actor::Admin(_))
    }
}

impl Visitor {
    /// The vault's actor for this visitor: anonymous when signed out.
    pub fn actor(&self) -> Actor {
        self.user
            .as_ref()
            .map_or(Actor::Anonymous, |s| s.actor.clone())
    }

    /// The signed-in user, or a page asking to sign in.
    pub fn signed_in(&self) -> Result<&SignedIn, PageError> {
        self.user.as_ref().ok_or_else(PageError::sign_in_first)
    }

    /// A signed-in staff member, or 403.
    pub fn staff(&self) -> Result<&SignedIn, PageError> {
        let s = self.signed_in()?;
        if s.is_staff() {
            Ok(s)
        } else {
            Err(PageError::forbidden("this page is for staff"))
        }
    }

    /// Checks a form's CSRF token, in constant time.
    pub fn check_csrf(&self, token: &str) -> Result<(), PageError> {
        use subtle::ConstantTimeEq;
        if bool::from(self.csrf.as_bytes().ct_eq(token.as_bytes())) {
            Ok(())
        } else {
            Err(PageError::forbidden(
                "this form has expired or did not come from this site; reload the page and try again",
            ))
        }
    }
}

impl FromRequestParts<Arc<AppState>> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        _: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Visitor>()
            .cloned()
            .ok_or_else(|| PageError::internal("the session layer is missing"))
    }
}

/// The layer that reads (or starts) the session of every request and
/// resolves the signed-in user: a banned or deleted account is signed out
/// on its next request.
pub(super) async fn layer(
    State(app): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let sessions = &app.sessions;
    let jar = SignedCookieJar::from_headers(req.headers(), sessions.key.clone());
    let now = app.clock.now();
    let (id, fresh) = match jar.get(COOKIE) {
        Some(c) if c.value().len() == 64 => (c.value().to_owned(), false),
        _ => (new_id(), true),
    };
    let mut user = None;
    if let Some(uid) = sessions.user_of(&id, now) {
        match app.vault.actor_for(&uid).await {
            Ok(actor) => user = Some(SignedIn { user: uid, actor }),
            // Refused (banned, deleted): the session ends here.
            Err(_) => sessions.end_all(&uid),
        }
    }
    let visitor = Visitor {
        csrf: sessions.csrf(&id),
        id: id.clone(),
        user,
    };
    let nav = super::Nav::of(&visitor);
    req.extensions_mut().insert(visitor);
    // Error pages are built without the request: they find the header here.
    let res = CURRENT_NAV.scope(nav, next.run(req)).await;
    let sets_own = res
        .headers()
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(COOKIE.as_bytes()));
    if fresh && !sets_own {
        let jar = SignedCookieJar::new(sessions.key.clone()).add(sessions.cookie(id));
        return (jar, res).into_response();
    }
    res
}

tokio::task_local! {
    /// The header of the request being served, for pages (errors) built
    /// where no [`Visitor`] is at hand.
    pub(super) static CURRENT_NAV: super::Nav;
}

/// A form whose CSRF token was checked before its fields are read: the
/// handler never sees a forged request.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T> axum::extract::FromRequest<Arc<AppState>> for CsrfForm<T>
where
    T: serde::de::DeserializeOwned,
{
    type Rejection = PageError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let visitor = Visitor::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, 1 << 20)
            .await
            .map_err(|_| PageError::bad_request("form", "the form is too large"))?;
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        visitor.check_csrf(&token)?;
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| PageError::bad_request("form", e.to_string()))
    }
}
