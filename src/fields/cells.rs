//! Custom fields in spreadsheets: which column a field is, what an exported cell holds, and how
//! an imported cell becomes a stored value. Every module's import and export use these, so a file
//! exported from the CRM imports back unchanged and people can type what they read on screen:
//! option labels (not internal values), user names, local times, 是/否.
//!
//! Readers hand cells over as text (a date cell as `2026-11-23` or `2026-11-23 00:00:00`, a number
//! as `12` or `12.0`); writers get typed `Cell`s so numbers stay numbers in the spreadsheet.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sqlx::PgPool;

use super::{FieldDef, Kind, display, parse_local_datetime, parse_one};
use crate::web::i18n::Lang;

/// One exported cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(Decimal),
}

/// The column header of a field in an exported file: its label in the reader's language.
pub fn header(def: &FieldDef, lang: Lang) -> String {
    def.label(lang).to_string()
}

/// The field an imported column header names: its Chinese or English label, or its key, so a
/// file exported in either language (or written by hand) maps the same way.
pub fn field_for_header<'a>(defs: &'a [FieldDef], header: &str) -> Option<&'a FieldDef> {
    let h = header.trim();
    defs.iter().find(|d| d.label_zh == h || d.label_en.eq_ignore_ascii_case(h) || d.key.eq_ignore_ascii_case(h))
}

/// The exported cell of a stored value.
pub fn export_cell(
    def: &FieldDef,
    v: Option<&Value>,
    lang: Lang,
    tz: FixedOffset,
    users: &HashMap<i64, String>,
) -> Cell {
    match (def.kind(), v) {
        (_, None | Some(Value::Null)) => Cell::Empty,
        (Kind::Integer, Some(Value::Number(n))) => n.as_i64().map(|i| Cell::Number(i.into())).unwrap_or(Cell::Empty),
        (Kind::Decimal, Some(Value::String(s))) => {
            s.parse().map(Cell::Number).unwrap_or_else(|_| Cell::Text(s.clone()))
        }
        _ => match display(def, v, lang, tz, users) {
            s if s.is_empty() => Cell::Empty,
            s => Cell::Text(s),
        },
    }
}

/// Active users an imported `user` cell may name: by login, by "name (login)", or by a name no
/// one else has.
pub struct UserDirectory {
    by_login: HashMap<String, i64>,
    by_name: HashMap<String, Vec<i64>>,
}

impl UserDirectory {
    pub fn new(users: impl IntoIterator<Item = (i64, String, String)>) -> Self {
        let mut dir = UserDirectory { by_login: HashMap::new(), by_name: HashMap::new() };
        for (id, name, login) in users {
            dir.by_login.insert(login.to_lowercase(), id);
            dir.by_name.entry(name).or_default().push(id);
        }
        dir
    }

    pub async fn load(db: &PgPool) -> sqlx::Result<Self> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, name, login FROM users WHERE status = 'active'").fetch_all(db).await?;
        Ok(Self::new(rows))
    }

    fn find(&self, cell: &str) -> Result<i64, &'static str> {
        // "张三 (13800000001)" or "张三（13800000001）": the login in brackets decides.
        let inner = cell
            .strip_suffix(')')
            .and_then(|s| s.rsplit_once('('))
            .or_else(|| cell.strip_suffix('）').and_then(|s| s.rsplit_once('（')))
            .map(|(_, login)| login.trim());
        if let Some(id) = self.by_login.get(&inner.unwrap_or(cell).to_lowercase()) {
            return Ok(*id);
        }
        match self.by_name.get(cell).map(Vec::as_slice) {
            Some([id]) => Ok(*id),
            Some([_, _, ..]) => Err("fields.error.user_ambiguous"),
            _ => Err("fields.error.user_unknown"),
        }
    }
}

/// A problem with one cell of an imported row: the field and a translation key.
#[derive(Clone, Debug, PartialEq)]
pub struct CellError {
    pub key: String,
    pub message: &'static str,
}

