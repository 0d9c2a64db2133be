//! Number rule SQL for the admin page (the kernel reads rules itself).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::numbering::{DatePart, Reset, Rule};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct RuleRow {
    pub id: i64,
    pub kind: String,
    pub prefix: String,
    pub date_part: String,
    pub width: i32,
    pub reset: String,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by_name: Option<String>,
}

impl RuleRow {
    /// The stored rule; `None` only if a code is unknown (the table's checks prevent that).
    pub fn rule(&self) -> Option<Rule> {
        Some(Rule {
            kind: self.kind.clone(),
            prefix: self.prefix.clone(),
            date_part: DatePart::from_code(&self.date_part)?,
            width: self.width,
            reset: Reset::from_code(&self.reset)?,
        })
    }
}

const SELECT: &str = "SELECT r.id, r.kind, r.prefix, r.date_part, r.width, r.reset, r.updated_at,
       u.name AS updated_by_name
  FROM number_rules r LEFT JOIN users u ON u.id = r.updated_by";

pub async fn all(db: &PgPool) -> sqlx::Result<Vec<RuleRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY r.id")).fetch_all(db).await
}

/// The rule of `kind`, locked for an update.
pub async fn find_for_update(db: &mut PgConnection, kind: &str) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE r.kind = $1 FOR UPDATE OF r")).bind(kind).fetch_optional(db).await
}

pub async fn find(db: &PgPool, kind: &str) -> sqlx::Result<Option<RuleRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE r.kind = $1")).bind(kind).fetch_optional(db).await
}

pub async fn update(db: &mut PgConnection, rule: &Rule, by: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE number_rules SET prefix = $2, date_part = $3, width = $4, reset = $5,
                updated_by = $6, updated_at = now()
          WHERE kind = $1",
    )
    .bind(&rule.kind)
    .bind(&rule.prefix)
    .bind(rule.date_part.code())
    .bind(rule.width)
    .bind(rule.reset.code())
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}
