//! Roles: list rows, the role form (name, description, permission matrix) and its validation.

use std::collections::{BTreeMap, BTreeSet};

use crate::access::catalog::Group;
use crate::access::{Action, MODULES, Module, ScopeKind};
use crate::web::FormErrors;

pub const NAME_MAX: usize = 50;
pub const DESCRIPTION_MAX: usize = 500;

/// One line of the role list.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct RoleRow {
    pub id: i64,
    pub code: Option<String>,
    pub name: String,
    pub description: String,
    pub is_super: bool,
    pub members: i64,
    /// Holders must use two-factor sign-in.
    pub totp_required: bool,
}

impl RoleRow {
    /// Seeded roles carry a code; admin-made ones do not.
    pub fn is_builtin(&self) -> bool {
        self.code.is_some()
    }
}

/// A role as stored, without its grants.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct RoleHead {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub is_super: bool,
}

/// What the role form holds: typed by the user or loaded from the database. Only codes the
/// permission catalog knows make it in here.
#[derive(Clone, Debug, Default)]
pub struct RoleInput {
    pub name: String,
    pub description: String,
    pub perms: BTreeSet<(Module, Action)>,
    /// The data scope chosen per scoped module (kept even where no action is ticked, so a
    /// re-rendered form shows what was chosen).
    pub scopes: BTreeMap<Module, ScopeKind>,
}

impl RoleInput {
    /// Read a submitted form. Unknown modules, actions and scopes are ignored.
    pub fn from_pairs(pairs: &[(String, String)]) -> RoleInput {
        let mut input = RoleInput::default();
        for (key, value) in pairs {
            match key.as_str() {
                "name" => input.name = value.trim().to_string(),
                "description" => input.description = value.trim().to_string(),
                "perm" => {
                    if let Some(p) = parse_perm(value) {
                        input.perms.insert(p);
                    }
                }
                other => {
                    let Some(code) = other.strip_prefix("scope_") else {
                        continue;
                    };
                    let (Some(module), Some(scope)) = (Module::from_code(code), ScopeKind::from_code(value)) else {
                        continue;
                    };
                    if module.def().scoped {
                        input.scopes.insert(module, scope);
                    }
                }
            }
        }
        input
    }

    /// Build from stored rows (`module`, `action`) and (`module`, `scope`).
    pub fn from_rows(head: &RoleHead, perms: &[(String, String)], scopes: &[(String, String)]) -> RoleInput {
        let mut input =
            RoleInput { name: head.name.clone(), description: head.description.clone(), ..RoleInput::default() };
        for (m, a) in perms {
            if let Some(p) = parse_perm(&format!("{m}:{a}")) {
                input.perms.insert(p);
            }
        }
        for (m, s) in scopes {
            if let (Some(module), Some(scope)) = (Module::from_code(m), ScopeKind::from_code(s))
                && module.def().scoped
            {
                input.scopes.insert(module, scope);
            }
        }
        input
    }

    /// Everything the catalog offers, every scope "all": what the super admin role amounts to.
    pub fn everything(head: &RoleHead) -> RoleInput {
        let mut input =
            RoleInput { name: head.name.clone(), description: head.description.clone(), ..RoleInput::default() };
        for def in MODULES {
            for a in def.actions {
                input.perms.insert((def.module, *a));
            }
            if def.scoped {
                input.scopes.insert(def.module, ScopeKind::All);
            }
        }
        input
    }

    pub fn has(&self, module: Module, action: Action) -> bool {
        self.perms.contains(&(module, action))
    }

    pub fn scope(&self, module: Module) -> ScopeKind {
        self.scopes.get(&module).copied().unwrap_or(ScopeKind::SelfOnly)
    }

    /// The grants to store, in catalog order.
    pub fn grants(&self) -> Vec<(Module, Action)> {
        MODULES
            .iter()
            .flat_map(|def| def.actions.iter().map(move |a| (def.module, *a)))
            .filter(|p| self.perms.contains(p))
            .collect()
    }

