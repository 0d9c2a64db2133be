//! Reading an export's rows: which columns (the list's visible ones or all, custom fields
//! included), the ids in the list's order, and their cells a chunk of ids at a time.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::cells::Value;
use super::{Col, Kind, Source, Visible};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::fields::{self, FieldDef};
use crate::list::ColumnChoice;
use crate::web::i18n::Lang;

/// One column of the file.
#[derive(Clone, Debug)]
pub enum Out {
    Col(&'static Col),
    Custom(FieldDef),
}

impl Out {
    pub fn header(&self, lang: Lang) -> String {
        match self {
            Out::Col(c) => lang.t(c.label).to_string(),
            Out::Custom(d) => fields::cells::header(d, lang),
        }
    }

    /// Roughly how wide its column is, in characters.
    pub fn width(&self) -> f64 {
        let kind = match self {
            Out::Col(c) => c.kind,
            Out::Custom(d) => match d.kind() {
                fields::Kind::Date => Kind::Date,
                fields::Kind::DateTime => Kind::DateTime,
                fields::Kind::Integer | fields::Kind::Decimal => Kind::Money,
                _ => Kind::Text,
            },
        };
        match kind {
            Kind::Date => 12.0,
            Kind::DateTime => 17.0,
            Kind::Money => 14.0,
            Kind::Int | Kind::Percent | Kind::Bool => 8.0,
            _ => 18.0,
        }
    }
}

/// The columns `user` may export from `source`: all of them (custom fields last), or those the
/// list shows them, in its order.
pub async fn columns(
    db: &PgPool,
    source: &'static Source,
    user: &CurrentUser,
    lang: Lang,
    all: bool,
) -> sqlx::Result<Vec<Out>> {
    let defs = match source.custom {
        Some(entity) => fields::defs(db, entity).await?,
        None => Vec::new(),
    };
    let allowed = |c: &&'static Col| c.needs.is_none_or(|a| user.can(source.module, a));
    if all {
        let mut out: Vec<Out> = source.columns.iter().filter(allowed).map(Out::Col).collect();
        out.extend(defs.into_iter().map(Out::Custom));
        return Ok(out);
    }
    let keys: Vec<String> = match &source.visible {
        Visible::Chosen(prefs, list_columns) => {
            ColumnChoice::load(db, user.id, prefs, list_columns(&defs, lang, user)).await?.visible
        }
        Visible::Fixed(keys) => keys.iter().map(|k| k.to_string()).collect(),
    };
    Ok(keys
        .iter()
        .filter_map(|k| match k.strip_prefix("cf:") {
            Some(key) => defs.iter().find(|d| d.key == key).cloned().map(Out::Custom),
            None => source.columns.iter().filter(allowed).find(|c| c.key == k).map(Out::Col),
        })
        .collect())
}

/// `ids` in the list's order (`source.order`; when empty, the order `ids` come in: the list's,
/// when it depends on the view or on the user).
pub async fn in_order(db: &PgPool, source: &Source, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    if source.order.is_empty() {
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<i64> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let sql = format!(
            "SELECT t.id FROM unnest($1::bigint[]) WITH ORDINALITY AS x(id, n) JOIN {} t ON t.id = x.id ORDER BY x.n",
            source.table
        );
        return sqlx::query_scalar(&sql).bind(ids).fetch_all(db).await;
    }
    sqlx::query_scalar(&format!("SELECT t.id FROM {} t WHERE t.id = ANY($1) ORDER BY {}", source.table, source.order))
        .bind(ids)
        .fetch_all(db)
        .await
}

/// What a chunk of rows is read with, made once per export.
pub struct Reader {
    sql: String,
    columns: Vec<Out>,
    /// Custom fields among the columns (their values come from `t.custom`).
    defs: Vec<FieldDef>,
    dicts: Dicts,
    lang: Lang,
    tz: FixedOffset,
}

impl Reader {
    pub async fn new(
        db: &PgPool,
        source: &Source,
        columns: Vec<Out>,
        lang: Lang,
        tz: FixedOffset,
    ) -> sqlx::Result<Reader> {
        let code = match lang {
            Lang::Zh => "zh",
            Lang::En => "en",
        };
        let mut select = String::from("SELECT t.id");
        for (i, c) in columns.iter().enumerate() {
            if let Out::Col(c) = c {
                let cast = match c.kind {
                    Kind::Text | Kind::Label(_) => "text",
                    Kind::Int | Kind::Percent | Kind::Dict | Kind::DictPath => "bigint",
                    Kind::Money => "numeric",
                    Kind::Date => "date",
                    Kind::DateTime => "timestamptz",
                    Kind::Bool => "boolean",
                };
                select.push_str(&format!(", ({})::{cast} AS c{i}", c.sql.replace("{lang}", code)));
            }
        }
        let defs: Vec<FieldDef> = columns
            .iter()
            .filter_map(|c| match c {
                Out::Custom(d) => Some(d.clone()),
                Out::Col(_) => None,
            })
            .collect();
        if !defs.is_empty() {
            select.push_str(", t.custom AS custom");
        }
        let sql = format!(
            "{select} FROM unnest($1::bigint[]) WITH ORDINALITY AS x(id, n) JOIN {} t ON t.id = x.id {} ORDER BY x.n",
            source.table, source.joins
        );
        let dicts = Dicts::load(db, source.dicts).await?;
        Ok(Reader { sql, columns, defs, dicts, lang, tz })
    }

