//! Periodic jobs: one loop (`spawn`, started by `crm serve`) ticks every 15 s and runs each job
//! whose interval has passed.
//!
//! Several app instances may share a database, so each run happens inside a transaction that holds
//! `pg_try_advisory_xact_lock(lock_key(name))`: when another instance holds it the job is skipped,
//! never waited for. Whether a job is due is decided under the lock from `job_runs`, which records
//! every run (start, finish, ok, message). Every job is idempotent, so a run repeated after a crash
//! does no harm. Queue-like work uses `FOR UPDATE SKIP LOCKED` as well.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;

/// How often the loop looks for due jobs.
const TICK: Duration = Duration::from_secs(15);
/// A run taking longer than this is abandoned (and recorded as failed) so the lock is released.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// Reminders delivered per statement; a run repeats the statement until fewer come back.
const REMINDER_BATCH: i64 = 500;

#[derive(Clone)]
pub struct Job {
    pub name: &'static str,
    /// Safe to run in several instances at once (a `FOR UPDATE SKIP LOCKED` queue such as the mail
    /// outbox): it runs without the advisory lock's transaction, so no connection is held while
    /// it waits on the network; only its `job_runs` row is written afterwards.
    pub concurrent: bool,
    pub every: Duration,
    pub run: fn(JobCtx) -> BoxFuture<'static, anyhow::Result<String>>,
}

#[derive(Clone)]
pub struct JobCtx {
    pub db: PgPool,
    pub config: Arc<Config>,
    /// The time the run is for (the wall clock in the loop; chosen by tests).
    pub now: DateTime<Utc>,
}

/// Every job, in order: the kernel's own, then those the modules registered.
pub fn all() -> Vec<Job> {
    let mut jobs = kernel_jobs();
    jobs.extend(crate::registry::get().jobs().iter().cloned());
    jobs
}

fn kernel_jobs() -> Vec<Job> {
    vec![
        Job {
            name: "deliver_reminders",
            concurrent: false,
            every: Duration::from_secs(30),
            run: |ctx| deliver_reminders(ctx).boxed(),
        },
        Job {
            name: "purge_sessions",
            concurrent: false,
            every: Duration::from_secs(3600),
            run: |ctx| purge_sessions(ctx).boxed(),
        },
        Job {
            name: "purge_login_locks",
            concurrent: false,
            every: Duration::from_secs(3600),
            run: |ctx| purge_login_locks(ctx).boxed(),
        },
        Job {
            name: "prune_notifications",
            concurrent: false,
            every: Duration::from_secs(24 * 3600),
            run: |ctx| prune_notifications(ctx).boxed(),
        },
        crate::imports::resume_job(),
    ]
}

/// The advisory-lock key of a job: a stable hash (FNV-1a) of its name, the same in every build
/// and every instance.
pub fn lock_key(name: &str) -> i64 {
    let hash = format!("crm.jobs.{name}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    hash as i64
}

/// Run every job whose interval has passed (or all when `force`), each under its advisory lock;
/// returns (name, ran?, message). A job skipped because another runner holds its lock or because
/// it is not due reports `false`; a job that ran and failed reports `true` with the error.
pub async fn run_due(ctx: JobCtx, force: bool) -> Vec<(&'static str, bool, String)> {
    let mut out = Vec::new();
    for job in all() {
        let (ran, message) = match run_one(&job, &ctx, force).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(job = job.name, error = %format!("{e:#}"), "job could not start");
                (false, format!("error: {e:#}"))
            }
        };
        out.push((job.name, ran, message));
    }
    out
}

/// Run the named jobs now (whether due or not), each under its advisory lock, e.g. the pool
/// admin's "run now". Same results as `run_due`.
pub async fn run_named(ctx: JobCtx, names: &[&str]) -> Vec<(&'static str, bool, String)> {
    let mut out = Vec::new();
    for job in all().into_iter().filter(|j| names.contains(&j.name)) {
        let (ran, message) = run_one(&job, &ctx, true).await.unwrap_or_else(|e| (false, format!("error: {e:#}")));
        out.push((job.name, ran, message));
    }
    out
}

