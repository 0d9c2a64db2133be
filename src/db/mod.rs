//! Database pool, migrations and the private local cluster used when no DATABASE_URL is given.

pub mod local;
mod tx;

pub use tx::Tx;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

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
        // A connection that died anyway fails one request and is dropped from the pool.
        .test_before_acquire(false)
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
