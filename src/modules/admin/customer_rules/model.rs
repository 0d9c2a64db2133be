//! The rules form (one row of enabled / scope / effect per kind and field) and the cap form,
//! with validation.

use std::collections::HashMap;

use serde::Deserialize;

use crate::modules::customers::dup::{self, Effect, Kind, Rule, RuleScope};
use crate::modules::{contacts, leads};
use crate::web::i18n::Lang;
use crate::web::{FormErrors, SelectOpt};

/// The kinds with duplicate rules, in the page's order.
pub fn kinds() -> [&'static Kind; 3] {
    [&dup::CUSTOMERS, &contacts::DUPLICATES, &leads::DUPLICATES]
}

/// The form name of a rule's part: `<field>_<part>` for customers (as before contacts and
/// leads had rules), `<entity>_<field>_<part>` for the others.
fn input_name(kind: &Kind, field: &str, part: &str) -> String {
    if std::ptr::eq(kind, &dup::CUSTOMERS) {
        format!("{field}_{part}")
    } else {
        format!("{}_{field}_{part}", kind.entity())
    }
}

/// The rules form as posted: per kind and field `…_enabled` (checkbox), `…_scope`, `…_effect`.
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(transparent)]
pub struct RulesForm {
    values: HashMap<String, String>,
}

impl RulesForm {
    fn parts(&self, kind: &Kind, field: &str) -> (bool, &str, &str) {
        let get = |part: &str| self.values.get(&input_name(kind, field, part)).map(|v| v.trim());
        (get("enabled").is_some(), get("scope").unwrap_or_default(), get("effect").unwrap_or_default())
    }

    /// Whether the form carries a kind's rules at all (a kind left out stays as it is).
    fn has_kind(&self, kind: &Kind) -> bool {
        kind.fields
            .iter()
            .any(|f| ["scope", "effect"].iter().any(|p| self.values.contains_key(&input_name(kind, f, p))))
    }

    /// The rules of every kind the form carries, or field errors (`…_scope`, `…_effect`) for
    /// unknown codes.
    pub fn validate(&self, errors: &mut FormErrors) -> Option<Vec<Rule>> {
        let mut rules = Vec::new();
        for kind in kinds().into_iter().filter(|k| self.has_kind(k)) {
            for &field in kind.fields {
                let (enabled, scope, effect) = self.parts(kind, field);
                let scope = RuleScope::from_code(scope);
                let effect = Effect::from_code(effect);
                if scope.is_none() {
                    errors.add(&input_name(kind, field, "scope"), "form.invalid");
                }
                if effect.is_none() {
                    errors.add(&input_name(kind, field, "effect"), "form.invalid");
                }
                if let (Some(scope), Some(effect)) = (scope, effect) {
                    rules.push(Rule { kind, field, enabled, scope, effect });
                }
            }
        }
        errors.is_empty().then_some(rules)
    }

    /// One table per kind, one row per field, from the form as typed.
    pub fn tables(&self, lang: Lang, errors: &FormErrors) -> Vec<RuleTable> {
        kinds()
            .into_iter()
            .map(|kind| RuleTable {
                entity: kind.entity(),
                title: lang.t(kind.title),
                rows: kind
                    .fields
                    .iter()
                    .map(|&field| {
                        let (enabled, scope, effect) = self.parts(kind, field);
                        let scope_name = input_name(kind, field, "scope");
                        let effect_name = input_name(kind, field, "effect");
                        RuleLine {
                            field,
                            label: lang.t(kind.label_key(field)),
                            enabled,
                            scope: scope.to_string(),
                            effect: effect.to_string(),
                            error: errors.get(&scope_name).or_else(|| errors.get(&effect_name)).map(str::to_string),
                            enabled_name: input_name(kind, field, "enabled"),
                            scope_name,
                            effect_name,
                        }
                    })
                    .collect(),
            })
            .collect()
    }

    pub fn from_rules(rules: &[Rule]) -> RulesForm {
        let mut values = HashMap::new();
        for r in rules {
            if r.enabled {
                values.insert(input_name(r.kind, r.field, "enabled"), "1".to_string());
            }
            values.insert(input_name(r.kind, r.field, "scope"), r.scope.code().to_string());
            values.insert(input_name(r.kind, r.field, "effect"), r.effect.code().to_string());
        }
        RulesForm { values }
    }
}

/// The rules of one kind on the page.
pub struct RuleTable {
    pub entity: &'static str,
    pub title: &'static str,
    pub rows: Vec<RuleLine>,
}

/// One row of a rules table.
pub struct RuleLine {
    pub field: &'static str,
    pub label: &'static str,
    pub enabled: bool,
    pub scope: String,
    pub effect: String,
    pub error: Option<String>,
    pub enabled_name: String,
    pub scope_name: String,
    pub effect_name: String,
}

pub fn scope_options(lang: Lang) -> Vec<SelectOpt> {
    [RuleScope::Company, RuleScope::Dept].iter().map(|s| SelectOpt::new(s.code(), lang.t(s.label_key()))).collect()
}

pub fn effect_options(lang: Lang) -> Vec<SelectOpt> {
    [Effect::Warn, Effect::Block].iter().map(|e| SelectOpt::new(e.code(), lang.t(e.label_key()))).collect()
}

/// Who a cap is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    User(i64),
    Dept(i64),
}

/// The cap form. `target_type` picks which picker counts; empty limits mean unlimited.
#[derive(Deserialize, Clone, Debug)]
pub struct CapForm {
    #[serde(default)]
    pub target_type: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub dept_id: String,
    #[serde(default)]
    pub max_owned: String,
    pub count_dealt: Option<String>,
    #[serde(default)]
    pub max_locked: String,
}

impl CapForm {
    /// An empty add form: a user cap that counts dealt customers (the table's default).
    pub fn blank() -> CapForm {
        CapForm {
            target_type: "user".into(),
            user_id: String::new(),
            dept_id: String::new(),
            max_owned: String::new(),
            count_dealt: Some("1".into()),
            max_locked: String::new(),
        }
    }

    pub fn is_user(&self) -> bool {
        self.target_type != "dept"
    }

    pub fn counts_dealt(&self) -> bool {
        self.count_dealt.is_some()
    }

    /// The target (add form only; an edit keeps its target).
    pub fn target(&self, errors: &mut FormErrors) -> Option<Target> {
        let (field, raw) = match self.target_type.as_str() {
            "user" => ("user_id", &self.user_id),
            "dept" => ("dept_id", &self.dept_id),
            _ => {
                errors.add("target_type", "form.invalid");
                return None;
            }
        };
        let raw = raw.trim();
        if raw.is_empty() {
            errors.add(field, "form.required");
            return None;
        }
        match raw.parse::<i64>() {
            Ok(id) if self.is_user() => Some(Target::User(id)),
            Ok(id) => Some(Target::Dept(id)),
            Err(_) => {
                errors.add(field, "form.invalid");
                None
            }
        }
    }

    /// (max_owned, count_dealt, max_locked); errors on anything but empty or a whole number ≥ 0.
    pub fn limits(&self, errors: &mut FormErrors) -> (Option<i32>, bool, Option<i32>) {
        (
            limit(errors, "max_owned", &self.max_owned),
            self.counts_dealt(),
            limit(errors, "max_locked", &self.max_locked),
        )
    }
}

fn limit(errors: &mut FormErrors, field: &str, raw: &str) -> Option<i32> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    match t.parse::<i32>() {
        Ok(n) if n >= 0 => Some(n),
        _ => {
            errors.add(field, "crules.caps.invalid_number");
            None
        }
    }
}
