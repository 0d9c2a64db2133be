//! Turning a flow's steps into a plan: which steps apply (conditions) and who approves each stage.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::Value;
use sqlx::PgConnection;

use super::Subject;
use super::engine::FlowError;
use super::model::{Condition, Stage, Step, StepKind};
use crate::access::{Action, Module};

/// The submission facts conditions and superior steps look at.
pub struct Facts<'a> {
    pub subject: Subject,
    pub submitted_by: i64,
    /// Whose superior chain superior steps follow.
    pub chain_user: i64,
    pub payload: &'a Value,
    /// Approvers picked now, by step seq: each must be in the step's allowed set.
    pub picks: &'a BTreeMap<i32, Vec<i64>>,
    /// Picks of an earlier round (a resubmission), kept for steps without new picks as far as
    /// they are still allowed.
    pub earlier_picks: &'a BTreeMap<i32, Vec<i64>>,
}

/// The applicable steps as stages, approvers found: active users who may approve the subject
/// (`approve` on its module, or super admins); the others are skipped. Picks outside a step's
/// allowed set are refused. A submitter-picks step without picks gets no approvers: it waits for
/// them when it starts.
pub async fn plan(conn: &mut PgConnection, steps: &[Step], facts: &Facts<'_>) -> Result<Vec<Stage>, FlowError> {
    let module = facts.subject.module();
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
                let approvers = eligible(conn, &step.user_ids, module).await?;
                stages.push(Stage { approvers, ..base });
            }
            StepKind::Role => {
                let holders = match step.role_id {
                    Some(r) => role_holders(conn, r).await?,
                    None => Vec::new(),
                };
                let approvers = eligible(conn, &holders, module).await?;
                stages.push(Stage { approvers, ..base });
            }
            StepKind::Superior => {
                // The superior at that level or nobody (→ the super admins when the stage starts).
                let chain = chain_of(conn, &mut chain, facts.chain_user).await?;
                let at = chain.get((step.level.max(1) - 1) as usize).copied();
                let approvers = eligible(conn, &at.into_iter().collect::<Vec<_>>(), module).await?;
                stages.push(Stage { approvers, ..base });
            }
            StepKind::SuperiorsUpTo => {
                // One stage per level, stopping at the top of the chain. A level whose superior
                // may not approve (disabled, no `approve`) is skipped: the next level asks. No
                // stage at all still gives one (it goes to the super admins).
                let chain = chain_of(conn, &mut chain, facts.chain_user).await?.clone();
                let levels = (step.level.max(1) as usize).min(chain.len());
                let mut found = false;
                for lvl in 1..=levels {
                    let approvers = eligible(conn, &chain[lvl - 1..lvl], module).await?;
                    if approvers.is_empty() {
                        continue;
                    }
                    found = true;
                    stages.push(Stage {
                        kind: StepKind::Superior.code().to_string(),
                        mode: "any".into(),
                        level: lvl as i32,
                        approvers,
                        ..base.clone()
                    });
                }
                if !found {
                    stages.push(Stage {
                        kind: StepKind::Superior.code().to_string(),
                        mode: "any".into(),
                        level: 1,
                        ..base
                    });
                }
            }
            StepKind::SubmitterPicks => {
                let approvers = match (facts.picks.get(&step.seq), facts.earlier_picks.get(&step.seq)) {
                    (Some(picked), _) => check_picks(conn, &base, picked, module).await?,
                    (None, Some(earlier)) => {
                        let allowed = allowed_set(conn, &base, module).await?;
                        earlier.iter().copied().filter(|u| allowed.contains(u)).collect()
                    }
                    (None, None) => Vec::new(),
                };
                stages.push(Stage { approvers, ..base });
            }
        }
    }
    Ok(stages)
}

/// The picked users, each within the stage's allowed set (named users, role holders; active and
/// allowed to approve).
pub async fn check_picks(
    conn: &mut PgConnection,
    stage: &Stage,
    picked: &[i64],
    module: Module,
) -> Result<Vec<i64>, FlowError> {
    let allowed = allowed_set(conn, stage, module).await?;
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

/// Who a submitter may pick for a submitter-picks stage: its named users and its role's holders
/// that are active and may approve in `module`.
pub async fn allowed_set(conn: &mut PgConnection, stage: &Stage, module: Module) -> sqlx::Result<Vec<i64>> {
    let mut ids = stage.user_ids.clone();
    if let Some(r) = stage.role_id {
        for u in role_holders(conn, r).await? {
            if !ids.contains(&u) {
                ids.push(u);
            }
        }
    }
    eligible(conn, &ids, module).await
}

async fn chain_of<'c>(
    conn: &mut PgConnection,
    cache: &'c mut Option<Vec<i64>>,
    user: i64,
) -> sqlx::Result<&'c Vec<i64>> {
    if cache.is_none() {
        *cache = Some(crate::org::users::superior_chain(conn, user).await?);
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

/// The users among `ids` who may approve in `module`: active, and super admins or holders of a
/// role with `approve` on it; in the given order.
pub async fn eligible(conn: &mut PgConnection, ids: &[i64], module: Module) -> sqlx::Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ok: Vec<i64> = sqlx::query_scalar(
        "SELECT u.id FROM users u WHERE u.id = ANY($1) AND u.status = 'active'
           AND EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                        WHERE ur.user_id = u.id
                          AND (r.is_super OR EXISTS (SELECT 1 FROM role_permissions p
                                WHERE p.role_id = r.id AND p.module = $2 AND p.action = $3)))",
    )
    .bind(ids)
    .bind(module.code())
    .bind(Action::Approve.code())
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

/// Whether `user` may approve in `module` now (active; super admin or `approve` granted).
pub async fn may_approve(conn: &mut PgConnection, user: i64, module: Module) -> sqlx::Result<bool> {
    Ok(!eligible(conn, &[user], module).await?.is_empty())
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
