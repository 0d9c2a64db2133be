//! Customer rows, the form and its validation, the list filter.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::dicts::Dicts;
use crate::records::{form, normalize};
use crate::web::FormErrors;
use crate::web::forms::{FormData, web_url};
use crate::web::i18n::Lang;

/// The entity name in audit, team, share and star tables.
pub const ENTITY: &str = "customer";
/// The permission / list-preference module code.
pub const MODULE: &str = "customers";

/// Dictionary-backed columns: (column = form field, dictionary code).
pub const DICT_FIELDS: &[(&str, &str)] = &[
    ("category_id", "customer_category"),
    ("source_id", "customer_source"),
    ("industry_id", "industry"),
    ("region_id", "region"),
    ("size_id", "company_size"),
    ("value_rating_id", "value_rating"),
    ("credit_level_id", "credit_level"),
    ("importance_id", "importance"),
    ("relationship_id", "relationship_level"),
    ("stage_id", "service_stage"),
    ("group_id", "customer_group"),
];

/// Every dictionary a customer page needs.
pub const DICTS: &[&str] = &[
    "customer_status",
    "customer_category",
    "customer_source",
    "industry",
    "region",
    "company_size",
    "value_rating",
    "credit_level",
    "importance",
    "relationship_level",
    "service_stage",
    "customer_group",
    "address_type",
];

/// Plain text columns edited as they are: (column = form field, max length).
pub const TEXT_FIELDS: &[(&str, usize)] = &[
    ("short_name", 100),
    ("phone", 40),
    ("mobile", 40),
    ("fax", 40),
    ("email", 200),
    ("website", 300),
    ("description", 4000),
    ("id_number", 40),
    ("native_place", 100),
    ("ethnicity", 40),
];

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Customer {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub parent_name: Option<String>,
    pub category_id: Option<i64>,
    pub status_id: i64,
    pub level: i16,
    pub source_id: Option<i64>,
    pub industry_id: Option<i64>,
    pub region_id: Option<i64>,
    pub size_id: Option<i64>,
    pub value_rating_id: Option<i64>,
    pub credit_level_id: Option<i64>,
    pub importance_id: Option<i64>,
    pub relationship_id: Option<i64>,
    pub stage_id: Option<i64>,
    pub group_id: Option<i64>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub fax: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub description: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub id_number: Option<String>,
    pub native_place: Option<String>,
    pub ethnicity: Option<String>,
    pub gender: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub owner_dept: Option<String>,
    pub locked: bool,
    pub frozen: bool,
    pub deal_status: String,
    /// What it may owe at most (信用额度), and what it owes: approved contracts less confirmed
    /// payments (kept by the contracts and payments modules).
    pub credit_limit: Option<Decimal>,
    pub receivable: Decimal,
    pub last_followup_at: Option<DateTime<Utc>>,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub custom: sqlx::types::Json<Map<String, Value>>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub deleted_by_name: Option<String>,
    /// The lead it was converted from (src/modules/leads).
    pub lead_id: Option<i64>,
}

