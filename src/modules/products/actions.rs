//! On and off the shelf (上架 / 下架), one product or the ticked ones. A product off the shelf
//! cannot go on new lines; lines already using it keep it.

use axum::extract::{Path, State};
use axum::response::Response;
use sqlx::PgConnection;

use super::model::ENTITY;
use super::{Products, repo};
use crate::access::{DataScope, Module};
use crate::audit::Entry;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::records::bin::selected;
use crate::state::AppState;
use crate::web::{FormData, PageCtx, RequestCtx, done};

/// POST /products/{id}/shelf/on and /shelf/off.
pub async fn shelf_one(
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, to)): Path<(i64, String)>,
    mut tx: Tx,
) -> AppResult<Response> {
    let on = shelf_state(&to)?;
    let names = shelve(&mut tx, &req, &[id], on).await?;
    let msg = match names.first() {
        Some((_, name)) => ctx.tf1(if on { "product.shelved" } else { "product.unshelved" }, "name", name),
        None => ctx.t("product.shelf_unchanged").to_string(),
    };
    done(tx, &ctx, msg, &format!("/products/{id}")).await
}

/// POST /products/bulk/shelf/on and /bulk/shelf/off: the ticked products (or every one the
/// list's filter matches).
pub async fn shelf_bulk(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(to): Path<String>,
    form: FormData,
) -> AppResult<Response> {
    let on = shelf_state(&to)?;
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Products).await?;
    let sel = Selection::from_form(&form);
    let ids = selected::<Products>(&st, user, &scope, &sel).await?;
    let mut tx = Tx::begin(&st.db).await?;
    let names = shelve(&mut tx, &req, &ids, on).await?;
    let key = if on { "product.shelved_n" } else { "product.unshelved_n" };
    done(tx, &ctx, ctx.tf1(key, "n", &names.len().to_string()), &sel.back("/products")).await
}

fn shelf_state(to: &str) -> AppResult<bool> {
    match to {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(AppError::NotFound),
    }
}

/// Change the shelf state of `ids` with an audit row for each product that changed.
async fn shelve(tx: &mut PgConnection, req: &RequestCtx, ids: &[i64], on: bool) -> AppResult<Vec<(i64, String)>> {
    let user = req.user()?;
    let changed = repo::set_shelf(tx, ids, on).await?;
    for (id, _) in &changed {
        Entry::new(ENTITY, *id, "update")
            .change("on_shelf", !on, on)
            .write(tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    Ok(changed)
}
