//! The department tree as every layer needs it: pickers, subtrees, names. The admin pages that
//! change departments are in `modules::admin::departments`.

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

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

pub async fn name_of(db: &mut PgConnection, id: Option<i64>) -> sqlx::Result<Option<String>> {
    match id {
        None => Ok(None),
        Some(id) => sqlx::query_scalar("SELECT name FROM departments WHERE id = $1").bind(id).fetch_optional(db).await,
    }
}

/// ` AND <column> = ANY(<users of department `dept` and everything below it>)`: the "owner's
/// department" filter of the lists. `column` is a code constant (e.g. "c.owner_id").
pub fn push_user_in_subtree(q: &mut QueryBuilder<'_, Postgres>, column: &str, dept: i64) {
    q.push(format_args!(
        " AND {column} = ANY(ARRAY(SELECT u.id FROM users u WHERE u.dept_id = ANY(ARRAY(
           WITH RECURSIVE t AS (SELECT id FROM departments WHERE id = "
    ))
    .push_bind(dept)
    .push(" UNION SELECT x.id FROM departments x JOIN t ON x.parent_id = t.id) SELECT id FROM t))))");
}