/// The custom values of one imported row. `cells` holds, per field key, the text of its column;
/// a field with no column counts as empty. Every bad cell is reported, and nothing is returned
/// unless all are good, so the caller keeps or rejects the row whole.
pub fn import_row(
    defs: &[FieldDef],
    cells: &HashMap<String, String>,
    tz: FixedOffset,
    users: &UserDirectory,
) -> Result<Map<String, Value>, Vec<CellError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for def in defs {
        let text = cells.get(&def.key).map(|s| s.trim()).unwrap_or("");
        match import_cell(def, text, tz, users) {
            Ok(Some(v)) => {
                out.insert(def.key.clone(), v);
            }
            Ok(None) if def.required => errors.push(CellError { key: def.key.clone(), message: "form.required" }),
            Ok(None) => {}
            Err(message) => errors.push(CellError { key: def.key.clone(), message }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// One cell to its stored value; `None` for an empty cell (an unticked boolean is `false`, as on
/// the form, and a required boolean must be yes).
fn import_cell(
    def: &FieldDef,
    text: &str,
    tz: FixedOffset,
    users: &UserDirectory,
) -> Result<Option<Value>, &'static str> {
    let kind = def.kind();
    if kind == Kind::Boolean {
        let yes = match text.to_lowercase().as_str() {
            "是" | "yes" | "y" | "true" | "1" | "√" => true,
            "否" | "no" | "n" | "false" | "0" | "×" | "" => false,
            _ => return Err("fields.error.boolean"),
        };
        return Ok((yes || !def.required).then_some(Value::Bool(yes)));
    }
    if text.is_empty() {
        return Ok(None);
    }
    let value = match kind {
        Kind::Select => json!(option_value(def, text)?),
        Kind::MultiSelect => {
            let parts = text.split(['、', ',', '，', ';', '；', '\n']).map(str::trim).filter(|s| !s.is_empty());
            let values = parts.map(|p| option_value(def, p)).collect::<Result<Vec<_>, _>>()?;
            if values.is_empty() {
                return Ok(None);
            }
            json!(values)
        }
        Kind::Integer => {
            let d: Decimal = text.replace(',', "").parse().map_err(|_| "fields.error.integer")?;
            let whole = i64::try_from(d).ok().filter(|_| d.fract().is_zero());
            json!(whole.ok_or("fields.error.integer")?)
        }
        Kind::Date => json!(spreadsheet_date(text).ok_or("fields.error.date")?.to_string()),
        Kind::DateTime => json!(spreadsheet_datetime(text, tz).ok_or("fields.error.datetime")?.to_rfc3339()),
        Kind::User => json!(users.find(text)?),
        _ => parse_one(kind, def, text, tz, &[])?,
    };
    Ok(Some(value))
}

/// An option by its value or its label in either language.
fn option_value(def: &FieldDef, text: &str) -> Result<String, &'static str> {
    def.options
        .iter()
        .find(|c| c.value == text || c.zh == text || c.en.eq_ignore_ascii_case(text))
        .map(|c| c.value.clone())
        .ok_or("fields.error.option")
}

/// `2026-11-23`, `2026/11/23`, `2026.11.23`, `2026年11月23日`, or a date cell read with its
/// midnight time.
fn spreadsheet_date(text: &str) -> Option<NaiveDate> {
    let normal = dashed(text);
    let day = normal.split(' ').next().unwrap_or("");
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

fn spreadsheet_datetime(text: &str, tz: FixedOffset) -> Option<DateTime<Utc>> {
    let normal = dashed(text);
    parse_local_datetime(&normal, tz).or_else(|| {
        let naive = chrono::NaiveDateTime::parse_from_str(&normal, "%Y-%m-%d %H:%M:%S").ok()?;
        naive.and_local_timezone(tz).single().map(|d| d.with_timezone(&Utc))
    })
}

fn dashed(text: &str) -> String {
    text.trim().replace(['/', '.', '年', '月'], "-").replace('日', "")
}

#[cfg(test)]
mod tests {
    use super::super::Choice;
    use super::*;

    fn def(key: &str, kind: &str) -> FieldDef {
        FieldDef {
            id: 1,
            entity: "customer".into(),
            key: key.into(),
            label_zh: format!("字段{key}"),
            label_en: format!("Field {key}"),
            kind: kind.into(),
            options: sqlx::types::Json(vec![
                Choice { value: "vip".into(), zh: "贵宾".into(), en: "VIP".into() },
                Choice { value: "std".into(), zh: "普通".into(), en: "Standard".into() },
            ]),
            required: false,
            is_unique: false,
            position: 0,
            active: true,
        }
    }

    fn tz() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn users() -> UserDirectory {
        UserDirectory::new([
            (7, "张三".to_string(), "13800000007".to_string()),
            (8, "李四".to_string(), "13800000008".to_string()),
            (9, "李四".to_string(), "13800000009".to_string()),
        ])
    }

    fn one(kind: &str, text: &str) -> Result<Option<Value>, &'static str> {
        import_cell(&def("k", kind), text, tz(), &users())
    }

    /// What the CRM exports, it imports back to the same stored value, in both languages.
    #[test]
    fn every_kind_round_trips_through_a_cell() {
        let names = HashMap::from([(7, "张三".to_string())]);
        let stored = [
            ("text", json!("华信科技")),
            ("textarea", json!("第一行\n第二行")),
            ("integer", json!(1200)),
            ("decimal", json!("12345.5")),
            ("date", json!("2026-11-23")),
            ("datetime", json!("2026-11-23T06:30:00+00:00")),
            ("select", json!("vip")),
            ("multiselect", json!(["vip", "std"])),
            ("boolean", json!(true)),
            ("email", json!("a@b.cn")),
            ("phone", json!("010-88886666")),
            ("url", json!("https://example.cn")),
            ("user", json!(7)),
        ];
        assert_eq!(stored.len(), Kind::ALL.len());
        for lang in [Lang::Zh, Lang::En] {
            for (kind, v) in &stored {
                let text = match export_cell(&def("k", kind), Some(v), lang, tz(), &names) {
                    Cell::Text(s) => s,
                    Cell::Number(n) => n.to_string(),
                    Cell::Empty => panic!("{kind} exported empty"),
                };
                assert_eq!(one(kind, &text), Ok(Some(v.clone())), "{kind} via {text:?}");
            }
        }
    }

    #[test]
    fn numbers_export_as_numbers() {
        let none = HashMap::new();
        let cell = export_cell(&def("k", "decimal"), Some(&json!("1234.5")), Lang::Zh, tz(), &none);
        assert_eq!(cell, Cell::Number("1234.5".parse().unwrap()));
        assert_eq!(export_cell(&def("k", "integer"), None, Lang::Zh, tz(), &none), Cell::Empty);
    }

    #[test]
    fn spreadsheet_spellings_are_understood() {
        assert_eq!(one("date", "2026/1/5"), Ok(Some(json!("2026-01-05"))));
        assert_eq!(one("date", "2026年11月23日"), Ok(Some(json!("2026-11-23"))));
        assert_eq!(one("date", "2026-11-23 00:00:00"), Ok(Some(json!("2026-11-23"))));
        assert_eq!(one("datetime", "2026/11/23 14:30:00"), Ok(Some(json!("2026-11-23T06:30:00+00:00"))));
        assert_eq!(one("integer", "12.0"), Ok(Some(json!(12))));
        assert_eq!(one("select", "standard"), Ok(Some(json!("std"))));
        assert_eq!(one("multiselect", "贵宾，Standard"), Ok(Some(json!(["vip", "std"]))));
        assert_eq!(one("boolean", "否"), Ok(Some(json!(false))));
        assert_eq!(one("boolean", ""), Ok(Some(json!(false))));
        assert_eq!(one("user", "13800000008"), Ok(Some(json!(8))));
        assert_eq!(one("user", "李四（13800000009）"), Ok(Some(json!(9))));
    }

    #[test]
    fn bad_cells_name_what_is_wrong() {
        assert_eq!(one("integer", "12.5"), Err("fields.error.integer"));
        assert_eq!(one("date", "下周一"), Err("fields.error.date"));
        assert_eq!(one("select", "金牌"), Err("fields.error.option"));
        assert_eq!(one("multiselect", "贵宾、金牌"), Err("fields.error.option"));
        assert_eq!(one("boolean", "maybe"), Err("fields.error.boolean"));
        assert_eq!(one("user", "李四"), Err("fields.error.user_ambiguous"));
        assert_eq!(one("user", "王五"), Err("fields.error.user_unknown"));
        assert_eq!(one("email", "not-mail"), Err("form.invalid_email"));
    }

    #[test]
    fn a_row_is_kept_only_when_every_cell_is_good() {
        let mut level = def("level", "select");
        level.required = true;
        let defs = [level, def("visits", "integer"), def("vip", "boolean")];
        let h = |k: &str, v: &str| (k.to_string(), v.to_string());

        let good = HashMap::from([h("level", "贵宾"), h("visits", "3")]);
        let row = import_row(&defs, &good, tz(), &users()).unwrap();
        assert_eq!(Value::Object(row), json!({"level": "vip", "visits": 3, "vip": false}));

        let bad = HashMap::from([h("visits", "three")]);
        let errors = import_row(&defs, &bad, tz(), &users()).unwrap_err();
        let found: Vec<_> = errors.iter().map(|e| (e.key.as_str(), e.message)).collect();
        assert_eq!(found, [("level", "form.required"), ("visits", "fields.error.integer")]);
    }

    #[test]
    fn headers_match_either_language_or_the_key() {
        let defs = [def("level", "select"), def("visits", "integer")];
        assert_eq!(field_for_header(&defs, " 字段visits ").map(|d| d.key.as_str()), Some("visits"));
        assert_eq!(field_for_header(&defs, "field LEVEL").map(|d| d.key.as_str()), Some("level"));
        assert_eq!(field_for_header(&defs, "visits").map(|d| d.key.as_str()), Some("visits"));
        assert!(field_for_header(&defs, "客户名称").is_none());
        assert_eq!(header(&defs[0], Lang::En), "Field level");
    }
}
