//! Pool SQL: the pools, who belongs to them, and the predicate that lets pool members see the
//! customers sitting in their pools.
//!
//! Membership: a user belongs to a pool when they are a member by name, when their department or
//! any department above it is a member (a department membership covers everything below it), or
//! when they are one of the pool's admins.

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Pool {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    pub claim_cap_per_day: Option<i32>,
    pub reclaim_cooldown_days: i32,
    pub remind_days_before: i32,
}

pub const POOL_COLUMNS: &str =
    "p.id, p.name, p.is_default, p.claim_cap_per_day, p.reclaim_cooldown_days, p.remind_days_before";

/// Push `ARRAY(<ids of dept_id and every department above it>)`.
pub fn push_dept_and_ancestors(qb: &mut QueryBuilder<'_, Postgres>, dept_id: i64) {
    qb.push("ARRAY(WITH RECURSIVE up AS (SELECT d.id, d.parent_id, 1 AS depth FROM departments d WHERE d.id = ")
        .push_bind(dept_id)
        .push(
            " UNION ALL SELECT x.id, x.parent_id, up.depth + 1 FROM departments x JOIN up ON x.id = up.parent_id
           WHERE up.depth < 64) SELECT id FROM up)",
        );
}

/// Push `SELECT pool_id ...` of the pools `user_id` (in `dept_id`) belongs to, admins included.
pub fn push_member_pool_ids(qb: &mut QueryBuilder<'_, Postgres>, user_id: i64, dept_id: i64) {
    qb.push("SELECT pm.pool_id FROM pool_members pm WHERE pm.user_id = ")
        .push_bind(user_id)
        .push(" OR pm.dept_id = ANY(");
    push_dept_and_ancestors(qb, dept_id);
    qb.push(") UNION SELECT pa.pool_id FROM pool_admins pa WHERE pa.user_id = ").push_bind(user_id);
}

/// Append `(<alias> sits in a pool the scope's user belongs to)` — the arm that
/// customers add to their visibility so pool members can open pool customers' detail pages.
pub fn push_in_member_pool(qb: &mut QueryBuilder<'_, Postgres>, alias: &str, scope: &DataScope) {
    qb.push(format_args!(" ({alias}.owner_id IS NULL AND {alias}.pool_id = ANY(ARRAY("));
    push_member_pool_ids(qb, scope.user_id, scope.dept_id);
    qb.push("))) ");
}

/// Every pool, the default first.
pub async fn all(db: &PgPool) -> sqlx::Result<Vec<Pool>> {
    sqlx::query_as(&format!("SELECT {POOL_COLUMNS} FROM pools p ORDER BY p.is_default DESC, p.id")).fetch_all(db).await
}

pub async fn find(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<Pool>> {
    sqlx::query_as(&format!("SELECT {POOL_COLUMNS} FROM pools p WHERE p.id = $1")).bind(id).fetch_optional(db).await
}

pub async fn default_pool(db: &mut PgConnection) -> sqlx::Result<Option<Pool>> {
    sqlx::query_as(&format!("SELECT {POOL_COLUMNS} FROM pools p WHERE p.is_default")).fetch_optional(db).await
}

/// Put a customer just created into the default pool (an import that gives its customers to
/// the pool), with `kind` as the reason ("import"). Without a default pool it keeps its owner.
pub async fn take_in(tx: &mut PgConnection, customer_id: i64, kind: &str) -> sqlx::Result<bool> {
    take_in_many(tx, &[customer_id], kind).await
}

/// `take_in` for many customers at once (an import's chunk).
pub async fn take_in_many(tx: &mut PgConnection, customer_ids: &[i64], kind: &str) -> sqlx::Result<bool> {
    let Some(pool) = default_pool(&mut *tx).await? else { return Ok(false) };
    let reason = serde_json::json!({ "kind": kind });
    sqlx::query(
        "UPDATE customers SET owner_id = NULL, pool_id = $2, pool_entered_at = now(), pool_reason = $3
          WHERE id = ANY($1)",
    )
    .bind(customer_ids)
    .bind(pool.id)
    .bind(sqlx::types::Json(&reason))
    .execute(tx)
    .await?;
    Ok(true)
}

/// Whether the user sees every pool: super admins and pool-rule admins.
pub fn sees_all(user: &CurrentUser) -> bool {
    user.is_super || user.can(Module::Pools, Action::Manage)
}

/// The pools the user may open: those they belong to (or all, see `sees_all`), default first.
pub async fn visible(db: &PgPool, user: &CurrentUser) -> sqlx::Result<Vec<Pool>> {
    if sees_all(user) {
        return all(db).await;
    }
    let mut q = QueryBuilder::new(format!("SELECT {POOL_COLUMNS} FROM pools p WHERE p.id = ANY(ARRAY("));
    push_member_pool_ids(&mut q, user.id, user.dept_id);
    q.push(")) ORDER BY p.is_default DESC, p.id");
    q.build_query_as().fetch_all(db).await
}

/// Whether `user_id` (in `dept_id`) is a member or an admin of the pool.
pub async fn belongs(conn: &mut PgConnection, pool_id: i64, user_id: i64, dept_id: i64) -> sqlx::Result<bool> {
    let mut q = QueryBuilder::new("SELECT ");
    q.push_bind(pool_id).push(" = ANY(ARRAY(");
    push_member_pool_ids(&mut q, user_id, dept_id);
    q.push("))");
    q.build_query_scalar().fetch_one(conn).await
}

pub async fn is_admin(conn: &mut PgConnection, pool_id: i64, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pool_admins WHERE pool_id = $1 AND user_id = $2)")
        .bind(pool_id)
        .bind(user_id)
        .fetch_one(conn)
        .await
}