impl crate::list::ListRow for Customer {
    fn id(&self) -> i64 {
        self.id
    }

    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Customer {
    /// Owes more than its credit limit.
    pub fn over_credit(&self) -> bool {
        self.credit_limit.is_some_and(|l| self.receivable > l)
    }

    pub fn dict_value(&self, column: &str) -> Option<i64> {
        match column {
            "category_id" => self.category_id,
            "source_id" => self.source_id,
            "industry_id" => self.industry_id,
            "region_id" => self.region_id,
            "size_id" => self.size_id,
            "value_rating_id" => self.value_rating_id,
            "credit_level_id" => self.credit_level_id,
            "importance_id" => self.importance_id,
            "relationship_id" => self.relationship_id,
            "stage_id" => self.stage_id,
            "group_id" => self.group_id,
            _ => None,
        }
    }

    pub fn text_value(&self, column: &str) -> Option<&str> {
        match column {
            "short_name" => self.short_name.as_deref(),
            "phone" => self.phone.as_deref(),
            "mobile" => self.mobile.as_deref(),
            "fax" => self.fax.as_deref(),
            "email" => self.email.as_deref(),
            "website" => self.website.as_deref(),
            "description" => self.description.as_deref(),
            "id_number" => self.id_number.as_deref(),
            "native_place" => self.native_place.as_deref(),
            "ethnicity" => self.ethnicity.as_deref(),
            _ => None,
        }
    }

    /// The website as a link target, when it is an http(s) address (rows saved before addresses
    /// were checked may hold anything: those are shown as text).
    pub fn website_link(&self) -> Option<String> {
        self.website.as_deref().and_then(web_url)
    }

    pub fn is_individual(&self) -> bool {
        self.kind == "individual"
    }

    /// The form as it looks for editing this customer.
    pub fn to_form(&self, addresses: &[Address]) -> FormData {
        let mut f = FormData::default();
        f.set("name", &self.name);
        f.set("kind", &self.kind);
        f.set("level", self.level.to_string());
        f.set("status_id", self.status_id.to_string());
        f.set("parent_id", self.parent_id.map(|p| p.to_string()).unwrap_or_default());
        f.set("parent_q", self.parent_name.clone().unwrap_or_default());
        for (col, _) in DICT_FIELDS {
            f.set(col, self.dict_value(col).map(|v| v.to_string()).unwrap_or_default());
        }
        for (col, _) in TEXT_FIELDS {
            f.set(col, self.text_value(col).unwrap_or_default());
        }
        f.set("gender", self.gender.clone().unwrap_or_default());
        f.set("birth_date", self.birth_date.map(|d| d.to_string()).unwrap_or_default());
        f.set("credit_limit", self.credit_limit.map(|d| crate::money::plain(&d)).unwrap_or_default());
        f.set("owner_id", self.owner_id.map(|o| o.to_string()).unwrap_or_default());
        for a in addresses {
            f.push("addr_type", a.type_id.map(|v| v.to_string()).unwrap_or_default());
            f.push("addr_region", a.region_id.map(|v| v.to_string()).unwrap_or_default());
            f.push("addr_detail", a.detail.clone());
            f.push("addr_postcode", a.postcode.clone().unwrap_or_default());
        }
        f
    }
}

#[derive(sqlx::FromRow, Clone, Debug, PartialEq)]
pub struct Address {
    pub type_id: Option<i64>,
    pub region_id: Option<i64>,
    pub detail: String,
    pub postcode: Option<String>,
}

/// A validated customer, ready to save.
#[derive(Clone, Debug)]
pub struct CustomerInput {
    pub name: String,
    pub kind: String,
    pub level: i16,
    /// Only super admins set the status directly; everyone else goes through approval.
    pub status_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub dicts: Vec<(&'static str, Option<i64>)>,
    pub texts: Vec<(&'static str, Option<String>)>,
    pub gender: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub credit_limit: Option<Decimal>,
    pub owner_id: Option<i64>,
    pub addresses: Vec<Address>,
    pub custom: Map<String, Value>,
}

impl CustomerInput {
    pub fn text(&self, column: &str) -> Option<&str> {
        self.texts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.as_deref())
    }

    pub fn name_norm(&self) -> String {
        normalize::name(&self.name)
    }
}

/// Check everything that needs no database beyond the loaded dictionaries. `current` is the
/// customer being edited (its disabled dictionary values stay allowed).
pub fn check(
    form: &FormData,
    dicts: &Dicts,
    current: Option<&Customer>,
    lang: Lang,
    errors: &mut FormErrors,
) -> CustomerInput {
    errors.require("name", form.get("name"));
    if form.get("name").chars().count() > 200 {
        errors.add("name", "customer.error.too_long");
    }
    let kind = match form.get("kind") {
        "individual" => "individual",
        "enterprise" | "" => "enterprise",
        _ => {
            errors.add("kind", "form.invalid");
            "enterprise"
        }
    };
    let level = form::level(form, current.map(|c| c.level), errors);
    let dict_values =
        form::dict_values(form, DICT_FIELDS, dicts, |col| current.and_then(|c| c.dict_value(col)), errors);
    let status_id = if form.has("status_id") {
        form::dict_value(form, "status_id", "customer_status", dicts, current.map(|c| c.status_id), errors)
    } else {
        None
    };
    let mut texts = form::text_values(form, TEXT_FIELDS, errors);
    // Only http(s) addresses: the page makes it a link (`https://` added when no scheme is typed).
    let website = form.get("website").trim();
    if !website.is_empty() {
        match web_url(website) {
            Some(url) => texts.iter_mut().filter(|(c, _)| *c == "website").for_each(|(_, v)| *v = Some(url.clone())),
            None => errors.add("website", "fields.error.url"),
        }
    }
    let gender = form::gender(form, errors);
    let birth_date = match form.get("birth_date").trim() {
        "" => None,
        v => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("birth_date", "fields.error.date");
                None
            }
        },
    };
    let credit_limit = match form.get("credit_limit").trim() {
        "" => None,
        v => crate::money::amount(v).map_err(|key| errors.add("credit_limit", key)).ok(),
    };
    let parent_id = form.get("parent_id").trim().parse::<i64>().ok();
    let owner_id = form.get("owner_id").trim().parse::<i64>().ok();
    let addresses = addresses(form, dicts, errors, lang);
    CustomerInput {
        name: form.get("name").trim().to_string(),
        kind: kind.to_string(),
        level,
        status_id,
        parent_id,
        dicts: dict_values,
        texts,
        gender,
        birth_date,
        credit_limit,
        owner_id,
        addresses,
        custom: Map::new(),
    }
}

