//! Who owns what. Every table of owned records registers here (modules add themselves as they
//! land), so that handing a leaving user's records to someone else reaches all of them.

use sqlx::PgConnection;

/// (entity name used in audit/team/share tables, table with an `owner_id` column).
pub const OWNED: &[(&str, &str)] = &[("customer", "customers"), ("contact", "contacts"), ("lead", "leads")];

#[derive(Clone, Debug, Default)]
pub struct Holdings {
    /// (entity, number of records owned)
    pub owned: Vec<(&'static str, i64)>,
    /// Team places (record_members rows) across all entities.
    pub team_places: i64,
}

impl Holdings {
    pub fn is_empty(&self) -> bool {
        self.team_places == 0 && self.owned.iter().all(|(_, n)| *n == 0)
    }
}

pub async fn holdings(db: &mut PgConnection, user_id: i64) -> sqlx::Result<Holdings> {
    let mut h = Holdings::default();
    for (entity, table) in OWNED {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE owner_id = $1"))
            .bind(user_id)
            .fetch_one(&mut *db)
            .await?;
        h.owned.push((entity, n));
    }
    h.team_places = sqlx::query_scalar("SELECT count(*) FROM record_members WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *db)
        .await?;
    Ok(h)
}

/// Move every record owned by `from` to `to`, and `from`'s team places to `to` (keeping the
/// stronger access where `to` is already a member). Each moved record gets an audit row.
/// Runs in the caller's transaction.
pub async fn hand_over(
    tx: &mut PgConnection,
    from: i64,
    to: i64,
    actor: i64,
    ip: Option<&str>,
) -> sqlx::Result<Holdings> {
    let moved = holdings(tx, from).await?;
    let names: (String, String) =
        sqlx::query_as("SELECT (SELECT name FROM users WHERE id = $1), (SELECT name FROM users WHERE id = $2)")
            .bind(from)
            .bind(to)
            .fetch_one(&mut *tx)
            .await?;
    let change = serde_json::json!([{ "field": "owner", "old": names.0, "new": names.1 }]);
    for (entity, table) in OWNED {
        sqlx::query(&format!(
            "WITH moved AS (UPDATE {table} SET owner_id = $2 WHERE owner_id = $1 RETURNING id)
             INSERT INTO operation_logs (entity, entity_id, actor_id, action, changes, ip)
             SELECT $3, id, $4, 'handover', $5, $6 FROM moved"
        ))
        .bind(from)
        .bind(to)
        .bind(entity)
        .bind(actor)
        .bind(&change)
        .bind(ip)
        .execute(&mut *tx)
        .await?;
    }
    // Team places: upgrade `to` where it already sits on the team, then move the rest.
    sqlx::query(
        "UPDATE record_members t SET access = 'write'
         FROM record_members f
         WHERE f.user_id = $1 AND t.user_id = $2 AND t.entity = f.entity AND t.record_id = f.record_id
           AND f.access = 'write'",
    )
    .bind(from)
    .bind(to)
    .execute(&mut *tx)
    .await?;
    let team_change = serde_json::json!([{ "field": "team", "old": names.0, "new": names.1 }]);
    sqlx::query(
        "WITH gone AS (
           DELETE FROM record_members f WHERE f.user_id = $1 RETURNING entity, record_id, access, expires_at),
         added AS (
           INSERT INTO record_members (entity, record_id, user_id, access, expires_at, created_by)
           SELECT entity, record_id, $2, access, expires_at, $3 FROM gone
           ON CONFLICT (entity, record_id, user_id) DO NOTHING RETURNING entity, record_id)
         INSERT INTO operation_logs (entity, entity_id, actor_id, action, changes, ip)
         SELECT entity, record_id, $3, 'handover', $4, $5 FROM gone",
    )
    .bind(from)
    .bind(to)
    .bind(actor)
    .bind(&team_change)
    .bind(ip)
    .execute(&mut *tx)
    .await?;
    Ok(moved)
}
