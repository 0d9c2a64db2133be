//! Record actions: star, set primary, transfer (single and bulk), delete (single and bulk, on
//! ticked rows or everything matching the list's filter), and the recycle bin (restore, purge).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::json;
use sqlx::QueryBuilder;

use super::form::writable;
use super::list::{ContactFilter, Narrowing};
use super::model::{Contact, ENTITY};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::fields;
use crate::list::{self, Selection};
use crate::org::users;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{PageCtx, Pager, RequestCtx, SelectOpt, render};

/// The selection's ids that `scope` may see: ticked ones, or every live row matching the filter.
pub(super) async fn selected(
    st: &AppState,
    user: &CurrentUser,
    scope: &DataScope,
    sel: &Selection,
) -> AppResult<Vec<i64>> {
    let mut q = QueryBuilder::new("SELECT ct.id ");
    if sel.all_matching() {
        let filter: ContactFilter = serde_html_form::from_str(sel.filter.trim_start_matches('?')).unwrap_or_default();
        let defs = fields::defs(&st.db, ENTITY).await?;
        let custom = fields::filters_from_query(&defs, Some(&sel.filter));
        let narrowing = Narrowing { filter: &filter, defs: &defs, custom: &custom, tz: st.config.timezone };
        narrowing.push_from_where(&mut q, scope, user);
    } else {
        q.push(repo::FROM).push(" WHERE ct.id = ANY(").push_bind(sel.ids.clone()).push(") AND ");
        q.push(repo::LIVE).push(" AND ");
        repo::push_visible(&mut q, scope);
    }
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}

/// Make this contact its customer's primary contact (the previous one stops being primary).
pub async fn set_primary(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let c = writable(&st, &scope, id).await?;
    let mut tx = st.db.begin().await?;
    repo::lock_customer(&mut tx, c.customer_id).await?;
    let previous = repo::set_primary(&mut tx, id, c.customer_id).await?;
    if let Some((prev, _)) = previous {
        Entry::new(ENTITY, prev, "update")
            .change("primary", true, false)
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    let entry = Entry::new(ENTITY, id, "update").change("primary", c.is_primary, true);
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("contact.primary_set", "name", &c.name)).await;
    Ok(Redirect::to(&format!("/contacts/{id}")).into_response())
}

pub async fn delete_one(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    repo::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    let done = delete_ids(&st, &ctx, &req, &scope, &[id]).await?;
    let to = if done == 1 { "/contacts".to_string() } else { format!("/contacts/{id}") };
    Ok(Redirect::to(&to).into_response())
}

pub async fn bulk_delete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let ids = selected(&st, user, &scope, &sel).await?;
    delete_ids(&st, &ctx, &req, &scope, &ids).await?;
    Ok(Redirect::to(&sel.back("/contacts")).into_response())
}

/// Delete what may be deleted; say what was skipped. Returns how many were deleted.
async fn delete_ids(st: &AppState, ctx: &PageCtx, req: &RequestCtx, scope: &DataScope, ids: &[i64]) -> AppResult<u64> {
    let user = req.user()?;
    let writable = repo::writable_ids(&st.db, scope, ids, false).await?;
    let mut tx = st.db.begin().await?;
    let mut customers: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT customer_id FROM contacts WHERE id = ANY($1) ORDER BY customer_id")
            .bind(&writable)
            .fetch_all(&mut *tx)
            .await?;
    customers.dedup();
    for cid in &customers {
        repo::lock_customer(&mut tx, *cid).await?;
    }
    let done = repo::soft_delete(&mut tx, &writable, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    if done > 0 {
        ctx.flash_text(Kind::Success, ctx.tf1("contact.deleted_n", "n", &done.to_string())).await;
    }
    let skipped = ids.len() - writable.len();
    if skipped > 0 {
        ctx.flash_text(Kind::Warning, ctx.tf1("contact.skipped_no_right", "n", &skipped.to_string())).await;
    }
    Ok(done)
}

#[derive(Template)]
#[template(path = "contacts/recycle.html")]
struct RecyclePage {
    ctx: PageCtx,
    rows: Vec<Contact>,
    pager: Pager,
    can_purge: bool,
}

/// Deleted contacts the user may see, newest deletion first.
pub async fn recycle(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let sort = list::Sort { key: "deleted", sql: "ct.deleted_at", desc: true, nullable: false };
    let (pager, rows) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "ct" },
        |q| {
            q.push(repo::FROM).push(" WHERE ct.deleted_at IS NOT NULL AND ");
            repo::push_visible(q, &scope);
        },
        &sort,
        raw.as_deref(),
        list::Total::Count,
    )
    .await?;
    render(RecyclePage { can_purge: user.can(Module::Contacts, Action::Purge), ctx, rows, pager })
}

