//! What every record kind's create / edit form shares: the user's scope, the kind's custom
//! fields (inputs shown with stored and typed values, values parsed and checked, values of
//! deactivated fields kept), and the owner a new record gets. The module adds its own fields;
//! the audited save goes through `audit::Snapshot`.

use serde_json::{Map, Value};

use super::def::RecordDef;
use super::normalize;
use crate::access::{Action, DataScope};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{self, FieldDef, FieldInput};
use crate::state::AppState;
use crate::web::forms::is_email;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, SelectOpt};

pub struct RecordForm<'a> {
    pub def: &'static RecordDef,
    pub st: &'a AppState,
    pub user: &'a CurrentUser,
    /// The user's scope in the kind's module.
    pub scope: DataScope,
    /// The kind's active custom fields.
    pub defs: Vec<FieldDef>,
}

impl<'a> RecordForm<'a> {
    pub async fn load(st: &'a AppState, user: &'a CurrentUser, def: &'static RecordDef) -> AppResult<RecordForm<'a>> {
        Ok(RecordForm {
            scope: DataScope::resolve(&st.db, user, def.module).await?,
            defs: fields::defs(&st.db, def.entity).await?,
            def,
            st,
            user,
        })
    }

    /// The custom fields' inputs: the stored values, or what was typed when the form comes back
    /// with errors (`submitted`).
    pub async fn custom_inputs(
        &self,
        stored: Option<&Map<String, Value>>,
        form: &FormData,
        submitted: bool,
        errors: &FormErrors,
        lang: Lang,
    ) -> AppResult<Vec<FieldInput>> {
        let users = crate::org::users::options(&self.st.db, true).await?;
        let stored = stored.cloned().unwrap_or_default();
        let inactive = fields::inactive_users(&self.st.db, &self.defs, &stored).await?;
        let typed = submitted.then(|| form.pairs());
        let tz = self.st.config.timezone;
        Ok(fields::inputs(&self.defs, &stored, typed, errors, lang, tz, &users, &inactive))
    }

    /// The custom values the form holds, checked (errors by field); on an edit a stored value
    /// no longer offered survives unchanged, and values of deactivated fields are kept.
    pub async fn parse_custom(
        &self,
        form: &FormData,
        stored: Option<&Map<String, Value>>,
        errors: &mut FormErrors,
    ) -> AppResult<Map<String, Value>> {
        let active: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE status = 'active'").fetch_all(&self.st.db).await?;
        let mut custom = fields::parse(&self.defs, form.pairs(), stored, self.st.config.timezone, &active, errors);
        if let Some(stored) = stored {
            fields::keep_hidden(&self.defs, stored, &mut custom);
        }
        Ok(custom)
    }

    /// Whether the user may give a new record to someone else (the transfer permission).
    pub fn may_choose_owner(&self) -> bool {
        self.user.can(self.def.module, Action::Transfer)
    }

    /// The owner of a new record: the creator, or an active user in their scope when they may
    /// give records away; anyone else is an error on the owner field.
    pub async fn new_owner(&self, chosen: Option<i64>, errors: &mut FormErrors) -> AppResult<i64> {
        let me = self.user.id;
        let Some(o) = chosen.filter(|o| *o != me) else { return Ok(me) };
        let active: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND status = 'active')")
                .bind(o)
                .fetch_one(&self.st.db)
                .await?;
        if self.may_choose_owner() && self.scope.owns(Some(o)) && active {
            Ok(o)
        } else {
            errors.add("owner_id", "customer.error.owner");
            Ok(me)
        }
    }

    /// The owner choices of a new record's form: active users in the scope, for those who may
    /// give records away (nobody else sees the field).
    pub async fn owner_options(&self, creating: bool) -> AppResult<Vec<SelectOpt>> {
        if !creating || !self.may_choose_owner() {
            return Ok(Vec::new());
        }
        let all = crate::org::users::options(&self.st.db, true).await?;
        Ok(match &self.scope.owners {
            None => all,
            Some(owners) => {
                all.into_iter().filter(|o| o.value.parse().is_ok_and(|id: i64| owners.contains(&id))).collect()
            }
        })
    }
}

/// Dictionary-backed columns (column = form field, dictionary) as chosen: an enabled item, or
/// the record's current one (kept while unchanged even if disabled since); else an error.
pub fn dict_values(
    form: &FormData,
    fields: &'static [(&'static str, &'static str)],
    dicts: &Dicts,
    current: impl Fn(&str) -> Option<i64>,
    errors: &mut FormErrors,
) -> Vec<(&'static str, Option<i64>)> {
    fields.iter().map(|(col, dict)| (*col, dict_value(form, col, dict, dicts, current(col), errors))).collect()
}

/// One dictionary choice (see `dict_values`).
pub fn dict_value(
    form: &FormData,
    field: &str,
    dict: &str,
    dicts: &Dicts,
    current: Option<i64>,
    errors: &mut FormErrors,
) -> Option<i64> {
    let raw = form.get(field).trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(id) if dicts.allows(dict, id, current) => Some(id),
        _ => {
            errors.add(field, "customer.error.dict");
            None
        }
    }
}

/// Plain text columns (column = form field, most characters) as typed: trimmed, empty as none,
/// phone numbers with full-width digits folded; too long is an error on the field. Phone and
/// e-mail fields that are filled in must look like one.
pub fn text_values(
    form: &FormData,
    fields: &'static [(&'static str, usize)],
    errors: &mut FormErrors,
) -> Vec<(&'static str, Option<String>)> {
    let values = fields
        .iter()
        .map(|(col, max)| {
            let raw = form.get(col).trim();
            if raw.chars().count() > *max {
                errors.add(col, "customer.error.too_long");
            }
            let value = match *col {
                "phone" | "mobile" | "fax" => normalize::fold(raw),
                _ => raw.to_string(),
            };
            (*col, Some(value).filter(|v| !v.is_empty()))
        })
        .collect();
    for col in ["phone", "mobile", "fax"] {
        let v = form.get(col).trim();
        if fields.iter().any(|(c, _)| *c == col)
            && !v.is_empty()
            && normalize::phone(v).trim_start_matches('+').len() < 5
        {
            errors.add(col, "fields.error.phone");
        }
    }
    let email = form.get("email").trim();
    if fields.iter().any(|(c, _)| *c == "email") && !email.is_empty() && !is_email(email) {
        errors.add("email", "form.invalid_email");
    }
    values
}

/// The level 1–7 chosen (blank: the current one, or 1 for a new record).
pub fn level(form: &FormData, current: Option<i16>, errors: &mut FormErrors) -> i16 {
    match form.get("level").trim() {
        "" => current.unwrap_or(1),
        v => match v.parse::<i16>() {
            Ok(l) if (1..=7).contains(&l) => l,
            _ => {
                errors.add("level", "customer.error.level");
                1
            }
        },
    }
}

/// "male", "female" or none.
pub fn gender(form: &FormData, errors: &mut FormErrors) -> Option<String> {
    match form.get("gender") {
        "" => None,
        g @ ("male" | "female") => Some(g.to_string()),
        _ => {
            errors.add("gender", "form.invalid");
            None
        }
    }
}
