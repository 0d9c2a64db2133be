//! Record actions: star, delete (single and bulk, on ticked rows or everything matching the
//! list's filter), and the recycle bin (restore, permanent delete).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use sqlx::QueryBuilder;

use super::list::{CustomerFilter, Narrowing};
use super::model::{Customer, DICTS, ENTITY};
use super::repo;
use crate::access::{DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields;
use crate::list::{self, Selection};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{PageCtx, Pager, RequestCtx, render};

/// The selection's ids that `scope` may see: ticked ones, or every live row matching the filter.
pub(super) async fn selected(
    st: &AppState,
    user: &CurrentUser,
    scope: &DataScope,
    sel: &Selection,
) -> AppResult<Vec<i64>> {
    if !sel.all_matching() {
        return Ok(list::visible_ids(&st.db, "customers", ENTITY, scope, &sel.ids).await?);
    }
    let filter = CustomerFilter::parse(&st.db, &sel.filter).await?;
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(&sel.filter));
    let narrowing = Narrowing { filter: &filter, dicts: &dicts, defs: &defs, custom: &custom, tz: st.config.timezone };
    let mut q = QueryBuilder::new("SELECT c.id ");
    narrowing.push_from_where(&mut q, scope, user);
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}

/// Of `ids`, those the user may change: owner in scope or a live read-write team place, not frozen.
pub(super) async fn writable_ids(st: &AppState, scope: &DataScope, ids: &[i64]) -> AppResult<Vec<i64>> {
    with_rights(st, scope, ids, false).await
}

/// Of `ids`, those the user could change but for being frozen.
async fn frozen_ids(st: &AppState, scope: &DataScope, ids: &[i64]) -> AppResult<Vec<i64>> {
    with_rights(st, scope, ids, true).await
}

/// Of `ids`, those the user has the right to change, frozen (`frozen`) or not.
async fn with_rights(st: &AppState, scope: &DataScope, ids: &[i64], frozen: bool) -> AppResult<Vec<i64>> {
    let mut q = QueryBuilder::new("SELECT c.id FROM customers c WHERE c.id = ANY(");
    q.push_bind(ids.to_vec()).push(") AND c.frozen = ").push_bind(frozen);
    if let Some(owners) = &scope.owners {
        q.push(" AND (c.owner_id = ANY(").push_bind(owners.clone());
        q.push(") OR c.id = ANY(ARRAY(SELECT record_id FROM record_members WHERE entity = 'customer' AND access = 'write' AND user_id = ")
            .push_bind(scope.user_id)
            .push(" AND (expires_at IS NULL OR expires_at > now()))))");
    }
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}

pub async fn delete_one(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    repo::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    let done = delete_ids(&st, &ctx, &req, &scope, &[id]).await?;
    let to = if done == 1 { "/customers".to_string() } else { format!("/customers/{id}") };
    Ok(Redirect::to(&to).into_response())
}

pub async fn bulk_delete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let ids = selected(&st, user, &scope, &sel).await?;
    delete_ids(&st, &ctx, &req, &scope, &ids).await?;
    Ok(Redirect::to(&sel.back("/customers")).into_response())
}

