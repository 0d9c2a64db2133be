//! Users as every layer needs them: pickers, names, the reporting chain. The admin pages that
//! change users are in `modules::admin::users`.

use sqlx::{PgConnection, PgPool};

use crate::web::SelectOpt;

/// Users as select options: "name (department)", active ones only when asked.
pub async fn options(db: &PgPool, active_only: bool) -> sqlx::Result<Vec<SelectOpt>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT u.id, u.name, d.name FROM users u JOIN departments d ON d.id = u.dept_id
         WHERE NOT $1 OR u.status = 'active' ORDER BY d.name, u.name",
    )
    .bind(active_only)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id, name, dept)| SelectOpt::new(id, format!("{name}（{dept}）"))).collect())
}

/// Select options for just these users ("name（department）"), e.g. the owners in a scope.
pub async fn options_for(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<SelectOpt>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT u.id, u.name, d.name FROM users u JOIN departments d ON d.id = u.dept_id
         WHERE u.id = ANY($1) ORDER BY d.name, u.name",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(id, name, dept)| SelectOpt::new(id, format!("{name}（{dept}）"))).collect())
}

pub async fn name_of(db: &mut PgConnection, id: Option<i64>) -> sqlx::Result<Option<String>> {
    match id {
        None => Ok(None),
        Some(id) => sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(id).fetch_optional(db).await,
    }
}

/// The chain of superiors above `user` (nearest first), stopping at a repeat.
pub async fn superior_chain(db: &mut PgConnection, user: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "WITH RECURSIVE up(id, depth) AS (
           SELECT superior_id, 1 FROM users WHERE id = $1 AND superior_id IS NOT NULL
           UNION
           SELECT u.superior_id, up.depth + 1 FROM users u JOIN up ON u.id = up.id
           WHERE u.superior_id IS NOT NULL AND up.depth < 1000)
         SELECT id FROM up ORDER BY depth",
    )
    .bind(user)
    .fetch_all(db)
    .await
}

/// The user a typed name or login stands for (exact match), for filters filled in by hand.
pub async fn id_by_name(db: &PgPool, text: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM users WHERE name = $1 OR lower(login) = lower($1) ORDER BY id LIMIT 1")
        .bind(text.trim())
        .fetch_optional(db)
        .await
}

/// The owner filter's choices for a data scope: the users in it, or everyone for an all-data
/// scope (former employees included: their records are still there to find).
pub async fn scope_options(db: &PgPool, owners: Option<&[i64]>) -> sqlx::Result<Vec<SelectOpt>> {
    match owners {
        Some(ids) => options_for(db, ids).await,
        None => options(db, false).await,
    }
}
