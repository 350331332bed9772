//! Sign up, sign in, sign out and password reset over HTTP, JavaScript off:
//! the router on a loopback port, driven with a cookie-keeping reqwest
//! client as a browser would. Also the guards: CSRF on every form, the
//! session id renewed at sign-in and out, throttled sign-in, reset links
//! that work once, no open redirect, a banned account signed out.
#![allow(clippy::unwrap_used)]

mod support;

use support::*;
use vault_core::{Actor, Email};
use vault_examples::storefront;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_sign_out_and_sign_in_again() {
    let site = site().await;
    let b = browser();
    let first = get(&b, &site, "/").await;
    assert!(!signed_in(&first.body));
    let cookie = session_cookie(&first).expect("a visitor gets a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");

    let up = sign_up(&b, &site, "Ada@Example.com", "correct horse battery").await;
    assert_eq!(up.status, 303, "{}", up.body);
    assert_eq!(up.location.as_deref(), Some("/dashboard"));
    let renewed = session_cookie(&up).expect("a new session id at sign-up");
    assert_ne!(renewed, cookie, "the session id changes at sign-in");
    assert!(signed_in(&get(&b, &site, "/").await.body));
    // The account exists with a hashed password, never the password.
    let email = Email::parse("ada@example.com").unwrap();
    let account = site
        .vault
        .account_by_email(&Actor::Service, &email)
        .await
        .unwrap();
    let credential = site
        .vault
        .credential(&Actor::Service, &account.user_id)
        .await
        .unwrap()
        .unwrap();
    assert!(credential.expose().starts_with("$argon2id$"));
    assert!(!credential.expose().contains("correct horse"));

    // Sign out: signed out, and the old session cookie is worth nothing.
    let token = csrf(&get(&b, &site, "/").await.body);
    let out = got(b
        .post(format!("{}/sign-out", site.base))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(out.status, 303);
    assert!(!signed_in(&get(&b, &site, "/").await.body));
    let stale = renewed.split(';').next().unwrap().to_owned();
    let replay = reqwest::Client::new()
        .get(format!("{}/", site.base))
        .header("cookie", stale)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!signed_in(&replay), "a signed-out session id was replayed");

    let wrong = sign_in(&b, &site, "ada@example.com", "wrong password!").await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.body.contains("do not match"), "{}", wrong.body);
    let unknown = sign_in(&b, &site, "nobody@example.com", "wrong password!").await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.body.contains("do not match"), "same words for both");
    // The session the visitor had before signing in (a fixation attempt
    // would have planted it) is not the one signed in.
    let before = session_cookie(&out).expect("signing out starts a visitor's session");
    let ok = sign_in(&b, &site, "ADA@example.com", "correct horse battery").await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert!(signed_in(&get(&b, &site, "/").await.body));
    let signed = session_cookie(&ok).expect("a new session id at sign-in");
    assert_ne!(signed, before, "the session id changes at sign-in");
    let planted = before.split(';').next().unwrap().to_owned();
    assert!(!signed_in(&page_with_cookie(&site, &planted).await));
    // The cookie is signed: a changed or unsigned value is a visitor.
    let value = signed.split(';').next().unwrap().to_owned();
    assert!(signed_in(&page_with_cookie(&site, &value).await));
    let (name, v) = value.split_once('=').unwrap();
    let mut tampered: Vec<char> = v.chars().collect();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    for forged in [
        format!("{name}={tampered}"),
        format!("{name}={}", &v[44.min(v.len())..]),
        format!("{name}=s-{}", "0".repeat(32)),
    ] {
        assert!(
            !signed_in(&page_with_cookie(&site, &forged).await),
            "{forged} was taken"
        );
    }
    let account = site
        .vault
        .account(&Actor::Service, &account.user_id)
        .await
        .unwrap();
    assert!(account.last_login_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_refusals_name_the_field_and_write_nothing() {
    let site = site().await;
    let b = browser();
    let short = sign_up(&b, &site, "bob@example.com", "short").await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("password"), "{}", short.body);
    // What was typed comes back, except the password.
    assert!(short.body.contains("value=\"bob@example.com\""));
    let bad = sign_up(&b, &site, "not an email", "long enough password").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("email"), "{}", bad.body);
    let none = site
        .vault
        .account_by_email(&Actor::Service, &Email::parse("bob@example.com").unwrap())
        .await;
    assert!(none.is_err(), "a refused sign-up wrote an account");

    assert_eq!(
        sign_up(&b, &site, "bob@example.com", "long enough password")
            .await
            .status,
        303
    );
    let other = browser();
    let taken = sign_up(&other, &site, "BOB@example.com", "another password!").await;
    assert_eq!(taken.status, 422);
    assert!(taken.body.contains("exists"), "{}", taken.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_this_sessions_token_are_refused() {
    let site = site().await;
    let b = browser();
    get(&b, &site, "/").await;
    let fields = [
        ("email", "eve@example.com"),
        ("name", "Eve"),
        ("password", "long enough password"),
    ];
    let missing = got(b
        .post(format!("{}/sign-up", site.base))
        .form(&fields)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(missing.status, 403);
    // Another visitor's token does not work in this session.
    let other = browser();
    let theirs = csrf(&get(&other, &site, "/sign-up").await.body);
    let mut forged = vec![("csrf", theirs.as_str())];
    forged.extend_from_slice(&fields);
    let foreign = got(b
        .post(format!("{}/sign-up", site.base))
        .form(&forged)
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(foreign.status, 403);
    let nothing = site
        .vault
        .account_by_email(&Actor::Service, &Email::parse("eve@example.com").unwrap())
        .await;
    assert!(nothing.is_err(), "a forged form wrote an account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_throttled_per_email() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "cy@example.com", "the right password").await;
    let attacker = browser();
    for _ in 0..storefront::auth::FAILS_PER_EMAIL {
        let g = sign_in(&attacker, &site, "cy@example.com", "a wrong password").await;
        assert_eq!(g.status, 422);
    }
    // Even the right password waits now, and says how long.
    let blocked = got(attacker
        .post(format!("{}/sign-in", site.base))
        .form(&[
            (
                "csrf",
                csrf(&get(&attacker, &site, "/sign-in").await.body).as_str(),
            ),
            ("email", "cy@example.com"),
            ("password", "the right password"),
        ])
        .send()
        .await
        .unwrap())
    .await;
    assert_eq!(blocked.status, 429, "{}", blocked.body);
    assert!(blocked.body.contains("too many"), "{}", blocked.body);
    // Another email is not blocked by cy's failures.
    sign_up(&browser(), &site, "di@example.com", "dis right password").await;
    let di = sign_in(&browser(), &site, "di@example.com", "dis right password").await;
    assert_eq!(di.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_comes_with_429() {
    let site = site().await;
    let b = browser();
    for _ in 0..storefront::auth::FAILS_PER_EMAIL {
        sign_in(&b, &site, "ghost@example.com", "a wrong password").await;
    }
    let token = csrf(&get(&b, &site, "/sign-in").await.body);
    let r = b
        .post(format!("{}/sign-in", site.base))
        .form(&[
            ("csrf", token.as_str()),
            ("email", "ghost@example.com"),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&wait), "{wait}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_is_reset_by_a_link_that_works_once() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "fay@example.com", "the old password").await;
    let anon = browser();
    let asked = submit(
        &anon,
        &site,
        "/reset",
        "/reset",
        &[("email", "fay@example.com")],
    )
    .await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("If an account has this email"));
    // An unknown email gets the same page and no mail.
    let unknown = submit(
        &anon,
        &site,
        "/reset",
        "/reset",
        &[("email", "nobody@example.com")],
    )
    .await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains("If an account has this email"));
    let mailbox = mailbox_with(&anon, &site, "/reset/").await.body;
    assert!(!mailbox.contains("to nobody@example.com"));
    let at = mailbox.find("/reset/").expect("a reset mail") + 7;
    let token: String = mailbox[at..].chars().take(64).collect();
    assert_eq!(token.len(), 64);

    // A refused new password leaves the link usable.
    let path = format!("/reset/{token}");
    let short = submit(&anon, &site, &path, &path, &[("password", "short")]).await;
    assert_eq!(short.status, 422);
    let done = submit(
        &anon,
        &site,
        &path,
        &path,
        &[("password", "the new password")],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/sign-in?reset=1"));
    // Used once: gone.
    assert_eq!(get(&anon, &site, &path).await.status, 404);
    // The session that was signed in before the reset is signed out.
    assert!(!signed_in(&get(&b, &site, "/").await.body));
    assert_eq!(
        sign_in(&anon, &site, "fay@example.com", "the old password")
            .await
            .status,
        422
    );
    assert_eq!(
        sign_in(&anon, &site, "fay@example.com", "the new password")
            .await
            .status,
        303
    );
    for bad in [
        "/reset/abc",
        "/reset/%00",
        &format!("/reset/{}", "0".repeat(64)),
    ] {
        assert_eq!(get(&anon, &site, bad).await.status, 404, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_goes_back_only_to_this_site() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "gus@example.com", "gus password!!").await;
    let anon = browser();
    for (next, expected) in [
        ("/workflows/invoice-chaser", "/workflows/invoice-chaser"),
        ("//evil.example/phish", "/dashboard"),
        ("https://evil.example/", "/dashboard"),
        ("/\\evil.example", "/dashboard"),
    ] {
        let page = get(
            &anon,
            &site,
            &format!(
                "/sign-in?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            ),
        )
        .await;
        let token = csrf(&page.body);
        let g = got(anon
            .post(format!("{}/sign-in", site.base))
            .form(&[
                ("csrf", token.as_str()),
                ("email", "gus@example.com"),
                ("password", "gus password!!"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap())
        .await;
        assert_eq!(g.status, 303);
        assert_eq!(g.location.as_deref(), Some(expected), "{next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_account_is_signed_out_and_cannot_sign_in() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "hal@example.com", "hal password!!").await;
    assert!(signed_in(&get(&b, &site, "/").await.body));
    let account = site
        .vault
        .account_by_email(&Actor::Service, &Email::parse("hal@example.com").unwrap())
        .await
        .unwrap();
    site.vault
        .ban_account(&Actor::Service, &account.user_id, Some("spam".into()))
        .await
        .unwrap();
    assert!(!signed_in(&get(&b, &site, "/").await.body));
    let again = sign_in(&b, &site, "hal@example.com", "hal password!!").await;
    assert_eq!(again.status, 403, "{}", again.body);
    assert!(again.body.contains("banned"), "{}", again.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mailbox_shows_the_welcome_mail() {
    let site = site().await;
    let b = browser();
    sign_up(&b, &site, "ida@example.com", "ida password!!").await;
    // Enqueued with the account, in its write; sent by the worker.
    let mailbox = mailbox_with(&b, &site, "to ida@example.com").await;
    assert_eq!(mailbox.status, 200);
    assert!(mailbox.body.contains("Welcome to Workflow Vault"));
    assert!(mailbox.body.contains("to ida@example.com"));
}

/// The catalog's HTML for a request carrying only `cookie`.
async fn page_with_cookie(site: &Site, cookie: &str) -> String {
    reqwest::Client::new()
        .get(format!("{}/", site.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
