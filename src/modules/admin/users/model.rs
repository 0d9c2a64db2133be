//! User forms and filters.

use serde::Deserialize;

use crate::web::forms::{is_email, is_mobile, opt_id, opt_text};
use crate::web::{FormErrors, i18n::Lang};

/// The user form as typed; re-rendered unchanged when validation fails.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct UserForm {
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub mobile: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub gender: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub dept_id: String,
    #[serde(default)]
    pub position: String,
    #[serde(default)]
    pub superior_id: String,
    #[serde(default)]
    pub roles: Vec<i64>,
    #[serde(default)]
    pub lang: String,
}

impl UserForm {
    pub fn has_role(&self, id: &i64) -> bool {
        self.roles.contains(id)
    }
}

/// A validated user.
#[derive(Clone, Debug)]
pub struct UserInput {
    pub login: String,
    pub mobile: Option<String>,
    pub name: String,
    pub gender: Option<String>,
    pub email: Option<String>,
    pub dept_id: i64,
    pub position: Option<String>,
    pub superior_id: Option<i64>,
    pub lang: Option<String>,
    pub roles: Vec<i64>,
}

impl UserForm {
    /// Field checks that need no database; the handler adds uniqueness and cycle checks on the
    /// returned input (which is only saved when no error was found).
    pub fn check(&self, lang: Lang) -> (UserInput, FormErrors) {
        let mut e = FormErrors::new(lang);
        e.require("login", &self.login);
        e.require("name", &self.name);
        let mobile = opt_text(&self.mobile);
        if mobile.as_deref().is_some_and(|m| !is_mobile(m)) {
            e.add("mobile", "form.invalid_mobile");
        }
        let email = opt_text(&self.email);
        if email.as_deref().is_some_and(|m| !is_email(m)) {
            e.add("email", "form.invalid_email");
        }
        let gender = opt_text(&self.gender);
        if gender.as_deref().is_some_and(|g| g != "male" && g != "female") {
            e.add("gender", "form.invalid");
        }
        let lang_choice = opt_text(&self.lang);
        if lang_choice.as_deref().is_some_and(|l| Lang::from_code(l).map(|x| x.code()) != Some(l)) {
            e.add("lang", "form.invalid");
        }
        let dept_id = opt_id(&mut e, "dept_id", &self.dept_id);
        if dept_id.is_none() {
            e.add("dept_id", "form.required");
        }
        let superior_id = opt_id(&mut e, "superior_id", &self.superior_id);
        let input = UserInput {
            login: self.login.trim().to_string(),
            mobile,
            name: self.name.trim().to_string(),
            gender,
            email,
            dept_id: dept_id.unwrap_or_default(),
            position: opt_text(&self.position),
            superior_id,
            lang: lang_choice,
            roles: {
                let mut r = self.roles.clone();
                r.sort();
                r.dedup();
                r
            },
        };
        (input, e)
    }
}

#[derive(Deserialize, Default, Clone, Debug)]
pub struct UserFilter {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub dept: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub role: String,
}

impl UserFilter {
    pub fn q(&self) -> Option<&str> {
        Some(self.q.trim()).filter(|s| !s.is_empty())
    }
    pub fn dept_id(&self) -> Option<i64> {
        self.dept.trim().parse().ok()
    }
    pub fn status(&self) -> Option<&str> {
        match self.status.as_str() {
            "active" | "disabled" => Some(self.status.as_str()),
            _ => None,
        }
    }
    pub fn role_id(&self) -> Option<i64> {
        self.role.trim().parse().ok()
    }
}

#[derive(Deserialize, Default, Clone, Debug)]
pub struct PasswordReset {
    #[serde(default)]
    pub password: String,
}

#[derive(Deserialize, Default, Clone, Debug)]
pub struct DisableForm {
    /// Who receives the user's records; empty keeps them with the disabled user.
    #[serde(default)]
    pub hand_to: String,
}
