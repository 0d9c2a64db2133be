//! Database pool, migrations and the private local cluster used when no DATABASE_URL is given.

pub mod backup;
pub mod local;
mod tx;

pub use tx::Tx;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pooled connection idle longer than this is pinged before it is handed out.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// What the pool remembers of the server's recent failures.
pub mod health {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};

    /// Pooled connections are pinged before use until this time (unix ms).
    static SUSPECT_UNTIL: AtomicI64 = AtomicI64::new(0);
    /// How long after the last connection-level failure.
    const WINDOW_MS: i64 = 60_000;

    fn now_ms() -> i64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    /// Whether the server failed a connection lately (restart, crash, network).
    pub fn suspect() -> bool {
        SUSPECT_UNTIL.load(Ordering::Relaxed) > now_ms()
    }

    /// Note an error: one that says the connection or the server went away starts the window.
    pub fn note(e: &sqlx::Error) {
        if lost_connection(e) {
            SUSPECT_UNTIL.store(now_ms() + WINDOW_MS, Ordering::Relaxed);
        }
    }

    /// The server is unreachable or ended the session (shutdown, crash, cannot connect now):
    /// not a fault of the query.
    pub fn lost_connection(e: &sqlx::Error) -> bool {
        match e {
            sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => true,
            sqlx::Error::Database(d) => d.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
            _ => false,
        }
    }
}

pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("invalid database URL {}", redact(url)))?
        // Page queries are small and many run at once: starting a parallel worker costs more
        // (5-10 ms) than the scans it would share, and the cores are busy serving other requests.
        .options([("max_parallel_workers_per_gather", "0")]);
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // No ping before every query: a round trip each time, on pages that run a dozen queries.
        // Only a connection that sat idle a while, or any connection while the server was seen
        // failing lately (a restart kills every pooled connection at once), is pinged first; a
        // dead one is dropped and another taken, so no request fails once the server is back.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_CHECK || health::suspect() {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))
}

/// A tree whose shape changes must be serialised: two moves checked for cycles at the same time
/// could each pass and together close a loop.
#[derive(Clone, Copy, Debug)]
pub enum Tree {
    /// `departments.parent_id`
    Departments,
    /// `users.superior_id`
    Superiors,
}

impl Tree {
    /// The advisory-lock key: a fixed constant per tree, the same in every build and instance.
    pub const fn lock_key(self) -> i64 {
        match self {
            Tree::Departments => 0x4352_4d5f_7472_0001,
            Tree::Superiors => 0x4352_4d5f_7472_0002,
        }
    }
}

/// Hold `tree`'s lock until the caller's transaction ends; take it before the cycle check.
pub async fn lock_tree(tx: &mut sqlx::PgConnection, tree: Tree) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(tree.lock_key()).execute(tx).await?;
    Ok(())
}

/// Schema migrations plus the session store's own table.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("running migrations")?;
    // Stored name keys computed by another version of the normaliser (migration 0036 marked the
    // old ones stale): recomputed in Rust, which a migration cannot call.
    crate::records::normalize::rekey(pool, false).await.context("recomputing the stored name keys")?;
    crate::access::catalog::apply_role_defaults(pool).await?;
    tower_sessions_sqlx_store::PostgresStore::new(pool.clone())
        .migrate()
        .await
        .context("creating the session table")?;
    Ok(())
}

/// Hide the password of a connection string in messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
