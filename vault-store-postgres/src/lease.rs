//! Connections for store calls: sqlx's pool, plus a few connections kept
//! checked out between calls.
//!
//! sqlx pings every connection as it returns to the pool, from a task it
//! spawns, so that a connection left mid-statement by a cancelled call is
//! never handed out again. That is one more round trip, one more task and
//! one more server wake-up per store call: on this machine's loopback a
//! check access went from ~500 µs (its six statements on one connection)
//! to ~600 µs through the pool (benches/README.md).
//!
//! A call that finished cleanly leaves nothing to check: every statement it
//! sent was answered, and sqlx waits for the server to be ready before the
//! next one anyway. So the store *parks* such a connection here instead of
//! dropping it, and the next call takes it without the ping: a read that
//! returned `Ok`, a write whose commit or rollback the server confirmed.
//! Anything else goes back to sqlx as before: a call whose statement or
//! rollback failed (the connection may be broken), a cancelled call
//! (dropping a [`Lease`] that was not parked), a connection parked for
//! longer than [`PARKED_FOR`] (a sweeper task hands those back, so a quiet
//! store holds none), everything once the pool is closed, and whatever
//! does not fit in the list. At most half the pool is ever parked, so an
//! app's own queries on [`PgStore::pool`](crate::PgStore::pool) still find
//! connections; with [`PgOptions::test_before_acquire`](crate::PgOptions)
//! nothing is parked, so every call gets sqlx's ping before checkout.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use vault_core::store::StoreResult;

use crate::codec::db;

/// How long a parked connection may wait for its next call. Past this it
/// goes back to sqlx, which pings it and keeps it idle or closes it: a
/// connection unused for a while is the one a server restart or a proxy's
/// idle timeout may have closed.
pub(crate) const PARKED_FOR: Duration = Duration::from_secs(1);

/// Connections parked between calls, most recently parked last.
pub(crate) struct Parking {
    spots: Mutex<Vec<Parked>>,
    capacity: usize,
    /// The pool they came from: once it is closed nothing is parked, so
    /// `Pool::close`, which waits for every connection, can finish.
    pool: PgPool,
}

struct Parked {
    conn: PoolConnection<Postgres>,
    since: Instant,
}

impl Parking {
    /// Room for `capacity` connections of `pool`, capped at half of its
    /// `max_connections`.
    pub(crate) fn new(capacity: usize, pool: PgPool) -> Self {
        let max = pool.options().get_max_connections();
        let half = usize::try_from(max / 2).unwrap_or(usize::MAX);
        Self {
            spots: Mutex::new(Vec::new()),
            capacity: capacity.min(half),
            pool,
        }
    }

    /// Returns parked connections to sqlx once they are [`PARKED_FOR`] old,
    /// and all of them once the pool is closed, from a task on the current
    /// runtime that ends with the last store clone. Without it a quiet store
    /// would hold its parked connections until its next call, and
    /// `store.pool().close()` would wait for them forever. Outside a runtime
    /// (a store built by a synchronous `PgStore::from_pool`) there is no
    /// sweeper: the next call sweeps, and `PgStore::close` empties the list.
    pub(crate) fn start_sweeper(self: &Arc<Self>) {
        if self.capacity == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let parking: Weak<Self> = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(PARKED_FOR / 2);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(parking) = parking.upgrade() else {
                    return;
                };
                parking.sweep(Instant::now());
            }
        });
    }

    /// Hands back to sqlx every connection parked longer than
    /// [`PARKED_FOR`], or every one if the pool is closed.
    pub(crate) fn sweep(&self, now: Instant) {
        let closed = self.pool.is_closed();
        let leaving: Vec<Parked> = {
            let mut spots = self.lock();
            let (stay, leave) = std::mem::take(&mut *spots)
                .into_iter()
                .partition(|p| !closed && now.duration_since(p.since) <= PARKED_FOR);
            *spots = stay;
            leave
        };
        drop(leaving);
    }

    /// How many connections are parked now.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Parked>> {
        // The list holds no invariant a panic could break halfway.
        self.spots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most recently parked connection still fresh, if any. Stale ones
    /// met on the way go back to sqlx (after the lock is released: dropping
    /// a pooled connection spawns sqlx's return task).
    fn take(&self, now: Instant) -> Option<PoolConnection<Postgres>> {
        let mut stale = Vec::new();
        let found = {
            let mut spots = self.lock();
            loop {
                match spots.pop() {
                    Some(p) if now.duration_since(p.since) <= PARKED_FOR => break Some(p.conn),
                    Some(p) => stale.push(p),
                    None => break None,
                }
            }
        };
        drop(stale);
        found
    }

    /// Parks `conn`, unless the list is full. The oldest spot is checked on
    /// the way: under steady load the newest connections are reused and the
    /// oldest would otherwise stay parked for good.
    fn park(&self, conn: PoolConnection<Postgres>, now: Instant) {
        let mut leaving = Vec::new();
        if self.pool.is_closed() {
            leaving.push(conn);
        } else {
            let mut spots = self.lock();
            if spots
                .first()
                .is_some_and(|p| now.duration_since(p.since) > PARKED_FOR)
            {
                leaving.push(spots.remove(0).conn);
            }
            if spots.len() < self.capacity {
                spots.push(Parked { conn, since: now });
            } else {
                leaving.push(conn);
            }
        }
        drop(leaving);
    }
}

