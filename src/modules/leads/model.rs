//! Lead rows, the form and its validation.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value};

use crate::dicts::Dicts;
use crate::records::form;
use crate::web::FormErrors;
use crate::web::forms::FormData;

/// The entity name in audit, team, share, star, follow-up and attachment tables.
pub const ENTITY: &str = "lead";
/// The permission / list-preference module code.
pub const MODULE: &str = "leads";

/// Dictionary-backed columns: (column = form field, dictionary code).
pub const DICT_FIELDS: &[(&str, &str)] =
    &[("source_id", "lead_source"), ("industry_id", "industry"), ("region_id", "region")];

/// Every dictionary a lead page needs (the customer ones for the conversion's mapping).
pub const DICTS: &[&str] = &["lead_source", "industry", "region", "customer_source", "customer_status"];

/// Plain text columns edited as they are: (column = form field, max length).
pub const TEXT_FIELDS: &[(&str, usize)] =
    &[("contact_name", 100), ("phone", 40), ("mobile", 40), ("email", 200), ("address", 500), ("notes", 4000)];

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Lead {
    pub id: i64,
    pub name: String,
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub source_id: Option<i64>,
    pub industry_id: Option<i64>,
    pub region_id: Option<i64>,
    pub level: i16,
    pub notes: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub owner_dept: Option<String>,
    pub last_followup_at: Option<DateTime<Utc>>,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub custom: sqlx::types::Json<Map<String, Value>>,
    pub converted_at: Option<DateTime<Utc>>,
    pub converted_by_name: Option<String>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by_name: Option<String>,
}

impl crate::list::ListRow for Lead {
    fn id(&self) -> i64 {
        self.id
    }

    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Lead {
    pub fn is_converted(&self) -> bool {
        self.converted_at.is_some()
    }

    pub fn dict_value(&self, column: &str) -> Option<i64> {
        match column {
            "source_id" => self.source_id,
            "industry_id" => self.industry_id,
            "region_id" => self.region_id,
            _ => None,
        }
    }

    pub fn text_value(&self, column: &str) -> Option<&str> {
        match column {
            "contact_name" => self.contact_name.as_deref(),
            "phone" => self.phone.as_deref(),
            "mobile" => self.mobile.as_deref(),
            "email" => self.email.as_deref(),
            "address" => self.address.as_deref(),
            "notes" => self.notes.as_deref(),
            _ => None,
        }
    }

    /// The form as it looks for editing this lead.
    pub fn to_form(&self, tz: FixedOffset) -> FormData {
        let mut f = FormData::default();
        f.set("name", &self.name);
        f.set("level", self.level.to_string());
        for (col, _) in DICT_FIELDS {
            f.set(col, self.dict_value(col).map(|v| v.to_string()).unwrap_or_default());
        }
        for (col, _) in TEXT_FIELDS {
            f.set(col, self.text_value(col).unwrap_or_default());
        }
        f.set(
            "next_contact_at",
            self.next_contact_at.map(|d| d.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default(),
        );
        f.set("owner_id", self.owner_id.map(|o| o.to_string()).unwrap_or_default());
        f
    }
}

/// A validated lead, ready to save.
#[derive(Clone, Debug)]
pub struct LeadInput {
    pub name: String,
    pub level: i16,
    pub dicts: Vec<(&'static str, Option<i64>)>,
    pub texts: Vec<(&'static str, Option<String>)>,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub owner_id: Option<i64>,
    pub custom: Map<String, Value>,
}

impl LeadInput {
    pub fn text(&self, column: &str) -> Option<&str> {
        self.texts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.as_deref())
    }
}

/// Check everything that needs no database beyond the loaded dictionaries. `current` is the
/// lead being edited (its disabled dictionary values stay allowed).
pub fn check(
    form: &FormData,
    dicts: &Dicts,
    current: Option<&Lead>,
    tz: FixedOffset,
    errors: &mut FormErrors,
) -> LeadInput {
    errors.require("name", form.get("name"));
    if form.get("name").chars().count() > 200 {
        errors.add("name", "customer.error.too_long");
    }
    let level = form::level(form, current.map(|c| c.level), errors);
    let dict_values =
        form::dict_values(form, DICT_FIELDS, dicts, |col| current.and_then(|c| c.dict_value(col)), errors);
    let texts = form::text_values(form, TEXT_FIELDS, errors);
    let next_contact_at = match form.get("next_contact_at").trim() {
        "" => None,
        v => match crate::fields::parse_local_datetime(v, tz) {
            Some(at) => Some(at),
            None => {
                errors.add("next_contact_at", "fields.error.datetime");
                None
            }
        },
    };
    LeadInput {
        name: form.get("name").trim().to_string(),
        level,
        dicts: dict_values,
        texts,
        next_contact_at,
        owner_id: form.get("owner_id").trim().parse::<i64>().ok(),
        custom: Map::new(),
    }
}
