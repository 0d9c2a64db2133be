//! Custom fields: admin-defined extra fields per entity, stored in the entity's `custom jsonb`.
//!
//! Every module uses these pieces the same way:
//! - `defs(db, entity)` — the active field definitions, in order;
//! - `parse(...)` — read submitted `cf_<key>` values into a JSON object, with per-field errors
//!   (a stored value that is no longer offered — a disabled user, a removed option — is accepted
//!   while it is left unchanged), and `keep_hidden(...)` — carry over stored values of
//!   deactivated fields when saving;
//! - `check_unique(...)` — enforce fields marked unique (under a per-field advisory lock);
//! - `inactive_users(...)`, `inputs(...)` + `templates/partials/custom_fields.html` — render form
//!   inputs (stored values no longer offered are shown, marked);
//! - `display(...)` — show a stored value on detail pages and list columns;
//! - `CustomFilter` + `push_filter(...)` — list filters (equality, ranges, contains);
//! - `cells` — spreadsheet columns for import and export.
//!
//! Stored shapes: text-like → string; integer → number; decimal → string ("1234.50", exact);
//! date → "YYYY-MM-DD"; datetime → RFC 3339 UTC; select → option value; multiselect → array of
//! option values; boolean → bool; user → user id (number).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::web::forms::{is_email, is_mobile};
use crate::web::i18n::Lang;
use crate::web::{FormErrors, SelectOpt};

pub mod cells;

/// Entities that can carry custom fields: the registered record kinds that take them, with
/// their tables, in registration order.
pub fn entities() -> Vec<(&'static str, &'static str)> {
    crate::registry::get().records().filter(|r| r.features.custom_fields).map(|r| (r.entity, r.table)).collect()
}

pub fn table_of(entity: &str) -> Option<&'static str> {
    entities().into_iter().find(|(e, _)| *e == entity).map(|(_, t)| t)
}

