//! Reading the operation log back as sentences: "张三 把 级别 从 3 改为 4".

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use super::Change;
use crate::web::i18n::Lang;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct LogRow {
    pub id: i64,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub action: String,
    pub changes: sqlx::types::Json<Vec<Change>>,
    pub note: Option<String>,
    pub ip: Option<String>,
    pub at: DateTime<Utc>,
}

pub const SELECT: &str = "SELECT l.id, l.entity, l.entity_id, l.actor_id, u.name AS actor_name, l.action,
       l.changes, l.note, l.ip, l.at
  FROM operation_logs l LEFT JOIN users u ON u.id = l.actor_id";

/// The history of one record, newest first.
pub async fn for_record(db: &PgPool, entity: &str, id: i64, limit: i64) -> sqlx::Result<Vec<LogRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE l.entity = $1 AND l.entity_id = $2 ORDER BY l.at DESC, l.id DESC LIMIT $3"))
        .bind(entity)
        .bind(id)
        .bind(limit)
        .fetch_all(db)
        .await
}

impl LogRow {
    /// Sentences for people. An edit reads change by change ("张三 把 级别 从 3 改为 4"); any
    /// other action reads as what happened ("张三 创建了记录"), then the values it set.
    pub fn sentences(&self, lang: Lang) -> Vec<String> {
        let actor = self.actor_name.clone().unwrap_or_else(|| lang.t("audit.system").to_string());
        let mut out = Vec::new();
        if self.action != "update" || self.changes.is_empty() {
            let action_key = format!("audit.action.{}", self.action);
            let action = lang.try_t(&action_key).unwrap_or(&self.action).to_string();
            let mut s = lang.tf("audit.sentence.action", &[("actor", &actor), ("action", &action)]);
            if let Some(n) = &self.note {
                // Catalog values are trimmed, so the English word space is added here.
                if lang == Lang::En {
                    s.push(' ');
                }
                s.push_str(&lang.tf("audit.sentence.note", &[("note", n)]));
            }
            out.push(s);
        }
        for c in self.changes.iter() {
            let field = field_label(lang, &self.entity, &c.field);
            let (old, new) = (show(lang, &c.old), show(lang, &c.new));
            out.push(if c.old.is_null() && self.action != "update" {
                // A line of its own: in English the label starts with a capital.
                let field = if lang == Lang::En { capitalise(&field) } else { field };
                lang.tf("audit.sentence.set", &[("field", &field), ("new", &new)])
            } else {
                lang.tf("audit.sentence.change", &[("actor", &actor), ("field", &field), ("old", &old), ("new", &new)])
            });
        }
        out
    }
}

/// `field.<entity>.<name>` if the catalog has it, else `field.<name>`, else the raw name.
pub fn field_label(lang: Lang, entity: &str, field: &str) -> String {
    lang.try_t(&format!("field.{entity}.{field}"))
        .or_else(|| lang.try_t(&format!("field.{field}")))
        .map(str::to_string)
        .unwrap_or_else(|| field.to_string())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn show(lang: Lang, v: &Value) -> String {
    match v {
        Value::Null => lang.t("audit.empty").to_string(),
        Value::String(s) if s.is_empty() => lang.t("audit.empty").to_string(),
        Value::String(s) => s.clone(),
        Value::Bool(true) => lang.t("common.yes").to_string(),
        Value::Bool(false) => lang.t("common.no").to_string(),
        Value::Array(items) => items.iter().map(|i| show(lang, i)).collect::<Vec<_>>().join(", "),
        // A label recorded in both languages (dictionary items): show the reader's.
        Value::Object(m) if m.contains_key("zh") => {
            let key = if lang == Lang::En { "en" } else { "zh" };
            m.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string()
        }
        other => other.to_string(),
    }
}
