//! The outbox: every mail is a row first, written in the transaction of the change that caused it
//! (`enqueue`); the `send_mail` job sends it.
//!
//! A run claims due rows with `FOR UPDATE SKIP LOCKED`, marks them 'sending' with a lease
//! (`next_attempt_at` = now + `LEASE`) and commits; only then does it talk to SMTP, holding no
//! database connection, and afterwards records each result. So several instances never send one
//! mail twice, and a row left 'sending' by an instance that died is taken up again once its lease
//! has passed. The result is written only while the row is still this claim's (same attempt).

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};

use super::smtp::{self, Failure, Outgoing};
use crate::config::Config;

/// How long a claim is the claimant's. Far longer than a send can take (30 s timeouts per account).
pub const LEASE: Duration = Duration::minutes(10);
/// Rows claimed per statement; a run claims again until nothing is due or `RUN_MAX` is reached.
const BATCH: i64 = 20;
const RUN_MAX: usize = 500;
/// Waits after each temporary failure; after the last, the mail is failed.
pub const BACKOFF_MINUTES: &[i64] = &[1, 5, 30, 120];

/// A mail to write to the outbox.
#[derive(Clone, Debug, Default)]
pub struct NewMail {
    /// 'notification' or 'test'.
    pub kind: &'static str,
    /// The user it is for, when it is one.
    pub user_id: Option<i64>,
    /// Who caused it (`None`: the system).
    pub created_by: Option<i64>,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub body_text: String,
    pub link: Option<String>,
}

/// Write `mail` to the outbox in the caller's transaction: it is sent once that commits, and never
/// when it rolls back.
pub async fn enqueue(conn: &mut PgConnection, mail: &NewMail) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO mail_outbox (kind, user_id, created_by, to_address, to_name, subject, body_text, link)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(mail.kind)
    .bind(mail.user_id)
    .bind(mail.created_by)
    .bind(mail.to_address.trim())
    .bind(&mail.to_name)
    .bind(&mail.subject)
    .bind(&mail.body_text)
    .bind(&mail.link)
    .fetch_one(conn)
    .await
}

#[derive(sqlx::FromRow, Debug)]
struct Claimed {
    id: i64,
    attempts: i32,
    to_address: String,
    to_name: String,
    subject: String,
    body_text: String,
    link: Option<String>,
}