pub fn is_entity(entity: &str) -> bool {
    table_of(entity).is_some()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Textarea,
    Integer,
    Decimal,
    Date,
    DateTime,
    Select,
    MultiSelect,
    Boolean,
    Email,
    Phone,
    Url,
    User,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Text,
        Kind::Textarea,
        Kind::Integer,
        Kind::Decimal,
        Kind::Date,
        Kind::DateTime,
        Kind::Select,
        Kind::MultiSelect,
        Kind::Boolean,
        Kind::Email,
        Kind::Phone,
        Kind::Url,
        Kind::User,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Textarea => "textarea",
            Kind::Integer => "integer",
            Kind::Decimal => "decimal",
            Kind::Date => "date",
            Kind::DateTime => "datetime",
            Kind::Select => "select",
            Kind::MultiSelect => "multiselect",
            Kind::Boolean => "boolean",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Url => "url",
            Kind::User => "user",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.code() == code)
    }

    pub fn has_options(self) -> bool {
        matches!(self, Kind::Select | Kind::MultiSelect)
    }

    /// How the list filter for this kind works.
    pub fn filter_style(self) -> FilterStyle {
        match self {
            Kind::Integer | Kind::Decimal | Kind::Date | Kind::DateTime => FilterStyle::Range,
            Kind::Select | Kind::MultiSelect | Kind::Boolean | Kind::User => FilterStyle::Choice,
            _ => FilterStyle::Contains,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterStyle {
    Contains,
    Range,
    Choice,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Choice {
    pub value: String,
    pub zh: String,
    pub en: String,
}

impl Choice {
    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FieldDef {
    pub id: i64,
    pub entity: String,
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub kind: String,
    pub options: sqlx::types::Json<Vec<Choice>>,
    pub required: bool,
    pub is_unique: bool,
    pub position: i32,
    pub active: bool,
}

impl FieldDef {
    pub fn kind(&self) -> Kind {
        Kind::from_code(&self.kind).unwrap_or(Kind::Text)
    }

    pub fn label(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.label_zh,
            Lang::En => &self.label_en,
        }
    }

    /// The form field name: `cf_<key>`.
    pub fn input_name(&self) -> String {
        format!("cf_{}", self.key)
    }

    pub fn choice(&self, value: &str) -> Option<&Choice> {
        self.options.iter().find(|c| c.value == value)
    }
}

const COLUMNS: &str = "id, entity, key, label_zh, label_en, kind, options, required, is_unique, position, active";

/// Active field definitions of an entity, in display order.
pub async fn defs(db: &PgPool, entity: &str) -> sqlx::Result<Vec<FieldDef>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM field_defs WHERE entity = $1 AND active ORDER BY position, id"))
        .bind(entity)
        .fetch_all(db)
        .await
}

/// Every definition of an entity, inactive ones included (admin page).
pub async fn all_defs(db: &PgPool, entity: &str) -> sqlx::Result<Vec<FieldDef>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM field_defs WHERE entity = $1 ORDER BY position, id"))
        .bind(entity)
        .fetch_all(db)
        .await
}

pub async fn find(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<FieldDef>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM field_defs WHERE id = $1")).bind(id).fetch_optional(db).await
}

/// Values of repeated form keys, e.g. every `cf_tags` of a multi-select.
fn submitted<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

/// Read the submitted values of `defs` from the form pairs. Invalid or missing required values
/// add an error under the field's input name; the result holds only valid, non-empty values.
/// `users` are the ids a `user` field may name (active users). `stored` is the record's saved
/// `custom` (None when creating): a value that is no longer offered — a user disabled since, a
/// select option removed since — is kept when submitted unchanged, so such a record still saves.
pub fn parse(
    defs: &[FieldDef],
    pairs: &[(String, String)],
    stored: Option<&Map<String, Value>>,
    tz: FixedOffset,
    users: &[i64],
    errors: &mut FormErrors,
) -> Map<String, Value> {
    let mut out = Map::new();
    for def in defs {
        let name = def.input_name();
        let raw = submitted(pairs, &name);
        let first = raw.first().map(|s| s.trim()).unwrap_or("");
        let kind = def.kind();
        let kept = stored.and_then(|s| s.get(&def.key));
        if kind == Kind::MultiSelect {
            let chosen: Vec<&str> = raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
            let was_stored = |v: &str| kept.and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == v));
            if chosen.iter().any(|v| def.choice(v).is_none() && !was_stored(v)) {
                errors.add(&name, "fields.error.option");
            } else if chosen.is_empty() {
                if def.required {
                    errors.add(&name, "form.required");
                }
            } else {
                out.insert(def.key.clone(), json!(chosen));
            }
            continue;
        }
        if kind == Kind::Boolean {
            // A checkbox: present means yes. Required means it must be ticked.
            let yes = matches!(first, "1" | "true" | "on" | "yes");
            if def.required && !yes {
                errors.add(&name, "form.required");
            }
            out.insert(def.key.clone(), Value::Bool(yes));
            continue;
        }
        if first.is_empty() {
            if def.required {
                errors.add(&name, "form.required");
            }
            continue;
        }
        if let Some(v) = kept.filter(|v| unchanged(kind, v, first)) {
            out.insert(def.key.clone(), v.clone());
            continue;
        }
        match parse_one(kind, def, first, tz, users) {
            Ok(v) => {
                out.insert(def.key.clone(), v);
            }
            Err(key) => errors.add(&name, key),
        }
    }
    out
}

