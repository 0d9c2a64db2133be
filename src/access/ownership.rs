//! Who owns what: every registered record kind has an owner, so handing a leaving user's records
//! to someone else walks the registry and reaches all of them.

use sqlx::PgConnection;

use crate::audit::{self, Entry};

/// (entity, table) of every registered record kind with owners (an `owner_id` column).
fn owned() -> Vec<(&'static str, &'static str)> {
    crate::registry::get().records().filter(|r| r.owned).map(|r| (r.entity, r.table)).collect()
}

#[derive(Clone, Debug, Default)]
pub struct Holdings {
    /// (entity, number of records owned)
    pub owned: Vec<(&'static str, i64)>,
    /// Team places (record_members rows) across all entities.
    pub team_places: i64,
    /// Departments the user heads (names).
    pub heads: Vec<String>,
}

impl Holdings {
    pub fn is_empty(&self) -> bool {
        self.team_places == 0 && self.heads.is_empty() && self.owned.iter().all(|(_, n)| *n == 0)
    }
}

pub async fn holdings(db: &mut PgConnection, user_id: i64) -> sqlx::Result<Holdings> {
    let mut h = Holdings::default();
    for (entity, table) in owned() {
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
    h.heads = sqlx::query_scalar("SELECT name FROM departments WHERE head_id = $1 ORDER BY sort, name, id")
        .bind(user_id)
        .fetch_all(&mut *db)
        .await?;
    Ok(h)
}

/// Move every record owned by `from` to `to`, and `from`'s team places to `to` (keeping the
/// stronger access where `to` is already a member). Each moved record gets an audit row. Where
/// `to` now owns a record they also sit on the team of (theirs already, or just handed over),
/// that team place is redundant and goes. Runs in the caller's transaction.
///
/// Ownership caps do not stop a handover: it is an admin's decision about a leaving user's
/// records, and refusing it would leave them with nobody. The caller tells the admin when `to`
/// ends up over a cap.
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
    let mut touched: Vec<(String, i64)> = Vec::new();
    for (entity, table) in owned() {
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "WITH moved AS (UPDATE {table} SET owner_id = $2 WHERE owner_id = $1 RETURNING id),
             logged AS (INSERT INTO operation_logs (entity, entity_id, actor_id, action, changes, ip)
                        SELECT $3, id, $4, 'handover', $5, $6 FROM moved)
             SELECT id FROM moved"
        ))
        .bind(from)
        .bind(to)
        .bind(entity)
        .bind(actor)
        .bind(&change)
        .bind(ip)
        .fetch_all(&mut *tx)
        .await?;
        touched.extend(ids.into_iter().map(|id| (entity.to_string(), id)));
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
    let places: Vec<(String, i64)> = sqlx::query_as(
        "WITH gone AS (
           DELETE FROM record_members f WHERE f.user_id = $1 RETURNING entity, record_id, access, expires_at),
         added AS (
           INSERT INTO record_members (entity, record_id, user_id, access, expires_at, created_by)
           SELECT entity, record_id, $2, access, expires_at, $3 FROM gone
           ON CONFLICT (entity, record_id, user_id) DO NOTHING RETURNING entity, record_id),
         logged AS (
           INSERT INTO operation_logs (entity, entity_id, actor_id, action, changes, ip)
           SELECT entity, record_id, $3, 'handover', $4, $5 FROM gone)
         SELECT entity, record_id FROM gone",
    )
    .bind(from)
    .bind(to)
    .bind(actor)
    .bind(&team_change)
    .bind(ip)
    .fetch_all(&mut *tx)
    .await?;
    touched.extend(places);
    drop_redundant_places(tx, to, &touched).await?;
    Ok(moved)
}

/// Tell the heir of a handover what they received: one notification with the count of each
/// record kind (in the registry's order), the team places and the departments they now head, and
/// a link to their records of the first kind listed. Nothing when nothing moved. In the caller's
/// transaction, after `hand_over` (its `moved`) and `pass_heads` (`heads`).
pub async fn tell_heir(
    tx: &mut PgConnection,
    from: i64,
    to: i64,
    moved: &Holdings,
    heads: usize,
    actor: i64,
) -> sqlx::Result<()> {
    let records = crate::registry::get().records().filter(|r| r.owned);
    let kinds: Vec<(&'static crate::records::RecordDef, i64)> = records
        .filter_map(|def| moved.owned.iter().find(|(e, n)| *e == def.entity && *n > 0).map(|(_, n)| (def, *n)))
        .collect();
    let mut items: Vec<serde_json::Value> =
        kinds.iter().map(|(def, n)| serde_json::json!([def.label_key(), n])).collect();
    if moved.team_places > 0 {
        items.push(serde_json::json!(["user.team_places", moved.team_places]));
    }
    if heads > 0 {
        items.push(serde_json::json!(["notify.handover_heads", heads]));
    }
    if items.is_empty() {
        return Ok(());
    }
    let from_name = crate::org::users::name_of(&mut *tx, Some(from)).await?.unwrap_or_default();
    let actor_name = crate::org::users::name_of(&mut *tx, Some(actor)).await?.unwrap_or_default();
    let link = kinds.first().map(|(def, _)| format!("{}?scene=mine", def.path));
    let params = serde_json::json!({ "from": from_name, "actor": actor_name, "items": items });
    crate::notify::send(tx, to, "handover_received", params, link.as_deref(), Some(actor)).await
}

/// Remove `user`'s team places on those of `records` (entity, id) they own: an owner needs none.
async fn drop_redundant_places(tx: &mut PgConnection, user: i64, records: &[(String, i64)]) -> sqlx::Result<()> {
    for (entity, table) in owned() {
        let ids: Vec<i64> = records.iter().filter(|(e, _)| e == entity).map(|(_, id)| *id).collect();
        if ids.is_empty() {
            continue;
        }
        sqlx::query(&format!(
            "DELETE FROM record_members m USING {table} r
              WHERE m.entity = $1 AND m.user_id = $2 AND m.record_id = ANY($3)
                AND r.id = m.record_id AND r.owner_id = $2"
        ))
        .bind(entity)
        .bind(user)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The departments `from` heads get `to` as head instead, or no head when `to` is None: a
/// disabled user cannot head a department, and whoever takes over a leaver's work takes over
/// their head places too (the admin can change that afterwards on the department page). One
/// audit row per department. Returns how many changed.
pub async fn pass_heads(
    tx: &mut PgConnection,
    from: i64,
    to: Option<i64>,
    actor: i64,
    ip: Option<&str>,
) -> sqlx::Result<usize> {
    let ids: Vec<i64> = sqlx::query_scalar("UPDATE departments SET head_id = $2 WHERE head_id = $1 RETURNING id")
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
    let old: Option<String> =
        sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(from).fetch_optional(&mut *tx).await?;
    let new: Option<String> = match to {
        Some(t) => sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(t).fetch_optional(&mut *tx).await?,
        None => None,
    };
    for id in &ids {
        Entry::new("department", *id, "update")
            .change("head", audit::opt(old.clone()), audit::opt(new.clone()))
            .write(tx, Some(actor), ip)
            .await?;
    }
    Ok(ids.len())
}
