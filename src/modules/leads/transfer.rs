//! Transfer (转移) of leads to another owner, one or many; the new owner is notified.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use sqlx::PgConnection;

use super::actions::selected;
use super::form::writable;
use super::model::{ENTITY, Lead};
use super::repo;
use crate::access::{DataScope, Module};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::org::users;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormData, PageCtx, RequestCtx, SelectOpt, render};

/// Give `leads` (id, name, owner) to `new_owner`; returns how many changed hands.
pub async fn apply(
    tx: &mut PgConnection,
    leads: &[(i64, String, Option<i64>)],
    new_owner: i64,
    actor: &CurrentUser,
    ip: Option<&str>,
) -> AppResult<usize> {
    let new_name: String = sqlx::query_scalar("SELECT name FROM users WHERE id = $1 AND status = 'active'")
        .bind(new_owner)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::BadRequest("transfer.error.owner"))?;
    let moving: Vec<&(i64, String, Option<i64>)> = leads.iter().filter(|l| l.2 != Some(new_owner)).collect();
    for (id, _, old) in &moving {
        sqlx::query("UPDATE leads SET owner_id = $2 WHERE id = $1").bind(id).bind(new_owner).execute(&mut *tx).await?;
        let old_name = users::name_of(tx, *old).await?;
        Entry::new(ENTITY, *id, "lead_transfer")
            .change("owner", crate::audit::opt(old_name), new_name.clone())
            .write(tx, Some(actor.id), ip)
            .await?;
    }
    if let Some(first) = moving.first() {
        let link = if moving.len() == 1 { format!("/leads/{}", first.0) } else { "/leads?scene=mine".to_string() };
        crate::notify::send(
            tx,
            new_owner,
            "lead_transfer_in",
            json!({ "name": first.1, "n": moving.len(), "actor": actor.name }),
            Some(&link),
            Some(actor.id),
        )
        .await?;
    }
    Ok(moving.len())
}

#[derive(Template)]
#[template(path = "leads/transfer.html")]
struct TransferPage {
    ctx: PageCtx,
    /// One lead (its page) or none (bulk, with the selection).
    lead: Option<Lead>,
    sel: Selection,
    count: usize,
    users: Vec<SelectOpt>,
    error: Option<String>,
}

impl TransferPage {
    fn action(&self) -> String {
        match &self.lead {
            Some(l) => format!("/leads/{}/transfer", l.id),
            None => "/leads/bulk/transfer".to_string(),
        }
    }
    fn all_matching(&self) -> bool {
        self.sel.all_matching()
    }
}

pub async fn page(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let lead = writable(&st, &scope, id).await?;
    let users = users::options(&st.db, true).await?;
    render(TransferPage { ctx, lead: Some(lead), sel: Selection::default(), count: 1, users, error: None })
}

pub async fn submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let lead = writable(&st, &scope, id).await?;
    let Ok(new_owner) = form.get("new_owner").trim().parse::<i64>() else {
        let users = users::options(&st.db, true).await?;
        let error = Some(ctx.t("transfer.error.owner").to_string());
        let page = TransferPage { ctx, lead: Some(lead), sel: Selection::default(), count: 1, users, error };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page)?).into_response());
    };
    let mut tx = st.db.begin().await?;
    // Re-checked under the row lock: converted (read-only) or deleted meanwhile is refused.
    match repo::lock(&mut tx, id).await? {
        None => return Err(AppError::NotFound),
        Some(true) => return Err(AppError::Conflict("lead.error.converted")),
        Some(false) => {}
    }
    apply(&mut tx, &[(id, lead.name.clone(), lead.owner_id)], new_owner, user, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash(Kind::Success, "transfer.done").await;
    let still = repo::find_visible(&st.db, &scope, id, false).await?.is_some();
    Ok(Redirect::to(&if still { format!("/leads/{id}") } else { "/leads".to_string() }).into_response())
}

/// Bulk transfer from the list: the options page first, then the transfer.
pub async fn bulk(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let sel = Selection::from_form(&form);
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let ids = selected(&st, user, &scope, &sel).await?;
    let ids = repo::writable_ids(&st.db, &scope, &ids, false).await?;
    let Ok(new_owner) = form.get("new_owner").trim().parse::<i64>() else {
        let users = users::options(&st.db, true).await?;
        let error = form.has("submitted").then(|| ctx.t("transfer.error.owner").to_string());
        let page = TransferPage { ctx, lead: None, count: ids.len(), sel, users, error };
        return Ok(render(page)?.into_response());
    };
    let mut tx = st.db.begin().await?;
    let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, owner_id FROM leads WHERE id = ANY($1) AND converted_at IS NULL ORDER BY id FOR UPDATE",
    )
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    let n = apply(&mut tx, &rows, new_owner, user, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("transfer.done_n", "n", &n.to_string())).await;
    Ok(Redirect::to(&sel.back("/leads")).into_response())
}
