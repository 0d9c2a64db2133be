//! Product rows, the form and its validation.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::dicts::Dicts;
use crate::money;
use crate::records::form;
use crate::web::FormErrors;
use crate::web::forms::FormData;

/// The entity name in audit, star, attachment and custom-field tables; also the numbering kind.
pub const ENTITY: &str = "product";
/// The permission / list-preference module code.
pub const MODULE: &str = "products";
/// Every dictionary a product page needs.
pub const DICTS: &[&str] = &["product_category", "product_unit"];

/// Plain text columns edited as they are: (column = form field, max length).
pub const TEXT_FIELDS: &[(&str, usize)] = &[("spec", 200), ("description", 4000)];

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Product {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub category_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub price: Decimal,
    pub cost_price: Option<Decimal>,
    pub spec: Option<String>,
    pub description: Option<String>,
    pub on_shelf: bool,
    pub custom: sqlx::types::Json<Map<String, Value>>,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl crate::list::ListRow for Product {
    fn id(&self) -> i64 {
        self.id
    }

    fn custom(&self) -> &Map<String, Value> {
        &self.custom
    }
}

impl Product {
    pub fn text_value(&self, column: &str) -> Option<&str> {
        match column {
            "spec" => self.spec.as_deref(),
            "description" => self.description.as_deref(),
            _ => None,
        }
    }

    /// The form as it looks for editing this product.
    pub fn to_form(&self) -> FormData {
        let mut f = FormData::default();
        f.set("code", &self.code);
        f.set("name", &self.name);
        f.set("category_id", self.category_id.map(|v| v.to_string()).unwrap_or_default());
        f.set("unit_id", self.unit_id.map(|v| v.to_string()).unwrap_or_default());
        f.set("price", money::plain(&self.price));
        f.set("cost_price", self.cost_price.as_ref().map(money::plain).unwrap_or_default());
        for (col, _) in TEXT_FIELDS {
            f.set(col, self.text_value(col).unwrap_or_default());
        }
        if self.on_shelf {
            f.set("on_shelf", "1");
        }
        f
    }

    pub fn to_input(&self) -> ProductInput {
        ProductInput {
            code: Some(self.code.clone()),
            name: self.name.clone(),
            category_id: self.category_id,
            unit_id: self.unit_id,
            price: self.price,
            cost_price: self.cost_price,
            texts: TEXT_FIELDS.iter().map(|(col, _)| (*col, self.text_value(col).map(str::to_string))).collect(),
            on_shelf: self.on_shelf,
            custom: self.custom.0.clone(),
        }
    }
}

/// A validated product, ready to save.
#[derive(Clone, Debug)]
pub struct ProductInput {
    /// None: the numbering rule gives one.
    pub code: Option<String>,
    pub name: String,
    pub category_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub price: Decimal,
    pub cost_price: Option<Decimal>,
    pub texts: Vec<(&'static str, Option<String>)>,
    pub on_shelf: bool,
    pub custom: Map<String, Value>,
}

impl ProductInput {
    pub fn text(&self, column: &str) -> Option<&str> {
        self.texts.iter().find(|(c, _)| *c == column).and_then(|(_, v)| v.as_deref())
    }
}

/// Check everything that needs no database beyond the loaded dictionaries. `current`: the
/// product being edited (its disabled category or unit stays allowed); `cost_visible`: the user
/// sees cost prices (otherwise the stored cost is kept as it is).
pub fn check(
    form: &FormData,
    dicts: &Dicts,
    current: Option<&Product>,
    cost_visible: bool,
    errors: &mut FormErrors,
) -> ProductInput {
    errors.require("name", form.get("name"));
    if form.get("name").trim().chars().count() > 200 {
        errors.add("name", "customer.error.too_long");
    }
    let code = match form.get("code").trim() {
        "" => current.map(|c| c.code.clone()),
        c if c.chars().count() > 50 => {
            errors.add("code", "customer.error.too_long");
            None
        }
        c => Some(c.to_string()),
    };
    let category_id =
        form::dict_value(form, "category_id", "product_category", dicts, current.and_then(|c| c.category_id), errors);
    let unit_id = form::dict_value(form, "unit_id", "product_unit", dicts, current.and_then(|c| c.unit_id), errors);
    let price = match form.get("price").trim() {
        "" => {
            errors.add("price", "form.required");
            Decimal::ZERO
        }
        v => money::amount(v).unwrap_or_else(|key| {
            errors.add("price", key);
            Decimal::ZERO
        }),
    };
    let cost_price = if !cost_visible {
        current.and_then(|c| c.cost_price)
    } else {
        match form.get("cost_price").trim() {
            "" => None,
            v => money::amount(v).map_err(|key| errors.add("cost_price", key)).ok(),
        }
    };
    ProductInput {
        code,
        name: form.get("name").trim().to_string(),
        category_id,
        unit_id,
        price,
        cost_price,
        texts: form::text_values(form, TEXT_FIELDS, errors),
        on_shelf: matches!(form.get("on_shelf"), "1" | "on"),
        custom: Map::new(),
    }
}
