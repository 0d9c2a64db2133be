//! The rules form (four rows of enabled / scope / effect) and the cap form, with validation.

use serde::Deserialize;

use crate::modules::customers::dup::{self, Effect, FIELDS, Rule, RuleScope};
use crate::web::i18n::Lang;
use crate::web::{FormErrors, SelectOpt};

/// The rules form as posted: `<field>_enabled` (checkbox), `<field>_scope`, `<field>_effect`.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct RulesForm {
    name_enabled: Option<String>,
    #[serde(default)]
    name_scope: String,
    #[serde(default)]
    name_effect: String,
    phone_enabled: Option<String>,
    #[serde(default)]
    phone_scope: String,
    #[serde(default)]
    phone_effect: String,
    mobile_enabled: Option<String>,
    #[serde(default)]
    mobile_scope: String,
    #[serde(default)]
    mobile_effect: String,
    email_enabled: Option<String>,
    #[serde(default)]
    email_scope: String,
    #[serde(default)]
    email_effect: String,
}

impl RulesForm {
    fn parts(&self, field: &str) -> (bool, &str, &str) {
        let (enabled, scope, effect) = match field {
            "name" => (&self.name_enabled, &self.name_scope, &self.name_effect),
            "phone" => (&self.phone_enabled, &self.phone_scope, &self.phone_effect),
            "mobile" => (&self.mobile_enabled, &self.mobile_scope, &self.mobile_effect),
            _ => (&self.email_enabled, &self.email_scope, &self.email_effect),
        };
        (enabled.is_some(), scope.trim(), effect.trim())
    }

    /// The four rules, or field errors (`<field>_scope`, `<field>_effect`) for unknown codes.
    pub fn validate(&self, errors: &mut FormErrors) -> Option<Vec<Rule>> {
        let mut rules = Vec::new();
        for field in FIELDS {
            let (enabled, scope, effect) = self.parts(field);
            let scope = RuleScope::from_code(scope);
            let effect = Effect::from_code(effect);
            if scope.is_none() {
                errors.add(&format!("{field}_scope"), "form.invalid");
            }
            if effect.is_none() {
                errors.add(&format!("{field}_effect"), "form.invalid");
            }
            if let (Some(scope), Some(effect)) = (scope, effect) {
                rules.push(Rule { field, enabled, scope, effect });
            }
        }
        errors.is_empty().then_some(rules)
    }

    /// One row per field for the template, from the form as typed.
    pub fn lines(&self, lang: Lang, errors: &FormErrors) -> Vec<RuleLine> {
        FIELDS
            .iter()
            .map(|&field| {
                let (enabled, scope, effect) = self.parts(field);
                let scope_name = format!("{field}_scope");
                let effect_name = format!("{field}_effect");
                RuleLine {
                    field,
                    label: lang.t(dup::field_label_key(field)),
                    enabled,
                    scope: scope.to_string(),
                    effect: effect.to_string(),
                    error: errors.get(&scope_name).or_else(|| errors.get(&effect_name)).map(str::to_string),
                    enabled_name: format!("{field}_enabled"),
                    scope_name,
                    effect_name,
                }
            })
            .collect()
    }

    pub fn from_rules(rules: &[Rule]) -> RulesForm {
        let mut f = RulesForm::default();
        for r in rules {
            let on = r.enabled.then(|| "1".to_string());
            let (scope, effect) = (r.scope.code().to_string(), r.effect.code().to_string());
            match r.field {
                "name" => (f.name_enabled, f.name_scope, f.name_effect) = (on, scope, effect),
                "phone" => (f.phone_enabled, f.phone_scope, f.phone_effect) = (on, scope, effect),
                "mobile" => (f.mobile_enabled, f.mobile_scope, f.mobile_effect) = (on, scope, effect),
                _ => (f.email_enabled, f.email_scope, f.email_effect) = (on, scope, effect),
            }
        }
        f
    }
}

/// One row of the rules table.
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