fn parse_one(kind: Kind, def: &FieldDef, v: &str, tz: FixedOffset, users: &[i64]) -> Result<Value, &'static str> {
    Ok(match kind {
        Kind::Text | Kind::Textarea => {
            if v.chars().count() > 2000 {
                return Err("fields.error.too_long");
            }
            json!(v)
        }
        Kind::Integer => json!(v.replace(',', "").parse::<i64>().map_err(|_| "fields.error.integer")?),
        Kind::Decimal => {
            let d = Decimal::from_str(&v.replace(',', "")).map_err(|_| "fields.error.decimal")?;
            if d.scale() > 4 {
                return Err("fields.error.decimal");
            }
            json!(d.normalize().to_string())
        }
        Kind::Date => json!(NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| "fields.error.date")?.to_string()),
        Kind::DateTime => json!(parse_local_datetime(v, tz).ok_or("fields.error.datetime")?.to_rfc3339()),
        Kind::Select => {
            def.choice(v).ok_or("fields.error.option")?;
            json!(v)
        }
        Kind::Email => {
            if !is_email(v) {
                return Err("form.invalid_email");
            }
            json!(v)
        }
        Kind::Phone => {
            let ok = is_mobile(v)
                || (v.len() >= 5 && v.len() <= 20 && v.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)));
            if !ok {
                return Err("fields.error.phone");
            }
            json!(v)
        }
        Kind::Url => {
            // A custom address is typed with its scheme (the input is `type="url"`), http(s) only.
            let lower = v.to_ascii_lowercase();
            let typed_scheme = lower.starts_with("http://") || lower.starts_with("https://");
            json!(crate::web::forms::web_url(v).filter(|_| typed_scheme).ok_or("fields.error.url")?)
        }
        Kind::User => {
            let id: i64 = v.parse().map_err(|_| "form.invalid")?;
            if !users.contains(&id) {
                return Err("form.invalid");
            }
            json!(id)
        }
        Kind::MultiSelect | Kind::Boolean => unreachable!("handled by the caller"),
    })
}

/// Whether the submitted text is the stored value of a select or user field (which may no
/// longer be offered). Other kinds are always parsed afresh.
fn unchanged(kind: Kind, stored: &Value, submitted: &str) -> bool {
    match (kind, stored) {
        (Kind::Select, Value::String(s)) => s == submitted,
        (Kind::User, Value::Number(n)) => n.as_i64().is_some_and(|id| submitted.parse() == Ok(id)),
        _ => false,
    }
}

/// `2026-11-23T14:30` (an `<input type=datetime-local>`) in the configured timezone.
pub fn parse_local_datetime(v: &str, tz: FixedOffset) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M"))
        .ok()?;
    tz.from_local_datetime(&naive).single().map(|d| d.with_timezone(&Utc))
}

/// Keep in `parsed` what the form could not show: stored values of fields that are not among the
/// active `defs` (deactivated since), so deactivating a field never loses data on the next save.
pub fn keep_hidden(defs: &[FieldDef], stored: &Map<String, Value>, parsed: &mut Map<String, Value>) {
    for (key, v) in stored {
        if !defs.iter().any(|d| &d.key == key) {
            parsed.insert(key.clone(), v.clone());
        }
    }
}

/// Fields marked unique must not repeat a value another (live) record holds. Call it inside the
/// transaction that writes the record.
/// Whether `values` fill a unique field (one `check_unique` would look up).
pub fn has_unique_value(defs: &[FieldDef], values: &Map<String, Value>) -> bool {
    defs.iter().filter(|d| d.is_unique).any(|d| values.get(&d.key).is_some_and(|v| !matches!(v, Value::Bool(_))))
}

pub async fn check_unique(
    conn: &mut PgConnection,
    entity: &str,
    defs: &[FieldDef],
    values: &Map<String, Value>,
    except_id: Option<i64>,
    errors: &mut FormErrors,
) -> sqlx::Result<()> {
    let Some(table) = table_of(entity) else {
        return Ok(());
    };
    for def in defs.iter().filter(|d| d.is_unique) {
        let Some(v) = values.get(&def.key) else {
            continue;
        };
        if matches!(v, Value::Bool(_)) {
            continue;
        }
        // Two records saved at the same moment with the same value would both pass the check:
        // serialise the check-and-write per field until the caller's transaction ends.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("field_unique:{entity}:{}", def.key))
            .execute(&mut *conn)
            .await?;
        let taken: bool = sqlx::query_scalar(&format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE custom @> jsonb_build_object($1::text, $2::jsonb)
               AND id IS DISTINCT FROM $3 AND deleted_at IS NULL)"
        ))
        .bind(&def.key)
        .bind(v)
        .bind(except_id)
        .fetch_one(&mut *conn)
        .await?;
        if taken {
            errors.add(&def.input_name(), "fields.error.unique");
        }
    }
    Ok(())
}

