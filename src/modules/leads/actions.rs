//! Record actions on leads: star, delete (single and bulk), and the recycle bin (restore,
//! permanent delete).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use sqlx::QueryBuilder;

use super::list::{LeadFilter, Narrowing};
use super::model::{DICTS, ENTITY, Lead};
use super::repo;
use crate::access::{Action, DataScope, Module};
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
        return Ok(list::visible_ids(&st.db, "leads", ENTITY, scope, &sel.ids).await?);
    }
    let filter: LeadFilter = serde_html_form::from_str(sel.filter.trim_start_matches('?')).unwrap_or_default();
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let defs = fields::defs(&st.db, ENTITY).await?;
    let custom = fields::filters_from_query(&defs, Some(&sel.filter));
    let narrowing = Narrowing { filter: &filter, dicts: &dicts, defs: &defs, custom: &custom, tz: st.config.timezone };
    let mut q = QueryBuilder::new("SELECT l.id ");
    narrowing.push_from_where(&mut q, scope, user);
    q.push(" ORDER BY l.id");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}

pub async fn delete_one(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let l = repo::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    if l.is_converted() {
        return Err(AppError::Conflict("lead.error.converted"));
    }
    let done = delete_ids(&st, &ctx, &req, &scope, &[id]).await?;
    Ok(Redirect::to(&if done == 1 { "/leads".to_string() } else { format!("/leads/{id}") }).into_response())
}

pub async fn bulk_delete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let ids = selected(&st, user, &scope, &sel).await?;
    delete_ids(&st, &ctx, &req, &scope, &ids).await?;
    Ok(Redirect::to(&sel.back("/leads")).into_response())
}

async fn delete_ids(st: &AppState, ctx: &PageCtx, req: &RequestCtx, scope: &DataScope, ids: &[i64]) -> AppResult<u64> {
    let user = req.user()?;
    let writable = repo::writable_ids(&st.db, scope, ids, false).await?;
    let mut tx = st.db.begin().await?;
    let done = repo::soft_delete(&mut tx, &writable, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    if done > 0 {
        ctx.flash_text(Kind::Success, ctx.tf1("lead.deleted_n", "n", &done.to_string())).await;
    }
    let skipped = ids.len() - writable.len();
    if skipped > 0 {
        ctx.flash_text(Kind::Warning, ctx.tf1("lead.skipped", "n", &skipped.to_string())).await;
    }
    Ok(done)
}

#[derive(Template)]
#[template(path = "leads/recycle.html")]
struct RecyclePage {
    ctx: PageCtx,
    rows: Vec<Lead>,
    pager: Pager,
    can_purge: bool,
}

pub async fn recycle(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let sort = list::Sort { key: "deleted", sql: "l.deleted_at", desc: true, nullable: false };
    let (pager, rows) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "l" },
        |q| {
            q.push(repo::FROM).push(" WHERE l.deleted_at IS NOT NULL AND ");
            scope.push_visible(q, "l", ENTITY);
        },
        &sort,
        raw.as_deref(),
        list::Total::Count,
    )
    .await?;
    render(RecyclePage { can_purge: user.can(Module::Leads, Action::Purge), ctx, rows, pager })
}

async fn deleted_writable(st: &AppState, scope: &DataScope, ids: &[i64]) -> AppResult<Vec<i64>> {
    let mut q = QueryBuilder::new("SELECT l.id FROM leads l WHERE l.deleted_at IS NOT NULL AND l.id = ANY(");
    q.push_bind(ids.to_vec()).push(") AND ");
    scope.push_visible(&mut q, "l", ENTITY);
    let visible: Vec<i64> = q.build_query_scalar().fetch_all(&st.db).await?;
    Ok(repo::writable_ids(&st.db, scope, &visible, true).await?)
}

pub async fn restore(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let ids = deleted_writable(&st, &scope, &sel.ids).await?;
    let mut tx = st.db.begin().await?;
    let n = repo::restore(&mut tx, &ids, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("lead.restored_n", "n", &n.to_string())).await;
    Ok(Redirect::to("/leads/recycle").into_response())
}

pub async fn purge(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let ids = deleted_writable(&st, &scope, &sel.ids).await?;
    let mut tx = st.db.begin().await?;
    let n = repo::purge(&mut tx, &ids, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("lead.purged_n", "n", &n.to_string())).await;
    Ok(Redirect::to("/leads/recycle").into_response())
}
