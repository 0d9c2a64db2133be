//! What every owned record type (customers, contacts, leads, and later opportunities, contracts)
//! shares besides the scope predicate: stars (关注) and the recycle bin. Tables and entity names
//! passed here are code constants, never user input.

use sqlx::PgConnection;

pub mod stars;

/// Move live records among `ids` to the recycle bin, with one audit row each; returns the ids
/// that moved. `only_if` narrows which may go (e.g. " AND converted_at IS NULL"); `also_set`
/// changes more columns on the way (e.g. ", is_primary = false").
pub async fn soft_delete(
    tx: &mut PgConnection,
    table: &str,
    entity: &str,
    ids: &[i64],
    by: i64,
    ip: Option<&str>,
    only_if: &str,
    also_set: &str,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!(
        "WITH gone AS (
           UPDATE {table} SET deleted_at = now(), deleted_by = $2{also_set}
           WHERE id = ANY($1) AND deleted_at IS NULL{only_if} RETURNING id),
         logged AS (
           INSERT INTO operation_logs (entity, entity_id, actor_id, action, ip)
           SELECT $4, id, $2, 'delete', $3 FROM gone)
         SELECT id FROM gone"
    ))
    .bind(ids)
    .bind(by)
    .bind(ip)
    .bind(entity)
    .fetch_all(tx)
    .await
}

/// Bring records back from the recycle bin, with one audit row each; returns the ids restored.
pub async fn restore(
    tx: &mut PgConnection,
    table: &str,
    entity: &str,
    ids: &[i64],
    by: i64,
    ip: Option<&str>,
    also_set: &str,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!(
        "WITH back AS (
           UPDATE {table} SET deleted_at = NULL, deleted_by = NULL{also_set}
           WHERE id = ANY($1) AND deleted_at IS NOT NULL RETURNING id),
         logged AS (
           INSERT INTO operation_logs (entity, entity_id, actor_id, action, ip)
           SELECT $4, id, $2, 'restore', $3 FROM back)
         SELECT id FROM back"
    ))
    .bind(ids)
    .bind(by)
    .bind(ip)
    .bind(entity)
    .fetch_all(tx)
    .await
}

/// Of `ids`, the records in the recycle bin, locked for a permanent delete.
pub async fn lock_deleted(tx: &mut PgConnection, table: &str, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE id = ANY($1) AND deleted_at IS NOT NULL FOR UPDATE"))
        .bind(ids)
        .fetch_all(tx)
        .await
}

/// Remove the rows every record type has around it (stars, attachments, team places, shares,
/// pending reminders and notifications linking to them) and then the records themselves, writing a 'purge' audit row for each. The history rows stay:
/// the audit trail outlives the record. Module-specific rows must be gone before this runs.
pub async fn purge(
    tx: &mut PgConnection,
    table: &str,
    entity: &str,
    ids: &[i64],
    by: Option<i64>,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    for side in ["stars", "attachments", "record_members", "record_shares"] {
        sqlx::query(&format!("DELETE FROM {side} WHERE entity = $1 AND record_id = ANY($2)"))
            .bind(entity)
            .bind(ids)
            .execute(&mut *tx)
            .await?;
    }
    // Reminders still to come and notifications that lead to the records would only lead to a
    // 404 now. They point at a record by its page, `/<table>/<id>` (any `?tab=...` after it).
    let pages: Vec<String> = ids.iter().map(|id| format!("/{table}/{id}")).collect();
    for (side, only) in [("reminders", " AND delivered_at IS NULL"), ("notifications", "")] {
        sqlx::query(&format!(
            "DELETE FROM {side} WHERE link IS NOT NULL AND regexp_replace(link, '[?#].*$', '') = ANY($1){only}"
        ))
        .bind(&pages)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(&format!("DELETE FROM {table} WHERE id = ANY($1)")).bind(ids).execute(&mut *tx).await?;
    if let Some(by) = by {
        sqlx::query(
            "INSERT INTO operation_logs (entity, entity_id, actor_id, action, ip) SELECT $1, unnest($2::bigint[]), $3, 'purge', $4",
        )
        .bind(entity)
        .bind(ids)
        .bind(by)
        .bind(ip)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}
