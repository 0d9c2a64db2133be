//! Transfer (转移): one routine gives records of any registered kind a new owner — their
//! children that follow them (contacts under a customer, unless transferred on their own), the
//! old owner kept on the team when asked, the new owner's redundant team place dropped, the
//! kind's caps (`Record::check_receiving`), one audit row per record and one notification for
//! the new owner. The pages and routes here serve every kind with `features.transfer`; the pool
//! (claim, assign) and lead conversion use `hand` for the owner change itself.
//!
//! Giving a record away takes the kind's transfer permission and its owner (for a child that
//! follows its parent: the parent's owner) within the actor's data scope
//! (`sql::push_transferable`); a read-write team place lets one edit the record, not give it away.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;
use sqlx::PgConnection;

use super::bin::selected;
use super::def::{Record, RecordDef};
use super::sql;
use crate::access::DataScope;
use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, PageCtx, RequestCtx, SelectOpt, render};

/// What the transfer form chose.
pub struct Plan {
    pub new_owner: i64,
    /// The child kinds (entities) whose records follow (those not transferred on their own).
    pub children: Vec<&'static str>,
    /// Keep the old owner on the team with this access ("read" / "write"), or not at all.
    pub keep_old: Option<&'static str>,
}

impl Plan {
    pub fn from_form(def: &'static RecordDef, form: &FormData) -> Result<Plan, &'static str> {
        let new_owner = form.get("new_owner").trim().parse().map_err(|_| "transfer.error.owner")?;
        let keep_old = match form.get("keep_old") {
            "read" if def.features.team => Some("read"),
            "write" if def.features.team => Some("write"),
            _ => None,
        };
        let children = children_fields(def).into_iter().filter(|(_, f)| form.has(f)).map(|(c, _)| c.entity).collect();
        Ok(Plan { new_owner, children, keep_old })
    }
}

/// The form's "children follow" checkboxes, one per child kind: (kind, "move_contacts").
fn children_fields(def: &'static RecordDef) -> Vec<(&'static RecordDef, String)> {
    crate::registry::get().children_of(def.entity).map(|c| (c, format!("move_{}", c.table))).collect()
}

/// Give one record to `to` in the caller's transaction (the row is locked, rights and caps are
/// checked): its owner; its children of the kinds in `children` (entities), except those given
/// away on their own; the new owner's team place, now redundant, dropped; the old owner kept on
/// the team when `keep_old` says so. A child kind's record given on its own keeps its new owner
/// from then on. Returns how many children of each kind moved along.
pub async fn hand(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    id: i64,
    old_owner: Option<i64>,
    to: i64,
    children: &[&str],
    keep_old: Option<&str>,
    actor: i64,
) -> sqlx::Result<Vec<(&'static RecordDef, u64)>> {
    let own = def.parent.as_ref().and_then(|p| p.own_owner).map(|c| format!(", {c} = true")).unwrap_or_default();
    sqlx::query(&format!("UPDATE {} SET owner_id = $2{own} WHERE id = $1", def.table))
        .bind(id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    let mut moved = Vec::new();
    for child in crate::registry::get().children_of(def.entity).filter(|c| children.contains(&c.entity)) {
        let p = child.parent.as_ref().expect("a child kind has a parent");
        // Children that follow their parent's owner move unless given away on their own; the
        // others (opportunities) move only when the parent's previous owner had them.
        let which = match p.own_owner {
            Some(c) => format!(" AND NOT {c}"),
            None => " AND owner_id IS NOT DISTINCT FROM $3".to_string(),
        };
        let sql =
            format!("UPDATE {} SET owner_id = $2 WHERE {} = $1 AND deleted_at IS NULL{which}", child.table, p.column);
        let q = sqlx::query(&sql).bind(id).bind(to);
        let q = if p.own_owner.is_none() { q.bind(old_owner) } else { q };
        let n = q.execute(&mut *tx).await?.rows_affected();
        moved.push((child, n));
    }
    sqlx::query("DELETE FROM record_members WHERE entity = $1 AND record_id = $2 AND user_id = $3")
        .bind(def.entity)
        .bind(id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    if let (Some(access), Some(old)) = (keep_old, old_owner) {
        sqlx::query(
            "INSERT INTO record_members (entity, record_id, user_id, access, created_by) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (entity, record_id, user_id) DO UPDATE SET access = EXCLUDED.access, expires_at = NULL",
        )
        .bind(def.entity)
        .bind(id)
        .bind(old)
        .bind(access)
        .bind(actor)
        .execute(&mut *tx)
        .await?;
    }
    Ok(moved)
}

/// Move `rows` (id, name, old owner; locked, writable) to the plan's owner in the caller's
/// transaction. Ok(Err(sentence)) when the kind's caps refuse; else how many changed hands.
pub async fn apply<R: Record>(
    tx: &mut PgConnection,
    rows: &[(i64, String, Option<i64>)],
    plan: &Plan,
    actor: &CurrentUser,
    ip: Option<&str>,
    lang: Lang,
) -> AppResult<Result<usize, String>> {
    let def = R::DEF;
    let new_name: String = sqlx::query_scalar("SELECT name FROM users WHERE id = $1 AND status = 'active'")
        .bind(plan.new_owner)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(AppError::BadRequest("transfer.error.owner"))?;
    let moving: Vec<&(i64, String, Option<i64>)> = rows.iter().filter(|r| r.2 != Some(plan.new_owner)).collect();
    let ids: Vec<i64> = moving.iter().map(|r| r.0).collect();
    if let Err(refusal) = R::check_receiving(tx, plan.new_owner, &new_name, &ids, lang).await? {
        return Ok(Err(refusal));
    }
    for (id, _, old_owner) in &moving {
        let children = hand(tx, def, *id, *old_owner, plan.new_owner, &plan.children, plan.keep_old, actor.id).await?;
        let old_name = crate::org::users::name_of(tx, *old_owner).await?;
        let mut entry =
            Entry::new(def.entity, *id, def.event("transfer")).change("owner", audit::opt(old_name), new_name.clone());
        let notes: Vec<String> = children
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(child, n)| lang.tf(&child.msg("moved_along"), &[("n", &n.to_string())]))
            .collect();
        if !notes.is_empty() {
            entry = entry.note(notes.join(if lang == Lang::En { "; " } else { "；" }));
        }
        entry.write(tx, Some(actor.id), ip).await?;
    }
    if let Some(first) = moving.first() {
        let link = if moving.len() == 1 { def.url(first.0) } else { format!("{}?scene=mine", def.path) };
        let kind = def.event("transfer_in");
        let params = json!({ "name": first.1, "n": moving.len(), "actor": actor.name });
        crate::notify::send(tx, plan.new_owner, &kind, params, Some(&link), Some(actor.id)).await?;
    }
    Ok(Ok(moving.len()))
}

#[derive(Template)]
#[template(path = "records/transfer.html")]
struct TransferPage {
    ctx: PageCtx,
    def: &'static RecordDef,
    /// The record (id, name) on its own page; None for a list's selection.
    one: Option<(i64, String)>,
    /// Its owner now, on its own page.
    owner: Option<String>,
    sel: Selection,
    count: usize,
    users: Vec<SelectOpt>,
    /// The "children follow" checkboxes: (name, label key), one per child kind.
    children: Vec<(String, String)>,
    form: FormData,
    error: Option<String>,
}

crate::page!(TransferPage);

impl TransferPage {
    fn t(&self, suffix: &str) -> &'static str {
        self.ctx.t(&self.def.msg(suffix))
    }

    fn action(&self) -> String {
        match &self.one {
            Some((id, _)) => format!("{}/transfer", self.def.url(*id)),
            None => format!("{}/bulk/transfer", self.def.path),
        }
    }

    /// A record of this kind given away on its own keeps its owner when its parent moves.
    fn own_owner(&self) -> bool {
        self.def.parent.as_ref().is_some_and(|p| p.own_owner.is_some())
    }

    fn back(&self) -> String {
        match &self.one {
            Some((id, _)) => self.def.url(*id),
            None => self.sel.back(self.def.path),
        }
    }
}

async fn transfer_page(
    st: &AppState,
    ctx: PageCtx,
    def: &'static RecordDef,
    one: Option<(i64, String)>,
    sel: Selection,
    count: usize,
    form: FormData,
    error: Option<String>,
) -> AppResult<Response> {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let users = crate::org::users::options(&st.db, true).await?;
    let owner = match &one {
        Some((id, _)) => {
            sqlx::query_scalar(&format!(
                "SELECT u.name FROM {} t JOIN users u ON u.id = t.owner_id WHERE t.id = $1",
                def.table
            ))
            .bind(id)
            .fetch_optional(&st.db)
            .await?
        }
        None => None,
    };
    let children = children_fields(def).into_iter().map(|(c, f)| (f, c.msg("move_along"))).collect();
    let page = TransferPage { ctx, def, one, owner, sel, count, users, children, form, error };
    Ok((status, render(page).await?).into_response())
}

/// A fresh form: children follow by default.
fn blank_form(def: &'static RecordDef) -> FormData {
    let mut form = FormData::default();
    for (_, f) in children_fields(def) {
        form.set(&f, "1");
    }
    form
}

/// GET {path}/{id}/transfer
pub async fn page<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    sql::check_transferable(&st.db, def, &scope, id).await?;
    let one = sql::titles(&mut *st.db.acquire().await?, def, &[id]).await?.pop().map(|(id, name, _)| (id, name));
    transfer_page(&st, ctx, def, one, Selection::default(), 1, blank_form(def), None).await
}

