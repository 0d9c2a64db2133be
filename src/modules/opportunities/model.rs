//! Opportunity rows, product lines, the form and its validation.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::dicts::Dicts;
use crate::modules::products::lines::{self, LineInput};
use crate::money;
use crate::records::form;
use crate::web::FormErrors;
use crate::web::forms::FormData;
use crate::web::i18n::Lang;

/// The entity name in audit, team, share, star and follow-up tables.
pub const ENTITY: &str = "opportunity";
/// The permission / list-preference module code.
pub const MODULE: &str = "opportunities";
/// Every dictionary an opportunity page needs (product units for its lines).
pub const DICTS: &[&str] =
    &["opportunity_source", "opportunity_type", "win_reason", "lost_reason", "invalid_reason", "product_unit"];
/// (column = form field, dictionary).
pub const DICT_FIELDS: &[(&str, &str)] = &[("source_id", "opportunity_source"), ("type_id", "opportunity_type")];
/// Plain text columns edited as they are: (column = form field, max length).
pub const TEXT_FIELDS: &[(&str, usize)] = &[("competitors", 500), ("next_step", 500), ("notes", 4000)];

/// Where an opportunity stands: open at a stage, or closed (kept at the stage it closed from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Open,
    Won,
    Lost,
    Invalid,
}

impl Status {
    pub const ALL: &'static [Status] = &[Status::Open, Status::Won, Status::Lost, Status::Invalid];
    pub const CLOSED: &'static [Status] = &[Status::Won, Status::Lost, Status::Invalid];