/// A value stored in `key` that repeats on live records of `entity` (shown as stored), if any:
/// such a field cannot be made unique until the records differ.
pub async fn first_repeat(conn: &mut PgConnection, entity: &str, key: &str) -> sqlx::Result<Option<Value>> {
    let Some(table) = table_of(entity) else {
        return Ok(None);
    };
    sqlx::query_scalar(&format!(
        "SELECT custom -> $1 FROM {table}
          WHERE deleted_at IS NULL AND custom -> $1 IS NOT NULL AND custom -> $1 <> 'null'::jsonb
          GROUP BY custom -> $1 HAVING count(*) > 1 LIMIT 1"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await
}

/// Names of the users that `stored` values of `user` fields name but who are no longer active:
/// the form still shows them (marked), and `parse` keeps them while unchanged.
pub async fn inactive_users(
    db: &PgPool,
    defs: &[FieldDef],
    stored: &Map<String, Value>,
) -> sqlx::Result<HashMap<i64, String>> {
    let ids: Vec<i64> = defs
        .iter()
        .filter(|d| d.kind() == Kind::User)
        .filter_map(|d| stored.get(&d.key).and_then(Value::as_i64))
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1) AND status <> 'active'")
            .bind(&ids)
            .fetch_all(db)
            .await?;
    Ok(rows.into_iter().collect())
}

/// One custom input as the form template needs it.
#[derive(Clone, Debug)]
pub struct FieldInput {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    /// The single value as the input shows it.
    pub value: String,
    /// Chosen values (multi-select).
    pub values: Vec<String>,
    pub options: Vec<SelectOpt>,
    pub error: Option<String>,
}

impl FieldInput {
    pub fn is_chosen(&self, value: &str) -> bool {
        self.values.iter().any(|v| v == value) || self.value == value
    }

    pub fn is_checked(&self) -> bool {
        matches!(self.value.as_str(), "1" | "true" | "on" | "yes")
    }
}

/// Inputs for `defs`: showing what was submitted (a re-rendered form) or else the stored values.
/// A stored value that is no longer offered stays selectable, marked: a removed option by its
/// value, a disabled user (named in `inactive`, see `inactive_users`) by name.
#[allow(clippy::too_many_arguments)]
pub fn inputs(
    defs: &[FieldDef],
    stored: &Map<String, Value>,
    submitted_pairs: Option<&[(String, String)]>,
    errors: &FormErrors,
    lang: Lang,
    tz: FixedOffset,
    user_options: &[SelectOpt],
    inactive: &HashMap<i64, String>,
) -> Vec<FieldInput> {
    defs.iter()
        .map(|def| {
            let name = def.input_name();
            let kind = def.kind();
            let (value, values) = match submitted_pairs {
                Some(pairs) => {
                    let vals: Vec<String> = submitted(pairs, &name).into_iter().map(str::to_string).collect();
                    (vals.first().cloned().unwrap_or_default(), vals)
                }
                None => stored_as_input(kind, stored.get(&def.key), tz),
            };
            let kept = stored.get(&def.key);
            let mut options: Vec<SelectOpt> = match kind {
                Kind::Select | Kind::MultiSelect => {
                    def.options.iter().map(|c| SelectOpt::new(&c.value, c.label(lang))).collect()
                }
                Kind::User => user_options.to_vec(),
                _ => Vec::new(),
            };
            match (kind, kept) {
                (Kind::Select, Some(Value::String(v))) if def.choice(v).is_none() => {
                    options.push(SelectOpt::new(v, lang.tf("fields.value.removed_option", &[("value", v)])));
                }
                (Kind::MultiSelect, Some(Value::Array(items))) => {
                    for v in items.iter().filter_map(Value::as_str).filter(|v| def.choice(v).is_none()) {
                        options.push(SelectOpt::new(v, lang.tf("fields.value.removed_option", &[("value", v)])));
                    }
                }
                (Kind::User, Some(Value::Number(n))) => {
                    if let Some((id, name)) = n.as_i64().and_then(|id| inactive.get_key_value(&id)) {
                        options.push(SelectOpt::new(id, lang.tf("fields.value.disabled_user", &[("name", name)])));
                    }
                }
                _ => {}
            }
            FieldInput {
                label: def.label(lang).to_string(),
                kind: kind.code(),
                required: def.required,
                error: errors.get(&name).map(str::to_string),
                name,
                value,
                values,
                options,
            }
        })
        .collect()
}

fn stored_as_input(kind: Kind, v: Option<&Value>, tz: FixedOffset) -> (String, Vec<String>) {
    match (kind, v) {
        (_, None) | (_, Some(Value::Null)) => (String::new(), Vec::new()),
        (Kind::MultiSelect, Some(Value::Array(items))) => {
            (String::new(), items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
        }
        (Kind::Boolean, Some(Value::Bool(b))) => ((if *b { "1" } else { "" }).to_string(), Vec::new()),
        (Kind::DateTime, Some(Value::String(s))) => {
            let local = DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default();
            (local, Vec::new())
        }
        (_, Some(Value::String(s))) => (s.clone(), Vec::new()),
        (_, Some(other)) => (other.to_string(), Vec::new()),
    }
}

/// A stored value as text for people: option labels, user names, local times, 是/否.
pub fn display(def: &FieldDef, v: Option<&Value>, lang: Lang, tz: FixedOffset, users: &HashMap<i64, String>) -> String {
    let Some(v) = v else { return String::new() };
    match (def.kind(), v) {
        (_, Value::Null) => String::new(),
        (Kind::Select, Value::String(s)) => {
            def.choice(s).map(|c| c.label(lang).to_string()).unwrap_or_else(|| s.clone())
        }
        (Kind::MultiSelect, Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str())
            .map(|s| def.choice(s).map(|c| c.label(lang).to_string()).unwrap_or_else(|| s.to_string()))
            .collect::<Vec<_>>()
            .join("、"),
        (Kind::Boolean, Value::Bool(b)) => lang.t(if *b { "common.yes" } else { "common.no" }).to_string(),
        (Kind::User, Value::Number(n)) => n.as_i64().and_then(|id| users.get(&id).cloned()).unwrap_or_default(),
        (Kind::DateTime, Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(|d| crate::web::format::datetime(&d.with_timezone(&Utc), tz))
            .unwrap_or_else(|_| s.clone()),
        (Kind::Decimal, Value::String(s)) => {
            Decimal::from_str(s).map(|d| crate::web::format::money(&d)).unwrap_or_else(|_| s.clone())
        }
        (Kind::Integer, Value::Number(n)) => {
            n.as_i64().map(crate::web::format::thousands).unwrap_or_else(|| n.to_string())
        }
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

/// Names of the users that `user`-type custom fields point at in these stored values (one
/// query for a list page or a detail page).
pub async fn user_names<'a>(
    db: &PgPool,
    defs: &[FieldDef],
    values: impl Iterator<Item = &'a Map<String, Value>>,
) -> sqlx::Result<HashMap<i64, String>> {
    let keys: Vec<&str> = defs.iter().filter(|d| d.kind() == Kind::User).map(|d| d.key.as_str()).collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = values.flat_map(|m| keys.iter().filter_map(|k| m.get(*k).and_then(|v| v.as_i64()))).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1)").bind(&ids).fetch_all(db).await?;
    Ok(rows.into_iter().collect())
}

/// Custom values as the history keeps them (`audit::Snapshot`): by the field's Chinese label,
/// shown as people read them (a user field keeps the user's id: names change).
pub fn snapshot(defs: &[FieldDef], custom: &Map<String, Value>, tz: FixedOffset) -> Vec<(String, Value)> {
    let names = HashMap::new();
    defs.iter()
        .map(|def| {
            let shown = match def.kind() {
                Kind::User => custom.get(&def.key).map(|v| v.to_string()).unwrap_or_default(),
                _ => display(def, custom.get(&def.key), Lang::Zh, tz, &names),
            };
            (def.label_zh.clone(), if shown.is_empty() { Value::Null } else { json!(shown) })
        })
        .collect()
}

/// A list column `cf:<key>` of these stored values, shown for people; None for other columns.
pub fn column_text(
    column: &str,
    defs: &[FieldDef],
    custom: &Map<String, Value>,
    lang: Lang,
    tz: FixedOffset,
    users: &HashMap<i64, String>,
) -> Option<String> {
    let def = column.strip_prefix("cf:").and_then(|key| defs.iter().find(|d| d.key == key))?;
    Some(display(def, custom.get(&def.key), lang, tz, users))
}

/// A list filter on one custom field, read from the query string: `cf_<key>` (contains or
/// choice) and `cf_<key>_from` / `cf_<key>_to` (ranges). Empty strings mean "no filter".
#[derive(Clone, Debug, Default)]
pub struct CustomFilter {
    pub key: String,
    pub value: String,
    pub from: String,
    pub to: String,
}

impl CustomFilter {
    pub fn is_empty(&self) -> bool {
        self.value.trim().is_empty() && self.from.trim().is_empty() && self.to.trim().is_empty()
    }
}

/// One custom field's input on a list's filter form (`templates/partials/custom_filters.html`):
/// the field and what the query string holds for it.
#[derive(Clone, Debug)]
pub struct FilterInput {
    pub def: FieldDef,
    pub filter: CustomFilter,
}

impl FilterInput {
    /// An input for every active field, filled from the filters in the query string.
    pub fn all(defs: &[FieldDef], filters: &[CustomFilter]) -> Vec<FilterInput> {
        defs.iter()
            .map(|d| FilterInput {
                def: d.clone(),
                filter: filters
                    .iter()
                    .find(|f| f.key == d.key)
                    .cloned()
                    .unwrap_or_else(|| CustomFilter { key: d.key.clone(), ..Default::default() }),
            })
            .collect()
    }

    pub fn label(&self, lang: &Lang) -> String {
        self.def.label(*lang).to_string()
    }

    pub fn kind(&self) -> &'static str {
        self.def.kind().code()
    }

    /// Ranges (from / to) rather than one value.
    pub fn is_range(&self) -> bool {
        matches!(self.def.kind(), Kind::Integer | Kind::Decimal | Kind::Date | Kind::DateTime)
    }

    pub fn is_date(&self) -> bool {
        matches!(self.def.kind(), Kind::Date | Kind::DateTime)
    }

    pub fn options(&self, lang: &Lang) -> Vec<SelectOpt> {
        self.def.options.iter().map(|c| SelectOpt::new(&c.value, c.label(*lang))).collect()
    }
}

/// The filters for `defs` present in a query string.
pub fn filters_from_query(defs: &[FieldDef], raw_query: Option<&str>) -> Vec<CustomFilter> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw_query.unwrap_or("").as_bytes()).into_owned().collect();
    let get = |name: String| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    defs.iter()
        .map(|d| CustomFilter {
            key: d.key.clone(),
            value: get(format!("cf_{}", d.key)),
            from: get(format!("cf_{}_from", d.key)),
            to: get(format!("cf_{}_to", d.key)),
        })
        .filter(|f| !f.is_empty())
        .collect()
}