/// POST {path}/{id}/transfer
pub async fn submit<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    sql::check_transferable(&st.db, def, &scope, id).await?;
    let mut tx = st.db.begin().await?;
    let rows = sql::lock_live(&mut tx, def, &[id]).await?;
    let Some((_, name, _)) = rows.first().cloned() else {
        return Err(AppError::Conflict(def.read_only.as_ref().map_or("form.invalid", |r| r.reason)));
    };
    let refused = match Plan::from_form(def, &form) {
        Err(key) => Some(ctx.t(key).to_string()),
        Ok(plan) => apply::<R>(&mut tx, &rows, &plan, user, req.ip.as_deref(), ctx.lang).await?.err(),
    };
    if let Some(error) = refused {
        drop(tx);
        return transfer_page(&st, ctx, def, Some((id, name)), Selection::default(), 1, form, Some(error)).await;
    }
    tx.commit().await?;
    let owner = crate::org::users::name_of(&mut *st.db.acquire().await?, form.get("new_owner").parse().ok()).await?;
    let owner = owner.unwrap_or_default();
    ctx.flash_text(Kind::Success, ctx.tf(&def.msg("transferred"), &[("name", &name), ("owner", &owner)])).await;
    // The actor may no longer see it; go to the list in that case.
    let still = sql::is_visible(&st.db, def, &scope, id).await?;
    Ok(Redirect::to(&if still { def.url(id) } else { def.path.to_string() }).into_response())
}

