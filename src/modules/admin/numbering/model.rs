//! The rule form and its validation.

use serde::Deserialize;

use crate::numbering::{DatePart, Reset, Rule};
use crate::web::i18n::Lang;
use crate::web::{FormErrors, SelectOpt};

pub const PREFIX_MAX: usize = 20;
pub const WIDTH_MIN: i32 = 1;
pub const WIDTH_MAX: i32 = 12;

/// The catalog's name for a kind (`numbering.kind.<kind>`), else the raw kind.
pub fn kind_label(lang: Lang, kind: &str) -> String {
    lang.try_t(&format!("numbering.kind.{kind}")).unwrap_or(kind).to_string()
}

/// Letters, digits and `- _ / .` only.
pub fn prefix_ok(prefix: &str) -> bool {
    prefix.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
}

/// The rule form as typed (kept verbatim for a re-render).
#[derive(Deserialize, Default, Clone, Debug)]
pub struct RuleForm {
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub date_part: String,
    #[serde(default)]
    pub width: String,
    #[serde(default)]
    pub reset: String,
    /// Set by the "preview" button: show what the typed rule gives, save nothing.
    #[serde(default)]
    pub preview: Option<String>,
}

impl RuleForm {
    pub fn from_rule(r: &Rule) -> RuleForm {
        RuleForm {
            prefix: r.prefix.clone(),
            date_part: r.date_part.code().to_string(),
            width: r.width.to_string(),
            reset: r.reset.code().to_string(),
            preview: None,
        }
    }

    /// The rule for `kind`, or field errors.
    pub fn validate(&self, kind: &str, errors: &mut FormErrors) -> Option<Rule> {
        let prefix = self.prefix.trim();
        if prefix.chars().count() > PREFIX_MAX {
            errors.add("prefix", "numbering.err.prefix_long");
        } else if !prefix_ok(prefix) {
            errors.add("prefix", "numbering.err.prefix_chars");
        }
        let date_part = DatePart::from_code(self.date_part.trim());
        if date_part.is_none() {
            errors.add("date_part", "form.required");
        }
        let width = self.width.trim().parse::<i32>().ok().filter(|w| (WIDTH_MIN..=WIDTH_MAX).contains(w));
        if width.is_none() {
            errors.add("width", "numbering.err.width");
        }
        let reset = Reset::from_code(self.reset.trim());
        match (reset, date_part) {
            (None, _) => errors.add("reset", "form.required"),
            (Some(r), Some(d)) if !r.fits(d) => errors.add("reset", reset_error(r)),
            _ => {}
        }
        if !errors.is_empty() {
            return None;
        }
        Some(Rule {
            kind: kind.to_string(),
            prefix: prefix.to_string(),
            date_part: date_part?,
            width: width?,
            reset: reset?,
        })
    }
}

/// Why `reset` does not fit the chosen date part.
fn reset_error(reset: Reset) -> &'static str {
    match reset {
        Reset::Daily => "numbering.err.reset_daily",
        Reset::Monthly => "numbering.err.reset_monthly",
        _ => "numbering.err.reset_yearly",
    }
}

pub fn date_options(lang: Lang) -> Vec<SelectOpt> {
    DatePart::ALL.iter().map(|d| SelectOpt::new(d.code(), lang.t(d.label_key()))).collect()
}

pub fn reset_options(lang: Lang) -> Vec<SelectOpt> {
    Reset::ALL.iter().map(|r| SelectOpt::new(r.code(), lang.t(r.label_key()))).collect()
}