impl Drop for Parking {
    fn drop(&mut self) {
        let spots = std::mem::take(self.spots.get_mut().unwrap_or_else(|p| p.into_inner()));
        // sqlx returns a dropped pooled connection from a task it spawns,
        // which needs a runtime. A store dropped outside one (after its
        // runtime shut down) closes its parked connections here instead.
        if tokio::runtime::Handle::try_current().is_err() {
            for p in spots {
                drop(p.conn.detach());
            }
        }
    }
}

/// A connection for one store call. [`Lease::park`] it when the call
/// succeeded; dropping it instead returns it to sqlx, which pings it first.
pub(crate) struct Lease<'a> {
    conn: Option<PoolConnection<Postgres>>,
    parking: &'a Parking,
}

impl<'a> Lease<'a> {
    /// A parked connection if one is fresh, else one from `pool`.
    pub(crate) async fn take(parking: &'a Parking) -> StoreResult<Self> {
        let conn = match parking.take(Instant::now()) {
            Some(conn) => conn,
            None => parking.pool.acquire().await.map_err(db)?,
        };
        Ok(Self {
            conn: Some(conn),
            parking,
        })
    }

    /// Parks the connection for the next call: only after every statement
    /// of this one was answered.
    pub(crate) fn park(mut self) {
        if let Some(conn) = self.conn.take() {
            self.parking.park(conn, Instant::now());
        }
    }
}

impl Deref for Lease<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        // Only `park` (which consumes the lease) empties it.
        self.conn
            .as_deref()
            .expect("a lease holds its connection until parked")
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn
            .as_deref_mut()
            .expect("a lease holds its connection until parked")
    }
}

