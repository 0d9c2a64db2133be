//! Payment and payment plan rows, states, and the checks of their forms.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::money;
use crate::web::FormErrors;
use crate::web::forms::FormData;

/// The entity name in audit, attachment and custom field tables (and the numbering kind).
pub const ENTITY: &str = "payment";
pub const MODULE: &str = "payments";
pub const DICTS: &[&str] = &["payment_method"];

/// Where a payment stands: only approved (confirmed) payments count as received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl Status {
    pub const ALL: &'static [Status] = &[Status::Pending, Status::Approved, Status::Rejected, Status::Withdrawn];

    pub fn code(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.iter().copied().find(|s| s.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Status::Pending => "payment.status.pending",
            Status::Approved => "payment.status.approved",
            Status::Rejected => "payment.status.rejected",
            Status::Withdrawn => "payment.status.withdrawn",
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            Status::Pending => "badge-amber",
            Status::Approved => "badge-green",
            Status::Rejected => "badge-red",
            Status::Withdrawn => "",
        }
    }

    /// May be edited, submitted again or deleted.
    pub fn is_editable(self) -> bool {
        matches!(self, Status::Rejected | Status::Withdrawn)
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Payment {
    pub id: i64,
    pub number: String,
    pub contract_id: i64,
    pub contract_number: String,
    pub contract_name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub plan_id: Option<i64>,
    pub plan_term: Option<i32>,
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    pub method_id: Option<i64>,
    pub notes: Option<String>,
    pub status: String,
    pub approved_at: Option<DateTime<Utc>>,
    pub custom: sqlx::types::Json<Map<String, Value>>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub owner_dept: Option<String>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::list::ListRow for Payment {
    fn id(&self) -> i64 {
        self.id
    }

    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Payment {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status).unwrap_or(Status::Pending)
    }
}

/// A term of a contract's payment plan, with what was received on it.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Plan {
    pub id: i64,
    pub contract_id: i64,
    pub term: i32,
    pub amount: Decimal,
    pub received: Decimal,
    pub due_date: NaiveDate,
    pub method_id: Option<i64>,
    pub remind_days: i32,
    pub notes: Option<String>,
}

impl Plan {
    pub fn remaining(&self) -> Decimal {
        (self.amount - self.received).max(Decimal::ZERO)
    }

    /// Past its date (in the company's time zone: `today`) and not fully received.
    pub fn is_overdue(&self, today: &NaiveDate) -> bool {
        self.due_date < *today && self.received < self.amount
    }
}

/// A payment as typed.
#[derive(Clone, Debug)]
pub struct PaymentInput {
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    pub plan_id: Option<i64>,
    pub method_id: Option<i64>,
    pub notes: Option<String>,
    pub custom: Map<String, Value>,
}

fn date(form: &FormData, field: &str, errors: &mut FormErrors) -> Option<NaiveDate> {
    match form.get(field).trim() {
        "" => {
            errors.add(field, "form.required");
            None
        }
        v => NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| errors.add(field, "fields.error.date")).ok(),
    }
}

fn positive(form: &FormData, field: &str, errors: &mut FormErrors) -> Decimal {
    match money::amount(form.get(field)) {
        Ok(a) if a > Decimal::ZERO => a,
        Ok(_) => {
            errors.add(field, "payment.error.amount_zero");
            Decimal::ZERO
        }
        Err(key) => {
            errors.add(field, if form.get(field).trim().is_empty() { "form.required" } else { key });
            Decimal::ZERO
        }
    }
}

fn notes(form: &FormData, errors: &mut FormErrors) -> Option<String> {
    let n = form.get("notes").trim();
    if n.chars().count() > 2000 {
        errors.add("notes", "customer.error.too_long");
    }
    Some(n.to_string()).filter(|n| !n.is_empty())
}

/// The payment form: amount (> 0), date (not after `today`), plan term and method (ids, checked
/// against the contract and the dictionary by the caller), notes.
pub fn check_payment(form: &FormData, today: NaiveDate, errors: &mut FormErrors) -> PaymentInput {
    let amount = positive(form, "amount", errors);
    let paid_on = date(form, "paid_on", errors).unwrap_or(today);
    if paid_on > today {
        errors.add("paid_on", "payment.error.future");
    }
    PaymentInput {
        amount,
        paid_on,
        plan_id: form.get("plan_id").trim().parse().ok(),
        method_id: form.get("method_id").trim().parse().ok(),
        notes: notes(form, errors),
        custom: Map::new(),
    }
}

/// A plan term as typed.
#[derive(Clone, Debug)]
pub struct PlanInput {
    pub amount: Decimal,
    pub due_date: NaiveDate,
    pub method_id: Option<i64>,
    pub remind_days: i32,
    pub notes: Option<String>,
}

pub fn check_plan(form: &FormData, errors: &mut FormErrors) -> PlanInput {
    let amount = positive(form, "amount", errors);
    let due_date = date(form, "due_date", errors).unwrap_or_default();
    let remind_days = match form.get("remind_days").trim() {
        "" => 0,
        v => v.parse::<i32>().ok().filter(|d| (0..=365).contains(d)).unwrap_or_else(|| {
            errors.add("remind_days", "payment.error.remind_days");
            0
        }),
    };
    PlanInput {
        amount,
        due_date,
        method_id: form.get("method_id").trim().parse().ok(),
        remind_days,
        notes: notes(form, errors),
    }
}
