//! The daily sending quota (seed 003): what a user may send in a day of `CRM_TIMEZONE` — their own
//! limit, else the largest of their roles', else `DEFAULT`. It counts the outbox rows the user
//! caused that are not system mail: notification mails (`kind = 'notification'`) go to a user
//! because of what others did and never count against anyone.

use chrono::{DateTime, FixedOffset, NaiveTime, TimeZone, Utc};
use sqlx::PgConnection;

pub const DEFAULT: i64 = 400;

/// The start of `now`'s day in `tz`, as an instant.
pub fn day_start(now: DateTime<Utc>, tz: FixedOffset) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive().and_time(NaiveTime::MIN);
    tz.from_local_datetime(&local).single().map_or(now, |d| d.with_timezone(&Utc))
}

/// The user's daily limit.
pub async fn limit_of(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    let limit: Option<i32> = sqlx::query_scalar(
        "SELECT COALESCE(
           (SELECT daily_limit FROM mail_quotas WHERE user_id = $1),
           (SELECT max(q.daily_limit) FROM mail_quotas q JOIN user_roles ur ON ur.role_id = q.role_id
            WHERE ur.user_id = $1))",
    )
    .bind(user_id)
    .fetch_one(conn)
    .await?;
    Ok(limit.map_or(DEFAULT, i64::from))
}

/// Mails the user sent (or queued) today.
pub async fn used_today(
    conn: &mut PgConnection,
    user_id: i64,
    now: DateTime<Utc>,
    tz: FixedOffset,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox WHERE created_by = $1 AND kind <> 'notification' AND created_at >= $2",
    )
    .bind(user_id)
    .bind(day_start(now, tz))
    .fetch_one(conn)
    .await
}

/// Whether the user may send `n` more mails today, inside the transaction that will write them:
/// takes a per-user lock (held to its end) so two sends at once cannot both take the last places.
/// `Err(remaining)` when it would exceed the limit.
pub async fn reserve(
    conn: &mut PgConnection,
    user_id: i64,
    n: i64,
    now: DateTime<Utc>,
    tz: FixedOffset,
) -> sqlx::Result<Result<(), i64>> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('crm.mail.quota'), $1::int)")
        .bind(user_id as i32)
        .execute(&mut *conn)
        .await?;
    let limit = limit_of(conn, user_id).await?;
    let used = used_today(conn, user_id, now, tz).await?;
    let remaining = (limit - used).max(0);
    Ok(if n > remaining { Err(remaining) } else { Ok(()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_starts_at_local_midnight() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        // 2026-03-01 17:30 UTC is 2026-03-02 01:30 in China: the day began 2026-03-01 16:00 UTC.
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 17, 30, 0).unwrap();
        assert_eq!(day_start(now, tz), Utc.with_ymd_and_hms(2026, 3, 1, 16, 0, 0).unwrap());
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 15, 59, 0).unwrap();
        assert_eq!(day_start(now, tz), Utc.with_ymd_and_hms(2026, 2, 28, 16, 0, 0).unwrap());
    }
}
