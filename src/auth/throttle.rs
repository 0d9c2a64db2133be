//! Login throttling. Counters per typed login name (known or not, so locks reveal nothing about
//! which logins exist), per user (so a user's username and mobile number share one budget) and per
//! client IP; reaching a limit locks the key for the configured minutes.
//!
//! Every attempt is counted *before* the password is verified, in one atomic upsert per key, so
//! parallel requests cannot all slip under the limit: of N simultaneous guesses at most `limit`
//! reach the password check. A successful login clears the account counters and gives the IP its
//! attempt back.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::config::Config;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Ok,
    BadCredentials,
    /// The password was right; the second step (a code) is asked for.
    CodeRequired,
    /// A wrong, or already used, two-factor or recovery code.
    BadCode,
    AccountLocked,
    IpThrottled,
    Disabled,
}

impl LoginOutcome {
    pub fn code(self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::BadCredentials => "bad_credentials",
            LoginOutcome::CodeRequired => "code_required",
            LoginOutcome::BadCode => "bad_code",
            LoginOutcome::AccountLocked => "locked",
            LoginOutcome::IpThrottled => "ip_throttled",
            LoginOutcome::Disabled => "disabled",
        }
    }
}

/// One counter: its row key, how many attempts it allows per window, and what a lock means.
#[derive(Clone, Debug)]
pub struct Key {
    pub name: String,
    pub limit: i64,
    /// `IpThrottled` for the address, `AccountLocked` for everything about the account.
    pub kind: LoginOutcome,
}

impl Key {
    pub fn ip(ip: &str, cfg: &Config) -> Key {
        Key { name: format!("ip:{ip}"), limit: cfg.login_max_failures_per_ip, kind: LoginOutcome::IpThrottled }
    }

    /// The login name as typed (also for logins that match nobody).
    pub fn login(login: &str, cfg: &Config) -> Key {
        let name = format!("login:{}", login.trim().to_lowercase());
        Key { name, limit: cfg.login_max_failures, kind: LoginOutcome::AccountLocked }
    }

    /// The user a login resolved to, whichever of its names was typed.
    pub fn user(id: i64, cfg: &Config) -> Key {
        Key { name: format!("user:{id}"), limit: cfg.login_max_failures, kind: LoginOutcome::AccountLocked }
    }

    /// Guesses of the current password on the change-password form.
    pub fn password_change(id: i64, cfg: &Config) -> Key {
        Key { name: format!("password:{id}"), limit: cfg.login_max_failures, kind: LoginOutcome::AccountLocked }
    }
}

/// The keys one login attempt counts against: the address, the typed name and, when the name
/// resolves to a user, that user.
pub struct LoginKeys {
    pub ip: Key,
    pub account: Vec<Key>,
}

impl LoginKeys {
    pub fn new(cfg: &Config, ip: Option<&str>, login: &str, user_id: Option<i64>) -> LoginKeys {
        let mut account = vec![Key::login(login, cfg)];
        account.extend(user_id.map(|id| Key::user(id, cfg)));
        LoginKeys { ip: Key::ip(ip.unwrap_or("unknown"), cfg), account }
    }

    /// The IP first: an address over its limit uses up no account's tries.
    pub fn all(&self) -> Vec<Key> {
        std::iter::once(self.ip.clone()).chain(self.account.iter().cloned()).collect()
    }

    /// The password was right: the account starts over, the address gets this attempt back.
    pub async fn succeeded(&self, db: &PgPool) -> sqlx::Result<()> {
        succeeded(db, &self.account, std::slice::from_ref(&self.ip)).await
    }
}

/// A lock in force: which kind, and until when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    pub kind: LoginOutcome,
    pub until: DateTime<Utc>,
}

/// What counting an attempt decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Over a limit already: do not verify anything.
    Refused(Lock),
    /// Verify the password. `Some` when this very attempt used up a key's last try: a failure now
    /// shows that lock at once.
    Verify(Option<Lock>),
}

/// Count one attempt against every key, in order (put the IP first), before anything is verified.
/// Stops at the first key that refuses, so a refused attempt does not use up the later keys.
pub async fn admit(db: &PgPool, cfg: &Config, keys: &[Key]) -> sqlx::Result<Admission> {
    let mut lock_on_failure: Option<Lock> = None;
    for key in keys {
        let (n, until) = count(db, cfg, key).await?;
        let until = until.unwrap_or_else(Utc::now);
        let lock = Lock { kind: key.kind, until };
        if n > key.limit {
            return Ok(Admission::Refused(lock));
        }
        if n == key.limit {
            // The address's lock says more (it is not about this account), so it wins.
            lock_on_failure = match lock_on_failure {
                Some(l) if l.kind == LoginOutcome::IpThrottled || l.until >= lock.until => Some(l),
                _ => Some(lock),
            };
        }
    }
    Ok(Admission::Verify(lock_on_failure))
}

/// The atomic step: a fresh window when the last lock or window ran out, else one more attempt;
/// the `limit`-th attempt sets the lock. Returns the attempt's number and the lock time, if any.
async fn count(db: &PgPool, cfg: &Config, key: &Key) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    let window = Duration::minutes(cfg.login_lock_minutes);
    let (n, until): (i32, Option<DateTime<Utc>>) = sqlx::query_as(
        "INSERT INTO login_locks AS l (key, failures, window_start, locked_until)
         VALUES ($1, 1, now(), CASE WHEN $2 <= 1 THEN now() + $3::interval END)
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN l.locked_until <= now()
                             OR (l.locked_until IS NULL AND l.window_start < now() - $3::interval)
                           THEN 1 ELSE l.failures + 1 END,
           window_start = CASE WHEN l.locked_until <= now()
                             OR (l.locked_until IS NULL AND l.window_start < now() - $3::interval)
                           THEN now() ELSE l.window_start END,
           locked_until = CASE
             WHEN l.locked_until <= now()
               OR (l.locked_until IS NULL AND l.window_start < now() - $3::interval)
             THEN CASE WHEN $2 <= 1 THEN now() + $3::interval END
             WHEN l.locked_until IS NOT NULL THEN l.locked_until
             WHEN l.failures + 1 >= $2 THEN now() + $3::interval
           END
         RETURNING failures, locked_until",
    )
    .bind(&key.name)
    .bind(key.limit)
    .bind(window)
    .fetch_one(db)
    .await?;
    Ok((i64::from(n), until))
}

/// After a correct password: the account keys start over, and each other key (the IP) gets this
/// attempt back, so an office behind one address is not locked out by its own good logins.
pub async fn succeeded(db: &PgPool, clear: &[Key], refund: &[Key]) -> sqlx::Result<()> {
    let names: Vec<&str> = clear.iter().map(|k| k.name.as_str()).collect();
    sqlx::query("DELETE FROM login_locks WHERE key = ANY($1)").bind(&names).execute(db).await?;
    for key in refund {
        sqlx::query(
            "UPDATE login_locks SET failures = greatest(failures - 1, 0),
               locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END
             WHERE key = $1",
        )
        .bind(&key.name)
        .bind(key.limit)
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Counters whose lock or window is over: what the purge job deletes.
pub async fn purge_expired(db: &PgPool, cfg: &Config) -> sqlx::Result<u64> {
    let window = Duration::minutes(cfg.login_lock_minutes);
    let done = sqlx::query(
        "DELETE FROM login_locks
         WHERE locked_until <= now() OR (locked_until IS NULL AND window_start < now() - $1::interval)",
    )
    .bind(window)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
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