/// Claim up to `limit` due rows (queued and due, or 'sending' past their lease) and commit.
async fn claim(db: &PgPool, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<Claimed>> {
    let mut tx = db.begin().await?;
    let rows = sqlx::query_as(
        "WITH due AS (
           SELECT id FROM mail_outbox
           WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1
           ORDER BY next_attempt_at, id
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         )
         UPDATE mail_outbox m SET status = 'sending', attempts = m.attempts + 1,
           next_attempt_at = $1 + $3 * interval '1 second', updated_at = now()
         FROM due WHERE m.id = due.id
         RETURNING m.id, m.attempts, m.to_address, m.to_name, m.subject, m.body_text, m.link",
    )
    .bind(now)
    .bind(limit)
    .bind(LEASE.num_seconds() as f64)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Record the outcome of a claim (only while the row is still that claim's).
async fn record(
    db: &PgPool,
    row: &Claimed,
    result: &Result<smtp::Accepted, Failure>,
    now: DateTime<Utc>,
) -> sqlx::Result<&'static str> {
    let (status, next, error, reply, via) = match result {
        Ok(a) => ("sent", now, None, Some(a.reply.as_str()), Some(a.via.as_str())),
        Err(Failure::Temporary(t)) => match BACKOFF_MINUTES.get(row.attempts as usize - 1) {
            Some(m) => ("queued", now + Duration::minutes(*m), Some(t.as_str()), None, None),
            None => ("failed", now, Some(t.as_str()), None, None),
        },
        Err(Failure::Permanent(t)) => ("failed", now, Some(t.as_str()), None, None),
    };
    sqlx::query(
        "UPDATE mail_outbox SET status = $3, next_attempt_at = $4,
           last_error = COALESCE($5, last_error), server_reply = $6, sent_via = $7,
           sent_at = CASE WHEN $3 = 'sent' THEN $4 END, updated_at = now()
         WHERE id = $1 AND attempts = $2 AND status = 'sending'",
    )
    .bind(row.id)
    .bind(row.attempts)
    .bind(status)
    .bind(next)
    .bind(error)
    .bind(reply)
    .bind(via)
    .execute(db)
    .await?;
    Ok(status)
}

/// The link as the mail shows it.
pub fn absolute(config: &Config, link: &str) -> String {
    let base = config.public_url.trim().trim_end_matches('/');
    if link.starts_with('/') { format!("{base}{link}") } else { link.to_string() }
}

/// One outbox run: send what is due at `now`. Returns a summary ("sent 3, retry 1, failed 0").
pub async fn run(db: &PgPool, config: &Config, now: DateTime<Utc>) -> anyhow::Result<String> {
    let accounts = super::accounts::active(db, config).await?;
    if accounts.is_empty() {
        return Ok("no mail account: mail stays queued".into());
    }
    let (mut sent, mut retry, mut failed, mut seen) = (0, 0, 0, 0);
    loop {
        let batch = claim(db, now, BATCH).await?;
        let n = batch.len();
        for row in &batch {
            let mail = Outgoing {
                to_address: row.to_address.clone(),
                to_name: row.to_name.clone(),
                subject: row.subject.clone(),
                body_text: row.body_text.clone(),
                link: row.link.as_deref().map(|l| absolute(config, l)),
            };
            let result = smtp::send(&accounts, &mail, config).await;
            if let Err(f) = &result {
                tracing::warn!(mail = row.id, attempt = row.attempts, error = f.text(), "mail not sent");
            }
            match record(db, row, &result, now).await? {
                "sent" => sent += 1,
                "queued" => retry += 1,
                _ => failed += 1,
            }
        }
        seen += n;
        if (n as i64) < BATCH || seen >= RUN_MAX {
            break;
        }
    }
    Ok(format!("sent {sent}, retry {retry}, failed {failed}"))
}

/// The job that runs the outbox every 15 s. It is `concurrent`: several instances may run it at
/// once (the claims keep them apart) and no connection is held while it sends.
pub fn job() -> crate::jobs::Job {
    use futures_util::FutureExt;
    crate::jobs::Job {
        name: "send_mail",
        concurrent: true,
        every: std::time::Duration::from_secs(15),
        run: |ctx| async move { run(&ctx.db, &ctx.config, ctx.now).await }.boxed(),
    }
}

/// Log a mail sent at once, not through the queue (the settings page's test mail): written as
/// 'sending' under a lease, so no runner takes it while the caller talks to the server.
pub async fn log_direct(
    conn: &mut PgConnection,
    kind: &'static str,
    created_by: i64,
    mail: &Outgoing,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO mail_outbox (kind, created_by, to_address, to_name, subject, body_text, link, status, attempts,
           next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'sending', 1, $8) RETURNING id",
    )
    .bind(kind)
    .bind(created_by)
    .bind(&mail.to_address)
    .bind(&mail.to_name)
    .bind(&mail.subject)
    .bind(&mail.body_text)
    .bind(&mail.link)
    .bind(now + LEASE)
    .fetch_one(conn)
    .await
}

/// Record the outcome of a `log_direct` mail (sent or failed; it is not retried).
pub async fn settle_direct(db: &PgPool, id: i64, outcome: &Result<String, Failure>, via: &str) -> sqlx::Result<()> {
    let (status, reply, error) = match outcome {
        Ok(r) => ("sent", Some(r.as_str()), None),
        Err(f) => ("failed", None, Some(f.text())),
    };
    sqlx::query(
        "UPDATE mail_outbox SET status = $2, server_reply = $3, last_error = $4,
           sent_via = CASE WHEN $2 = 'sent' THEN $5 END, sent_at = CASE WHEN $2 = 'sent' THEN now() END,
           updated_at = now()
         WHERE id = $1 AND status = 'sending'",
    )
    .bind(id)
    .bind(status)
    .bind(reply)
    .bind(error)
    .bind(via)
    .execute(db)
    .await?;
    Ok(())
}

/// Put a failed or queued mail back in the queue, due now. False when it is not in such a state.
pub async fn retry(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET status = 'queued', attempts = 0, next_attempt_at = now(), updated_at = now()
         WHERE id = $1 AND status IN ('failed', 'queued', 'cancelled')",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Cancel a queued mail (never one being sent or already sent). False when it is not queued.
pub async fn cancel(conn: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET status = 'cancelled', updated_at = now() WHERE id = $1 AND status IN ('queued', 'failed')",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
