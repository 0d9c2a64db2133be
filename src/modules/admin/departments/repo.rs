//! Department SQL, and the tree helpers other modules use for pickers.

use sqlx::{PgConnection, PgPool};

use crate::web::SelectOpt;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct DeptRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub head_id: Option<i64>,
    pub head_name: Option<String>,
    pub members: i64,
}

/// A department placed in the tree: depth and head count including sub-departments.
#[derive(Clone, Debug)]
pub struct DeptNode {
    pub row: DeptRow,
    pub depth: usize,
    pub total_members: i64,
    pub has_children: bool,
}

impl DeptNode {
    pub fn indent_class(&self) -> String {
        format!("indent-{}", self.depth.min(8))
    }
}

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

/// Depth-first order with depths and subtree member totals.
pub fn tree(rows: Vec<DeptRow>) -> Vec<DeptNode> {
    fn visit(rows: &[DeptRow], parent: Option<i64>, depth: usize, out: &mut Vec<DeptNode>) -> i64 {
        let mut sum = 0;
        for r in rows.iter().filter(|r| r.parent_id == parent) {
            let at = out.len();
            out.push(DeptNode { row: r.clone(), depth, total_members: 0, has_children: false });
            let below = visit(rows, Some(r.id), depth + 1, out);
            out[at].has_children = out.len() > at + 1;
            out[at].total_members = r.members + below;
            sum += r.members + below;
        }
        sum
    }
    let mut out = Vec::with_capacity(rows.len());
    visit(&rows, None, 0, &mut out);
    out
}

/// Departments as select options, indented by depth.
pub async fn options(db: &PgPool) -> sqlx::Result<Vec<SelectOpt>> {
    // Pickers need no head counts; skip the per-department counting of `all`.
    let rows: Vec<DeptRow> = sqlx::query_as(
        "SELECT id, parent_id, name, head_id, NULL::text AS head_name, 0::bigint AS members
         FROM departments ORDER BY sort, name, id",
    )
    .fetch_all(db)
    .await?;
    Ok(tree(rows)
        .into_iter()
        .map(|n| SelectOpt::new(n.row.id, format!("{}{}", "　".repeat(n.depth), n.row.name)))
        .collect())
}

/// The department and everything below it.
pub async fn subtree_ids(db: &mut PgConnection, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "WITH RECURSIVE d AS (SELECT id FROM departments WHERE id = $1
           UNION SELECT c.id FROM departments c JOIN d ON c.parent_id = d.id)
         SELECT id FROM d",
    )
    .bind(id)
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

pub async fn name_of(db: &mut PgConnection, id: Option<i64>) -> sqlx::Result<Option<String>> {
    match id {
        None => Ok(None),
        Some(id) => sqlx::query_scalar("SELECT name FROM departments WHERE id = $1").bind(id).fetch_optional(db).await,
    }
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