/// Append ` AND <condition>` for each filter. Keys and values are bound; a value that does not
/// parse for its type makes the filter match nothing rather than fail the query.
pub fn push_filters(
    qb: &mut QueryBuilder<'_, Postgres>,
    alias: &str,
    defs: &[FieldDef],
    filters: &[CustomFilter],
    tz: FixedOffset,
) {
    for f in filters {
        let Some(def) = defs.iter().find(|d| d.key == f.key) else {
            continue;
        };
        match def.kind().filter_style() {
            FilterStyle::Contains => {
                let like = format!("%{}%", escape_like(f.value.trim()));
                qb.push(format_args!(" AND {alias}.custom ->> "))
                    .push_bind(def.key.clone())
                    .push(" ILIKE ")
                    .push_bind(like);
            }
            FilterStyle::Choice => {
                let v = f.value.trim();
                let value: Option<Value> = match def.kind() {
                    Kind::MultiSelect => Some(json!([v])),
                    Kind::Boolean => Some(json!(matches!(v, "1" | "true" | "yes"))),
                    Kind::User => v.parse::<i64>().ok().map(|id| json!(id)),
                    _ => Some(json!(v)),
                };
                match value {
                    Some(value) => {
                        qb.push(format_args!(" AND {alias}.custom @> jsonb_build_object("))
                            .push_bind(def.key.clone())
                            .push("::text, ")
                            .push_bind(value)
                            .push("::jsonb)");
                    }
                    None => {
                        qb.push(" AND FALSE");
                    }
                }
            }
            FilterStyle::Range => push_range(qb, alias, def, f, tz),
        }
    }
}

