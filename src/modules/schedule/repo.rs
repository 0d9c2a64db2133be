//! The schedule's SQL. Every user value is bound; visibility goes through the record kernel's
//! predicate (`records::sql::push_visible`: the viewer's Schedule scope, or being a participant).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool, QueryBuilder};

use super::RECORD;
use super::model::{Event, EventInput, MAX_DAYS};
use crate::access::DataScope;
use crate::records::sql;

const SELECT: &str = "SELECT t.id, t.title, t.starts_at, t.ends_at, t.all_day, t.location, t.notes, t.owner_id,
        o.name AS owner_name, cb.name AS created_by_name, t.remind_minutes, t.repeat, t.repeat_until,
        t.created_at, t.updated_at
   FROM events t LEFT JOIN users o ON o.id = t.owner_id LEFT JOIN users cb ON cb.id = t.created_by";

/// A live event, whoever may see it (the caller has checked).
pub async fn find(db: &PgPool, id: i64) -> sqlx::Result<Option<Event>> {
    sqlx::query_as(&format!("{SELECT} WHERE t.id = $1 AND t.deleted_at IS NULL")).bind(id).fetch_optional(db).await
}

/// A live event the scope (or being a participant) lets the user see.
pub async fn find_visible(db: &PgPool, scope: &DataScope, id: i64) -> sqlx::Result<Option<Event>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" WHERE t.id = ").push_bind(id).push(" AND t.deleted_at IS NULL AND ");
    sql::push_visible(&mut q, &RECORD, scope);
    q.build_query_as().fetch_optional(db).await
}

/// Lock a live event for a save; false when it is gone.
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT id FROM events WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
            .bind(id)
            .fetch_optional(tx)
            .await?;
    Ok(found.is_some())
}

/// The participants as (id, name), by name.
pub async fn participants(db: &PgPool, id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT u.id, u.name FROM event_participants p JOIN users u ON u.id = p.user_id
          WHERE p.event_id = $1 ORDER BY u.name, u.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Of these users, the active ones (participants must be).
pub async fn active_users(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND status = 'active' ORDER BY id")
        .bind(ids)
        .fetch_all(db)
        .await
}

/// Active colleagues of a department: the participants the form offers without typing.
pub async fn colleagues(db: &PgPool, dept: i64, except: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT id, name FROM users WHERE dept_id = $1 AND id <> $2 AND status = 'active' ORDER BY name, id LIMIT 50",
    )
    .bind(dept)
    .bind(except)
    .fetch_all(db)
    .await
}

pub async fn user_names(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1) ORDER BY name, id").bind(ids).fetch_all(db).await
}