/// Delete what may be deleted; say what was skipped and why. Returns how many were deleted.
async fn delete_ids(st: &AppState, ctx: &PageCtx, req: &RequestCtx, scope: &DataScope, ids: &[i64]) -> AppResult<u64> {
    let user = req.user()?;
    let writable = writable_ids(st, scope, ids).await?;
    let mut tx = st.db.begin().await?;
    let blocked = repo::delete_blockers(&mut tx, &writable).await?;
    let deletable: Vec<i64> = writable.iter().copied().filter(|id| !blocked.iter().any(|(b, _)| b == id)).collect();
    let done = repo::soft_delete(&mut tx, &deletable, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    if done > 0 {
        ctx.flash_text(Kind::Success, ctx.tf1("customer.deleted_n", "n", &done.to_string())).await;
    }
    // Frozen ones are named as such: the user may change them once they are unfrozen.
    let frozen = if writable.len() < ids.len() { frozen_ids(st, scope, ids).await?.len() } else { 0 };
    if frozen > 0 {
        ctx.flash_text(Kind::Warning, ctx.tf1("customer.skipped_frozen", "n", &frozen.to_string())).await;
    }
    let not_allowed = ids.len() - writable.len() - frozen;
    if not_allowed > 0 {
        ctx.flash_text(Kind::Warning, ctx.tf1("customer.skipped_no_right", "n", &not_allowed.to_string())).await;
    }
    for (_, reason) in &blocked {
        ctx.flash(Kind::Error, reason).await;
    }
    Ok(done)
}

#[derive(Template)]
#[template(path = "customers/recycle.html")]
struct RecyclePage {
    ctx: PageCtx,
    rows: Vec<Customer>,
    pager: Pager,
    can_purge: bool,
}

/// Deleted customers the user may see, newest deletion first.
pub async fn recycle(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let sort = list::Sort { key: "deleted", sql: "c.deleted_at", desc: true, nullable: false };
    let (pager, rows) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "c" },
        |q| {
            q.push(repo::FROM).push(" WHERE c.deleted_at IS NOT NULL AND ");
            scope.push_visible(q, "c", ENTITY);
        },
        &sort,
        raw.as_deref(),
        list::Total::Count,
    )
    .await?;
    render(RecyclePage { can_purge: user.can(Module::Customers, crate::access::Action::Purge), ctx, rows, pager })
}

/// Deleted ids among the selection that the user may see and change.
async fn deleted_writable(st: &AppState, scope: &DataScope, ids: &[i64]) -> AppResult<Vec<i64>> {
    let mut q = QueryBuilder::new("SELECT c.id FROM customers c WHERE c.deleted_at IS NOT NULL AND c.id = ANY(");
    q.push_bind(ids.to_vec()).push(") AND ");
    scope.push_visible(&mut q, "c", ENTITY);
    let visible: Vec<i64> = q.build_query_scalar().fetch_all(&st.db).await?;
    writable_ids(st, scope, &visible).await
}

pub async fn restore(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let ids = deleted_writable(&st, &scope, &sel.ids).await?;
    let mut tx = st.db.begin().await?;
    let (ids, refused) = within_caps(&mut tx, &ids, ctx.lang).await?;
    let n = repo::restore(&mut tx, &ids, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    if n > 0 || refused.is_empty() {
        ctx.flash_text(Kind::Success, ctx.tf1("customer.restored_n", "n", &n.to_string())).await;
    }
    for why in refused {
        ctx.flash_text(Kind::Error, why).await;
    }
    Ok(Redirect::to("/customers/recycle").into_response())
}

/// Of the binned `ids` (locked here), those whose owner's caps allow them back, and the reason
/// for each owner refused: an owner's customers come back together or not at all.
async fn within_caps(
    tx: &mut sqlx::PgConnection,
    ids: &[i64],
    lang: crate::web::i18n::Lang,
) -> AppResult<(Vec<i64>, Vec<String>)> {
    let rows: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, owner_id FROM customers WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
    let mut by_owner: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    let mut ok = Vec::new();
    for (id, owner) in rows {
        match owner {
            Some(o) => by_owner.entry(o).or_default().push(id),
            // Pool customers have no owner and no cap.
            None => ok.push(id),
        }
    }
    let mut refused = Vec::new();
    for (owner, theirs) in by_owner {
        match super::caps::check_restoring(&mut *tx, owner, &theirs).await? {
            Ok(()) => ok.extend(theirs),
            Err((over, locked)) => {
                let name = crate::org::users::name_of(&mut *tx, Some(owner)).await?.unwrap_or_default();
                refused.push(over.message(lang, &name, locked));
            }
        }
    }
    Ok((ok, refused))
}

pub async fn purge(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let ids = deleted_writable(&st, &scope, &sel.ids).await?;
    let mut tx = st.db.begin().await?;
    let n = repo::purge(&mut tx, &ids, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("customer.purged_n", "n", &n.to_string())).await;
    Ok(Redirect::to("/customers/recycle").into_response())
}