fn push_range(qb: &mut QueryBuilder<'_, Postgres>, alias: &str, def: &FieldDef, f: &CustomFilter, tz: FixedOffset) {
    for (raw, op) in [(f.from.trim(), ">="), (f.to.trim(), "<=")] {
        if raw.is_empty() {
            continue;
        }
        qb.push(" AND (");
        match def.kind() {
            Kind::Integer | Kind::Decimal => match Decimal::from_str(&raw.replace(',', "")) {
                Ok(d) => {
                    qb.push(format_args!("({alias}.custom ->> ")).push_bind(def.key.clone());
                    qb.push(format_args!(")::numeric {op} ")).push_bind(d);
                }
                Err(_) => {
                    qb.push("FALSE");
                }
            },
            Kind::Date => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) => {
                    qb.push(format_args!("({alias}.custom ->> ")).push_bind(def.key.clone());
                    qb.push(format_args!(")::date {op} ")).push_bind(d);
                }
                Err(_) => {
                    qb.push("FALSE");
                }
            },
            _ => {
                // Datetime ranges take dates: from the start of `from` to the end of `to`.
                match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                    Ok(d) => {
                        let day = if op == ">=" { d } else { d.succ_opt().unwrap_or(d) };
                        let at = tz
                            .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
                            .single()
                            .map(|x| x.with_timezone(&Utc));
                        let cmp = if op == ">=" { ">=" } else { "<" };
                        qb.push(format_args!("({alias}.custom ->> ")).push_bind(def.key.clone());
                        qb.push(format_args!(")::timestamptz {cmp} ")).push_bind(at);
                    }
                    Err(_) => {
                        qb.push("FALSE");
                    }
                }
            }
        }
        qb.push(")");
    }
}