pub async fn insert(tx: &mut PgConnection, e: &EventInput, owner: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO events (title, starts_at, ends_at, all_day, location, notes, remind_minutes, repeat,
                             repeat_until, owner_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(&e.title)
    .bind(e.starts_at)
    .bind(e.ends_at)
    .bind(e.all_day)
    .bind(&e.location)
    .bind(&e.notes)
    .bind(e.remind_minutes)
    .bind(e.repeat.code())
    .bind(e.repeat_until)
    .bind(owner)
    .fetch_one(tx)
    .await
}

pub async fn update(tx: &mut PgConnection, id: i64, e: &EventInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE events SET title = $2, starts_at = $3, ends_at = $4, all_day = $5, location = $6, notes = $7,
                remind_minutes = $8, repeat = $9, repeat_until = $10
          WHERE id = $1",
    )
    .bind(id)
    .bind(&e.title)
    .bind(e.starts_at)
    .bind(e.ends_at)
    .bind(e.all_day)
    .bind(&e.location)
    .bind(&e.notes)
    .bind(e.remind_minutes)
    .bind(e.repeat.code())
    .bind(e.repeat_until)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn set_participants(tx: &mut PgConnection, id: i64, users: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM event_participants WHERE event_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO event_participants (event_id, user_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(users)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

pub async fn participant_ids(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT user_id FROM event_participants WHERE event_id = $1 ORDER BY user_id")
        .bind(id)
        .fetch_all(conn)
        .await
}

/// The events of `user` (owned or taking part) that may have an occurrence in [from, to) and
/// that the viewer sees. Three index ranges: the owner's one-off events starting in the range
/// (or up to MAX_DAYS before it: none lasts longer), the owner's repeating events, the user's
/// participations. Repeat rules are expanded by the caller.
pub async fn of_user(
    db: &PgPool,
    viewer: &DataScope,
    user: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> sqlx::Result<Vec<Event>> {
    let earliest = from - Duration::days(MAX_DAYS);
    let mut q = QueryBuilder::new(SELECT);
    q.push(" WHERE t.deleted_at IS NULL AND t.id IN (SELECT e.id FROM events e WHERE e.owner_id = ").push_bind(user);
    q.push(" AND e.deleted_at IS NULL AND e.repeat = 'none' AND e.starts_at >= ").push_bind(earliest);
    q.push(" AND e.starts_at < ").push_bind(to);
    q.push(" UNION ALL SELECT e.id FROM events e WHERE e.owner_id = ").push_bind(user);
    q.push(" AND e.repeat <> 'none' AND e.deleted_at IS NULL AND e.starts_at < ").push_bind(to);
    q.push(" UNION ALL SELECT p.event_id FROM event_participants p WHERE p.user_id = ").push_bind(user);
    q.push(") AND t.starts_at < ").push_bind(to);
    q.push(" AND (t.repeat <> 'none' OR t.starts_at >= ").push_bind(earliest).push(")");
    q.push(" AND (t.repeat_until IS NULL OR t.repeat_until >= ").push_bind(from.date_naive() - Duration::days(1));
    q.push(") AND ");
    sql::push_visible(&mut q, &RECORD, viewer);
    q.push(" ORDER BY t.starts_at, t.id");
    q.build_query_as().fetch_all(db).await
}

/// Everything a user's feed lists: their live events (owned or taking part), one-off ones from
/// `since` on, repeating ones whatever their start (the app expands them). Owned ones come
/// straight from the owner's indexes, the others through the participant index.
pub async fn for_feed(db: &PgPool, user: i64, since: DateTime<Utc>) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE t.owner_id = $1 AND t.deleted_at IS NULL AND (t.repeat <> 'none' OR t.starts_at >= $2)
         UNION ALL
         {SELECT} WHERE t.id IN (SELECT p.event_id FROM event_participants p WHERE p.user_id = $1)
           AND t.owner_id IS DISTINCT FROM $1 AND t.deleted_at IS NULL AND (t.repeat <> 'none' OR t.starts_at >= $2)
         ORDER BY starts_at, id LIMIT 5000"
    ))
    .bind(user)
    .bind(since)
    .fetch_all(db)
    .await
}

/// Open terms of approved contracts owned by `user`, due in [from, to] (dates), that the viewer
/// sees through the contract scope: (plan id, term, due date, contract name, contract id).
pub async fn plans_due(
    db: &PgPool,
    viewer: &DataScope,
    user: i64,
    (from, to): (NaiveDate, NaiveDate),
) -> sqlx::Result<Vec<(i64, i32, NaiveDate, String, i64)>> {
    let mut q = QueryBuilder::new(
        "SELECT p.id, p.term, p.due_date, k.name, k.id FROM payment_plans p JOIN contracts k ON k.id = p.contract_id
          WHERE p.received < p.amount AND p.live AND p.owner_id = ",
    );
    q.push_bind(user).push(" AND p.due_date >= ").push_bind(from).push(" AND p.due_date <= ").push_bind(to);
    q.push(" AND ");
    viewer.push_visible_as(&mut q, ("p.owner_id", "p.contract_id"), "contract");
    q.push(" ORDER BY p.due_date, p.id LIMIT 1000");
    q.build_query_as().fetch_all(db).await
}

/// Approved (effective) contracts owned by `user` ending in [from, to], seen by the viewer.
pub async fn contracts_ending(
    db: &PgPool,
    viewer: &DataScope,
    user: i64,
    (from, to): (NaiveDate, NaiveDate),
) -> sqlx::Result<Vec<(i64, String, NaiveDate)>> {
    let mut q = QueryBuilder::new(
        "SELECT k.id, k.name, k.end_date FROM contracts k WHERE k.status = 'approved' AND k.deleted_at IS NULL AND k.owner_id = ",
    );
    q.push_bind(user).push(" AND k.end_date >= ").push_bind(from).push(" AND k.end_date <= ").push_bind(to);
    q.push(" AND ");
    viewer.push_visible(&mut q, "k", "contract");
    q.push(" ORDER BY k.end_date, k.id LIMIT 1000");
    q.build_query_as().fetch_all(db).await
}

/// Events related to a record (its timeline) that the user sees, newest start first.
pub async fn about(db: &PgPool, scope: &DataScope, ids: &[i64]) -> sqlx::Result<Vec<Event>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" WHERE t.id = ANY(").push_bind(ids.to_vec()).push(") AND t.deleted_at IS NULL AND ");
    sql::push_visible(&mut q, &RECORD, scope);
    q.push(" ORDER BY t.starts_at DESC, t.id DESC");
    q.build_query_as().fetch_all(db).await
}

