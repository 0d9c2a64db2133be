//! SQL of the flow admin.

use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use super::model::{FlowInput, StepInput};
use crate::workflow::model::{FLOW_COLUMNS, STEP_COLUMNS};
use crate::workflow::{Flow, Step};

pub async fn flows(db: &PgPool) -> sqlx::Result<Vec<Flow>> {
    sqlx::query_as(&format!("SELECT {FLOW_COLUMNS} FROM approval_flows ORDER BY subject, id")).fetch_all(db).await
}

pub async fn all_steps(db: &PgPool) -> sqlx::Result<Vec<Step>> {
    sqlx::query_as(&format!("SELECT {STEP_COLUMNS} FROM approval_steps ORDER BY flow_id, seq")).fetch_all(db).await
}

pub async fn steps(conn: &mut PgConnection, flow: i64) -> sqlx::Result<Vec<Step>> {
    sqlx::query_as(&format!("SELECT {STEP_COLUMNS} FROM approval_steps WHERE flow_id = $1 ORDER BY seq"))
        .bind(flow)
        .fetch_all(conn)
        .await
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Flow>> {
    sqlx::query_as(&format!("SELECT {FLOW_COLUMNS} FROM approval_flows WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The flow, locked for the rest of the transaction (step edits on one flow queue up).
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Flow>> {
    sqlx::query_as(&format!("SELECT {FLOW_COLUMNS} FROM approval_flows WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn insert(conn: &mut PgConnection, subject: &str, name: &str, by: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO approval_flows (subject, name, enabled, created_by) VALUES ($1, $2, false, $3) RETURNING id",
    )
    .bind(subject)
    .bind(name)
    .bind(by)
    .fetch_one(conn)
    .await
}

/// Other enabled flows of the subject get disabled (one enabled flow per subject); their ids.
pub async fn disable_others(conn: &mut PgConnection, subject: &str, keep: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "UPDATE approval_flows SET enabled = false WHERE subject = $1 AND enabled AND id <> $2 RETURNING id, name",
    )
    .bind(subject)
    .bind(keep)
    .fetch_all(conn)
    .await
}

pub async fn update(conn: &mut PgConnection, id: i64, f: &FlowInput) -> sqlx::Result<()> {
    sqlx::query("UPDATE approval_flows SET name = $2, enabled = $3, resubmit_from = $4 WHERE id = $1")
        .bind(id)
        .bind(&f.name)
        .bind(f.enabled)
        .bind(&f.resubmit_from)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_enabled(conn: &mut PgConnection, id: i64, enabled: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE approval_flows SET enabled = $2 WHERE id = $1").bind(id).bind(enabled).execute(conn).await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM approval_flows WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// Touch the flow so its "updated" time follows step edits.
pub async fn touch(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE approval_flows SET updated_at = now() WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

pub async fn add_step(conn: &mut PgConnection, flow: i64, s: &StepInput) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO approval_steps (flow_id, seq, kind, mode, user_ids, role_id, level, condition, name)
         VALUES ($1, (SELECT COALESCE(max(seq), 0) + 1 FROM approval_steps WHERE flow_id = $1), $2, $3, $4, $5, $6, $7, $8)
         RETURNING id",
    )
    .bind(flow)
    .bind(s.kind.code())
    .bind(s.mode.code())
    .bind(&s.user_ids)
    .bind(s.role_id)
    .bind(s.level)
    .bind(s.condition.as_ref().map(Json))
    .bind(&s.name)
    .fetch_one(conn)
    .await
}

pub async fn update_step(conn: &mut PgConnection, step: i64, s: &StepInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE approval_steps SET kind = $2, mode = $3, user_ids = $4, role_id = $5, level = $6, condition = $7, name = $8
         WHERE id = $1",
    )
    .bind(step)
    .bind(s.kind.code())
    .bind(s.mode.code())
    .bind(&s.user_ids)
    .bind(s.role_id)
    .bind(s.level)
    .bind(s.condition.as_ref().map(Json))
    .bind(&s.name)
    .execute(conn)
    .await?;
    Ok(())
}

/// Remove a step and close the gap in the order.
pub async fn delete_step(conn: &mut PgConnection, flow: i64, step: &Step) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM approval_steps WHERE id = $1").bind(step.id).execute(&mut *conn).await?;
    sqlx::query("UPDATE approval_steps SET seq = seq - 1 WHERE flow_id = $1 AND seq > $2")
        .bind(flow)
        .bind(step.seq)
        .execute(conn)
        .await?;
    Ok(())
}

/// Swap the places of two steps (the unique order is checked at the end of the statement).
pub async fn swap(conn: &mut PgConnection, a: &Step, b: &Step) -> sqlx::Result<()> {
    sqlx::query("UPDATE approval_steps SET seq = CASE WHEN id = $1 THEN $4 ELSE $3 END WHERE id IN ($1, $2)")
        .bind(a.id)
        .bind(b.id)
        .bind(a.seq)
        .bind(b.seq)
        .execute(conn)
        .await?;
    Ok(())
}

/// (id, name) of every role, for the role select.
pub async fn roles(db: &PgPool) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT id, name FROM roles ORDER BY is_super DESC, id").fetch_all(db).await
}

/// How many instances are pending on the flow.
pub async fn pending_count(db: &PgPool) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "SELECT flow_id, count(*) FROM approval_instances WHERE status = 'pending' AND flow_id IS NOT NULL GROUP BY flow_id",
    )
    .fetch_all(db)
    .await
}