pub async fn restore(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let ids = repo::writable_ids(&st.db, &scope, &sel.ids, true).await?;
    let mut tx = st.db.begin().await?;
    let customers: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT customer_id FROM contacts WHERE id = ANY($1) ORDER BY customer_id")
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
    for cid in &customers {
        repo::lock_customer(&mut tx, *cid).await?;
    }
    let n = repo::restore(&mut tx, &ids, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("contact.restored_n", "n", &n.to_string())).await;
    Ok(Redirect::to("/contacts/recycle").into_response())
}

pub async fn purge(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let ids = repo::writable_ids(&st.db, &scope, &sel.ids, true).await?;
    let mut tx = st.db.begin().await?;
    let n = repo::purge(&mut tx, &ids, user.id, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("contact.purged_n", "n", &n.to_string())).await;
    Ok(Redirect::to("/contacts/recycle").into_response())
}

/// The new owner chosen on the detail page or the bulk options page.
#[derive(Deserialize, Default)]
pub struct TransferForm {
    #[serde(default)]
    owner_id: String,
}

/// An active user, as (id, name).
async fn active_user(st: &AppState, raw: &str) -> AppResult<Option<(i64, String)>> {
    let Ok(id) = raw.trim().parse::<i64>() else { return Ok(None) };
    Ok(sqlx::query_as("SELECT id, name FROM users WHERE id = $1 AND status = 'active'")
        .bind(id)
        .fetch_optional(&st.db)
        .await?)
}

/// Give `ids` (already checked writable) to `to`: owner set, marked transferred on their own,
/// one audit row each, and a notification for the new owner. Returns how many changed hands.
async fn transfer_ids(st: &AppState, req: &RequestCtx, ids: &[i64], to: (i64, String)) -> AppResult<usize> {
    let user = req.user()?;
    let mut tx = st.db.begin().await?;
    let moved = repo::transfer(&mut tx, ids, to.0).await?;
    for (id, name, old_owner) in &moved {
        Entry::new(ENTITY, *id, "contact_transfer")
            .change("owner", crate::audit::opt(old_owner.clone()), json!(to.1))
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
        let link = format!("/contacts/{id}");
        crate::notify::send(
            &mut tx,
            to.0,
            "contact_transfer_in",
            json!({ "name": name, "actor": user.name }),
            Some(&link),
            Some(user.id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(moved.len())
}

pub async fn transfer_one(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<TransferForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let c = writable(&st, &scope, id).await?;
    let Some(to) = active_user(&st, &f.owner_id).await? else {
        ctx.flash(Kind::Error, "contact.error.transfer_target").await;
        return Ok(Redirect::to(&format!("/contacts/{id}")).into_response());
    };
    let name = to.1.clone();
    transfer_ids(&st, &req, &[c.id], to).await?;
    ctx.flash_text(Kind::Success, ctx.tf("contact.transferred", &[("name", &c.name), ("owner", &name)])).await;
    Ok(Redirect::to(&format!("/contacts/{id}")).into_response())
}

/// The bulk transfer form: the list's selection, and (once chosen) the new owner.
#[derive(Deserialize, Default)]
pub struct BulkTransferForm {
    #[serde(default)]
    ids: Vec<i64>,
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    filter: String,
    #[serde(default)]
    owner_id: String,
}

#[derive(Template)]
#[template(path = "contacts/transfer.html")]
struct TransferPage {
    ctx: PageCtx,
    sel: Selection,
    count: usize,
    owner_options: Vec<SelectOpt>,
    error: bool,
}

/// Without an owner: the options page (who gets the selected contacts). With one: transfer the
/// selected contacts the user may change, and go back to the list.
pub async fn bulk_transfer(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(f): Form<BulkTransferForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let sel = Selection { ids: f.ids, all: f.all, filter: f.filter };
    let ids = selected(&st, user, &scope, &sel).await?;
    let target = active_user(&st, &f.owner_id).await?;
    let Some(to) = target else {
        let page = TransferPage {
            error: !f.owner_id.trim().is_empty(),
            count: ids.len(),
            owner_options: users::options(&st.db, true).await?,
            ctx,
            sel,
        };
        return Ok(render(page)?.into_response());
    };
    let writable = repo::writable_ids(&st.db, &scope, &ids, false).await?;
    let name = to.1.clone();
    let n = transfer_ids(&st, &req, &writable, to).await?;
    ctx.flash_text(Kind::Success, ctx.tf("contact.transferred_n", &[("n", &n.to_string()), ("owner", &name)])).await;
    let skipped = ids.len() - writable.len();
    if skipped > 0 {
        ctx.flash_text(Kind::Warning, ctx.tf1("contact.skipped_no_right", "n", &skipped.to_string())).await;
    }
    Ok(Redirect::to(&sel.back("/contacts")).into_response())
}
