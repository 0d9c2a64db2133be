//! Stars (关注): each user's own marks on records of any entity, and the star actions every
//! record list shares — toggle on the detail page, star or unstar the list's selection — for
//! every registered record kind.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use sqlx::PgPool;

use super::bin::selected;
use super::def::Record;
use super::routes::at;
use super::sql;
use crate::access::{Action, DataScope, Guard, Routes};
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{PageCtx, RequestCtx};

pub async fn is_starred(db: &PgPool, user_id: i64, entity: &str, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stars WHERE user_id = $1 AND entity = $2 AND record_id = $3)")
        .bind(user_id)
        .bind(entity)
        .bind(id)
        .fetch_one(db)
        .await
}

/// Which of `ids` the user has starred (one query for a list page).
pub async fn starred_among(db: &PgPool, user_id: i64, entity: &str, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT record_id FROM stars WHERE user_id = $1 AND entity = $2 AND record_id = ANY($3)")
        .bind(user_id)
        .bind(entity)
        .bind(ids)
        .fetch_all(db)
        .await
}

/// Star (`on`) or unstar the records.
pub async fn set(db: &PgPool, user_id: i64, entity: &str, ids: &[i64], on: bool) -> sqlx::Result<()> {
    let sql = if on {
        "INSERT INTO stars (user_id, entity, record_id) SELECT $1, $2, unnest($3::bigint[]) ON CONFLICT DO NOTHING"
    } else {
        "DELETE FROM stars WHERE user_id = $1 AND entity = $2 AND record_id = ANY($3)"
    };
    sqlx::query(sql).bind(user_id).bind(entity).bind(ids).execute(db).await?;
    Ok(())
}

/// Seeing a record is enough to star it: a star is the user's own bookmark.
pub fn routes<R: Record>() -> Routes {
    let g = Guard::Perm(R::DEF.module, Action::View);
    Routes::new()
        .post(at(R::DEF, "/bulk/star"), g, bulk_on::<R>)
        .post(at(R::DEF, "/bulk/unstar"), g, bulk_off::<R>)
        .post(at(R::DEF, "/{id}/star"), g, toggle::<R>)
}

async fn toggle<R: Record>(State(st): State<AppState>, req: RequestCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    if !sql::is_visible(&st.db, def, &scope, id).await? {
        return Err(AppError::NotFound);
    }
    let on = !is_starred(&st.db, user.id, def.entity, id).await?;
    set(&st.db, user.id, def.entity, &[id], on).await?;
    Ok(Redirect::to(&def.url(id)).into_response())
}

async fn bulk<R: Record>(st: AppState, ctx: PageCtx, req: RequestCtx, sel: Selection, on: bool) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    let ids = selected::<R>(&st, user, &scope, &sel).await?;
    set(&st.db, user.id, def.entity, &ids, on).await?;
    let key = def.msg(if on { "starred_n" } else { "unstarred_n" });
    ctx.flash_text(Kind::Success, ctx.tf1(&key, "n", &ids.len().to_string())).await;
    Ok(Redirect::to(&sel.back(def.path)).into_response())
}

async fn bulk_on<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    bulk::<R>(st, ctx, req, sel, true).await
}

async fn bulk_off<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    bulk::<R>(st, ctx, req, sel, false).await
}
