//! User SQL for the admin pages (pickers and look-ups every layer needs are in `crate::org`).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{UserFilter, UserInput};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct UserListRow {
    pub id: i64,
    pub login: String,
    pub mobile: Option<String>,
    pub name: String,
    pub dept_name: String,
    pub position: Option<String>,
    pub superior_name: Option<String>,
    pub status: String,
    pub roles: Vec<String>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Holds the super admin role (only super admins may change such a user).
    pub is_super: bool,
}

fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, f: &UserFilter) {
    qb.push(" WHERE TRUE");
    if let Some(q) = f.q() {
        let like = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        qb.push(" AND (u.name ILIKE ").push_bind(like.clone());
        qb.push(" OR u.login ILIKE ").push_bind(like.clone());
        qb.push(" OR u.mobile ILIKE ").push_bind(like).push(")");
    }
    if let Some(d) = f.dept_id() {
        qb.push(" AND u.dept_id = ").push_bind(d);
    }
    if let Some(s) = f.status() {
        qb.push(" AND u.status = ").push_bind(s.to_string());
    }
    if let Some(r) = f.role_id() {
        qb.push(" AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role_id = ")
            .push_bind(r)
            .push(")");
    }
}

pub async fn count(db: &PgPool, f: &UserFilter) -> sqlx::Result<i64> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM users u");
    push_filter(&mut qb, f);
    qb.build_query_scalar().fetch_one(db).await
}

/// Ids of every user the filter matches (the list's export).
pub async fn ids(db: &PgPool, f: &UserFilter) -> sqlx::Result<Vec<i64>> {
    let mut qb = QueryBuilder::new("SELECT u.id FROM users u");
    push_filter(&mut qb, f);
    qb.build_query_scalar().fetch_all(db).await
}

pub async fn list(db: &PgPool, f: &UserFilter, limit: i64, offset: i64) -> sqlx::Result<Vec<UserListRow>> {
    let mut qb = QueryBuilder::new(
        "SELECT u.id, u.login, u.mobile, u.name, d.name AS dept_name, u.position, s.name AS superior_name,
                u.status, u.last_login_at,
                ARRAY(SELECT r.name FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                      WHERE ur.user_id = u.id ORDER BY r.id) AS roles,
                EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                        WHERE ur.user_id = u.id AND r.is_super) AS is_super
         FROM users u JOIN departments d ON d.id = u.dept_id LEFT JOIN users s ON s.id = u.superior_id",
    );
    push_filter(&mut qb, f);
    qb.push(" ORDER BY u.status, d.name, u.name, u.id LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    qb.build_query_as().fetch_all(db).await
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct UserRow {
    pub id: i64,
    pub login: String,
    pub mobile: Option<String>,
    pub name: String,
    pub gender: Option<String>,
    pub email: Option<String>,
    pub dept_id: i64,
    pub position: Option<String>,
    pub superior_id: Option<i64>,
    pub status: String,
    pub lang: Option<String>,
    pub role_ids: Vec<i64>,
}

pub async fn find(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "SELECT id, login, mobile, name, gender, email, dept_id, position, superior_id, status, lang,
                ARRAY(SELECT role_id FROM user_roles WHERE user_id = users.id ORDER BY role_id) AS role_ids
         FROM users WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// (id, name, is_super) of every role, for the role checkboxes.
pub async fn roles(db: &PgPool) -> sqlx::Result<Vec<(i64, String, bool)>> {
    sqlx::query_as("SELECT id, name, is_super FROM roles ORDER BY is_super DESC, id").fetch_all(db).await
}

pub async fn role_names(db: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM roles WHERE id = ANY($1) ORDER BY id").bind(ids).fetch_all(db).await
}

pub async fn super_role_ids(db: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM roles WHERE is_super").fetch_all(db).await
}

/// Active super admins other than `except`. Locks their rows so two admins cannot demote each
/// other at the same moment and leave none.
pub async fn other_active_super_admins(db: &mut PgConnection, except: i64) -> sqlx::Result<i64> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT u.id FROM users u WHERE u.status = 'active' AND u.id <> $1
           AND EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                       WHERE ur.user_id = u.id AND r.is_super)
         ORDER BY u.id FOR UPDATE",
    )
    .bind(except)
    .fetch_all(db)
    .await?;
    Ok(ids.len() as i64)
}

