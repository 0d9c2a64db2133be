//! Data that does not come from migrations: the first admin of a real installation, and the
//! demo company (`demo`). Reference data (roles, dictionaries) lives in migrations instead.

pub mod demo;
mod demo_contracts;
mod demo_imports;
mod demo_pipeline;
mod demo_schedule;
mod demo_tasks;
mod demo_worklogs;
pub mod scale;
pub mod scale_import;
mod scale_schedule;
mod scale_tasks;
mod scale_worklogs;

use anyhow::{Context, bail};
use sqlx::PgPool;

use crate::auth::password;

/// A super administrator in the root department. Refuses weak passwords and taken logins.
pub async fn create_super_admin(db: &PgPool, login: &str, name: &str, pw: &str) -> anyhow::Result<i64> {
    if let Err(key) = password::check_strength(pw, &[login]) {
        bail!("{}", crate::web::i18n::Lang::En.t(key));
    }
    let hash = password::hash(pw.to_string()).await?;
    let mut tx = db.begin().await?;
    let root = root_department(&mut tx).await?;
    let id = insert_user(&mut tx, login, name, root, None, &hash).await?;
    grant_role(&mut tx, id, "super").await?;
    crate::audit::Entry::new("user", id, "create").write(&mut tx, None, None).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn root_department(tx: &mut sqlx::PgConnection) -> anyhow::Result<i64> {
    sqlx::query_scalar("SELECT id FROM departments WHERE parent_id IS NULL ORDER BY id LIMIT 1")
        .fetch_one(tx)
        .await
        .context("the root department is missing")
}

pub async fn insert_user(
    tx: &mut sqlx::PgConnection,
    login: &str,
    name: &str,
    dept_id: i64,
    superior_id: Option<i64>,
    password_hash: &str,
) -> anyhow::Result<i64> {
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(login) = lower($1))")
        .bind(login)
        .fetch_one(&mut *tx)
        .await?;
    if taken {
        bail!("the login {login} is taken");
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO users (login, mobile, name, dept_id, superior_id, password_hash)
         VALUES ($1, CASE WHEN $1 ~ '^1[0-9]{10}$' THEN $1 END, $2, $3, $4, $5) RETURNING id",
    )
    .bind(login)
    .bind(name)
    .bind(dept_id)
    .bind(superior_id)
    .bind(password_hash)
    .fetch_one(tx)
    .await?)
}

pub async fn grant_role(tx: &mut sqlx::PgConnection, user_id: i64, role_code: &str) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE code = $2")
        .bind(user_id)
        .bind(role_code)
        .execute(tx)
        .await?;
    Ok(())
}
