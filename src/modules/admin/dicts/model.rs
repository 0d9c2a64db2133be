//! Dictionary admin: list rows, the extras a dictionary declares, the item form and its
//! validation.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::dicts::DictItem;
use crate::web::FormErrors;
use crate::web::i18n::Lang;

pub const LABEL_MAX: usize = 100;
pub const TEXT_MAX: usize = 200;

/// One extra attribute the items of a dictionary carry (`dicts.extras`).
#[derive(Clone, Debug, Deserialize)]
pub struct ExtraSpec {
    pub key: String,
    /// bool | int | decimal | text
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub label_zh: String,
    #[serde(default)]
    pub label_en: String,
}

impl ExtraSpec {
    /// Template-facing (askama passes arguments by reference).
    pub fn label(&self, lang: &Lang) -> &str {
        let l = match lang {
            Lang::Zh => &self.label_zh,
            Lang::En => &self.label_en,
        };
        if l.is_empty() { &self.key } else { l }
    }

    pub fn is_bool(&self) -> bool {
        self.kind == "bool"
    }

    pub fn is_number(&self) -> bool {
        self.kind == "int" || self.kind == "decimal"
    }

    /// The form field carrying this extra.
    pub fn field(&self) -> String {
        format!("x_{}", self.key)
    }

    /// The stored value as the form shows it ("" when absent; bool: "1" when true).
    fn form_value(&self, extra: &Value) -> String {
        match extra.get(&self.key) {
            None | Some(Value::Null) => String::new(),
            Some(Value::Bool(b)) => if *b { "1" } else { "" }.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }

    /// The stored value as the item list shows it; None when absent.
    pub fn display(&self, lang: Lang, extra: &Value) -> Option<String> {
        let v = extra.get(&self.key)?;
        match (self.kind.as_str(), v) {
            (_, Value::Null) => None,
            ("bool", v) => {
                Some(lang.t(if v.as_bool().unwrap_or(false) { "common.yes" } else { "common.no" }).to_string())
            }
            ("decimal", Value::String(s)) => {
                Decimal::from_str(s).map(|d| crate::web::format::money(&d)).ok().or_else(|| Some(s.clone()))
            }
            ("int", Value::Number(n)) => n.as_i64().map(crate::web::format::thousands).or_else(|| Some(n.to_string())),
            (_, Value::String(s)) if s.is_empty() => None,
            (_, Value::String(s)) => Some(s.clone()),
            (_, other) => Some(other.to_string()),
        }
    }

    /// Parse a submitted value; Ok(None) means "not set" (bool: never).
    fn parse(&self, raw: &str) -> Result<Option<Value>, &'static str> {
        let t = raw.trim();
        if self.is_bool() {
            return Ok(Some(Value::Bool(!t.is_empty() && t != "0")));
        }
        if t.is_empty() {
            return Ok(None);
        }
        match self.kind.as_str() {
            "int" => match t.parse::<i64>() {
                Ok(n) if n >= 0 => Ok(Some(Value::from(n))),
                _ => Err("dicts.invalid_int"),
            },
            "decimal" => match Decimal::from_str(&t.replace(',', "")) {
                Ok(d) if !d.is_sign_negative() && d.normalize().scale() <= 2 => {
                    Ok(Some(Value::String(format!("{:.2}", d))))
                }
                _ => Err("dicts.invalid_decimal"),
            },
            _ if t.chars().count() > TEXT_MAX => Err("dicts.too_long"),
            _ => Ok(Some(Value::String(t.to_string()))),
        }
    }
}

/// One line of the dictionary list.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct DictRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub is_tree: bool,
    pub extras: sqlx::types::Json<Vec<ExtraSpec>>,
    pub items: i64,
    pub enabled: i64,
}

impl DictRow {
    pub fn name(&self, lang: &Lang) -> &str {
        match lang {
            Lang::Zh => &self.name_zh,
            Lang::En => &self.name_en,
        }
    }

    pub fn specs(&self) -> &[ExtraSpec] {
        &self.extras.0
    }

    /// The extras' names, for the list ("可冻结", "信用额度, 账期（天）").
    pub fn extras_text(&self, lang: &Lang) -> String {
        self.specs().iter().map(|s| s.label(lang)).collect::<Vec<_>>().join(" · ")
    }
}

/// An extra as the form holds it.
#[derive(Clone, Debug)]
pub struct ExtraInput {
    pub spec: ExtraSpec,
    /// The form field name (`x_<key>`).
    pub name: String,
    pub value: String,
}

impl ExtraInput {
    pub fn checked(&self) -> bool {
        !self.value.is_empty() && self.value != "0"
    }
}

/// The item form, as typed or loaded.
#[derive(Clone, Debug, Default)]
pub struct ItemForm {
    pub label_zh: String,
    pub label_en: String,
    pub parent_id: String,
    pub extras: Vec<ExtraInput>,
}

/// A valid item form.
#[derive(Clone, Debug)]
pub struct ItemInput {
    pub label_zh: String,
    pub label_en: String,
    pub parent_id: Option<i64>,
    /// The declared extras: Some(value) to set, None to remove.
    pub extras: Vec<(String, Option<Value>)>,
}

