//! Turning a flow's steps into a plan: which steps apply (conditions) and who approves each stage.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgConnection;

use super::engine::FlowError;
use super::model::{Condition, Stage, Step, StepKind};

/// The submission facts conditions and superior steps look at.
pub struct Facts<'a> {
    pub submitted_by: i64,
    /// Whose superior chain superior steps follow.
    pub chain_user: i64,
    pub payload: &'a Value,
    pub picks: &'a BTreeMap<i32, Vec<i64>>,
}

/// The applicable steps as stages, approvers found. Picks outside a step's allowed set are refused.
pub async fn plan(conn: &mut PgConnection, steps: &[Step], facts: &Facts<'_>) -> Result<Vec<Stage>, FlowError> {
    let mut stages = Vec::new();
    let mut chain: Option<Vec<i64>> = None;
    for step in steps {
        let condition = step.condition();
        if !applies(conn, &condition, facts).await? {
            continue;
        }
        let base = Stage {
            step_seq: step.seq,
            name: step.name.clone(),
            kind: step.kind.clone(),
            mode: step.mode.clone(),
            level: step.level,
            role_id: step.role_id,
            user_ids: step.user_ids.clone(),
            condition,
            approvers: Vec::new(),
        };
        match step.kind() {
            StepKind::Users => {
                let approvers = active(conn, &step.user_ids).await?;
                stages.push(Stage { approvers, ..base });
            }
            StepKind::Role => {
                let approvers = match step.role_id {
                    Some(r) => role_holders(conn, r).await?,
                    None => Vec::new(),
                };
                stages.push(Stage { approvers, ..base });
            }
            StepKind::Superior => {
                let chain = chain_of(conn, &mut chain, facts.chain_user).await?;
                let at = chain.get((step.level.max(1) - 1) as usize).copied();
                let approvers = active(conn, &at.into_iter().collect::<Vec<_>>()).await?;
                stages.push(Stage { approvers, ..base });
            }
            StepKind::SuperiorsUpTo => {
                // One stage per level, stopping at the top of the chain; no superior at all still
                // gives one stage (it goes to the super admins).
                let chain = chain_of(conn, &mut chain, facts.chain_user).await?;
                let levels = (step.level.max(1) as usize).min(chain.len()).max(1);
                for lvl in 1..=levels {
                    let at: Vec<i64> = chain.get(lvl - 1).copied().into_iter().collect();
                    let approvers = active(conn, &at).await?;
                    stages.push(Stage {
                        kind: StepKind::Superior.code().to_string(),
                        mode: "any".into(),
                        level: lvl as i32,
                        approvers,
                        ..base.clone()
                    });
                }
            }
            StepKind::SubmitterPicks => {
                let picked = facts.picks.get(&step.seq).cloned().unwrap_or_default();
                let approvers = check_picks(conn, &base, &picked).await?;
                stages.push(Stage { approvers, ..base });
            }
        }
    }
    Ok(stages)
}

/// The picked users, each within the stage's allowed set (named users, role holders; active).
pub async fn check_picks(conn: &mut PgConnection, stage: &Stage, picked: &[i64]) -> Result<Vec<i64>, FlowError> {
    let allowed = allowed_set(conn, stage).await?;
    let mut out = Vec::new();
    for p in picked {
        if !allowed.contains(p) {
            return Err(FlowError::Invalid("approval.error.pick_outside"));
        }
        if !out.contains(p) {
            out.push(*p);
        }
    }
    Ok(out)
}

/// Who a submitter may pick for a submitter-picks stage.
pub async fn allowed_set(conn: &mut PgConnection, stage: &Stage) -> sqlx::Result<Vec<i64>> {
    let mut allowed = active(conn, &stage.user_ids).await?;
    if let Some(r) = stage.role_id {
        for u in role_holders(conn, r).await? {
            if !allowed.contains(&u) {
                allowed.push(u);
            }
        }
    }
    Ok(allowed)
}

async fn chain_of<'c>(
    conn: &mut PgConnection,
    cache: &'c mut Option<Vec<i64>>,
    user: i64,
) -> sqlx::Result<&'c Vec<i64>> {
    if cache.is_none() {
        *cache = Some(crate::modules::admin::users::repo::superior_chain(conn, user).await?);
    }
    Ok(cache.as_ref().expect("just filled"))
}

/// Whether every given condition holds. Amount: the payload's `amount` must be above the
/// threshold (no amount → the step does not apply). Departments: the submitter's department is
/// one of them or below one.
pub async fn applies(conn: &mut PgConnection, c: &Condition, facts: &Facts<'_>) -> sqlx::Result<bool> {
    if let Some(threshold) = c.amount() {
        let amount = facts.payload.get("amount").and_then(|v| match v {
            Value::String(s) => s.trim().parse::<Decimal>().ok(),
            Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
            _ => None,
        });
        if amount.is_none_or(|a| a <= threshold) {
            return Ok(false);
        }
    }
    if !c.dept_ids.is_empty() {
        let inside: bool = sqlx::query_scalar(
            "WITH RECURSIVE d AS (
               SELECT id FROM departments WHERE id = ANY($1)
               UNION SELECT c.id FROM departments c JOIN d ON c.parent_id = d.id)
             SELECT EXISTS (SELECT 1 FROM users u JOIN d ON d.id = u.dept_id WHERE u.id = $2)",
        )
        .bind(&c.dept_ids)
        .bind(facts.submitted_by)
        .fetch_one(&mut *conn)
        .await?;
        if !inside {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The active users among `ids`, in the given order.
pub async fn active(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ok: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND status = 'active'")
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::new();
    for id in ids {
        if ok.contains(id) && !out.contains(id) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// Active holders of a role.
pub async fn role_holders(conn: &mut PgConnection, role_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT u.id FROM users u JOIN user_roles ur ON ur.user_id = u.id
         WHERE ur.role_id = $1 AND u.status = 'active' ORDER BY u.id",
    )
    .bind(role_id)
    .fetch_all(conn)
    .await
}

/// The active super admins: where a stage finds nobody, it goes to them.
pub async fn super_admins(conn: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT u.id FROM users u WHERE u.status = 'active'
           AND EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                       WHERE ur.user_id = u.id AND r.is_super)
         ORDER BY u.id",
    )
    .fetch_all(conn)
    .await
}
