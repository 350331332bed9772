//! The storefront on a SQLite file (or PostgreSQL with `--database-url`),
//! with the demo catalog: `cargo run -p vault-examples --bin storefront`.
//!
//! `--port N` picks the port (default 8080, or the next free one after it).

use std::path::PathBuf;
use vault_core::Actor;

use vault_examples::{AnyError, Backend, backend, open_vault, seed_catalog, storefront};

/// The files' folder: next to the SQLite file, else `storefront-files`.
fn files_dir(backend: &Backend) -> PathBuf {
    match backend {
        Backend::Sqlite(db) => {
            let mut name = db.file_name().unwrap_or_default().to_os_string();
            name.push("-files");
            db.with_file_name(name)
        }
        Backend::Postgres(_) => PathBuf::from("storefront-files"),
    }
}

fn port_flag() -> Result<Option<u16>, AnyError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for (i, a) in args.iter().enumerate() {
        let value = if a == "--port" {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix("--port=").map(str::to_owned)
        };
        if let Some(v) = value {
            return Ok(Some(
                v.parse().map_err(|_| format!("--port: not a port: {v}"))?,
            ));
        }
    }
    Ok(None)
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let backend = backend("storefront.db");
    let vault = open_vault(&backend).await?;
    let admin = Actor::Service;
    let catalog = seed_catalog(&vault, &admin).await?;
    // The asked port, or the first free one from 8080 on.
    let listener = match port_flag()? {
        Some(p) => tokio::net::TcpListener::bind(("127.0.0.1", p)).await?,
        None => storefront::first_free_port(storefront::DEFAULT_PORTS).await?,
    };
    let addr = listener.local_addr()?;
    let mut config = storefront::demo_config(&format!("http://{addr}"), &files_dir(&backend))?;
    // Stripe's API when its key and webhook secret are in the environment.
    let real_stripe = storefront::shop::StripeSetup::from_env();
    if let Some(stripe) = real_stripe.clone() {
        config.stripe = stripe;
    }
    // The demo files' bytes, next to the database (idempotent).
    vault_examples::seed_files(&vault, &Actor::Service, config.files.as_ref()).await?;
    let admin = storefront::demo_admin(&vault).await?;
    println!(
        "Workflow Vault storefront: {} workflows at http://{addr}/",
        catalog.len()
    );
    println!("Demo admin: {} / {}", admin.0, admin.1);
    println!(
        "Mail goes to http://{addr}/dev/mailbox; payments to {}.",
        if real_stripe.is_some() {
            "Stripe (STRIPE_SECRET_KEY)"
        } else {
            "the built-in fake Stripe"
        }
    );
    let (app, worker) = storefront::app(vault, config);
    let jobs = tokio::spawn(worker.clone().run());
    // Ctrl-C: the server stops taking requests and finishes those it
    // holds; the worker finishes the job in hand and releases the rest of
    // its batch, so nothing waits for a lease to run out.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
        println!("Stopping: finishing requests and the job in hand.");
    })
    .await?;
    worker.stop();
    let report = jobs.await?;
    println!(
        "Stopped. Jobs this run: {} succeeded, {} failed, {} released.",
        report.succeeded, report.failed, report.released
    );
    Ok(())
}
