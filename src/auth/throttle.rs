//! Login throttling. A counter per login name (known or not, so locks reveal nothing about which
//! logins exist) and per client IP; reaching the limit locks the key for the configured minutes.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::config::Config;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok,
    BadCredentials,
    AccountLocked,
    IpThrottled,
    Disabled,
}

impl LoginOutcome {
    pub fn code(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::BadCredentials => "bad_credentials",
            LoginOutcome::AccountLocked => "locked",
            LoginOutcome::IpThrottled => "ip_throttled",
            LoginOutcome::Disabled => "disabled",
        }
    }
}

pub fn account_key(login: &str) -> String {
    format!("login:{}", login.trim().to_lowercase())
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// When `key` is locked, until when.
pub async fn locked_until(db: &PgPool, key: &str) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT locked_until FROM login_locks WHERE key = $1 AND locked_until > now()")
        .bind(key)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// Count a failure against `key`; the `limit`-th failure within the window locks it.
pub async fn record_failure(db: &PgPool, cfg: &Config, key: &str, limit: i64) -> sqlx::Result<()> {
    let window = Duration::minutes(cfg.login_lock_minutes);
    sqlx::query(
        "INSERT INTO login_locks AS l (key, failures, window_start) VALUES ($1, 1, now())
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN l.window_start < now() - $2::interval
                             OR l.locked_until IS NOT NULL THEN 1 ELSE l.failures + 1 END,
           window_start = CASE WHEN l.window_start < now() - $2::interval
                             OR l.locked_until IS NOT NULL THEN now() ELSE l.window_start END,
           locked_until = NULL",
    )
    .bind(key)
    .bind(window)
    .execute(db)
    .await?;
    sqlx::query(
        "UPDATE login_locks SET locked_until = now() + $3::interval
         WHERE key = $1 AND failures >= $2",
    )
    .bind(key)
    .bind(limit)
    .bind(window)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn clear(db: &PgPool, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_locks WHERE key = $1").bind(key).execute(db).await?;
    Ok(())
}

pub async fn log_attempt(
    db: &PgPool,
    login: &str,
    user_id: Option<i64>,
    ip: Option<&str>,
    user_agent: &str,
    outcome: LoginOutcome,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO login_log (login, user_id, ip, user_agent, result) VALUES ($1, $2, $3, $4, $5)")
        .bind(login.chars().take(100).collect::<String>())
        .bind(user_id)
        .bind(ip)
        .bind(user_agent.chars().take(300).collect::<String>())
        .bind(outcome.code())
        .execute(db)
        .await?;
    Ok(())
}