/// Runs `$body` (a future over `$conn: &mut PgConnection` resolving to a
/// `Result`) on a leased connection; parks the connection if it returned
/// `Ok`. Evaluates to the body's result; a failed checkout returns early
/// (`StoreError::Busy` when the pool had no connection in time, else
/// `StoreError::Backend`).
macro_rules! on_conn {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let store: &$crate::PgStore = $store;
        let mut lease = store.lease().await?;
        let out = {
            let $conn: &mut ::sqlx::PgConnection = &mut *lease;
            $body.await
        };
        if out.is_ok() {
            lease.park();
        }
        out
    }};
}
pub(crate) use on_conn;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use sqlx::postgres::PgPoolOptions;

    #[tokio::test]
    async fn capacity_is_at_most_half_the_pool() {
        // A lazy pool never connects: no server needed.
        let of = |max: u32| {
            PgPoolOptions::new()
                .max_connections(max)
                .connect_lazy_with(sqlx::postgres::PgConnectOptions::new())
        };
        assert_eq!(Parking::new(8, of(40)).capacity, 8);
        assert_eq!(Parking::new(8, of(10)).capacity, 5);
        assert_eq!(Parking::new(8, of(1)).capacity, 0);
        assert_eq!(Parking::new(0, of(40)).capacity, 0);
    }

    /// A pool of `max` on the server in `DATABASE_URL` (no schema needed),
    /// or `None` to skip, as the integration tests do.
    async fn pool(max: u32) -> Option<PgPool> {
        let required = std::env::var("VAULT_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
        let url = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty());
        let pool = match url {
            Some(url) => PgPoolOptions::new()
                .max_connections(max)
                .connect(&url)
                .await
                .map_err(|e| e.to_string()),
            None => Err("DATABASE_URL is not set".to_owned()),
        };
        match pool {
            Ok(pool) => Some(pool),
            Err(why) => {
                assert!(!required, "VAULT_REQUIRE_POSTGRES=1 but {why}");
                println!("skipping PostgreSQL test: {why}");
                None
            }
        }
    }

    async fn backend_pid(c: &mut PgConnection) -> i32 {
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(c)
            .await
            .unwrap()
    }

    /// What sqlx holds idle, once its return tasks (spawned on drop) ran.
    async fn idle_settles_at(pool: &PgPool, want: usize) {
        for _ in 0..500 {
            if pool.num_idle() == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(pool.num_idle(), want, "sqlx's idle connections");
    }

    #[tokio::test]
    async fn a_parked_connection_serves_the_next_call_without_sqlx() {
        let Some(pool) = pool(4).await else { return };
        let parking = Parking::new(8, pool.clone());
        let mut lease = Lease::take(&parking).await.unwrap();
        let pid = backend_pid(&mut lease).await;
        lease.park();
        assert_eq!(parking.len(), 1);
        // Parked, not idle in sqlx: it was never returned there.
        idle_settles_at(&pool, 0).await;
        let mut again = Lease::take(&parking).await.unwrap();
        assert_eq!(parking.len(), 0);
        assert_eq!(backend_pid(&mut again).await, pid, "the same connection");
        again.park();
    }

    #[tokio::test]
    async fn a_lease_dropped_unparked_goes_back_to_sqlx() {
        let Some(pool) = pool(4).await else { return };
        let parking = Parking::new(8, pool.clone());
        let mut lease = Lease::take(&parking).await.unwrap();
        backend_pid(&mut lease).await;
        drop(lease);
        assert_eq!(parking.len(), 0);
        idle_settles_at(&pool, 1).await;
    }

    #[tokio::test]
    async fn stale_and_surplus_connections_go_back_to_sqlx() {
        let Some(pool) = pool(6).await else { return };
        let parking = Parking::new(2, pool.clone());
        let now = Instant::now();
        let old = now.checked_sub(PARKED_FOR * 2).unwrap();
        let mut conns = Vec::new();
        for _ in 0..3 {
            conns.push(pool.acquire().await.unwrap());
        }
        let third = conns.pop().unwrap();
        let second = conns.pop().unwrap();
        let first = conns.pop().unwrap();
        parking.park(first, old);
        parking.park(second, now);
        // Full: the third goes back to sqlx.
        parking.park(third, now);
        assert_eq!(parking.len(), 2);
        idle_settles_at(&pool, 1).await;
        // The next park (of the connection sqlx just got back) finds the
        // oldest spot stale and returns it.
        let again = pool.acquire().await.unwrap();
        idle_settles_at(&pool, 0).await;
        parking.park(again, now);
        assert_eq!(parking.len(), 2);
        idle_settles_at(&pool, 1).await;
        // Taking skips (and returns) what went stale since.
        let later = now + PARKED_FOR * 2;
        assert!(parking.take(later).is_none());
        assert_eq!(parking.len(), 0);
        idle_settles_at(&pool, 3).await;
    }

    #[tokio::test]
    async fn a_sweep_returns_the_stale_and_everything_once_closed() {
        let Some(pool) = pool(6).await else { return };
        let parking = Parking::new(3, pool.clone());
        let now = Instant::now();
        let old = now.checked_sub(PARKED_FOR * 2).unwrap();
        for since in [now, now, old] {
            parking.park(pool.acquire().await.unwrap(), since);
        }
        assert_eq!(parking.len(), 3);
        parking.sweep(now);
        assert_eq!(parking.len(), 2, "only the stale one left");
        let in_use = pool.acquire().await.unwrap();
        let closing = pool.close();
        parking.sweep(now);
        assert_eq!(parking.len(), 0, "a closed pool gets everything back");
        // A call that ends after the close does not park either: the close
        // waits for every connection.
        parking.park(in_use, now);
        assert_eq!(parking.len(), 0);
        tokio::time::timeout(Duration::from_secs(30), closing)
            .await
            .expect("the pool closes once every connection is back");
    }

    #[test]
    fn dropped_after_its_runtime_without_panicking() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let parked = rt.block_on(async {
            let pool = pool(2).await?;
            let parking = Parking::new(1, pool.clone());
            let lease = Lease::take(&parking).await.unwrap();
            lease.park();
            Some((pool, parking))
        });
        drop(rt);
        // sqlx would spawn a task to return the connection: no runtime now.
        if let Some((pool, parking)) = parked {
            assert_eq!(parking.len(), 1);
            drop(parking);
            drop(pool);
        }
    }
}
