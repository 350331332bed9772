//! Crash safety across OS processes: a process killed with SIGKILL in the
//! middle of its writes leaves a database that passes `PRAGMA
//! integrity_check` and whose maintained counters agree with the rows they
//! count, round after round, and every write the killed process saw commit
//! is there.
//!
//! The `worker_*` test is the writing process: the parent runs this test
//! binary again (see `common/processes.rs`).
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use vault_core::catalog::file::FileAccess;
use vault_core::commerce::purchase::{PaymentRef, ProviderRefs};
use vault_core::community::rating::{Dimension, DimensionRatings, Rating};
use vault_core::community::review::{ModerationStatus, ReviewInput, Vote};
use vault_core::delivery::download::RequestInfo;
use vault_core::store::Store;
use vault_core::testkit::{Fixture, epoch};
use vault_core::value::actor::Actor;
use vault_core::value::error::Error;
use vault_core::value::ids::{ReviewId, WorkflowId};
use vault_core::value::tier::PricingTier;
use vault_core::value::version::Version;
use vault_core::vault::{CheckoutItem, Interaction, StartPurchase, Vault};
use vault_store_sqlite::{SqliteOptions, SqliteStore, Synchronous};

use crate::common::invariants::check_invariants;
use crate::common::processes::{
    PACE_ENV, PATIENCE, ROUND_ENV, SEED_ENV, STOP_ENV, SYNC_ENV, Worker, WorkerEnv, open, run, say,
    scratch, slug, user, worker_vault,
};

// ------------------------------------------------------------ crash safety

/// When each round's victim is killed: once it has reported op `n`, at the
/// next moment it holds the database's write lock, plus a few microseconds
/// (so the kill lands at different points of a write transaction).
const KILL_PLAN: [(u64, u64); 6] = [(9, 0), (22, 150), (14, 40), (27, 0), (5, 400), (12, 80)];

/// Whether process `pid` holds SQLite's WAL write lock on `db` right now.
///
/// SQLite's unix VFS takes the WAL write lock as a POSIX lock on byte 120 of
/// the `-shm` file (`UNIX_SHM_BASE`, slot `WAL_WRITE_LOCK`), from `BEGIN
/// IMMEDIATE` until the commit or rollback has finished; Linux lists it in
/// `/proc/locks` as `POSIX ADVISORY WRITE <pid> <dev>:<inode> 120 120`.
/// `None` where that cannot be read.
fn holds_write_lock(db: &Path, pid: u32) -> Option<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let shm = PathBuf::from(format!("{}-shm", db.display()));
        let inode = std::fs::metadata(shm).ok()?.ino().to_string();
        let locks = std::fs::read_to_string("/proc/locks").ok()?;
        let pid = pid.to_string();
        Some(locks.lines().any(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // Waiters show as "n: -> POSIX ...": the shift leaves them out.
            f.len() >= 8
                && f[1] == "POSIX"
                && f[3] == "WRITE"
                && f[4] == pid
                && f[5].rsplit(':').next() == Some(inode.as_str())
                && f[6] == "120"
                && f[7] == "120"
        }))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (db, pid);
        None
    }
}

/// Waits (up to two seconds) until `pid` holds the write lock on `db`;
/// whether it was seen holding it (`None`: cannot tell on this system).
fn await_write_lock(db: &Path, pid: u32) -> Option<bool> {
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        match holds_write_lock(db, pid) {
            Some(true) => return Some(true),
            None => return None,
            Some(false) if Instant::now() >= until => return Some(false),
            Some(false) => std::hint::spin_loop(),
        }
    }
}