/// Address rows come as parallel repeated fields; rows left blank are skipped.
fn addresses(form: &FormData, dicts: &Dicts, errors: &mut FormErrors, _lang: Lang) -> Vec<Address> {
    let (types, regions, details, posts) =
        (form.all("addr_type"), form.all("addr_region"), form.all("addr_detail"), form.all("addr_postcode"));
    let n = types.len().max(regions.len()).max(details.len());
    let mut out = Vec::new();
    for i in 0..n {
        let get = |v: &Vec<&str>| v.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
        let (t, r, d, p) = (get(&types), get(&regions), get(&details), get(&posts));
        if d.is_empty() && r.is_empty() {
            continue;
        }
        let type_id = t.parse::<i64>().ok().filter(|id| dicts.allows("address_type", *id, Some(*id)));
        let region_id = r.parse::<i64>().ok().filter(|id| dicts.allows("region", *id, Some(*id)));
        if (!t.is_empty() && type_id.is_none()) || (!r.is_empty() && region_id.is_none()) {
            errors.add("addresses", "customer.error.dict");
        }
        if d.chars().count() > 500 {
            errors.add("addresses", "customer.error.too_long");
        }
        out.push(Address { type_id, region_id, detail: d, postcode: Some(p).filter(|p| !p.is_empty()) });
    }
    out
}

/// "Credit limit 500,000.00, payment term 90 days" for a credit level, as the detail page and
/// the form show it: the limit as money with thousands separators (stored as "500000.00").
pub fn credit_hint(dicts: &Dicts, credit_level_id: Option<i64>, lang: Lang) -> String {
    let Some(item) = credit_level_id.and_then(|id| dicts.get(id)) else {
        return String::new();
    };
    let limit = item.extra_str("credit_limit").unwrap_or_default();
    let limit = limit.parse::<rust_decimal::Decimal>().map(|d| crate::web::format::money(&d)).unwrap_or(limit);
    let days = item.extra_str("credit_period_days").unwrap_or_default();
    lang.tf("customer.credit_hint", &[("limit", &limit), ("days", &days)])
}