/// May the user hand out this pool's customers: its admins, and holders of the pool "assign"
/// permission who may open the pool.
pub async fn can_assign(conn: &mut PgConnection, pool: &Pool, user: &CurrentUser) -> sqlx::Result<bool> {
    if is_admin(&mut *conn, pool.id, user.id).await? {
        return Ok(true);
    }
    if !user.can(Module::Pool, Action::Assign) {
        return Ok(false);
    }
    Ok(sees_all(user) || belongs(conn, pool.id, user.id, user.dept_id).await?)
}

/// Active users who belong to the pool as members (by name or through a department), by name.
pub async fn member_users(conn: &mut PgConnection, pool_id: i64) -> sqlx::Result<Vec<(i64, String, String)>> {
    sqlx::query_as(
        "WITH RECURSIVE d AS (
           SELECT dept_id AS id FROM pool_members WHERE pool_id = $1 AND dept_id IS NOT NULL
           UNION SELECT x.id FROM departments x JOIN d ON x.parent_id = d.id)
         SELECT u.id, u.name, dp.name FROM users u JOIN departments dp ON dp.id = u.dept_id
         WHERE u.status = 'active'
           AND (u.dept_id IN (SELECT id FROM d)
                OR u.id IN (SELECT user_id FROM pool_members WHERE pool_id = $1 AND user_id IS NOT NULL))
         ORDER BY dp.name, u.name",
    )
    .bind(pool_id)
    .fetch_all(conn)
    .await
}

/// Ids of every user (active or not) who is a member of the pool — whose customers its rules govern.
pub async fn member_ids(conn: &mut PgConnection, pool_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "WITH RECURSIVE d AS (
           SELECT dept_id AS id FROM pool_members WHERE pool_id = $1 AND dept_id IS NOT NULL
           UNION SELECT x.id FROM departments x JOIN d ON x.parent_id = d.id)
         SELECT u.id FROM users u
         WHERE u.dept_id IN (SELECT id FROM d)
            OR u.id IN (SELECT user_id FROM pool_members WHERE pool_id = $1 AND user_id IS NOT NULL)
         ORDER BY u.id",
    )
    .bind(pool_id)
    .fetch_all(conn)
    .await
}

/// Which pool's rules govern each owner: the first non-default pool (lowest id) the owner is a
/// member of, else the default pool. Returns (pool, owners it governs), pools without owners left
/// out. Pool admins who are not members are not governed by that pool.
pub async fn governed(conn: &mut PgConnection) -> sqlx::Result<Vec<(Pool, Vec<i64>)>> {
    let pools: Vec<Pool> = sqlx::query_as(&format!("SELECT {POOL_COLUMNS} FROM pools p ORDER BY p.is_default, p.id"))
        .fetch_all(&mut *conn)
        .await?;
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    for pool in pools {
        let owners: Vec<i64> =
            member_ids(&mut *conn, pool.id).await?.into_iter().filter(|id| taken.insert(*id)).collect();
        if !owners.is_empty() {
            out.push((pool, owners));
        }
    }
    Ok(out)
}

/// The pool whose rules govern one owner's customers.
pub async fn governing(conn: &mut PgConnection, owner_id: i64) -> sqlx::Result<Option<Pool>> {
    Ok(governed(conn).await?.into_iter().find(|(_, owners)| owners.contains(&owner_id)).map(|(p, _)| p))
}
