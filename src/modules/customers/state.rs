//! Lock (锁定: never recycled to the pool; lock cap) and freeze (冻结: read-only until unfrozen,
//! only from statuses marked "can be frozen").

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::caps;
use super::model::{Customer, DICTS, ENTITY};
use super::repo;
use crate::access::{DataScope, Module};
use crate::audit::Entry;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::org::users;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{PageCtx, RequestCtx, done};

/// Visible and changeable by the user, frozen or not (unfreezing must reach frozen ones).
async fn changeable(st: &AppState, req: &RequestCtx, id: i64) -> AppResult<Customer> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let c = repo::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    if !crate::records::sql::may_write(&st.db, &super::RECORD, &scope, id, c.owner_id).await? {
        return Err(AppError::Forbidden);
    }
    Ok(c)
}

async fn set_flag(
    st: &AppState,
    ctx: &PageCtx,
    req: &RequestCtx,
    c: &Customer,
    column: &str,
    value: bool,
    done_key: &'static str,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut tx = st.db.begin().await?;
    // The flags as they are now, under the row lock (not as the page that posted saw them).
    let (locked, frozen): (bool, bool) =
        sqlx::query_as("SELECT locked, frozen FROM customers WHERE id = $1 FOR UPDATE")
            .bind(c.id)
            .fetch_one(&mut *tx)
            .await?;
    let old = if column == "locked" { locked } else { frozen };
    // Locking one that is locked already adds nothing to the lock cap.
    if column == "locked" && value && !old {
        if let Some(owner) = c.owner_id {
            if let Err(over) = caps::check_locked(&mut tx, owner, 1).await? {
                let name = users::name_of(&mut tx, Some(owner)).await?.unwrap_or_default();
                ctx.flash_text(Kind::Error, over.message(ctx.lang, &name, true)).await;
                return Ok(Redirect::to(&format!("/customers/{}", c.id)).into_response());
            }
        }
    }
    if old != value {
        sqlx::query(&format!("UPDATE customers SET {column} = $2 WHERE id = $1"))
            .bind(c.id)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        let action = match (column, value) {
            ("locked", true) => "lock",
            ("locked", false) => "unlock",
            (_, true) => "freeze",
            _ => "unfreeze",
        };
        Entry::new(ENTITY, c.id, action).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, ctx, done_key, &format!("/customers/{}", c.id)).await
}

pub async fn lock(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = changeable(&st, &req, id).await?;
    if c.frozen {
        return Err(AppError::Conflict("customer.error.frozen"));
    }
    set_flag(&st, &ctx, &req, &c, "locked", true, "state.locked").await
}

/// A frozen customer is read-only in every respect, its lock included: unlocking (like locking)
/// waits until it is unfrozen, so freezing also keeps it out of the pool as it was.
pub async fn unlock(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = changeable(&st, &req, id).await?;
    if c.frozen {
        return Err(AppError::Conflict("customer.error.frozen"));
    }
    set_flag(&st, &ctx, &req, &c, "locked", false, "state.unlocked").await
}

pub async fn freeze(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = changeable(&st, &req, id).await?;
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let allowed = dicts.get(c.status_id).is_some_and(|s| s.flag("can_freeze"));
    if !allowed {
        ctx.flash(Kind::Error, "state.cannot_freeze").await;
        return Ok(Redirect::to(&format!("/customers/{id}")).into_response());
    }
    set_flag(&st, &ctx, &req, &c, "frozen", true, "state.frozen").await
}

pub async fn unfreeze(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let c = changeable(&st, &req, id).await?;
    set_flag(&st, &ctx, &req, &c, "frozen", false, "state.unfrozen").await
}