/// Each round, two workers write through the vault as fast as they can
/// (downloads of free, purchased and membership workflows, favorites added
/// and removed, reviews submitted, moderated, edited, voted on and deleted,
/// views, clicks, purchases), each from two tasks at once, one with
/// `synchronous = FULL` and one with `NORMAL`. One, the victim, is killed
/// with SIGKILL mid-stream; the survivor must carry on writing (the dead
/// process's locks are gone) and then stops cleanly. After each round the
/// file is checked with plain rusqlite, and every write either worker saw
/// commit must be there. Six rounds on one file; finally the store reopens
/// it and works.
#[test]
fn sigkill_mid_write_leaves_a_sound_database() {
    let db = scratch("crash", "db");
    run(seed_crash_catalog(&db));
    let seeded = check_invariants(&db);
    let mut before = seeded;
    // One deadline for all rounds: a hang fails the test, never stalls it.
    let deadline = Instant::now() + Duration::from_secs(18);
    // Kills that landed while the victim held the write lock, and whether
    // this system shows that lock at all (else the kills are timed only).
    let (mut in_transaction, mut lock_visible) = (0, true);
    for (round, (after_op, delay_us)) in KILL_PLAN.into_iter().enumerate() {
        let round_started = Instant::now();
        let stop = scratch("crash", "stop");
        let spawn = |seed: usize, normal: bool, stop: Option<&Path>| {
            let mut env = vec![
                (SEED_ENV, seed.to_string()),
                (ROUND_ENV, round.to_string()),
                (SYNC_ENV, if normal { "normal" } else { "full" }.to_owned()),
            ];
            if let Some(stop) = stop {
                // SQLite's busy handler is not fair: a peer writing flat out
                // would starve the victim, which would then mostly be asleep
                // waiting for the lock when killed. The survivor paces itself.
                env.push((STOP_ENV, stop.display().to_string()));
                env.push((PACE_ENV, "5".to_owned()));
            }
            Worker::spawn("worker_write_loop", &db, &env)
        };
        let mut victim = spawn(3000 + 2 * round, round % 2 == 1, None);
        let mut survivor = spawn(3001 + 2 * round, round.is_multiple_of(2), Some(&stop));

        let target = format!("op {after_op}");
        victim.expect(&target, deadline, |l| l == target);
        let reached = round_started.elapsed();
        let pid = victim.child.id();
        let seen = if lock_visible {
            await_write_lock(&db, pid)
        } else {
            None
        };
        lock_visible = seen == Some(true);
        std::thread::sleep(Duration::from_micros(delay_us));
        let still = holds_write_lock(&db, pid);
        let status = victim.kill();
        if still == Some(true) {
            in_transaction += 1;
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "{status}\n{}", victim.report());
        }
        #[cfg(not(unix))]
        let _ = status;
        let last_step = victim
            .said
            .iter()
            .rev()
            .find(|l| l.starts_with("start ") || l.starts_with("op "))
            .cloned();

        // The survivor gets three more steps done after the kill, then stops.
        let ops_done = survivor
            .poll()
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("op ")?.parse::<u64>().ok());
        let target = format!("op {}", ops_done.map_or(3, |n| n + 3));
        survivor.expect(&target, deadline, |l| l == target);
        File::create(&stop).unwrap();
        survivor.expect("stopped", deadline, |l| l == "stopped");
        survivor.finish(deadline);
        let slow: Vec<&String> = [&victim, &survivor]
            .iter()
            .flat_map(|w| w.said.iter().filter(|l| l.starts_with("slow ")))
            .collect();
        let stopped = round_started.elapsed();
        let after = check_invariants(&db);
        eprintln!(
            "round {round}: victim reached op {after_op} at {reached:?}, killed in {last_step:?} \
             (write lock seen {seen:?}, still held {delay_us}us later {still:?}); survivor at \
             {ops_done:?}, stopped at {stopped:?}; checked at {:?}: {after:?}; slow steps: {slow:?}",
            round_started.elapsed()
        );
        assert!(
            after.downloads > before.downloads && after.views > before.views,
            "the workers made progress: {before:?} -> {after:?}"
        );
        assert_committed_writes_survived(&db, &victim.said);
        assert_committed_writes_survived(&db, &survivor.said);
        before = after;
    }
    // Every kind of write happened along the way.
    assert!(
        before.reviews > 0
            && before.approved > 0
            && before.votes > 0
            && before.favorites > 0
            && before.completed_purchases > seeded.completed_purchases,
        "{before:?}"
    );
    eprintln!(
        "{in_transaction} of {} kills landed inside a write transaction",
        KILL_PLAN.len()
    );
    if lock_visible {
        assert!(in_transaction > 0, "no kill landed inside a transaction");
    }

    // The store opens the file the kills left and carries on.
    run(async {
        let (vault, _) = worker_vault(open(&db).await, 4000, epoch() + chrono::Duration::days(7));
        for (actor, s) in [(Actor::Anonymous, "free-a"), (user("buyer"), "paid")] {
            let w = vault.workflow_by_slug(&actor, &slug(s)).await.unwrap();
            vault
                .download(&actor, w.id, None, &RequestInfo::default())
                .await
                .unwrap();
        }
    });
    let last = check_invariants(&db);
    assert_eq!(last.downloads, before.downloads + 2);
}

