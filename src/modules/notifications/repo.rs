//! Notification SQL. Every query is limited to the asking user's own rows.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Row {
    pub id: i64,
    pub kind: String,
    pub params: Json<Value>,
    pub link: Option<String>,
    pub actor_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// Which notices a tab lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    All,
    Unread,
    /// Unread notices that a record was handed to me: transferred (every kind's `…transfer_in`),
    /// assigned from the pool, or received from a disabled user (`handover_received`).
    Handover,
}

/// On alias `n`: an unread notice that a record was handed to me.
const UNREAD_HANDOVER: &str =
    "n.read_at IS NULL AND (n.kind IN ('pool_assigned', 'handover_received') OR n.kind LIKE '%transfer_in')";

/// (all, unread, unread handovers) counts of a user's inbox.
pub async fn counts(db: &PgPool, user_id: i64) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(&format!(
        "SELECT count(*), count(*) FILTER (WHERE n.read_at IS NULL),
                count(*) FILTER (WHERE {UNREAD_HANDOVER})
           FROM notifications n WHERE n.user_id = $1"
    ))
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// One page of the inbox: unread first, then newest first.
pub async fn page(db: &PgPool, user_id: i64, which: Which, limit: i64, offset: i64) -> sqlx::Result<Vec<Row>> {
    let only = match which {
        Which::All => "TRUE",
        Which::Unread => "n.read_at IS NULL",
        Which::Handover => UNREAD_HANDOVER,
    };
    sqlx::query_as(&format!(
        "SELECT n.id, n.kind, n.params, n.link, a.name AS actor_name, n.created_at, n.read_at
         FROM notifications n LEFT JOIN users a ON a.id = n.actor_id
         WHERE n.user_id = $1 AND {only}
         ORDER BY (n.read_at IS NULL) DESC, n.created_at DESC, n.id DESC
         LIMIT $2 OFFSET $3"
    ))
    .bind(user_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// Mark one of the user's notifications read (kept as first read); its link, `None` when it is
/// not the user's (or does not exist).
pub async fn mark_read(db: &PgPool, user_id: i64, id: i64) -> sqlx::Result<Option<Option<String>>> {
    sqlx::query_scalar(
        "UPDATE notifications SET read_at = coalesce(read_at, now())
         WHERE id = $1 AND user_id = $2 RETURNING link",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Mark every unread notification of the user read; how many there were.
pub async fn mark_all_read(db: &PgPool, user_id: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}