/// Escape `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Parse the option lines of the admin form: `value|中文|English`, `中文|English` or `中文`.
/// Options without a value get one (`o1`, `o2`...) that never changes afterwards.
pub fn parse_options(text: &str) -> Result<Vec<Choice>, &'static str> {
    let mut out: Vec<Choice> = Vec::new();
    let mut n = 1;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let (value, zh, en) = match parts.as_slice() {
            [zh] => (None, *zh, *zh),
            [zh, en] => (None, *zh, *en),
            [v, zh, en] => (Some(v.to_string()), *zh, *en),
            _ => return Err("fields.error.option_line"),
        };
        if zh.is_empty() || en.is_empty() {
            return Err("fields.error.option_line");
        }
        let value = value.filter(|v| !v.is_empty()).unwrap_or_else(|| {
            while out.iter().any(|c| c.value == format!("o{n}")) || text.contains(&format!("o{n}|")) {
                n += 1;
            }
            format!("o{n}")
        });
        if out.iter().any(|c| c.value == value) {
            return Err("fields.error.option_duplicate");
        }
        out.push(Choice { value, zh: zh.to_string(), en: en.to_string() });
    }
    Ok(out)
}

pub fn options_text(options: &[Choice]) -> String {
    options.iter().map(|c| format!("{}|{}|{}", c.value, c.zh, c.en)).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(kind: &str, required: bool) -> FieldDef {
        FieldDef {
            id: 1,
            entity: "customer".into(),
            key: "k".into(),
            label_zh: "字段".into(),
            label_en: "Field".into(),
            kind: kind.into(),
            options: sqlx::types::Json(vec![Choice { value: "a".into(), zh: "甲".into(), en: "A".into() }]),
            required,
            is_unique: false,
            position: 0,
            active: true,
        }
    }

    fn parse1(kind: &str, v: &str) -> (Option<Value>, bool) {
        let mut e = FormErrors::new(Lang::Zh);
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let out = parse(&[def(kind, false)], &[("cf_k".into(), v.into())], None, tz, &[7], &mut e);
        (out.get("k").cloned(), e.is_empty())
    }

    #[test]
    fn values_are_normalised_or_refused() {
        assert_eq!(parse1("integer", "1,200"), (Some(json!(1200)), true));
        assert_eq!(parse1("integer", "1.5").1, false);
        assert_eq!(parse1("decimal", "12.50"), (Some(json!("12.5")), true));
        assert_eq!(parse1("decimal", "abc").1, false);
        assert_eq!(parse1("date", "2026-02-30").1, false);
        assert_eq!(parse1("datetime", "2026-11-23T08:30"), (Some(json!("2026-11-23T00:30:00+00:00")), true));
        assert_eq!(parse1("select", "b").1, false);
        assert_eq!(parse1("user", "7"), (Some(json!(7)), true));
        assert_eq!(parse1("user", "8").1, false);
        assert_eq!(parse1("url", "ftp://x").1, false);
        assert_eq!(parse1("url", "javascript:alert(1)//x.cn").1, false);
        assert_eq!(parse1("url", "https://bank.cn@evil.cn").1, false);
        assert_eq!(parse1("url", "https://www.example.cn/a"), (Some(json!("https://www.example.cn/a")), true));
        assert_eq!(parse1("email", "a@b.cn"), (Some(json!("a@b.cn")), true));
    }

    #[test]
    fn values_no_longer_offered_are_kept_while_unchanged() {
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        let stored: Map<String, Value> = [("k".to_string(), json!(9))].into_iter().collect();
        let run = |kind: &str, stored: &Map<String, Value>, v: &[&str]| {
            let mut e = FormErrors::new(Lang::Zh);
            let pairs: Vec<(String, String)> = v.iter().map(|v| ("cf_k".to_string(), v.to_string())).collect();
            let out = parse(&[def(kind, false)], &pairs, Some(stored), tz, &[7], &mut e);
            (out.get("k").cloned(), e.is_empty())
        };
        // User 9 is no longer active: kept as stored, but not given to a record that lacked it.
        assert_eq!(run("user", &stored, &["9"]), (Some(json!(9)), true));
        assert_eq!(run("user", &Map::new(), &["9"]).1, false);
        assert_eq!(run("user", &stored, &["7"]), (Some(json!(7)), true));
        // Option "gone" was removed from the field.
        let stored: Map<String, Value> = [("k".to_string(), json!("gone"))].into_iter().collect();
        assert_eq!(run("select", &stored, &["gone"]), (Some(json!("gone")), true));
        assert_eq!(run("select", &Map::new(), &["gone"]).1, false);
        let stored: Map<String, Value> = [("k".to_string(), json!(["a", "gone"]))].into_iter().collect();
        assert_eq!(run("multiselect", &stored, &["a", "gone"]), (Some(json!(["a", "gone"])), true));
        assert_eq!(run("multiselect", &stored, &["other"]).1, false);
    }

    #[test]
    fn option_lines() {
        let o = parse_options("vip|贵宾|VIP\n普通|Regular\n其他").unwrap();
        assert_eq!(o[0].value, "vip");
        assert_eq!((o[1].value.as_str(), o[1].en.as_str()), ("o1", "Regular"));
        assert_eq!((o[2].value.as_str(), o[2].en.as_str()), ("o2", "其他"));
        assert!(parse_options("a|b|c|d").is_err());
        assert!(parse_options("x|甲|A\nx|乙|B").is_err());
    }
}