/// Every download and purchase the killed worker reported as done (it
/// reports only after the store returned) is in the file.
fn assert_committed_writes_survived(db: &Path, said: &[String]) {
    let conn = Connection::open(db).unwrap();
    let mut missing = Vec::new();
    let (mut downloads, mut purchases) = (0, 0);
    for line in said {
        if let Some(id) = line.strip_prefix("dl ") {
            downloads += 1;
            let n: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM workflow_downloads WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            if n != 1 {
                missing.push(line.clone());
            }
        } else if let Some(id) = line.strip_prefix("bought ") {
            purchases += 1;
            let status: Option<String> = conn
                .query_row(
                    "SELECT payment_status FROM workflow_purchases WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .ok();
            if status.as_deref() != Some("completed") {
                missing.push(format!("{line}: {status:?}"));
            }
        }
    }
    assert!(downloads > 0, "the worker reported downloads");
    eprintln!("  {downloads} downloads and {purchases} purchases reported committed, all there");
    assert!(
        missing.is_empty(),
        "committed writes lost after the kill: {missing:?}"
    );
}

async fn seed_crash_catalog(db: &Path) {
    let f = Fixture::new(open(db).await).await;
    let content = |slug: &str, tier, price, category: usize| {
        let mut c = f.content(slug, tier, price);
        c.category_id = f.categories[category].id;
        c
    };
    let (free_a, _) = f
        .publish(content("free-a", PricingTier::Free, None, 0))
        .await;
    // A second, older file, downloaded by id now and then.
    f.add_file(
        free_a.id,
        Version::new(0, 9, 0),
        FileAccess::Standard,
        false,
    )
    .await;
    f.publish(content("free-b", PricingTier::Free, None, 1))
        .await;
    let (paid, _) = f
        .publish(content("paid", PricingTier::Pro, Some(4900), 0))
        .await;
    let mut capped = content("capped", PricingTier::Pro, Some(1900), 2);
    capped.download_limit = Some(25);
    let (capped, _) = f.publish(capped).await;
    f.publish(content("club", PricingTier::Pro, Some(2900), 1))
        .await;
    f.buy(&user("buyer"), CheckoutItem::Workflow(paid.id)).await;
    f.buy(&user("capper"), CheckoutItem::Workflow(capped.id))
        .await;
    f.join(&user("member"), PricingTier::Premium, Some(100_000), false)
        .await;
}

fn request(n: u64) -> RequestInfo {
    RequestInfo {
        ip: Some(std::net::IpAddr::from([198, 51, 100, (n % 7) as u8])),
        user_agent: Some("worker".into()),
        referrer: n
            .is_multiple_of(3)
            .then(|| "https://news.example.org/a".to_owned()),
        country: None,
    }
}

fn review_input(stars: u8, n: u64) -> ReviewInput {
    let mut dimensions = DimensionRatings::default();
    dimensions.set(Dimension::Efficiency, Some(Rating::new(stars).unwrap()));
    if n.is_multiple_of(3) {
        dimensions.set(Dimension::Growth, Some(Rating::new(6 - stars).unwrap()));
    }
    ReviewInput {
        rating: Rating::new(stars).unwrap(),
        dimensions,
        title: format!("{stars} stars"),
        body: String::new(),
    }
}

/// Moderates a review as the admin.
async fn moderate(vault: &Vault, id: ReviewId, status: ModerationStatus) -> vault_core::Result<()> {
    let admin = Actor::admin("admin").unwrap();
    vault
        .moderate_review(&admin, id, status, None)
        .await
        .map(|_| ())
}

/// The outcome of a change to a review another process may be changing
/// too: losing the race (`Conflict`) or finding it gone (`NotFound`, also
/// when it is no longer approved for a vote) is fine, anything else is not.
fn raced<T>(outcome: vault_core::Result<T>) {
    match outcome {
        Ok(_) | Err(Error::Conflict { .. } | Error::NotFound { .. }) => {}
        Err(e) => panic!("{e:?}"),
    }
}

/// A review this worker knows of, and what it knows of its state.
struct Written {
    id: ReviewId,
    author: Actor,
    status: ModerationStatus,
    voters: Vec<Actor>,
}

#[test]
fn worker_write_loop() {
    let Some(env) = WorkerEnv::get() else { return };
    run(async move {
        let options = SqliteOptions {
            synchronous: if env.normal_sync {
                Synchronous::Normal
            } else {
                Synchronous::Full
            },
            ..SqliteOptions::default()
        };
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open_with(&env.db, options).await.unwrap());
        // 23:00 on day `round`: the loop crosses midnight, so analytics land
        // on two days per round and rounds share a day.
        let start =
            epoch() + chrono::Duration::days(i64::from(env.round)) + chrono::Duration::hours(14);
        let (vault, clock) = worker_vault(store, env.seed, start);
        let admin = Actor::admin("admin").unwrap();
        let anon = Actor::Anonymous;
        let by_slug = |s: &'static str| {
            let vault = vault.clone();
            async move {
                vault
                    .workflow_by_slug(&Actor::Anonymous, &slug(s))
                    .await
                    .unwrap()
            }
        };
        let free_a = by_slug("free-a").await;
        let free_b = by_slug("free-b").await;
        let paid = by_slug("paid").await;
        let capped = by_slug("capped").await;
        let club = by_slug("club").await;
        let old_file = vault
            .files(&anon, free_a.id)
            .await
            .unwrap()
            .into_iter()
            .find(|f| !f.is_primary)
            .unwrap();
        let rotate: [WorkflowId; 5] = [free_a.id, paid.id, club.id, free_b.id, capped.id];
        let (buyer, capper, member) = (user("buyer"), user("capper"), user("member"));
        let seed = env.seed;
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();

        // A second writer in this process: anonymous downloads and views.
        let background = {
            let (vault, stop, pace) = (vault.clone(), Arc::clone(&stop), env.pace);
            tokio::spawn(async move {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(pace).await;
                    let t = vault
                        .download(&Actor::Anonymous, free_b.id, None, &request(n))
                        .await
                        .unwrap();
                    say(format!("dl {}", t.download.id));
                    vault
                        .record_view(&Actor::Anonymous, free_b.id, &request(n + 1))
                        .await
                        .unwrap();
                    n += 1;
                }
            })
        };

        // Reviews from earlier rounds are fair game too.
        let mut reviews: Vec<Written> = Vec::new();
        for w in rotate {
            for r in vault.store().reviews_for_workflow(w, &[]).await.unwrap() {
                reviews.push(Written {
                    id: r.id,
                    author: Actor::User(r.user_id),
                    status: r.status,
                    voters: vec![],
                });
            }
        }
        let mut fans: Vec<(Actor, WorkflowId)> = Vec::new();
        for i in 0u64.. {
            if env.stop.as_ref().is_some_and(|s| s.exists()) || started.elapsed() > PATIENCE {
                say("stopped");
                break;
            }
            say(format!("start {i}"));
            let step_started = Instant::now();
            let target = rotate[(i / 8 % 5) as usize];
            let reported = |r: vault_core::Result<vault_core::vault::DownloadTicket>| match r {
                Ok(t) => say(format!("dl {}", t.download.id)),
                Err(e) => panic!("op {i}: {e:?}"),
            };
            match i % 8 {
                0 => {
                    let file = i.is_multiple_of(16).then_some(old_file.id);
                    reported(vault.download(&anon, free_a.id, file, &request(i)).await);
                }
                1 => reported(vault.download(&buyer, paid.id, None, &request(i)).await),
                2 => match vault.download(&capper, capped.id, None, &request(i)).await {
                    Err(Error::Denied(_)) => {} // its 25 downloads are used up
                    other => reported(other),
                },
                3 => reported(vault.download(&member, club.id, None, &request(i)).await),
                4 => {
                    let fan = user(&format!("fan-{seed}-{i}"));
                    vault
                        .add_favorite(&fan, target, Some(format!("note {i}")), vec![])
                        .await
                        .unwrap();
                    fans.push((fan, target));
                    if fans.len() > 3 {
                        let (fan, w) = fans.remove(0);
                        assert!(vault.remove_favorite(&fan, w).await.unwrap());
                    }
                }
                5 => {
                    // A new review, approved.
                    let author = user(&format!("critic-{seed}-{i}"));
                    let stars = (i / 8 % 5) as u8 + 1;
                    let r = vault
                        .submit_review(&author, target, review_input(stars, i))
                        .await
                        .unwrap();
                    vault
                        .moderate_review(&admin, r.id, ModerationStatus::Approved, None)
                        .await
                        .unwrap();
                    reviews.push(Written {
                        id: r.id,
                        author,
                        status: ModerationStatus::Approved,
                        voters: vec![],
                    });
                    // And an older one changes: maybe one an earlier round or
                    // the other worker wrote, and may be changing right now.
                    if reviews.len() >= 3 {
                        let at = reviews.len() - 3;
                        let (id, author) = (reviews[at].id, reviews[at].author.clone());
                        let outcome = match i / 8 % 5 {
                            0 => moderate(&vault, id, ModerationStatus::Rejected).await,
                            1 => moderate(&vault, id, ModerationStatus::Flagged).await,
                            2 => {
                                let input = review_input((i % 5) as u8 + 1, i + 1);
                                match vault.edit_review(&author, id, input).await {
                                    Ok(_) => moderate(&vault, id, ModerationStatus::Approved).await,
                                    Err(e) => Err(e),
                                }
                            }
                            3 => vault.delete_review(&author, id).await,
                            _ => moderate(&vault, id, ModerationStatus::Approved).await,
                        };
                        raced(outcome);
                        match vault.store().review(id).await.unwrap() {
                            Some(r) => reviews[at].status = r.status,
                            None => {
                                reviews.remove(at);
                            }
                        }
                    }
                }
                6 => {
                    // Votes on approved reviews; now and then one is withdrawn.
                    let voter = user(&format!("voter-{seed}-{i}"));
                    let vote = if i.is_multiple_of(3) {
                        Vote::NotHelpful
                    } else {
                        Vote::Helpful
                    };
                    if let Some(r) = reviews
                        .iter_mut()
                        .rev()
                        .find(|r| r.status == ModerationStatus::Approved)
                    {
                        match vault.vote_review(&voter, r.id, Some(vote)).await {
                            Ok(_) => r.voters.push(voter),
                            other => raced(other),
                        }
                        if r.voters.len() > 2 {
                            let v = r.voters.remove(0);
                            raced(vault.vote_review(&v, r.id, None).await);
                        }
                    }
                }
                _ => {
                    let viewer = if i % 16 == 7 {
                        anon.clone()
                    } else {
                        user(&format!("viewer-{}", i % 5))
                    };
                    vault
                        .record_view(&viewer, target, &request(i))
                        .await
                        .unwrap();
                    vault
                        .record_interaction(&anon, target, Interaction::Click)
                        .await
                        .unwrap();
                    // A purchase, started and completed (two writes).
                    let item = [paid.id, capped.id, club.id][(i / 8 % 3) as usize];
                    let shopper = user(&format!("shopper-{seed}-{i}"));
                    let p = vault
                        .start_purchase(
                            &shopper,
                            StartPurchase {
                                user_id: shopper.user_id().unwrap().clone(),
                                item: CheckoutItem::Workflow(item),
                                license_type: vault_core::commerce::license::LicenseType::Personal,
                                tax: None,
                                license_expires_at: None,
                                provider: ProviderRefs::default(),
                            },
                        )
                        .await
                        .unwrap();
                    vault
                        .complete_purchase(
                            &Actor::Service,
                            p.id,
                            PaymentRef::parse(&format!("pi_{}", p.id)).unwrap(),
                        )
                        .await
                        .unwrap();
                    say(format!("bought {}", p.id));
                }
            }
            clock.advance(chrono::Duration::minutes(1));
            let took = step_started.elapsed();
            if took > Duration::from_millis(250) {
                say(format!("slow {i} {}ms", took.as_millis()));
            }
            say(format!("op {i}"));
            tokio::time::sleep(env.pace).await;
        }
        stop.store(true, Ordering::Relaxed);
        background.await.unwrap();
    });
}
