//! Contact rows, the form and its validation.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::dicts::Dicts;
use crate::records::form;
use crate::web::FormErrors;
use crate::web::forms::FormData;

/// The entity name in audit, team, share, star and follow-up tables.
pub const ENTITY: &str = "contact";
/// The permission / list-preference module code.
pub const MODULE: &str = "contacts";
/// Every dictionary a contact page needs.
pub const DICTS: &[&str] = &["salutation"];

/// Plain text columns edited as they are: (column = form field, max length).
pub const TEXT_FIELDS: &[(&str, usize)] = &[
    ("position", 100),
    ("department", 100),
    ("phone", 40),
    ("mobile", 40),
    ("email", 200),
    ("wechat", 100),
    ("address", 500),
    ("notes", 4000),
];

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Contact {
    pub id: i64,
    pub customer_id: i64,
    pub customer_name: String,
    pub customer_code: String,
    pub customer_owner_id: Option<i64>,
    pub customer_frozen: bool,
    pub name: String,
    pub salutation_id: Option<i64>,
    pub gender: Option<String>,
    pub position: Option<String>,
    pub department: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub address: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub decision_maker: bool,
    pub is_primary: bool,
    pub notes: Option<String>,
    pub custom: sqlx::types::Json<Map<String, Value>>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub owner_dept: Option<String>,
    pub owner_locked: bool,
    pub last_followup_at: Option<DateTime<Utc>>,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by_name: Option<String>,
}

/// What the customer's Contacts tab lists (see `for_customer`).
pub type ContactRow = Contact;

impl crate::list::ListRow for Contact {
    fn id(&self) -> i64 {
        self.id
    }

    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Contact {
    pub fn text_value(&self, column: &str) -> Option<&str> {
        match column {
            "position" => self.position.as_deref(),
            "department" => self.department.as_deref(),
            "phone" => self.phone.as_deref(),
            "mobile" => self.mobile.as_deref(),
            "email" => self.email.as_deref(),
            "wechat" => self.wechat.as_deref(),
            "address" => self.address.as_deref(),
            "notes" => self.notes.as_deref(),
            _ => None,
        }
    }

    /// Phone and mobile for a compact cell: "021-1234 / 138…".
    pub fn phones(&self) -> String {
        [self.phone.as_deref(), self.mobile.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The form as it looks for editing this contact.
    pub fn to_form(&self) -> FormData {
        let mut f = FormData::default();
        f.set("name", &self.name);
        f.set("customer_id", self.customer_id.to_string());
        f.set("customer_q", &self.customer_name);
        f.set("salutation_id", self.salutation_id.map(|v| v.to_string()).unwrap_or_default());
        f.set("gender", self.gender.clone().unwrap_or_default());
        for (col, _) in TEXT_FIELDS {
            f.set(col, self.text_value(col).unwrap_or_default());
        }
        f.set("birthday", self.birthday.map(|d| d.to_string()).unwrap_or_default());
        if self.decision_maker {
            f.set("decision_maker", "1");
        }
        f
    }

    /// The contact as an input, to compare with an edit.
    pub fn to_input(&self) -> ContactInput {
        ContactInput {
            name: self.name.clone(),
            customer_id: Some(self.customer_id),
            salutation_id: self.salutation_id,
            gender: self.gender.clone(),
            texts: TEXT_FIELDS.iter().map(|(col, _)| (*col, self.text_value(col).map(str::to_string))).collect(),
            birthday: self.birthday,
            decision_maker: self.decision_maker,
            make_primary: self.is_primary,
            custom: self.custom.0.clone(),
        }
    }
}

/// A validated contact, ready to save. The customer is resolved separately (it needs the
/// database and the user's scope).
#[derive(Clone, Debug)]
pub struct ContactInput {
    pub name: String,
    pub customer_id: Option<i64>,
    pub salutation_id: Option<i64>,
    pub gender: Option<String>,
    pub texts: Vec<(&'static str, Option<String>)>,
    pub birthday: Option<NaiveDate>,
    pub decision_maker: bool,
    /// "Set as primary" was ticked.
    pub make_primary: bool,
    pub custom: Map<String, Value>,
}

impl ContactInput {
    pub fn text(&self, column: &str) -> Option<&str> {
        self.texts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.as_deref())
    }
}

fn checked(form: &FormData, name: &str) -> bool {
    matches!(form.get(name), "1" | "on" | "true" | "yes")
}

/// Check everything that needs no database beyond the loaded dictionaries. `current` is the
/// contact being edited (its disabled salutation stays allowed).
pub fn check(form: &FormData, dicts: &Dicts, current: Option<&Contact>, errors: &mut FormErrors) -> ContactInput {
    errors.require("name", form.get("name"));
    if form.get("name").trim().chars().count() > 100 {
        errors.add("name", "customer.error.too_long");
    }
    let salutation_id =
        form::dict_value(form, "salutation_id", "salutation", dicts, current.and_then(|c| c.salutation_id), errors);
    let gender = form::gender(form, errors);
    let texts = form::text_values(form, TEXT_FIELDS, errors);
    let birthday = match form.get("birthday").trim() {
        "" => None,
        v => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) if d <= Utc::now().date_naive() => Some(d),
            _ => {
                errors.add("birthday", "fields.error.date");
                None
            }
        },
    };
    ContactInput {
        name: form.get("name").trim().to_string(),
        customer_id: None,
        salutation_id,
        gender,
        texts,
        birthday,
        decision_maker: checked(form, "decision_maker"),
        make_primary: checked(form, "make_primary"),
        custom: Map::new(),
    }
}
