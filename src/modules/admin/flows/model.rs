//! The flow and step forms and their checks.

use rust_decimal::Decimal;

use crate::web::{FormData, FormErrors};
use crate::workflow::{Condition, Mode, Step, StepKind};

pub const NAME_MAX: usize = 50;
pub const LEVEL_MAX: i32 = 20;

/// Flow settings as typed.
#[derive(Clone, Debug, Default)]
pub struct FlowInput {
    pub name: String,
    pub enabled: bool,
    pub resubmit_from: String,
}

impl FlowInput {
    pub fn from_form(form: &FormData) -> FlowInput {
        FlowInput {
            name: form.get("name").trim().to_string(),
            enabled: form.has("enabled"),
            resubmit_from: form.get("resubmit_from").to_string(),
        }
    }

    pub fn validate(&mut self, errors: &mut FormErrors) {
        errors.require("name", &self.name);
        if self.name.chars().count() > NAME_MAX {
            errors.add("name", "flows.error.name_long");
        }
        if !matches!(self.resubmit_from.as_str(), "first" | "rejected_step") {
            self.resubmit_from = "first".into();
        }
    }
}

/// A step as stored, from a checked form.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInput {
    pub name: String,
    pub kind: StepKind,
    pub mode: Mode,
    pub user_ids: Vec<i64>,
    pub role_id: Option<i64>,
    pub level: i32,
    pub condition: Option<Condition>,
}

/// Check a step form. `users`, `roles` and `depts` are the ids that exist; unknown ids are errors
/// (users, role) or dropped (departments). Only the fields the kind uses are kept.
pub fn check_step(
    form: &FormData,
    users: &[i64],
    roles: &[i64],
    depts: &[i64],
    errors: &mut FormErrors,
) -> Option<StepInput> {
    let name = form.get("name").trim().to_string();
    if name.chars().count() > NAME_MAX {
        errors.add("name", "flows.error.name_long");
    }
    let Some(kind) = StepKind::from_code(form.get("kind")) else {
        errors.add("kind", "form.invalid");
        return None;
    };
    let mode = Mode::from_code(form.get("mode"));
    let mut user_ids: Vec<i64> = Vec::new();
    for v in form.all("user_ids") {
        match v.parse::<i64>() {
            Ok(id) if users.contains(&id) => {
                if !user_ids.contains(&id) {
                    user_ids.push(id);
                }
            }
            _ => errors.add("user_ids", "form.invalid"),
        }
    }
    let role_id = match form.get("role_id").trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(id) if roles.contains(&id) => Some(id),
            _ => {
                errors.add("role_id", "form.invalid");
                None
            }
        },
    };
    let level = match form.get("level").trim() {
        "" => 1,
        v => match v.parse::<i32>() {
            Ok(l) if (1..=LEVEL_MAX).contains(&l) => l,
            _ => {
                errors.add("level", "flows.error.level");
                1
            }
        },
    };
    let amount_gt = match form.get("amount_gt").trim() {
        "" => None,
        v => match v.replace(',', "").parse::<Decimal>() {
            Ok(d) if d >= Decimal::ZERO => Some(d.normalize().to_string()),
            _ => {
                errors.add("amount_gt", "flows.error.amount");
                None
            }
        },
    };
    let dept_ids: Vec<i64> =
        form.all("dept_ids").iter().filter_map(|v| v.parse().ok()).filter(|d| depts.contains(d)).collect();
    let condition = Condition { amount_gt, dept_ids };
    let (user_ids, role_id, level) = match kind {
        StepKind::Users => {
            if user_ids.is_empty() {
                errors.add("user_ids", "flows.error.users_required");
            }
            (user_ids, None, 1)
        }
        StepKind::Role => {
            if role_id.is_none() {
                errors.add("role_id", "flows.error.role_required");
            }
            (Vec::new(), role_id, 1)
        }
        StepKind::Superior | StepKind::SuperiorsUpTo => (Vec::new(), None, level),
        StepKind::SubmitterPicks => {
            if user_ids.is_empty() && role_id.is_none() {
                errors.add("user_ids", "flows.error.allowed_required");
            }
            (user_ids, role_id, 1)
        }
    };
    let mode = if kind.has_mode() { mode } else { Mode::Any };
    errors.is_empty().then(|| StepInput {
        name,
        kind,
        mode,
        user_ids,
        role_id,
        level,
        condition: (!condition.is_empty()).then_some(condition),
    })
}

/// A stored step as form values (what its edit form shows).
pub fn step_form(s: &Step) -> FormData {
    let mut f = FormData::default();
    f.set("name", s.name.clone());
    f.set("kind", s.kind.clone());
    f.set("mode", s.mode.clone());
    f.set("level", s.level.to_string());
    f.set("role_id", s.role_id.map(|r| r.to_string()).unwrap_or_default());
    for u in &s.user_ids {
        f.push("user_ids", u.to_string());
    }
    let c = s.condition();
    f.set("amount_gt", c.amount_gt.unwrap_or_default());
    for d in c.dept_ids {
        f.push("dept_ids", d.to_string());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::Lang;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_step_keeps_only_what_its_kind_uses() {
        let mut e = FormErrors::new(Lang::Zh);
        let s = check_step(
            &form(&[
                ("kind", "superior"),
                ("level", "2"),
                ("mode", "all"),
                ("user_ids", "5"),
                ("amount_gt", "100,000.00"),
            ]),
            &[5],
            &[],
            &[],
            &mut e,
        )
        .unwrap();
        assert_eq!((s.level, s.mode, s.user_ids.len()), (2, Mode::Any, 0));
        assert_eq!(s.condition.unwrap().amount_gt.as_deref(), Some("100000"));
        let mut e = FormErrors::new(Lang::Zh);
        assert!(check_step(&form(&[("kind", "role")]), &[], &[1], &[], &mut e).is_none());
        assert!(e.has("role_id"));
        let mut e = FormErrors::new(Lang::Zh);
        assert!(check_step(&form(&[("kind", "users"), ("user_ids", "9")]), &[5], &[], &[], &mut e).is_none());
        assert!(e.has("user_ids"));
    }
}