    pub fn code(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Won => "won",
            Status::Lost => "lost",
            Status::Invalid => "invalid",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Status::Open => "opportunity.status.open",
            Status::Won => "opportunity.status.won",
            Status::Lost => "opportunity.status.lost",
            Status::Invalid => "opportunity.status.invalid",
        }
    }

    /// The dictionary of reasons for closing this way.
    pub fn reason_dict(self) -> Option<&'static str> {
        match self {
            Status::Won => Some("win_reason"),
            Status::Lost => Some("lost_reason"),
            Status::Invalid => Some("invalid_reason"),
            Status::Open => None,
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            Status::Open => "badge-blue",
            Status::Won => "badge-green",
            Status::Lost => "badge-red",
            Status::Invalid => "",
        }
    }

    /// The win rate an opportunity counts with: its stage's while open, 100% won, 0 otherwise.
    pub fn rate(self, stage_rate: i16) -> i16 {
        match self {
            Status::Open => stage_rate,
            Status::Won => 100,
            Status::Lost | Status::Invalid => 0,
        }
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Opportunity {
    pub id: i64,
    pub name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub amount: Decimal,
    pub discount: Decimal,
    pub expected_close: Option<NaiveDate>,
    pub group_id: i64,
    pub group_name: String,
    pub stage_id: i64,
    pub win_rate: i16,
    pub status: String,
    pub closed_on: Option<NaiveDate>,
    pub close_reason_id: Option<i64>,
    pub close_note: Option<String>,
    pub stage_changed_at: DateTime<Utc>,
    pub source_id: Option<i64>,
    pub type_id: Option<i64>,
    pub competitors: Option<String>,
    pub next_step: Option<String>,
    pub notes: Option<String>,
    pub custom: sqlx::types::Json<Map<String, Value>>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub owner_dept: Option<String>,
    pub last_followup_at: Option<DateTime<Utc>>,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::list::ListRow for Opportunity {
    fn id(&self) -> i64 {
        self.id
    }

    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Opportunity {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Open)
    }

    pub fn is_open(&self) -> bool {
        self.status() == Status::Open
    }

    /// The rate it counts with (see `Status::rate`).
    pub fn rate(&self) -> i16 {
        self.status().rate(self.win_rate)
    }

    pub fn weighted(&self) -> Decimal {
        money::weighted(self.amount, self.rate())
    }

    pub fn text_value(&self, column: &str) -> Option<&str> {
        match column {
            "competitors" => self.competitors.as_deref(),
            "next_step" => self.next_step.as_deref(),
            "notes" => self.notes.as_deref(),
            _ => None,
        }
    }

    pub fn dict_value(&self, column: &str) -> Option<i64> {
        match column {
            "source_id" => self.source_id,
            "type_id" => self.type_id,
            _ => None,
        }
    }
}

/// A validated opportunity, ready to save. The customer, lines, stage and contacts are resolved
/// separately (they need the database and the user's scope).
#[derive(Clone, Debug)]
pub struct OpportunityInput {
    pub name: String,
    pub customer_id: i64,
    /// Typed; with lines it is their total less `discount` (see `with_lines`).
    pub amount: Decimal,
    pub discount: Decimal,
    pub expected_close: Option<NaiveDate>,
    pub dicts: Vec<(&'static str, Option<i64>)>,
    pub texts: Vec<(&'static str, Option<String>)>,
    pub owner_id: Option<i64>,
    pub custom: Map<String, Value>,
    pub lines: Vec<LineInput>,
    pub contact_ids: Vec<i64>,
    /// The stage a new opportunity starts at.
    pub stage_id: Option<i64>,
}

impl OpportunityInput {
    pub fn text(&self, column: &str) -> Option<&str> {
        self.texts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.as_deref())
    }

    pub fn dict(&self, column: &str) -> Option<i64> {
        self.dicts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| *v)
    }

    /// With lines, the amount is their total less the discount on the total.
    pub fn settle_amount(&mut self) {
        self.amount = lines::settle(&self.lines, self.discount, self.amount);
    }
}

/// Check everything that needs no database beyond the loaded dictionaries. `current` is the
/// opportunity being edited (its disabled dictionary items stay allowed).
pub fn check(
    form: &FormData,
    dicts: &Dicts,
    current: Option<&Opportunity>,
    errors: &mut FormErrors,
) -> OpportunityInput {
    errors.require("name", form.get("name"));
    if form.get("name").trim().chars().count() > 200 {
        errors.add("name", "customer.error.too_long");
    }
    let amount = match form.get("amount").trim() {
        "" => Decimal::ZERO,
        v => money::amount(v).unwrap_or_else(|key| {
            errors.add("amount", key);
            Decimal::ZERO
        }),
    };
    let discount = money::percent(form.get("discount")).unwrap_or_else(|key| {
        errors.add("discount", key);
        Decimal::ZERO
    });
    let expected_close = match form.get("expected_close").trim() {
        "" => None,
        v => {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| errors.add("expected_close", "fields.error.date")).ok()
        }
    };
    let dicts = form::dict_values(form, DICT_FIELDS, dicts, |col| current.and_then(|c| c.dict_value(col)), errors);
    OpportunityInput {
        name: form.get("name").trim().to_string(),
        customer_id: 0,
        amount,
        discount,
        expected_close,
        dicts,
        texts: form::text_values(form, TEXT_FIELDS, errors),
        owner_id: form.get("owner_id").trim().parse().ok(),
        custom: Map::new(),
        lines: Vec::new(),
        contact_ids: form.all("contact_ids").iter().filter_map(|v| v.parse().ok()).collect(),
        stage_id: form.get("stage_id").trim().parse().ok(),
    }
}

/// "3 天 4 小时" / "3 d 4 h": how long something lasted.
pub fn duration(lang: Lang, seconds: i64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, (seconds % 86_400) / 3_600, (seconds % 3_600) / 60);
    let n = |v: i64| v.to_string();
    if days > 0 {
        lang.tf("opportunity.duration.days_hours", &[("d", &n(days)), ("h", &n(hours))])
    } else if hours > 0 {
        lang.tf("opportunity.duration.hours_minutes", &[("h", &n(hours)), ("m", &n(minutes))])
    } else {
        lang.tf("opportunity.duration.minutes", &[("m", &n(minutes.max(0)))])
    }
}
