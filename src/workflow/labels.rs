//! Steps and stages read as words: "直属上级", "销售总监（任一）", and a flow's preview
//! "1. 直属上级 → 2. 销售总监（任一）".

use std::collections::HashMap;

use sqlx::PgConnection;

use super::model::{Condition, Mode, Stage, Step, StepKind};
use crate::web::i18n::Lang;

/// Names of the users, roles and departments steps refer to.
#[derive(Clone, Debug, Default)]
pub struct Names {
    pub users: HashMap<i64, String>,
    pub roles: HashMap<i64, String>,
    pub depts: HashMap<i64, String>,
}

impl Names {
    /// Every user, role and department name (small tables; admin and approval pages only).
    pub async fn load(conn: &mut PgConnection) -> sqlx::Result<Names> {
        let users: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM users").fetch_all(&mut *conn).await?;
        let roles: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM roles").fetch_all(&mut *conn).await?;
        let depts: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, name FROM departments").fetch_all(&mut *conn).await?;
        Ok(Names {
            users: users.into_iter().collect(),
            roles: roles.into_iter().collect(),
            depts: depts.into_iter().collect(),
        })
    }

    pub fn user(&self, id: i64) -> String {
        self.users.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))
    }

    fn list(&self, map: &HashMap<i64, String>, ids: &[i64], lang: Lang) -> String {
        let sep = if lang == Lang::En { ", " } else { "、" };
        ids.iter().map(|id| map.get(id).cloned().unwrap_or_else(|| format!("#{id}"))).collect::<Vec<_>>().join(sep)
    }
}

/// The parts a label is made of; shared by flow steps and instance stages.
struct Parts<'a> {
    kind: StepKind,
    mode: Mode,
    level: i32,
    role_id: Option<i64>,
    user_ids: &'a [i64],
    name: &'a str,
    condition: &'a Condition,
}

fn label(p: &Parts<'_>, names: &Names, lang: Lang) -> String {
    let base = if !p.name.trim().is_empty() {
        p.name.trim().to_string()
    } else {
        match p.kind {
            StepKind::Superior if p.level <= 1 => lang.t("approval.label.superior1").to_string(),
            StepKind::Superior => lang.tf("approval.label.superior_n", &[("n", &p.level.to_string())]),
            StepKind::SuperiorsUpTo => lang.tf("approval.label.up_to", &[("n", &p.level.to_string())]),
            StepKind::Role => match p.role_id {
                Some(r) => names.roles.get(&r).cloned().unwrap_or_else(|| format!("#{r}")),
                None => lang.t("approval.label.no_role").to_string(),
            },
            StepKind::Users => names.list(&names.users, p.user_ids, lang),
            StepKind::SubmitterPicks => {
                let mut from = names.list(&names.users, p.user_ids, lang);
                if let Some(r) = p.role_id.and_then(|r| names.roles.get(&r)) {
                    if !from.is_empty() {
                        from.push_str(if lang == Lang::En { ", " } else { "、" });
                    }
                    from.push_str(r);
                }
                lang.tf("approval.label.picks", &[("from", &from)])
            }
        }
    };
    let several = match p.kind {
        StepKind::Users => p.user_ids.len() > 1,
        StepKind::Role | StepKind::SubmitterPicks => true,
        _ => false,
    };
    let mut out = if several {
        let mode = lang.t(if p.mode == Mode::All { "approval.mode.all" } else { "approval.mode.any" });
        lang.tf("approval.label.with_mode", &[("label", &base), ("mode", mode)])
    } else {
        base
    };
    let cond = condition_text(p.condition, names, lang);
    if !cond.is_empty() {
        out = lang.tf("approval.label.with_cond", &[("label", &out), ("cond", &cond)]);
    }
    out
}

