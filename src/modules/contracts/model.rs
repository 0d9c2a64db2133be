//! Contract rows, states, the form and its validation.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::dicts::Dicts;
use crate::modules::products::lines::{self, LineInput};
use crate::records::form;
use crate::web::FormErrors;
use crate::web::forms::FormData;

/// The entity name in audit, team, share, star and follow-up tables (and the numbering kind).
pub const ENTITY: &str = "contract";
/// The permission / list-preference module code.
pub const MODULE: &str = "contracts";
/// Every dictionary a contract page needs (product units for its lines, win reasons for closing
/// its opportunity).
pub const DICTS: &[&str] = &["contract_type", "product_unit", "win_reason", "payment_method"];
/// (column = form field, dictionary).
pub const DICT_FIELDS: &[(&str, &str)] = &[("type_id", "contract_type")];
/// Plain text columns edited as they are: (column = form field, max length).
pub const TEXT_FIELDS: &[(&str, usize)] = &[("payment_terms", 2000), ("notes", 4000)];

/// Where a contract stands. Draft, rejected and withdrawn contracts can be edited and submitted;
/// pending ones wait for the approval; approved ones take payments and can be voided while no
/// payment is confirmed or waiting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Draft,
    Pending,
    Approved,
    Rejected,
    Withdrawn,
    Void,
}

impl Status {
    pub const ALL: &'static [Status] =
        &[Status::Draft, Status::Pending, Status::Approved, Status::Rejected, Status::Withdrawn, Status::Void];

    pub fn code(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
            Status::Void => "void",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Status::Draft => "contract.status.draft",
            Status::Pending => "contract.status.pending",
            Status::Approved => "contract.status.approved",
            Status::Rejected => "contract.status.rejected",
            Status::Withdrawn => "contract.status.withdrawn",
            Status::Void => "contract.status.void",
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            Status::Draft | Status::Withdrawn => "",
            Status::Pending => "badge-amber",
            Status::Approved => "badge-green",
            Status::Rejected | Status::Void => "badge-red",
        }
    }

    /// Its fields may change and it may be submitted.
    pub fn is_editable(self) -> bool {
        matches!(self, Status::Draft | Status::Rejected | Status::Withdrawn)
    }

    /// SQL for the editable states, on a `status` column.
    pub const EDITABLE_SQL: &'static str = "('draft', 'rejected', 'withdrawn')";
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Contract {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub opportunity_id: Option<i64>,
    pub opportunity_name: Option<String>,
    pub amount: Decimal,
    pub discount: Decimal,
    pub received: Decimal,
    pub order_date: NaiveDate,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub type_id: Option<i64>,
    pub customer_signer_id: Option<i64>,
    pub customer_signer_name: Option<String>,
    pub company_signer_id: Option<i64>,
    pub company_signer_name: Option<String>,
    pub payment_terms: Option<String>,
    pub notes: Option<String>,
    pub status: String,
    pub approved_at: Option<DateTime<Utc>>,
    pub credit_warning: Option<sqlx::types::Json<Value>>,
    pub void_reason: Option<String>,
    pub voided_at: Option<DateTime<Utc>>,
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

impl crate::list::ListRow for Contract {
    fn id(&self) -> i64 {
        self.id
    }

    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Contract {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Draft)
    }

    /// What is still to be received (approved contracts; nothing for the others).
    pub fn unreceived(&self) -> Decimal {
        if self.status() == Status::Approved { self.amount - self.received } else { Decimal::ZERO }
    }

    pub fn text_value(&self, column: &str) -> Option<&str> {
        match column {
            "payment_terms" => self.payment_terms.as_deref(),
            "notes" => self.notes.as_deref(),
            _ => None,
        }
    }

    pub fn dict_value(&self, column: &str) -> Option<i64> {
        match column {
            "type_id" => self.type_id,
            _ => None,
        }
    }
}

/// A validated contract, ready to save. The customer, opportunity, signers and lines are
/// resolved separately (they need the database and the user's scope).
#[derive(Clone, Debug)]
pub struct ContractInput {
    /// Typed, or None to take the next number of the numbering rule.
    pub number: Option<String>,
    pub name: String,
    pub customer_id: i64,
    pub opportunity_id: Option<i64>,
    /// Typed; with lines it is their total less `discount` (see `settle_amount`).
    pub amount: Decimal,
    pub discount: Decimal,
    pub order_date: NaiveDate,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub dicts: Vec<(&'static str, Option<i64>)>,
    pub texts: Vec<(&'static str, Option<String>)>,
    pub customer_signer_id: Option<i64>,
    pub company_signer_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub custom: Map<String, Value>,
    pub lines: Vec<LineInput>,
}

impl ContractInput {
    pub fn text(&self, column: &str) -> Option<&str> {
        self.texts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.as_deref())
    }

    pub fn dict(&self, column: &str) -> Option<i64> {
        self.dicts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| *v)
    }

    pub fn settle_amount(&mut self) {
        self.amount = lines::settle(&self.lines, self.discount, self.amount);
    }
}

fn date_field(form: &FormData, field: &str, errors: &mut FormErrors) -> Option<NaiveDate> {
    match form.get(field).trim() {
        "" => None,
        v => NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| errors.add(field, "fields.error.date")).ok(),
    }
}

/// Check everything that needs no database beyond the loaded dictionaries. `current` is the
/// contract being edited (its disabled dictionary items stay allowed); `today` fills an empty
/// order date.
pub fn check(
    form: &FormData,
    dicts: &Dicts,
    current: Option<&Contract>,
    today: NaiveDate,
    errors: &mut FormErrors,
) -> ContractInput {
    errors.require("name", form.get("name"));
    if form.get("name").trim().chars().count() > 200 {
        errors.add("name", "customer.error.too_long");
    }
    let number = Some(form.get("number").trim().to_string()).filter(|n| !n.is_empty());
    if number.as_ref().is_some_and(|n| n.chars().count() > 60) {
        errors.add("number", "customer.error.too_long");
    }
    let amount = match form.get("amount").trim() {
        "" => Decimal::ZERO,
        v => crate::money::amount(v).unwrap_or_else(|key| {
            errors.add("amount", key);
            Decimal::ZERO
        }),
    };
    let discount = crate::money::percent(form.get("discount")).unwrap_or_else(|key| {
        errors.add("discount", key);
        Decimal::ZERO
    });
    let order_date = date_field(form, "order_date", errors).unwrap_or(today);
    let start_date = date_field(form, "start_date", errors);
    let end_date = date_field(form, "end_date", errors);
    if let (Some(s), Some(e)) = (start_date, end_date)
        && e < s
    {
        errors.add("end_date", "contract.error.end_before_start");
    }
    let dicts = form::dict_values(form, DICT_FIELDS, dicts, |col| current.and_then(|c| c.dict_value(col)), errors);
    let id = |field: &str| form.get(field).trim().parse::<i64>().ok();
    ContractInput {
        number,
        name: form.get("name").trim().to_string(),
        customer_id: 0,
        opportunity_id: id("opportunity_id"),
        amount,
        discount,
        order_date,
        start_date,
        end_date,
        dicts,
        texts: form::text_values(form, TEXT_FIELDS, errors),
        customer_signer_id: id("customer_signer_id"),
        company_signer_id: id("company_signer_id"),
        owner_id: id("owner_id"),
        custom: Map::new(),
        lines: Vec::new(),
    }
}
