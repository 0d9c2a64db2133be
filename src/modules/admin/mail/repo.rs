//! The mail settings' SQL.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::model::Valid;
use crate::mail::accounts::Row;

const COLS: &str = "id, position, host, port, security, username, password_enc, from_address, from_name, reply_to";

pub async fn find_for_update(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Row>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM mail_accounts WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn find(db: &PgPool, id: i64) -> sqlx::Result<Option<Row>> {
    sqlx::query_as(&format!("SELECT {COLS} FROM mail_accounts WHERE id = $1")).bind(id).fetch_optional(db).await
}

/// Accounts are few and changed rarely: every change takes this lock first, so positions stay
/// unique under concurrent saves.
pub async fn lock(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("LOCK TABLE mail_accounts IN SHARE ROW EXCLUSIVE MODE").execute(conn).await?;
    Ok(())
}

pub async fn insert(conn: &mut PgConnection, v: &Valid, password_enc: Option<&str>, by: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO mail_accounts (position, host, port, security, username, password_enc, from_address, from_name,
           reply_to, updated_by)
         VALUES ((SELECT COALESCE(max(position), 0) + 1 FROM mail_accounts), $1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id",
    )
    .bind(&v.host)
    .bind(v.port)
    .bind(v.security.code())
    .bind(&v.username)
    .bind(password_enc)
    .bind(&v.from_address)
    .bind(&v.from_name)
    .bind(&v.reply_to)
    .bind(by)
    .fetch_one(conn)
    .await
}

pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    v: &Valid,
    password_enc: Option<&str>,
    by: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE mail_accounts SET host = $2, port = $3, security = $4, username = $5, password_enc = $6,
           from_address = $7, from_name = $8, reply_to = $9, updated_by = $10, updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(&v.host)
    .bind(v.port)
    .bind(v.security.code())
    .bind(&v.username)
    .bind(password_enc)
    .bind(&v.from_address)
    .bind(&v.from_name)
    .bind(&v.reply_to)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Delete an account and close the gap in the order.
pub async fn delete(conn: &mut PgConnection, id: i64, position: i32) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM mail_accounts WHERE id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("UPDATE mail_accounts SET position = position - 1 WHERE position > $1")
        .bind(position)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Swap an account with the one before it; false when it is already first.
pub async fn move_up(conn: &mut PgConnection, id: i64, position: i32) -> sqlx::Result<bool> {
    let before: Option<(i64, i32)> =
        sqlx::query_as("SELECT id, position FROM mail_accounts WHERE position < $1 ORDER BY position DESC LIMIT 1")
            .bind(position)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((other, other_pos)) = before else { return Ok(false) };
    sqlx::query("UPDATE mail_accounts SET position = -1 WHERE id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("UPDATE mail_accounts SET position = $2 WHERE id = $1")
        .bind(other)
        .bind(position)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE mail_accounts SET position = $2 WHERE id = $1")
        .bind(id)
        .bind(other_pos)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

#[derive(sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub server_reply: Option<String>,
    pub sent_via: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn outbox(db: &PgPool, status: Option<&str>, limit: i64) -> sqlx::Result<Vec<OutboxRow>> {
    sqlx::query_as(
        "SELECT id, to_address, to_name, subject, status, attempts, next_attempt_at, last_error, server_reply,
           sent_via, sent_at, created_at
         FROM mail_outbox WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(status)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn counts(db: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT status, count(*) FROM mail_outbox GROUP BY status").fetch_all(db).await
}