/// "金额 > 100000，部门：华东大区" or "" without conditions.
pub fn condition_text(c: &Condition, names: &Names, lang: Lang) -> String {
    let mut parts = Vec::new();
    if let Some(a) = &c.amount_gt {
        parts.push(lang.tf("approval.cond.amount", &[("x", a)]));
    }
    if !c.dept_ids.is_empty() {
        parts.push(lang.tf("approval.cond.depts", &[("names", &names.list(&names.depts, &c.dept_ids, lang))]));
    }
    parts.join(if lang == Lang::En { ", " } else { "，" })
}

pub fn step_label(step: &Step, names: &Names, lang: Lang) -> String {
    let condition = step.condition();
    label(
        &Parts {
            kind: step.kind(),
            mode: step.mode(),
            level: step.level,
            role_id: step.role_id,
            user_ids: &step.user_ids,
            name: &step.name,
            condition: &condition,
        },
        names,
        lang,
    )
}

/// A stage of an instance (its condition held, so it is not repeated).
pub fn stage_label(stage: &Stage, names: &Names, lang: Lang) -> String {
    let none = Condition::default();
    label(
        &Parts {
            kind: stage.kind(),
            mode: stage.mode(),
            level: stage.level,
            role_id: stage.role_id,
            user_ids: &stage.user_ids,
            name: &stage.name,
            condition: &none,
        },
        names,
        lang,
    )
}

/// "1. 直属上级 → 2. 销售总监（任一）"; a flow without steps reads "approved at once".
pub fn preview(steps: &[Step], names: &Names, lang: Lang) -> String {
    if steps.is_empty() {
        return lang.t("approval.preview.empty").to_string();
    }
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {}", i + 1, step_label(s, names, lang)))
        .collect::<Vec<_>>()
        .join(" → ")
}

pub fn status_key(status: &str) -> &'static str {
    match status {
        "approved" => "approval.status.approved",
        "rejected" => "approval.status.rejected",
        "withdrawn" => "approval.status.withdrawn",
        _ => "approval.status.pending",
    }
}

pub fn status_badge(status: &str) -> &'static str {
    match status {
        "approved" => "badge-green",
        "rejected" => "badge-red",
        "withdrawn" => "",
        _ => "badge-amber",
    }
}

pub fn task_status_key(status: &str) -> &'static str {
    match status {
        "approved" => "approval.task.approved",
        "rejected" => "approval.task.rejected",
        "skipped" => "approval.task.skipped",
        "cancelled" => "approval.task.cancelled",
        _ => "approval.task.pending",
    }
}

#[cfg(test)]
mod tests {
    use sqlx::types::Json;

    use super::*;

    fn step(seq: i32, kind: &str, mode: &str, role: Option<i64>, level: i32, cond: Option<Condition>) -> Step {
        Step {
            id: seq as i64,
            flow_id: 1,
            seq,
            kind: kind.into(),
            mode: mode.into(),
            user_ids: vec![],
            role_id: role,
            level,
            condition: cond.map(Json),
            name: String::new(),
        }
    }

    #[test]
    fn the_preview_reads_as_a_sentence() {
        let mut names = Names::default();
        names.roles.insert(2, "销售总监".into());
        let steps = vec![step(1, "superior", "any", None, 1, None), step(2, "role", "any", Some(2), 1, None)];
        assert_eq!(preview(&steps, &names, Lang::Zh), "1. 直属上级 → 2. 销售总监（任一）");
        let cond = Condition { amount_gt: Some("100000".into()), dept_ids: vec![] };
        let steps =
            vec![step(1, "superiors_up_to", "any", None, 2, None), step(2, "role", "all", Some(2), 1, Some(cond))];
        assert_eq!(
            preview(&steps, &names, Lang::Zh),
            "1. 逐级上级（至第 2 级） → 2. 销售总监（会签）（条件：金额 > 100000）"
        );
        assert_eq!(
            preview(&steps, &names, Lang::En),
            "1. Superiors up to level 2 → 2. 销售总监 (all) (if amount > 100000)"
        );
    }
}
