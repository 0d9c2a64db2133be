//! The account form and its validation.

use serde::Deserialize;

use crate::mail::accounts::{Row, Security};
use crate::web::i18n::Lang;
use crate::web::{FormErrors, SelectOpt};

/// The form as typed (kept verbatim for a re-render; the password is never sent back).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct AccountForm {
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: String,
    #[serde(default)]
    pub security: String,
    #[serde(default)]
    pub username: String,
    /// Empty on an edit: keep the saved one.
    #[serde(default)]
    pub password: String,
    /// Ticked: remove the saved password.
    #[serde(default)]
    pub clear_password: Option<String>,
    #[serde(default)]
    pub from_address: String,
    #[serde(default)]
    pub from_name: String,
    #[serde(default)]
    pub reply_to: String,
}

/// A valid account (the password as typed: `None` when left empty).
pub struct Valid {
    pub host: String,
    pub port: i32,
    pub security: Security,
    pub username: String,
    pub password: Option<String>,
    pub clear_password: bool,
    pub from_address: String,
    pub from_name: String,
    pub reply_to: String,
}

pub fn address_ok(s: &str) -> bool {
    s.parse::<lettre::Address>().is_ok()
}

impl AccountForm {
    pub fn blank() -> AccountForm {
        AccountForm { port: "587".into(), security: "starttls".into(), ..Default::default() }
    }

    pub fn from_row(r: &Row) -> AccountForm {
        AccountForm {
            host: r.host.clone(),
            port: r.port.to_string(),
            security: r.security.clone(),
            username: r.username.clone(),
            password: String::new(),
            clear_password: None,
            from_address: r.from_address.clone(),
            from_name: r.from_name.clone(),
            reply_to: r.reply_to.clone(),
        }
    }

    pub fn validate(&self, has_key: bool, errors: &mut FormErrors) -> Option<Valid> {
        let host = self.host.trim();
        if host.is_empty() {
            errors.add("host", "form.required");
        } else if host.len() > 253
            || !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'))
        {
            errors.add("host", "mail.err.host");
        }
        let port = self.port.trim().parse::<i32>().ok().filter(|p| (1..=65535).contains(p));
        if port.is_none() {
            errors.add("port", "mail.err.port");
        }
        let security = Security::from_code(self.security.trim());
        if security.is_none() {
            errors.add("security", "form.required");
        }
        let from = self.from_address.trim();
        if from.is_empty() {
            errors.add("from_address", "form.required");
        } else if !address_ok(from) {
            errors.add("from_address", "mail.err.address");
        }
        let reply_to = self.reply_to.trim();
        if !reply_to.is_empty() && !address_ok(reply_to) {
            errors.add("reply_to", "mail.err.address");
        }
        if self.from_name.chars().count() > 100 {
            errors.add("from_name", "mail.err.too_long");
        }
        if self.username.chars().count() > 200 {
            errors.add("username", "mail.err.too_long");
        }
        let password = (!self.password.is_empty()).then(|| self.password.clone());
        if password.is_some() && !has_key {
            errors.add("password", "mail.err.no_key");
        } else if self.password.len() > 500 {
            errors.add("password", "mail.err.too_long");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(Valid {
            host: host.to_string(),
            port: port?,
            security: security?,
            username: self.username.trim().to_string(),
            password,
            clear_password: self.clear_password.is_some(),
            from_address: from.to_string(),
            from_name: self.from_name.trim().to_string(),
            reply_to: reply_to.to_string(),
        })
    }
}

pub fn security_options(lang: Lang) -> Vec<SelectOpt> {
    Security::ALL.iter().map(|s| SelectOpt::new(s.code(), lang.t(s.label_key()))).collect()
}

/// The test-mail form.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct TestForm {
    #[serde(default)]
    pub to: String,
    /// An account id, or empty for the first (or the environment's).
    #[serde(default)]
    pub account: String,
}

/// Outbox list filter.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct OutboxFilter {
    #[serde(default)]
    pub status: String,
}

pub const STATUSES: &[&str] = &["queued", "sending", "sent", "failed", "cancelled"];