impl ItemInput {
    /// `old` with the declared extras replaced (undeclared keys are kept as they were).
    pub fn merged_extra(&self, old: &Value) -> Value {
        let mut map: Map<String, Value> = old.as_object().cloned().unwrap_or_default();
        for (key, v) in &self.extras {
            match v {
                Some(v) => {
                    map.insert(key.clone(), v.clone());
                }
                None => {
                    map.remove(key);
                }
            }
        }
        Value::Object(map)
    }
}

impl ItemForm {
    /// An empty form for a new item of a dictionary with these extras.
    pub fn blank(specs: &[ExtraSpec]) -> ItemForm {
        ItemForm {
            extras: specs
                .iter()
                .map(|s| ExtraInput { spec: s.clone(), name: s.field(), value: String::new() })
                .collect(),
            ..ItemForm::default()
        }
    }

    pub fn from_item(item: &DictItem, specs: &[ExtraSpec]) -> ItemForm {
        ItemForm {
            label_zh: item.label_zh.clone(),
            label_en: item.label_en.clone(),
            parent_id: item.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            extras: specs
                .iter()
                .map(|s| ExtraInput { spec: s.clone(), name: s.field(), value: s.form_value(&item.extra) })
                .collect(),
        }
    }

    /// Read a submitted form; fields it does not know are ignored.
    pub fn from_pairs(pairs: &[(String, String)], specs: &[ExtraSpec]) -> ItemForm {
        let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let mut form = ItemForm::blank(specs);
        form.label_zh = get("label_zh");
        form.label_en = get("label_en");
        form.parent_id = get("parent_id");
        for x in &mut form.extras {
            x.value = get(&x.name);
        }
        form
    }

    /// Check everything that needs no database; the parent is checked by the caller.
    pub fn validate(&self, errors: &mut FormErrors, is_tree: bool) -> Option<ItemInput> {
        let label = |errors: &mut FormErrors, field: &str, v: &str| {
            let t = v.trim();
            if t.is_empty() {
                errors.add(field, "form.required");
            } else if t.chars().count() > LABEL_MAX {
                errors.add(field, "dicts.too_long");
            }
            t.to_string()
        };
        let label_zh = label(errors, "label_zh", &self.label_zh);
        let label_en = label(errors, "label_en", &self.label_en);
        let parent_id = if is_tree { crate::web::forms::opt_id(errors, "parent_id", &self.parent_id) } else { None };
        let mut extras = Vec::new();
        for x in &self.extras {
            match x.spec.parse(&x.value) {
                Ok(v) => extras.push((x.spec.key.clone(), v)),
                Err(key) => errors.add(&x.name, key),
            }
        }
        errors.is_empty().then_some(ItemInput { label_zh, label_en, parent_id, extras })
    }
}

/// Move `id` one place up or down among its siblings (`(id, position)` in display order).
/// Returns `(id, old position, new position)` for every sibling whose position changes; empty
/// when it is already first/last. Positions stay strictly increasing even if some were equal.
pub fn reorder(siblings: &[(i64, i32)], id: i64, up: bool) -> Vec<(i64, i32, i32)> {
    let Some(at) = siblings.iter().position(|s| s.0 == id) else {
        return Vec::new();
    };
    let other = if up { at.checked_sub(1) } else { Some(at + 1).filter(|&o| o < siblings.len()) };
    let Some(other) = other else {
        return Vec::new();
    };
    let mut moved: Vec<(i64, i32)> = siblings.to_vec();
    moved.swap(at, other);
    let mut out = Vec::new();
    let mut prev: Option<i32> = None;
    for (k, &(item, old)) in moved.iter().enumerate() {
        let slot = siblings[k].1;
        let pos = match prev {
            Some(p) if slot <= p => p + 1,
            _ => slot,
        };
        prev = Some(pos);
        if pos != old {
            out.push((item, old, pos));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorder_swaps_neighbours() {
        let s = [(10, 1), (11, 2), (12, 3)];
        assert_eq!(reorder(&s, 11, true), vec![(11, 2, 1), (10, 1, 2)]);
        assert_eq!(reorder(&s, 11, false), vec![(12, 3, 2), (11, 2, 3)]);
        assert!(reorder(&s, 10, true).is_empty());
        assert!(reorder(&s, 12, false).is_empty());
        // Equal positions get spread out.
        let s = [(1, 5), (2, 5), (3, 5)];
        assert_eq!(reorder(&s, 3, true), vec![(3, 5, 6), (2, 5, 7)]);
    }

    fn spec(key: &str, kind: &str) -> ExtraSpec {
        ExtraSpec { key: key.into(), kind: kind.into(), label_zh: String::new(), label_en: String::new() }
    }

    #[test]
    fn extras_parse() {
        let d = spec("credit_limit", "decimal");
        assert_eq!(d.parse("300000").unwrap(), Some(Value::String("300000.00".into())));
        assert_eq!(d.parse("1,000.5").unwrap(), Some(Value::String("1000.50".into())));
        assert!(d.parse("1.234").is_err());
        assert!(d.parse("-1").is_err());
        assert!(d.parse("abc").is_err());
        assert_eq!(d.parse(" ").unwrap(), None);
        let i = spec("days", "int");
        assert_eq!(i.parse("30").unwrap(), Some(Value::from(30)));
        assert!(i.parse("3.5").is_err());
        let b = spec("can_freeze", "bool");
        assert_eq!(b.parse("").unwrap(), Some(Value::Bool(false)));
        assert_eq!(b.parse("1").unwrap(), Some(Value::Bool(true)));
    }
}
