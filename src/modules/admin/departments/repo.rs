//! Department SQL for the admin pages (the tree, pickers and subtrees are in `crate::org`).

use sqlx::{PgConnection, PgPool};

pub use crate::org::departments::{DeptNode, DeptRow, tree};

pub async fn all(db: &PgPool) -> sqlx::Result<Vec<DeptRow>> {
    sqlx::query_as(
        "SELECT d.id, d.parent_id, d.name, d.head_id, h.name AS head_name,
                (SELECT count(*) FROM users u WHERE u.dept_id = d.id AND u.status = 'active') AS members
         FROM departments d LEFT JOIN users h ON h.id = d.head_id
         ORDER BY d.sort, d.name, d.id",
    )
    .fetch_all(db)
    .await
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Dept {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub head_id: Option<i64>,
}

pub async fn find(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<Dept>> {
    sqlx::query_as("SELECT id, parent_id, name, head_id FROM departments WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn insert(db: &mut PgConnection, name: &str, parent: i64, head: Option<i64>, by: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO departments (name, parent_id, head_id, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(parent)
    .bind(head)
    .bind(by)
    .fetch_one(db)
    .await
}

pub async fn update(db: &mut PgConnection, d: &Dept) -> sqlx::Result<()> {
    sqlx::query("UPDATE departments SET name = $2, parent_id = $3, head_id = $4 WHERE id = $1")
        .bind(d.id)
        .bind(&d.name)
        .bind(d.parent_id)
        .bind(d.head_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Everything that still refers to a department; it can be deleted only when all are zero.
/// Users are counted the way the tree counts them (active) plus the disabled ones, so the
/// refusal and the tree agree.
#[derive(sqlx::FromRow, Clone, Debug, Default, PartialEq)]
pub struct Usage {
    pub active_users: i64,
    pub disabled_users: i64,
    pub children: i64,
    /// Ownership cap rows (`customer_caps.dept_id`).
    pub caps: i64,
    /// Pools the department is a member of.
    pub pools: i64,
    /// Approval steps whose condition names the department (`condition.dept_ids`).
    pub flow_steps: i64,
}

impl Usage {
    pub fn is_free(&self) -> bool {
        *self == Usage::default()
    }
}

pub async fn usage(db: &mut PgConnection, id: i64) -> sqlx::Result<Usage> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM users WHERE dept_id = $1 AND status = 'active') AS active_users,
                (SELECT count(*) FROM users WHERE dept_id = $1 AND status <> 'active') AS disabled_users,
                (SELECT count(*) FROM departments WHERE parent_id = $1) AS children,
                (SELECT count(*) FROM customer_caps WHERE dept_id = $1) AS caps,
                (SELECT count(*) FROM pool_members WHERE dept_id = $1) AS pools,
                (SELECT count(*) FROM approval_steps
                  WHERE condition -> 'dept_ids' @> to_jsonb(ARRAY[$1::bigint])) AS flow_steps",
    )
    .bind(id)
    .fetch_one(db)
    .await
}

/// Delete a department nothing refers to any more (see `usage`). Shares with it go too: with no
/// users left in it they reach nobody. Returns how many shares were removed.
pub async fn delete(db: &mut PgConnection, id: i64) -> sqlx::Result<u64> {
    let shares = sqlx::query("DELETE FROM record_shares WHERE dept_id = $1").bind(id).execute(&mut *db).await?;
    sqlx::query("DELETE FROM departments WHERE id = $1").bind(id).execute(db).await?;
    Ok(shares.rows_affected())
}

/// Whether `id` is an active user (a department head must be one).
pub async fn is_active_user(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar("SELECT status = 'active' FROM users WHERE id = $1").bind(id).fetch_optional(db).await
}