    pub fn headers(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.header(self.lang)).collect()
    }

    pub fn widths(&self) -> Vec<f64> {
        self.columns.iter().map(Out::width).collect()
    }

    /// The rows of `ids` (a chunk), in their order.
    pub async fn chunk(&self, db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<Vec<Value>>> {
        let rows: Vec<PgRow> = sqlx::query(&self.sql).bind(ids).fetch_all(db).await?;
        let customs: Vec<Map<String, Json>> = if self.defs.is_empty() {
            Vec::new()
        } else {
            rows.iter()
                .map(|r| {
                    r.try_get::<Option<sqlx::types::Json<Map<String, Json>>>, _>("custom")
                        .map(|j| j.map(|j| j.0).unwrap_or_default())
                })
                .collect::<sqlx::Result<_>>()?
        };
        let names = fields::user_names(db, &self.defs, customs.iter()).await?;
        rows.iter()
            .enumerate()
            .map(|(n, row)| {
                self.columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| match c {
                        Out::Col(col) => self.cell(row, i, col),
                        Out::Custom(def) => Ok(custom_cell(def, customs[n].get(&def.key), self.lang, self.tz, &names)),
                    })
                    .collect()
            })
            .collect()
    }

    fn cell(&self, row: &PgRow, i: usize, col: &Col) -> sqlx::Result<Value> {
        let name = format!("c{i}");
        let (lang, name) = (self.lang, name.as_str());
        Ok(match col.kind {
            Kind::Text => row.try_get::<Option<String>, _>(name)?.map(Value::text).unwrap_or(Value::Empty),
            Kind::Label(label) => {
                row.try_get::<Option<String>, _>(name)?.map(|s| Value::text(label(lang, &s))).unwrap_or(Value::Empty)
            }
            Kind::Int => row.try_get::<Option<i64>, _>(name)?.map(Value::Int).unwrap_or(Value::Empty),
            Kind::Percent => row.try_get::<Option<i64>, _>(name)?.map(Value::Percent).unwrap_or(Value::Empty),
            Kind::Money => row.try_get::<Option<Decimal>, _>(name)?.map(Value::Money).unwrap_or(Value::Empty),
            Kind::Date => row.try_get::<Option<NaiveDate>, _>(name)?.map(Value::Date).unwrap_or(Value::Empty),
            Kind::DateTime => row
                .try_get::<Option<DateTime<Utc>>, _>(name)?
                .map(|at| Value::DateTime(local(&at, self.tz)))
                .unwrap_or(Value::Empty),
            Kind::Bool => match row.try_get::<Option<bool>, _>(name)? {
                Some(b) => Value::text(lang.t(if b { "common.yes" } else { "common.no" })),
                None => Value::Empty,
            },
            Kind::Dict => Value::text(self.dicts.label(row.try_get::<Option<i64>, _>(name)?, lang)),
            Kind::DictPath => Value::text(self.dicts.path_label(row.try_get::<Option<i64>, _>(name)?, lang)),
        })
    }
}

fn local(at: &DateTime<Utc>, tz: FixedOffset) -> NaiveDateTime {
    at.with_timezone(&tz).naive_local()
}

/// A custom field's stored value as a cell: dates as dates, numbers as numbers, the rest as the
/// lists show it (option labels, user names, 是/否).
fn custom_cell(def: &FieldDef, v: Option<&Json>, lang: Lang, tz: FixedOffset, users: &HashMap<i64, String>) -> Value {
    match (def.kind(), v) {
        (fields::Kind::Date, Some(Json::String(s))) => {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Value::Date).unwrap_or_else(|_| Value::text(s.clone()))
        }
        (fields::Kind::DateTime, Some(Json::String(s))) => DateTime::parse_from_rfc3339(s)
            .map(|d| Value::DateTime(local(&d.with_timezone(&Utc), tz)))
            .unwrap_or_else(|_| Value::text(s.clone())),
        _ => match fields::cells::export_cell(def, v, lang, tz, users) {
            fields::cells::Cell::Empty => Value::Empty,
            fields::cells::Cell::Text(s) => Value::text(s),
            fields::cells::Cell::Number(d) if d.is_integer() => {
                d.try_into().map(Value::Int).unwrap_or(Value::Number(d))
            }
            fields::cells::Cell::Number(d) => Value::Number(d),
        },
    }
}
