//! Transfer (转移): a new owner for one or many customers, optionally with their contacts, and
//! optionally keeping the old owner on the team. Respects the new owner's caps (owned, and locked
//! for customers that arrive locked); one transaction.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use sqlx::PgConnection;

use super::caps;
use super::form::writable;
use super::model::{Customer, ENTITY};
use crate::access::{DataScope, Module};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::org::users;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormData, PageCtx, RequestCtx, SelectOpt, render};

/// What the transfer form chose.
pub struct Plan {
    pub new_owner: i64,
    pub move_contacts: bool,
    /// Keep the old owner on the team with this access ("read" / "write"), or not at all.
    pub keep_old: Option<&'static str>,
}

impl Plan {
    fn from_form(form: &FormData) -> Result<Plan, &'static str> {
        let new_owner = form.get("new_owner").trim().parse().map_err(|_| "transfer.error.owner")?;
        let keep_old = match form.get("keep_old") {
            "read" => Some("read"),
            "write" => Some("write"),
            _ => None,
        };
        Ok(Plan { new_owner, move_contacts: form.has("move_contacts"), keep_old })
    }
}

/// Move `customers` (id, name, owner) to the plan's owner. Returns how many moved; errors with
/// an i18n message when the cap refuses. The caller's transaction holds it all.
pub async fn apply(
    tx: &mut PgConnection,
    customers: &[(i64, String, Option<i64>)],
    plan: &Plan,
    actor: &CurrentUser,
    ip: Option<&str>,
    lang: crate::web::i18n::Lang,
) -> AppResult<Result<usize, String>> {
    let new_name: String = sqlx::query_scalar("SELECT name FROM users WHERE id = $1 AND status = 'active'")
        .bind(plan.new_owner)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::BadRequest("transfer.error.owner"))?;
    let moving: Vec<&(i64, String, Option<i64>)> = customers.iter().filter(|c| c.2 != Some(plan.new_owner)).collect();
    let ids: Vec<i64> = moving.iter().map(|c| c.0).collect();
    if let Err((over, locked)) = caps::check_receiving(tx, plan.new_owner, &ids).await? {
        return Ok(Err(over.message(lang, &new_name, locked)));
    }
    for (id, _, old_owner) in &moving {
        sqlx::query("UPDATE customers SET owner_id = $2 WHERE id = $1")
            .bind(id)
            .bind(plan.new_owner)
            .execute(&mut *tx)
            .await?;
        let old_name: Option<String> = users::name_of(tx, *old_owner).await?;
        let mut entry =
            Entry::new(ENTITY, *id, "transfer").change("owner", crate::audit::opt(old_name), new_name.clone());
        if plan.move_contacts {
            // Contacts follow their customer, except those transferred on their own.
            let moved = sqlx::query(
                "UPDATE contacts SET owner_id = $2 WHERE customer_id = $1 AND deleted_at IS NULL AND NOT owner_locked",
            )
            .bind(id)
            .bind(plan.new_owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if moved > 0 {
                entry = entry.note(lang.tf("transfer.contacts_moved", &[("n", &moved.to_string())]));
            }
        }
        entry.write(tx, Some(actor.id), ip).await?;
        // The new owner needs no team place; the old one may keep one.
        sqlx::query("DELETE FROM record_members WHERE entity = 'customer' AND record_id = $1 AND user_id = $2")
            .bind(id)
            .bind(plan.new_owner)
            .execute(&mut *tx)
            .await?;
        if let (Some(access), Some(old)) = (plan.keep_old, old_owner) {
            sqlx::query(
                "INSERT INTO record_members (entity, record_id, user_id, access, created_by) VALUES ('customer', $1, $2, $3, $4)
                 ON CONFLICT (entity, record_id, user_id) DO UPDATE SET access = EXCLUDED.access, expires_at = NULL",
            )
            .bind(id)
            .bind(old)
            .bind(access)
            .bind(actor.id)
            .execute(&mut *tx)
            .await?;
        }
    }
    if !moving.is_empty() {
        let (link, name) = match moving.as_slice() {
            [(id, name, _)] => (format!("/customers/{id}"), name.clone()),
            _ => ("/customers?scene=mine".to_string(), moving[0].1.clone()),
        };
        crate::notify::send(
            tx,
            plan.new_owner,
            "transfer_in",
            json!({ "name": name, "n": moving.len(), "actor": actor.name }),
            Some(&link),
            Some(actor.id),
        )
        .await?;
    }
    Ok(Ok(moving.len()))
}

#[derive(Template)]
#[template(path = "customers/transfer.html")]
struct TransferPage {
    ctx: PageCtx,
    c: Customer,
    users: Vec<SelectOpt>,
    error: Option<String>,
    form: FormData,
}

pub async fn page(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let c = writable(&st, &scope, id).await?;
    let mut form = FormData::default();
    form.set("move_contacts", "1");
    render(TransferPage { users: users::options(&st.db, true).await?, ctx, c, error: None, form })
}

pub async fn submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let c = writable(&st, &scope, id).await?;
    let plan = match Plan::from_form(&form) {
        Ok(p) => p,
        Err(key) => return refuse(&st, ctx.t(key).to_string(), c, form, ctx).await,
    };
    let mut tx = st.db.begin().await?;
    super::repo::lock(&mut tx, id).await?;
    match apply(&mut tx, &[(id, c.name.clone(), c.owner_id)], &plan, user, req.ip.as_deref(), ctx.lang).await? {
        Ok(_) => {
            tx.commit().await?;
            ctx.flash(Kind::Success, "transfer.done").await;
            // The actor may no longer see it; go to the list in that case.
            let still = super::repo::find_visible(&st.db, &scope, id, false).await?.is_some();
            Ok(Redirect::to(&if still { format!("/customers/{id}") } else { "/customers".to_string() }).into_response())
        }
        Err(msg) => {
            drop(tx);
            refuse(&st, msg, c, form, ctx).await
        }
    }
}

/// The transfer form again, with the reason it was refused.
async fn refuse(st: &AppState, error: String, c: Customer, form: FormData, ctx: PageCtx) -> AppResult<Response> {
    let page = TransferPage { users: users::options(&st.db, true).await?, ctx, c, error: Some(error), form };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(page)?).into_response())
}

/// Bulk transfer from the list (options page first).
pub async fn bulk(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let sel = Selection::from_form(&form);
    if !form.has("new_owner") {
        return super::bulk::options_page(&st, ctx, "transfer", sel).await;
    }
    let plan = match Plan::from_form(&form) {
        Ok(p) => p,
        Err(key) => {
            ctx.flash(Kind::Error, key).await;
            return super::bulk::options_page(&st, ctx, "transfer", sel).await;
        }
    };
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let rows = super::bulk::writable_rows(&st, user, &scope, &sel).await?;
    let mut tx = st.db.begin().await?;
    sqlx::query("SELECT 1 FROM customers WHERE id = ANY($1) FOR UPDATE")
        .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    match apply(&mut tx, &rows, &plan, user, req.ip.as_deref(), ctx.lang).await? {
        Ok(n) => {
            tx.commit().await?;
            ctx.flash_text(Kind::Success, ctx.tf1("transfer.done_n", "n", &n.to_string())).await;
        }
        Err(msg) => {
            drop(tx);
            ctx.flash_text(Kind::Error, msg).await;
        }
    }
    Ok(Redirect::to(&sel.back("/customers")).into_response())
}
