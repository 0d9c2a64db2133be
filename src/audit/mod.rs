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
    pub entity_id: i64,
    /// The action code (`audit.action.<code>` names it); shared record behaviour builds some
    /// from the kind's event prefix ("lead_transfer").
    pub action: Cow<'static, str>,
    pub changes: Vec<Change>,
    /// Free text for actions that are not field edits (e.g. a handover target, a reason).
    pub note: Option<String>,
}

impl Entry {
    pub fn new(entity: &'static str, entity_id: i64, action: impl Into<Cow<'static, str>>) -> Self {
        Entry { entity, entity_id, action: action.into(), changes: Vec::new(), note: None }
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