pub async fn login_taken(db: &mut PgConnection, login: &str, except: Option<i64>) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(login) = lower($1) AND id IS DISTINCT FROM $2)")
        .bind(login)
        .bind(except)
        .fetch_one(db)
        .await
}

pub async fn mobile_taken(db: &mut PgConnection, mobile: &str, except: Option<i64>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE (mobile = $1 OR lower(login) = lower($1)) AND id IS DISTINCT FROM $2)",
    )
    .bind(mobile)
    .bind(except)
    .fetch_one(db)
    .await
}

pub async fn insert(db: &mut PgConnection, u: &UserInput, password_hash: &str, by: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO users (login, mobile, name, gender, email, dept_id, position, superior_id, lang,
                            password_hash, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(&u.login)
    .bind(&u.mobile)
    .bind(&u.name)
    .bind(&u.gender)
    .bind(&u.email)
    .bind(u.dept_id)
    .bind(&u.position)
    .bind(u.superior_id)
    .bind(&u.lang)
    .bind(password_hash)
    .bind(by)
    .fetch_one(db)
    .await
}

pub async fn update(db: &mut PgConnection, id: i64, u: &UserInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET login = $2, mobile = $3, name = $4, gender = $5, email = $6, dept_id = $7,
                          position = $8, superior_id = $9, lang = $10
         WHERE id = $1",
    )
    .bind(id)
    .bind(&u.login)
    .bind(&u.mobile)
    .bind(&u.name)
    .bind(&u.gender)
    .bind(&u.email)
    .bind(u.dept_id)
    .bind(&u.position)
    .bind(u.superior_id)
    .bind(&u.lang)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_roles(db: &mut PgConnection, id: i64, roles: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1").bind(id).execute(&mut *db).await?;
    sqlx::query("INSERT INTO user_roles (user_id, role_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING")
        .bind(id)
        .bind(roles)
        .execute(db)
        .await?;
    Ok(())
}

/// Set a new password and end every session of the user.
pub async fn set_password(db: &mut PgConnection, id: i64, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1 WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Disabling also bumps the session epoch, so open sessions end at their next request.
pub async fn set_status(db: &mut PgConnection, id: i64, status: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET status = $2,
           session_epoch = session_epoch + CASE WHEN $2 = 'disabled' THEN 1 ELSE 0 END
         WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct TreeRow {
    pub id: i64,
    pub name: String,
    pub position: Option<String>,
    pub dept_name: String,
    pub superior_id: Option<i64>,
    pub status: String,
}

pub async fn all_for_tree(db: &PgPool) -> sqlx::Result<Vec<TreeRow>> {
    sqlx::query_as(
        "SELECT u.id, u.name, u.position, d.name AS dept_name, u.superior_id, u.status
         FROM users u JOIN departments d ON d.id = u.dept_id ORDER BY u.name, u.id",
    )
    .fetch_all(db)
    .await
}

/// (id, name, department) of active users whose name contains the text; for pickers. Logins
/// and mobiles are usually phone numbers: they are matched only when `by_login` (the caller
/// may administer users), and never returned.
pub async fn lookup(db: &PgPool, text: &str, by_login: bool, limit: i64) -> sqlx::Result<Vec<(i64, String, String)>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let like = format!("%{}%", crate::fields::escape_like(text));
    sqlx::query_as(
        "SELECT u.id, u.name, d.name FROM users u JOIN departments d ON d.id = u.dept_id
         WHERE u.status = 'active'
           AND (u.name ILIKE $1 OR ($4 AND (u.login ILIKE $1 OR u.mobile ILIKE $1)))
         ORDER BY (u.name = $2) DESC, u.name LIMIT $3",
    )
    .bind(like)
    .bind(text)
    .bind(limit)
    .bind(by_login)
    .fetch_all(db)
    .await
}