// The private calendar feed.

/// The user whose feed this token hash opens, with their language.
pub async fn feed_user(db: &PgPool, token_hash: &str) -> sqlx::Result<Option<(i64, Option<String>)>> {
    sqlx::query_as(
        "SELECT u.id, u.lang FROM calendar_feeds f JOIN users u ON u.id = f.user_id
          WHERE f.token_hash = $1 AND u.status = 'active'",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

pub async fn feed_created(db: &PgPool, user: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT created_at FROM calendar_feeds WHERE user_id = $1").bind(user).fetch_optional(db).await
}

/// Set (or replace: the old URL stops working) the user's feed token hash.
pub async fn set_feed(tx: &mut PgConnection, user: i64, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO calendar_feeds (user_id, token_hash) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()",
    )
    .bind(user)
    .bind(token_hash)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn revoke_feed(tx: &mut PgConnection, user: i64) -> sqlx::Result<bool> {
    Ok(sqlx::query("DELETE FROM calendar_feeds WHERE user_id = $1").bind(user).execute(tx).await?.rows_affected() > 0)
}

// Reminders.

/// Drop the event's reminders not delivered yet (before planning new ones, or when it goes to
/// the bin).
pub async fn drop_pending_reminders(conn: &mut PgConnection, link: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM reminders WHERE kind = 'event_due' AND link = $1 AND delivered_at IS NULL")
        .bind(link)
        .execute(conn)
        .await?;
    Ok(())
}

/// Back from the bin: the job plans the next occurrence after now (see `remind`).
pub async fn remind_again(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE events SET next_remind_at = now() - make_interval(mins => remind_minutes)
          WHERE id = ANY($1) AND remind_minutes IS NOT NULL",
    )
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_next_remind(conn: &mut PgConnection, id: i64, at: Option<DateTime<Utc>>) -> sqlx::Result<()> {
    sqlx::query("UPDATE events SET next_remind_at = $2 WHERE id = $1").bind(id).bind(at).execute(conn).await?;
    Ok(())
}

/// For the job: live events whose pending reminder is due, with its due time, locked (a second
/// runner skips them).
pub async fn reminders_due(conn: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<Vec<(i64, DateTime<Utc>)>> {
    sqlx::query_as(
        "SELECT id, next_remind_at FROM events WHERE next_remind_at <= $1 AND deleted_at IS NULL
          ORDER BY next_remind_at LIMIT 500 FOR UPDATE SKIP LOCKED",
    )
    .bind(now)
    .fetch_all(conn)
    .await
}

/// An event as the reminders need it, read on the caller's connection.
pub async fn find_on(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Event>> {
    sqlx::query_as(&format!("{SELECT} WHERE t.id = $1 AND t.deleted_at IS NULL")).bind(id).fetch_optional(conn).await
}
