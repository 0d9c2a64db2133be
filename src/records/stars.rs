//! Stars (关注): each user's own marks on records of any entity, and the star actions every
//! record list shares — toggle on the detail page, star or unstar the list's selection. A record
//! type plugs in with `Starrable`.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use sqlx::PgPool;

use crate::access::{Action, Guard, Routes};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::list::prefs::ListModule;
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

/// A list whose records can be starred (its path and permission come from `ListModule`).
pub trait Starrable: ListModule {
    /// Entity name in `stars`, e.g. "customer".
    const ENTITY: &'static str;
    /// i18n prefix of "<prefix>.starred_n" / "<prefix>.unstarred_n".
    const KEY: &'static str;

    /// Whether the user may see this live record.
    fn can_view(st: &AppState, user: &CurrentUser, id: i64) -> impl Future<Output = AppResult<bool>> + Send;
    /// The live records of the list's selection the user may see (ticked or all matching).
    fn selected(st: &AppState, user: &CurrentUser, sel: &Selection)
    -> impl Future<Output = AppResult<Vec<i64>>> + Send;
}

fn path<S: Starrable>(suffix: &str) -> &'static str {
    // Built once per module at start-up, like the list preference routes.
    Box::leak(format!("{}{suffix}", S::PATH).into_boxed_str())
}

/// Seeing a record is enough to star it: a star is the user's own bookmark.
pub fn routes<S: Starrable>() -> Routes {
    let g = Guard::Perm(S::PERM, Action::View);
    let bulk =
        Routes::new().post(path::<S>("/bulk/star"), g, bulk_on::<S>).post(path::<S>("/bulk/unstar"), g, bulk_off::<S>);
    bulk.post(path::<S>("/{id}/star"), g, toggle::<S>)
}

async fn toggle<S: Starrable>(State(st): State<AppState>, req: RequestCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let user = req.user()?;
    if !S::can_view(&st, user, id).await? {
        return Err(AppError::NotFound);
    }
    let on = !is_starred(&st.db, user.id, S::ENTITY, id).await?;
    set(&st.db, user.id, S::ENTITY, &[id], on).await?;
    Ok(Redirect::to(&format!("{}/{id}", S::PATH)).into_response())
}

async fn bulk<S: Starrable>(
    st: AppState,
    ctx: PageCtx,
    req: RequestCtx,
    sel: Selection,
    on: bool,
) -> AppResult<Response> {
    let user = req.user()?;
    let ids = S::selected(&st, user, &sel).await?;
    set(&st.db, user.id, S::ENTITY, &ids, on).await?;
    let key = format!("{}.{}", S::KEY, if on { "starred_n" } else { "unstarred_n" });
    ctx.flash_text(Kind::Success, ctx.tf1(&key, "n", &ids.len().to_string())).await;
    Ok(Redirect::to(&sel.back(S::PATH)).into_response())
}

async fn bulk_on<S: Starrable>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    bulk::<S>(st, ctx, req, sel, true).await
}

async fn bulk_off<S: Starrable>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    bulk::<S>(st, ctx, req, sel, false).await
}