/// POST {path}/bulk/transfer — the options page first (who gets them), then the transfer of
/// the selected records the user may change.
pub async fn bulk<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    form: FormData,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let sel = Selection::from_form(&form);
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    let ids = selected::<R>(&st, user, &scope, &sel).await?;
    let plan = match Plan::from_form(def, &form) {
        Ok(plan) => plan,
        Err(key) => {
            let error = form.has("new_owner").then(|| ctx.t(key).to_string());
            let form = if form.has("new_owner") { form } else { blank_form(def) };
            return transfer_page(&st, ctx, def, None, sel, ids.len(), form, error).await;
        }
    };
    // Only records whose owner is in the actor's scope: a read-write team place is for editing.
    let writable = sql::transferable_ids(&st.db, def, &scope, &ids).await?;
    let mut tx = st.db.begin().await?;
    let rows = sql::lock_live(&mut tx, def, &writable).await?;
    match apply::<R>(&mut tx, &rows, &plan, user, req.ip.as_deref(), ctx.lang).await? {
        Ok(n) => {
            tx.commit().await?;
            let owner = crate::org::users::name_of(&mut *st.db.acquire().await?, Some(plan.new_owner)).await?;
            let params = [("n", n.to_string()), ("owner", owner.unwrap_or_default())];
            let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ctx.flash_text(Kind::Success, ctx.tf(&def.msg("transferred_n"), &params)).await;
            let skipped = ids.len() - writable.len();
            if skipped > 0 {
                ctx.flash_text(Kind::Warning, ctx.tf1(&def.msg("skipped_no_right"), "n", &skipped.to_string())).await;
            }
        }
        Err(refusal) => {
            drop(tx);
            ctx.flash_text(Kind::Error, refusal).await;
        }
    }
    Ok(Redirect::to(&sel.back(def.path)).into_response())
}