async fn run_one(job: &Job, ctx: &JobCtx, force: bool) -> anyhow::Result<(bool, String)> {
    let mut tx = ctx.db.begin().await?;
    if !job.concurrent {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(lock_key(job.name))
            .fetch_one(&mut *tx)
            .await?;
        if !locked {
            return Ok((false, "locked".into()));
        }
    }
    let last: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT last_started_at FROM job_runs WHERE name = $1")
        .bind(job.name)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    let every = chrono::Duration::from_std(job.every)?;
    // A last start far in the future means a wrong clock somewhere: run rather than stall.
    // Postgres keeps microseconds and rounds, so a stored start can sit a hair after `ctx.now`;
    // a second of slack keeps "exactly one interval later" due.
    let slack = chrono::Duration::seconds(1);
    let due = last.is_none_or(|l| ctx.now + slack >= l + every || l > ctx.now + every);
    if !force && !due {
        return Ok((false, "not due".into()));
    }
    // A concurrent job holds nothing while it runs: its own claims keep instances apart.
    let held = if job.concurrent {
        tx.commit().await?;
        None
    } else {
        Some(tx)
    };

    let started = Instant::now();
    let run = AssertUnwindSafe((job.run)(ctx.clone())).catch_unwind();
    let (ok, message) = match tokio::time::timeout(RUN_TIMEOUT, run).await {
        Ok(Ok(Ok(message))) => (true, message),
        Ok(Ok(Err(e))) => (false, format!("error: {e:#}")),
        Ok(Err(_panic)) => (false, "error: the job panicked".to_string()),
        Err(_) => (false, format!("error: timed out after {} s", RUN_TIMEOUT.as_secs())),
    };
    let finished = ctx.now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
    let record = sqlx::query(
        "INSERT INTO job_runs (name, last_started_at, last_finished_at, last_ok, last_message)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET last_started_at = EXCLUDED.last_started_at,
           last_finished_at = EXCLUDED.last_finished_at, last_ok = EXCLUDED.last_ok,
           last_message = EXCLUDED.last_message",
    )
    .bind(job.name)
    .bind(ctx.now)
    .bind(finished)
    .bind(ok)
    .bind(&message);
    match held {
        Some(mut tx) => {
            record.execute(&mut *tx).await?;
            tx.commit().await?;
        }
        None => {
            record.execute(&ctx.db).await?;
        }
    }
    if ok {
        tracing::debug!(job = job.name, message, "job ran");
    } else {
        tracing::warn!(job = job.name, message, "job failed");
    }
    Ok((true, message))
}

/// The background loop (ticks every 15 s) used by `crm serve`. It ends when `stop` turns true
/// (after finishing the run in progress, so no job is cut off mid-transaction), when the pool is
/// closed, or when the runtime shuts down.
pub fn spawn(db: PgPool, config: Arc<Config>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            if db.is_closed() || *stop.borrow() {
                break;
            }
            let ctx = JobCtx { db: db.clone(), config: config.clone(), now: Utc::now() };
            run_due(ctx, false).await;
        }
        tracing::info!("jobs loop stopped");
    })
}

/// Reminders whose time has come become notifications, each exactly once.
async fn deliver_reminders(ctx: JobCtx) -> anyhow::Result<String> {
    let mut conn = ctx.db.acquire().await?;
    let mut total = 0;
    loop {
        let n = crate::notify::deliver_due(&mut conn, ctx.now, REMINDER_BATCH).await?;
        total += n;
        if n < REMINDER_BATCH as u64 {
            break;
        }
    }
    Ok(format!("delivered {total}"))
}

/// Expired rows of the session store (live sessions are never touched: the database clock decides).
async fn purge_sessions(ctx: JobCtx) -> anyhow::Result<String> {
    let done = sqlx::query("DELETE FROM tower_sessions.session WHERE expiry_date < now()").execute(&ctx.db).await?;
    Ok(format!("deleted {}", done.rows_affected()))
}

/// Login counters whose lock or window has run out (they would start over anyway).
async fn purge_login_locks(ctx: JobCtx) -> anyhow::Result<String> {
    let n = crate::auth::purge_expired_locks(&ctx.db, &ctx.config).await?;
    Ok(format!("deleted {n}"))
}

/// Read notifications older than 180 days; unread ones stay until read.
async fn prune_notifications(ctx: JobCtx) -> anyhow::Result<String> {
    let done =
        sqlx::query("DELETE FROM notifications WHERE read_at IS NOT NULL AND created_at < $1 - interval '180 days'")
            .bind(ctx.now)
            .execute(&ctx.db)
            .await?;
    Ok(format!("deleted {}", done.rows_affected()))
}
