//! SQL of the role admin: roles, their permissions and data scopes.

use sqlx::{PgConnection, PgPool};

use super::model::{RoleHead, RoleInput, RoleRow};
use crate::access::MODULES;

/// Every role with its member count: the super admin role first, then seeded ones, then the rest.
pub async fn list(db: &PgPool) -> sqlx::Result<Vec<RoleRow>> {
    sqlx::query_as(
        "SELECT r.id, r.code, r.name, r.description, r.is_super, r.totp_required,
                (SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id) AS members
           FROM roles r
          ORDER BY r.is_super DESC, (r.code IS NULL), r.id",
    )
    .fetch_all(db)
    .await
}

pub async fn find(db: &PgPool, id: i64) -> sqlx::Result<Option<RoleHead>> {
    sqlx::query_as("SELECT id, name, description, is_super FROM roles WHERE id = $1").bind(id).fetch_optional(db).await
}

/// The role, locked for the rest of the transaction (a concurrent assignment waits for us).
pub async fn lock(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<RoleHead>> {
    sqlx::query_as("SELECT id, name, description, is_super FROM roles WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The role's stored grants as a form input.
pub async fn load_input(conn: &mut PgConnection, head: &RoleHead) -> sqlx::Result<RoleInput> {
    let perms: Vec<(String, String)> = sqlx::query_as("SELECT module, action FROM role_permissions WHERE role_id = $1")
        .bind(head.id)
        .fetch_all(&mut *conn)
        .await?;
    let scopes: Vec<(String, String)> = sqlx::query_as("SELECT module, scope FROM role_scopes WHERE role_id = $1")
        .bind(head.id)
        .fetch_all(&mut *conn)
        .await?;
    Ok(RoleInput::from_rows(head, &perms, &scopes))
}

/// Whether another role already has this name (ignoring case and surrounding blanks).
pub async fn name_taken(conn: &mut PgConnection, name: &str, except: Option<i64>) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM roles
                         WHERE lower(btrim(name)) = lower(btrim($1)) AND id IS DISTINCT FROM $2)",
    )
    .bind(name)
    .bind(except)
    .fetch_one(conn)
    .await
}

pub async fn insert(conn: &mut PgConnection, input: &RoleInput, created_by: i64) -> sqlx::Result<i64> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO roles (name, description, created_by) VALUES ($1, $2, $3) RETURNING id")
            .bind(&input.name)
            .bind(&input.description)
            .bind(created_by)
            .fetch_one(&mut *conn)
            .await?;
    replace_grants(conn, id, input).await?;
    Ok(id)
}

pub async fn update(conn: &mut PgConnection, id: i64, input: &RoleInput) -> sqlx::Result<()> {
    sqlx::query("UPDATE roles SET name = $1, description = $2 WHERE id = $3")
        .bind(&input.name)
        .bind(&input.description)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    replace_grants(conn, id, input).await
}

/// Replace the role's grants for every module of the catalog. Rows of modules the catalog does
/// not know (yet) are left alone.
async fn replace_grants(conn: &mut PgConnection, id: i64, input: &RoleInput) -> sqlx::Result<()> {
    let known: Vec<&str> = MODULES.iter().map(|d| d.code).collect();
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1 AND module = ANY($2)")
        .bind(id)
        .bind(&known)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM role_scopes WHERE role_id = $1 AND module = ANY($2)")
        .bind(id)
        .bind(&known)
        .execute(&mut *conn)
        .await?;
    let (modules, actions): (Vec<&str>, Vec<&str>) =
        input.grants().into_iter().map(|(m, a)| (m.code(), a.code())).unzip();
    sqlx::query(
        "INSERT INTO role_permissions (role_id, module, action)
         SELECT $1, m, a FROM unnest($2::text[], $3::text[]) AS g(m, a)",
    )
    .bind(id)
    .bind(&modules)
    .bind(&actions)
    .execute(&mut *conn)
    .await?;
    let (modules, scopes): (Vec<&str>, Vec<&str>) =
        input.stored_scopes().into_iter().map(|(m, s)| (m.code(), s.code())).unzip();
    sqlx::query(
        "INSERT INTO role_scopes (role_id, module, scope)
         SELECT $1, m, s FROM unnest($2::text[], $3::text[]) AS g(m, s)",
    )
    .bind(id)
    .bind(&modules)
    .bind(&scopes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every role's two-factor requirement (id, name, required), locked for the rest of the
/// transaction.
pub async fn lock_two_factor(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, String, bool)>> {
    sqlx::query_as("SELECT id, name, totp_required FROM roles ORDER BY id FOR UPDATE").fetch_all(conn).await
}

pub async fn set_two_factor(conn: &mut PgConnection, id: i64, required: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE roles SET totp_required = $2 WHERE id = $1").bind(id).bind(required).execute(conn).await?;
    Ok(())
}

/// How many users hold the role.
pub async fn member_count(conn: &mut PgConnection, id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM user_roles WHERE role_id = $1").bind(id).fetch_one(conn).await
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(conn).await?;
    Ok(())
}

/// The unique constraint on role names (a concurrent save may take a name checked free).
pub const NAME_KEY: &str = "roles_name_key";
