//! Cap rows (`customer_caps`). The duplicate rules are read and saved through
//! `crate::modules::customers::dup` (the kernel owns that table's shape).

use sqlx::{PgConnection, PgPool};

use super::model::Target;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct CapRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub dept_id: Option<i64>,
    /// The user's or the department's name.
    pub target_name: String,
    /// For a user: their department.
    pub user_dept: Option<String>,
    pub max_owned: Option<i32>,
    pub count_dealt: bool,
    pub max_locked: Option<i32>,
}

impl CapRow {
    pub fn is_user(&self) -> bool {
        self.user_id.is_some()
    }

    /// "张三（华东大区）" or the department's name, for audit notes and flashes.
    pub fn label(&self) -> String {
        match &self.user_dept {
            Some(d) => format!("{}（{d}）", self.target_name),
            None => self.target_name.clone(),
        }
    }
}

const SELECT: &str = "SELECT c.id, c.user_id, c.dept_id, coalesce(u.name, d.name) AS target_name,
       ud.name AS user_dept, c.max_owned, c.count_dealt, c.max_locked
  FROM customer_caps c
  LEFT JOIN users u ON u.id = c.user_id
  LEFT JOIN departments ud ON ud.id = u.dept_id
  LEFT JOIN departments d ON d.id = c.dept_id";

/// Department caps first, then user caps, each by name.
pub async fn all(db: &PgPool) -> sqlx::Result<Vec<CapRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY c.user_id IS NOT NULL, coalesce(u.name, d.name), c.id"))
        .fetch_all(db)
        .await
}

pub async fn find(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<CapRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE c.id = $1 FOR UPDATE OF c")).bind(id).fetch_optional(db).await
}

/// The name of a cap target, or None when the user / department does not exist.
pub async fn target_name(db: &mut PgConnection, target: Target) -> sqlx::Result<Option<String>> {
    match target {
        Target::User(id) => {
            sqlx::query_scalar(
                "SELECT u.name || '（' || d.name || '）' FROM users u JOIN departments d ON d.id = u.dept_id
                 WHERE u.id = $1",
            )
            .bind(id)
            .fetch_optional(db)
            .await
        }
        Target::Dept(id) => {
            sqlx::query_scalar("SELECT name FROM departments WHERE id = $1").bind(id).fetch_optional(db).await
        }
    }
}

pub async fn target_taken(db: &mut PgConnection, target: Target) -> sqlx::Result<bool> {
    let (user, dept) = split(target);
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM customer_caps WHERE user_id = $1 OR dept_id = $2)")
        .bind(user)
        .bind(dept)
        .fetch_one(db)
        .await
}

fn split(target: Target) -> (Option<i64>, Option<i64>) {
    match target {
        Target::User(id) => (Some(id), None),
        Target::Dept(id) => (None, Some(id)),
    }
}

/// Insert a cap; `Ok(None)` when the target already has one (a concurrent insert won).
pub async fn insert(
    db: &mut PgConnection,
    target: Target,
    max_owned: Option<i32>,
    count_dealt: bool,
    max_locked: Option<i32>,
) -> sqlx::Result<Option<i64>> {
    let (user, dept) = split(target);
    sqlx::query_scalar(
        "INSERT INTO customer_caps (user_id, dept_id, max_owned, count_dealt, max_locked)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(user)
    .bind(dept)
    .bind(max_owned)
    .bind(count_dealt)
    .bind(max_locked)
    .fetch_optional(db)
    .await
}

pub async fn update(
    db: &mut PgConnection,
    id: i64,
    max_owned: Option<i32>,
    count_dealt: bool,
    max_locked: Option<i32>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE customer_caps SET max_owned = $2, count_dealt = $3, max_locked = $4 WHERE id = $1")
        .bind(id)
        .bind(max_owned)
        .bind(count_dealt)
        .bind(max_locked)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn delete(db: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM customer_caps WHERE id = $1").bind(id).execute(db).await?;
    Ok(())
}
