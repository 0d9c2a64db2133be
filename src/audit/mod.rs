//! The one audit writer: `operation_logs` rows with structured field diffs, written in the
//! caller's transaction so a change and its record stand or fall together.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgConnection;

pub mod history;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Change {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub entity: &'static str,
    /// The record; None for an action on a whole list (an export).
    pub entity_id: Option<i64>,
    /// The action code (`audit.action.<code>` names it); shared record behaviour builds some
    /// from the kind's event prefix ("lead_transfer").
    pub action: Cow<'static, str>,
    pub changes: Vec<Change>,
    /// Free text for actions that are not field edits (e.g. a handover target, a reason).
    pub note: Option<String>,
}

impl Entry {
    pub fn new(entity: &'static str, entity_id: i64, action: impl Into<Cow<'static, str>>) -> Self {
        Entry { entity, entity_id: Some(entity_id), action: action.into(), changes: Vec::new(), note: None }
    }

    /// An action on a kind's records as a whole rather than one of them (an export of a list).
    pub fn about_all(entity: &'static str, action: impl Into<Cow<'static, str>>) -> Self {
        Entry { entity, entity_id: None, action: action.into(), changes: Vec::new(), note: None }
    }

    /// Record `field` going from `old` to `new`; equal values are skipped.
    pub fn change(mut self, field: &str, old: impl Into<Value>, new: impl Into<Value>) -> Self {
        let (old, new) = (old.into(), new.into());
        if old != new {
            self.changes.push(Change { field: field.to_string(), old, new });
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub async fn write(self, tx: &mut PgConnection, actor_id: Option<i64>, ip: Option<&str>) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO operation_logs (entity, entity_id, actor_id, action, changes, note, ip)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(self.entity)
        .bind(self.entity_id)
        .bind(actor_id)
        .bind(self.action.as_ref())
        .bind(sqlx::types::Json(&self.changes))
        .bind(&self.note)
        .bind(ip)
        .execute(tx)
        .await?;
        Ok(())
    }
}

/// Shorthand for an optional value in a diff.
pub fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map(Into::into).unwrap_or(Value::Null)
}

/// A catalog text in both languages, for the history (it is read in the reader's language).
pub fn bilingual(key: &str) -> Value {
    serde_json::json!({ "zh": crate::web::i18n::Lang::Zh.t(key), "en": crate::web::i18n::Lang::En.t(key) })
}

/// A record's fields as people see them (names rather than ids, dictionary items in both
/// languages), taken before and after a form save: the history stores the difference.
#[derive(Clone, Debug, Default)]
pub struct Snapshot(Vec<(String, Value)>);

impl Snapshot {
    pub fn new() -> Snapshot {
        Snapshot::default()
    }

    pub fn push(&mut self, field: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        self.0.push((field.into(), value.into()));
        self
    }

    pub fn extend(&mut self, fields: impl IntoIterator<Item = (String, Value)>) -> &mut Self {
        self.0.extend(fields);
        self
    }

    /// `entry` with a change for every field that differs from `before` (a new record: from
    /// nothing).
    pub fn diff(&self, mut entry: Entry, before: Option<&Snapshot>) -> Entry {
        for (field, new) in &self.0 {
            let old = before
                .and_then(|b| b.0.iter().find(|(f, _)| f == field))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null);
            entry = entry.change(field, old, new.clone());
        }
        entry
    }

    /// The audit row of a form save, in its transaction: "create" with every field set (and
    /// `note`, e.g. the number given), or "update" with what changed — none when nothing did.
    pub async fn write_save(
        &self,
        tx: &mut PgConnection,
        (entity, id): (&'static str, i64),
        before: Option<&Snapshot>,
        note: Option<String>,
        (actor, ip): (i64, Option<&str>),
    ) -> sqlx::Result<()> {
        let action = if before.is_some() { "update" } else { "create" };
        let mut entry = self.diff(Entry::new(entity, id, action), before);
        if let Some(note) = note {
            entry = entry.note(note);
        }
        if before.is_none() || entry.has_changes() {
            entry.write(tx, Some(actor), ip).await?;
        }
        Ok(())
    }
}