    /// The scopes to store: one per scoped module the role has any action in. A scope on a
    /// module the role cannot use would still widen the scope of users holding other roles.
    pub fn stored_scopes(&self) -> Vec<(Module, ScopeKind)> {
        MODULES
            .iter()
            .filter(|def| def.scoped && def.actions.iter().any(|a| self.has(def.module, *a)))
            .map(|def| (def.module, self.scope(def.module)))
            .collect()
    }

    /// `module:action` strings in catalog order, for the audit log.
    pub fn perm_strings(&self) -> Vec<String> {
        self.grants().iter().map(|(m, a)| format!("{}:{}", m.code(), a.code())).collect()
    }

    /// `module=scope` strings in catalog order, for the audit log.
    pub fn scope_strings(&self) -> Vec<String> {
        self.stored_scopes().iter().map(|(m, s)| format!("{}={}", m.code(), s.code())).collect()
    }

    /// Field checks that need no database; the name's uniqueness is checked by the caller.
    pub fn validate(&self, errors: &mut FormErrors) {
        errors.require("name", &self.name);
        if self.name.chars().count() > NAME_MAX {
            errors.add("name", "roles.name_too_long");
        }
        if self.description.chars().count() > DESCRIPTION_MAX {
            errors.add("description", "roles.description_too_long");
        }
    }

    /// The permission matrix for the form: business modules first, then admin ones.
    pub fn matrix(&self) -> Vec<MatrixGroup> {
        [(Group::Business, "roles.group.business"), (Group::Admin, "roles.group.admin")]
            .into_iter()
            .map(|(group, label_key)| MatrixGroup {
                label_key,
                rows: MODULES
                    .iter()
                    .filter(|def| def.group == group)
                    .map(|def| MatrixRow {
                        code: def.code,
                        label_key: def.module.label_key(),
                        cells: def
                            .actions
                            .iter()
                            .map(|a| MatrixCell {
                                value: format!("{}:{}", def.code, a.code()),
                                label_key: a.label_key(),
                                checked: self.has(def.module, *a),
                            })
                            .collect(),
                        scopes: if def.scoped { scope_options(self.scope(def.module)) } else { Vec::new() },
                    })
                    .collect(),
            })
            .filter(|g| !g.rows.is_empty())
            .collect()
    }
}

fn parse_perm(value: &str) -> Option<(Module, Action)> {
    let (m, a) = value.split_once(':')?;
    let module = Module::from_code(m)?;
    let action = Action::from_code(a)?;
    module.def().actions.contains(&action).then_some((module, action))
}

pub struct MatrixGroup {
    pub label_key: &'static str,
    pub rows: Vec<MatrixRow>,
}

pub struct MatrixRow {
    pub code: &'static str,
    pub label_key: String,
    pub cells: Vec<MatrixCell>,
    /// The data scope choices; empty for modules without data scopes.
    pub scopes: Vec<ScopeOption>,
}

pub struct MatrixCell {
    /// `module:action`, the checkbox value.
    pub value: String,
    pub label_key: String,
    pub checked: bool,
}

pub struct ScopeOption {
    pub code: &'static str,
    pub label_key: String,
    pub selected: bool,
}

/// Every data scope, narrowest first, with `chosen` selected.
fn scope_options(chosen: ScopeKind) -> Vec<ScopeOption> {
    ScopeKind::ALL
        .iter()
        .map(|s| ScopeOption { code: s.code(), label_key: s.label_key(), selected: *s == chosen })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn unknown_codes_are_ignored_and_scopes_follow_grants() {
        let input = RoleInput::from_pairs(&pairs(&[
            ("name", "  助理 "),
            ("perm", "dashboard:view"),
            ("perm", "logs:view"),
            ("perm", "logs:delete"),
            ("perm", "nosuch:view"),
            ("perm", "garbage"),
            ("scope_dashboard", "dept"),
            ("scope_logs", "all"),
            ("scope_nosuch", "all"),
        ]));
        assert_eq!(input.name, "助理");
        assert_eq!(input.perm_strings(), vec!["dashboard:view", "logs:view"]);
        assert_eq!(input.scope_strings(), vec!["dashboard=dept"]);
        let none = RoleInput::from_pairs(&pairs(&[("scope_dashboard", "all")]));
        assert!(none.scope_strings().is_empty());
        assert_eq!(none.scope(Module::Dashboard), ScopeKind::All);
    }
}
