//! Pool admin SQL: pools with their members and admins, and their rules.

use sqlx::{PgConnection, PgPool};

use super::model::{PoolInput, RuleInput};

/// A line of the pools page.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct PoolLine {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
    pub claim_cap_per_day: Option<i32>,
    pub reclaim_cooldown_days: i32,
    pub remind_days_before: i32,
    pub members: Vec<String>,
    pub admins: Vec<String>,
    pub rules: i64,
    pub customers: i64,
}

pub async fn lines(db: &PgPool) -> sqlx::Result<Vec<PoolLine>> {
    sqlx::query_as(
        "SELECT p.id, p.name, p.is_default, p.claim_cap_per_day, p.reclaim_cooldown_days, p.remind_days_before,
           ARRAY(SELECT coalesce(u.name, d.name) FROM pool_members m LEFT JOIN users u ON u.id = m.user_id
                 LEFT JOIN departments d ON d.id = m.dept_id WHERE m.pool_id = p.id ORDER BY m.dept_id NULLS LAST, m.id)
             AS members,
           ARRAY(SELECT u.name FROM pool_admins a JOIN users u ON u.id = a.user_id WHERE a.pool_id = p.id ORDER BY u.name)
             AS admins,
           (SELECT count(*) FROM pool_rules r WHERE r.pool_id = p.id AND r.enabled) AS rules,
           (SELECT count(*) FROM customers c WHERE c.pool_id = p.id AND c.owner_id IS NULL AND c.deleted_at IS NULL)
             AS customers
         FROM pools p ORDER BY p.is_default DESC, p.id",
    )
    .fetch_all(db)
    .await
}

/// The pool as its form holds it.
pub async fn input(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<PoolInput>> {
    let row: Option<(String, Option<i32>, i32, i32)> = sqlx::query_as(
        "SELECT name, claim_cap_per_day, reclaim_cooldown_days, remind_days_before FROM pools WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((name, cap, cooldown, remind)) = row else { return Ok(None) };
    let member_users = sqlx::query_scalar(
        "SELECT user_id FROM pool_members WHERE pool_id = $1 AND user_id IS NOT NULL ORDER BY user_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let member_depts = sqlx::query_scalar(
        "SELECT dept_id FROM pool_members WHERE pool_id = $1 AND dept_id IS NOT NULL ORDER BY dept_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let admins = sqlx::query_scalar("SELECT user_id FROM pool_admins WHERE pool_id = $1 ORDER BY user_id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(Some(PoolInput {
        name,
        claim_cap_per_day: cap,
        reclaim_cooldown_days: cooldown,
        remind_days_before: remind,
        member_users,
        member_depts,
        admins,
    }))
}

pub async fn name_taken(conn: &mut PgConnection, name: &str, except: Option<i64>) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pools WHERE name = $1 AND id IS DISTINCT FROM $2)")
        .bind(name)
        .bind(except)
        .fetch_one(conn)
        .await
}

/// Insert (id None) or update the pool, then replace its members and admins. Returns its id.
pub async fn save(conn: &mut PgConnection, id: Option<i64>, p: &PoolInput, by: i64) -> sqlx::Result<i64> {
    let id: i64 = match id {
        None => {
            sqlx::query_scalar(
                "INSERT INTO pools (name, claim_cap_per_day, reclaim_cooldown_days, remind_days_before, created_by)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(&p.name)
            .bind(p.claim_cap_per_day)
            .bind(p.reclaim_cooldown_days)
            .bind(p.remind_days_before)
            .bind(by)
            .fetch_one(&mut *conn)
            .await?
        }
        Some(id) => {
            sqlx::query(
                "UPDATE pools SET name = $2, claim_cap_per_day = $3, reclaim_cooldown_days = $4, remind_days_before = $5
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&p.name)
            .bind(p.claim_cap_per_day)
            .bind(p.reclaim_cooldown_days)
            .bind(p.remind_days_before)
            .execute(&mut *conn)
            .await?;
            id
        }
    };
    sqlx::query("DELETE FROM pool_members WHERE pool_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM pool_admins WHERE pool_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("INSERT INTO pool_members (pool_id, user_id) SELECT $1, unnest($2::bigint[])")
        .bind(id)
        .bind(&p.member_users)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO pool_members (pool_id, dept_id) SELECT $1, unnest($2::bigint[])")
        .bind(id)
        .bind(&p.member_depts)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO pool_admins (pool_id, user_id) SELECT $1, unnest($2::bigint[])")
        .bind(id)
        .bind(&p.admins)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Delete a (non-default) pool; its customers move to the default pool. Returns how many moved.
pub async fn delete(conn: &mut PgConnection, id: i64, default_id: i64) -> sqlx::Result<u64> {
    let moved = sqlx::query("UPDATE customers SET pool_id = $2 WHERE pool_id = $1")
        .bind(id)
        .bind(default_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM pools WHERE id = $1 AND NOT is_default").bind(id).execute(&mut *conn).await?;
    Ok(moved)
}

pub async fn insert_rule(conn: &mut PgConnection, pool_id: i64, r: &RuleInput) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO pool_rules (pool_id, kind, days, levels, status_ids, exempt_dealt, exempt_open_opportunities, enabled)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(pool_id)
    .bind(r.kind.code())
    .bind(r.days)
    .bind(&r.levels)
    .bind(&r.status_ids)
    .bind(r.exempt_dealt)
    .bind(r.exempt_open_opportunities)
    .bind(r.enabled)
    .fetch_one(conn)
    .await
}

pub async fn update_rule(conn: &mut PgConnection, id: i64, r: &RuleInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE pool_rules SET kind = $2, days = $3, levels = $4, status_ids = $5, exempt_dealt = $6,
           exempt_open_opportunities = $7, enabled = $8 WHERE id = $1",
    )
    .bind(id)
    .bind(r.kind.code())
    .bind(r.days)
    .bind(&r.levels)
    .bind(&r.status_ids)
    .bind(r.exempt_dealt)
    .bind(r.exempt_open_opportunities)
    .bind(r.enabled)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete_rule(conn: &mut PgConnection, pool_id: i64, id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM pool_rules WHERE id = $1 AND pool_id = $2")
        .bind(id)
        .bind(pool_id)
        .execute(conn)
        .await?
        .rows_affected())
}
