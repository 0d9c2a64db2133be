//! SQL of the log pages: the operation log and the login log, filtered and paginated.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::model::{LoginQuery, LoginRow, OpQuery, Period};
use crate::audit::history::{LogRow, SELECT};

fn push_period(qb: &mut QueryBuilder<'_, Postgres>, column: &str, p: &Period) {
    if let Some(from) = p.from {
        qb.push(format!(" AND {column} >= ")).push_bind(from);
    }
    if let Some(until) = p.until {
        qb.push(format!(" AND {column} < ")).push_bind(until);
    }
}

fn push_op_filters(qb: &mut QueryBuilder<'_, Postgres>, q: &OpQuery) {
    qb.push(" WHERE TRUE");
    if let Some(actor) = q.actor {
        qb.push(" AND l.actor_id = ").push_bind(actor);
    }
    if let Some(entity) = &q.entity {
        qb.push(" AND l.entity = ").push_bind(entity.clone());
    }
    match &q.action {
        Some(action) => {
            qb.push(" AND l.action = ").push_bind(action.clone());
        }
        // A batch is one line (import_run); the history entry each imported record got would
        // bury the log under 100,000 lines, so they show on the records, or when asked for.
        None => {
            qb.push(" AND l.action NOT IN ('import', 'import_update')");
        }
    }
    push_period(qb, "l.at", &q.period);
}

pub async fn count_ops(db: &PgPool, q: &OpQuery) -> sqlx::Result<i64> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM operation_logs l");
    push_op_filters(&mut qb, q);
    qb.build_query_scalar().fetch_one(db).await
}

/// One page of the operation log, newest first.
pub async fn ops(db: &PgPool, q: &OpQuery, limit: i64, offset: i64) -> sqlx::Result<Vec<LogRow>> {
    let mut qb = QueryBuilder::new(SELECT);
    push_op_filters(&mut qb, q);
    qb.push(" ORDER BY l.at DESC, l.id DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    qb.build_query_as().fetch_all(db).await
}

/// Users for the actor filter: (id, name, login).
pub async fn users(db: &PgPool) -> sqlx::Result<Vec<(i64, String, String)>> {
    sqlx::query_as("SELECT id, name, login FROM users ORDER BY name, login").fetch_all(db).await
}

fn push_login_filters(qb: &mut QueryBuilder<'_, Postgres>, q: &LoginQuery) {
    qb.push(" WHERE TRUE");
    if let Some(login) = &q.login {
        qb.push(" AND g.login ILIKE ").push_bind(format!("%{}%", escape_like(login))).push(" ESCAPE '\\'");
    }
    if let Some(result) = &q.result {
        qb.push(" AND g.result = ").push_bind(result.clone());
    }
    push_period(qb, "g.at", &q.period);
}

pub async fn count_logins(db: &PgPool, q: &LoginQuery) -> sqlx::Result<i64> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM login_log g");
    push_login_filters(&mut qb, q);
    qb.build_query_scalar().fetch_one(db).await
}

/// One page of the login log, newest first.
pub async fn logins(db: &PgPool, q: &LoginQuery, limit: i64, offset: i64) -> sqlx::Result<Vec<LoginRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT g.at, g.login, u.name AS user_name, g.ip, g.user_agent, g.result
           FROM login_log g LEFT JOIN users u ON u.id = g.user_id",
    );
    push_login_filters(&mut qb, q);
    qb.push(" ORDER BY g.at DESC, g.id DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    qb.build_query_as().fetch_all(db).await
}

/// `%`, `_` and `\` typed by the user match themselves.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
