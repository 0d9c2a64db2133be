//! The recycle bin (回收站) every record kind shares: delete (one, or a list's selection) moves
//! records there; its page lists what the user may see, newest deletion first; restore brings
//! them back and purge removes them for good with everything hanging off them (children,
//! stars, attachments, team places, shares, reminders). One audit row per record each time.
//! A kind's own rules come in through its `Record` hooks (delete blockers, caps on restore,
//! its own rows to remove first).

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, QueryBuilder};

use super::def::{Record, RecordDef};
use super::sql::{self, Bin};
use crate::access::{Action, DataScope};
use crate::auth::CurrentUser;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::list::{self, Selection};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, Pager, RequestCtx, done, render};

/// Move live, changeable records among `ids` to the recycle bin, one audit row each; returns
/// the ids that moved.
pub async fn soft_delete(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    ids: &[i64],
    by: i64,
    ip: Option<&str>,
) -> sqlx::Result<Vec<i64>> {
    let read_only = def.read_only.as_ref().map_or("false", |r| r.when);
    let set = "deleted_at = now(), deleted_by = $2";
    let only = format!("t.deleted_at IS NULL AND NOT ({read_only})");
    move_in_bin(tx, def, ids, (by, ip), (set, &only, "delete")).await
}

/// Bring records back from the recycle bin, one audit row each; returns the ids restored.
pub async fn restore(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    ids: &[i64],
    by: i64,
    ip: Option<&str>,
) -> sqlx::Result<Vec<i64>> {
    let set = "deleted_at = NULL, deleted_by = NULL";
    move_in_bin(tx, def, ids, (by, ip), (set, "t.deleted_at IS NOT NULL", "restore")).await
}

/// `UPDATE <table> t SET <set> WHERE t.id = ANY(ids) AND <only>`, with an audit row `action`
/// for each record changed; returns their ids.
async fn move_in_bin(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    ids: &[i64],
    (by, ip): (i64, Option<&str>),
    (set, only, action): (&str, &str, &str),
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!(
        "WITH moved AS (UPDATE {} t SET {set} WHERE t.id = ANY($1) AND {only} RETURNING t.id),
         logged AS (
           INSERT INTO operation_logs (entity, entity_id, actor_id, action, ip)
           SELECT $4, id, $2, $5, $3 FROM moved)
         SELECT id FROM moved",
        def.table
    ))
    .bind(ids)
    .bind(by)
    .bind(ip)
    .bind(def.entity)
    .bind(action)
    .fetch_all(tx)
    .await
}

/// Of `ids`, the records in the recycle bin, locked (in id order) for a restore or purge.
pub async fn lock_binned(tx: &mut PgConnection, def: &'static RecordDef, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!(
        "SELECT id FROM {} WHERE id = ANY($1) AND deleted_at IS NOT NULL ORDER BY id FOR UPDATE",
        def.table
    ))
    .bind(ids)
    .fetch_all(tx)
    .await
}

/// Remove records for good with the rows every record kind has around it (stars, attachments,
/// team places, shares, pending reminders and notifications that lead to them) and their
/// children of registered kinds (live or binned, the same way), writing a 'purge' audit row for
/// each record when `by` is given. The history rows stay: the audit trail outlives the record.
/// The kind's own rows must be gone before this runs (`Record::before_purge`).
pub async fn purge(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    ids: &[i64],
    by: Option<i64>,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    for child in crate::registry::get().children_of(def.entity) {
        let column = child.parent.as_ref().map_or("id", |p| p.column);
        let kids: Vec<i64> =
            sqlx::query_scalar(&format!("SELECT id FROM {} WHERE {column} = ANY($1) FOR UPDATE", child.table))
                .bind(ids)
                .fetch_all(&mut *tx)
                .await?;
        Box::pin(purge(tx, child, &kids, None, None)).await?;
    }
    for side in ["stars", "attachments", "record_members", "record_shares"] {
        sqlx::query(&format!("DELETE FROM {side} WHERE entity = $1 AND record_id = ANY($2)"))
            .bind(def.entity)
            .bind(ids)
            .execute(&mut *tx)
            .await?;
    }
    // Reminders still to come and notifications that lead to the records would only lead to a
    // 404 now. They point at a record by its page, `<path>/<id>` (any `?tab=...` after it).
    let pages: Vec<String> = ids.iter().map(|id| def.url(*id)).collect();
    for (side, only) in [("reminders", " AND delivered_at IS NULL"), ("notifications", "")] {
        sqlx::query(&format!(
            "DELETE FROM {side} WHERE link IS NOT NULL AND regexp_replace(link, '[?#].*$', '') = ANY($1){only}"
        ))
        .bind(&pages)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(&format!("DELETE FROM {} WHERE id = ANY($1)", def.table)).bind(ids).execute(&mut *tx).await?;
    if let Some(by) = by {
        sqlx::query(
            "INSERT INTO operation_logs (entity, entity_id, actor_id, action, ip) SELECT $1, unnest($2::bigint[]), $3, 'purge', $4",
        )
        .bind(def.entity)
        .bind(ids)
        .bind(by)
        .bind(ip)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The live records of a list's selection the user may see: the ticked ones, or every row the
/// list's filter matches.
pub async fn selected<R: Record>(
    st: &AppState,
    user: &CurrentUser,
    scope: &DataScope,
    sel: &Selection,
) -> AppResult<Vec<i64>> {
    if sel.all_matching() {
        R::matching(st, user, scope, &sel.filter).await
    } else {
        Ok(sql::visible_ids(&st.db, R::DEF, scope, &sel.ids, Bin::Live).await?)
    }
}

/// POST {path}/{id}/delete — to the list when it went, back to the record when it did not.
/// A read-only record (frozen, converted) is refused with its reason.
pub async fn delete_one<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let def = R::DEF;
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    if let Err(e @ (AppError::NotFound | AppError::Conflict(_))) = sql::check_writable(&st.db, def, &scope, id).await {
        return Err(e);
    }
    let done = delete_ids::<R>(&st, &ctx, &req, &scope, &[id]).await?;
    let to = if done == 1 { def.path.to_string() } else { def.url(id) };
    Ok(Redirect::to(&to).into_response())
}

/// POST {path}/bulk/delete — the list's selection.
pub async fn bulk_delete<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, R::DEF.module).await?;
    let ids = selected::<R>(&st, user, &scope, &sel).await?;
    delete_ids::<R>(&st, &ctx, &req, &scope, &ids).await?;
    Ok(Redirect::to(&sel.back(R::DEF.path)).into_response())
}

/// Delete what may be deleted and say what was skipped and why; returns how many went.
async fn delete_ids<R: Record>(
    st: &AppState,
    ctx: &PageCtx,
    req: &RequestCtx,
    scope: &DataScope,
    ids: &[i64],
) -> AppResult<usize> {
    let (user, def) = (req.user()?, R::DEF);
    let writable = sql::writable_ids(&st.db, def, scope, ids, Bin::Live).await?;
    let mut tx = st.db.begin().await?;
    let mut blocked = R::delete_blockers(&mut tx, &writable, ctx.lang).await?;
    blocked.extend(child_blockers(&mut tx, def, &writable, ctx.lang).await?);
    let deletable: Vec<i64> = writable.iter().copied().filter(|id| !blocked.iter().any(|(b, _)| b == id)).collect();
    let done = soft_delete(&mut tx, def, &deletable, user.id, req.ip.as_deref()).await?;
    R::after_bin(&mut tx, &done, false).await?;
    tx.commit().await?;
    if !done.is_empty() {
        ctx.flash_text(Kind::Success, ctx.tf1(&def.msg("deleted_n"), "n", &done.len().to_string())).await;
    }
    // Read-only ones are named as such: they may be changed again later (unfrozen).
    let read_only = if writable.len() < ids.len() && def.read_only.is_some() {
        changeable_but_read_only(st, def, scope, ids).await?
    } else {
        0
    };
    if read_only > 0 {
        ctx.flash_text(Kind::Warning, ctx.tf1(&def.msg("skipped_read_only"), "n", &read_only.to_string())).await;
    }
    let not_allowed = ids.len() - writable.len() - read_only;
    if not_allowed > 0 {
        ctx.flash_text(Kind::Warning, ctx.tf1(&def.msg("skipped_no_right"), "n", &not_allowed.to_string())).await;
    }
    // One sentence per refused record, a handful at most: a bulk delete may refuse hundreds.
    for (_, reason) in blocked.iter().take(BLOCKERS_SHOWN) {
        ctx.flash_text(Kind::Error, reason.clone()).await;
    }
    if blocked.len() > BLOCKERS_SHOWN {
        let more = (blocked.len() - BLOCKERS_SHOWN).to_string();
        ctx.flash_text(Kind::Error, ctx.tf1("records.more_refused", "n", &more)).await;
    }
    Ok(done.len())
}

/// Move `ids` to the recycle bin as a list's delete would, in the caller's transaction, without
/// checking the actor's rights (the caller decided: an import batch's undo): the kind's delete
/// blockers apply. Returns (binned ids, one sentence per refused record).
pub fn bin_ids<'a, R: Record>(
    tx: &'a mut PgConnection,
    ids: &'a [i64],
    by: i64,
    lang: Lang,
) -> futures_util::future::BoxFuture<'a, AppResult<(Vec<i64>, Vec<String>)>> {
    let ids = ids.to_vec();
    Box::pin(async move {
        let mut blocked = R::delete_blockers(tx, &ids, lang).await?;
        blocked.extend(child_blockers(tx, R::DEF, &ids, lang).await?);
        let free: Vec<i64> = ids.iter().copied().filter(|id| !blocked.iter().any(|(b, _)| b == id)).collect();
        let binned = soft_delete(tx, R::DEF, &free, by, None).await?;
        R::after_bin(tx, &binned, false).await?;
        Ok((binned, blocked.into_iter().map(|(_, r)| r).collect()))
    })
}

/// How many refusals a delete names one by one.
const BLOCKERS_SHOWN: usize = 5;

/// Records among `ids` with live children of a kind that blocks its parent's delete, each with
/// that kind's refusal naming the record and how many children it has (a customer with
/// opportunities).
async fn child_blockers(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    ids: &[i64],
    lang: Lang,
) -> AppResult<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for child in crate::registry::get().children_of(def.entity) {
        let Some((p, reason)) = child.parent.as_ref().and_then(|p| p.blocks_delete.map(|r| (p, r))) else { continue };
        let parents: Vec<(i64, String, i64)> = sqlx::query_as(&format!(
            "SELECT t.id, {title}, count(*) FROM {child} c JOIN {parent} t ON t.id = c.{col}
              WHERE c.{col} = ANY($1) AND c.deleted_at IS NULL GROUP BY t.id ORDER BY t.id",
            title = def.title,
            child = child.table,
            parent = def.table,
            col = p.column,
        ))
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        out.extend(
            parents.into_iter().map(|(id, name, n)| (id, lang.tf(reason, &[("name", &name), ("n", &n.to_string())]))),
        );
    }
    Ok(out)
}

/// How many of `ids` the user could change but for their read-only state.
async fn changeable_but_read_only(
    st: &AppState,
    def: &'static RecordDef,
    scope: &DataScope,
    ids: &[i64],
) -> AppResult<usize> {
    let Some(ro) = &def.read_only else { return Ok(0) };
    let mut q = QueryBuilder::new(format!("SELECT count(*) FROM {} t WHERE t.id = ANY(", def.table));
    q.push_bind(ids.to_vec()).push(format_args!(") AND ({}) AND", ro.when));
    sql::push_bin(&mut q, def, Bin::Live);
    q.push(" AND ");
    sql::push_visible(&mut q, def, scope);
    q.push(" AND ");
    sql::push_writable(&mut q, def, scope);
    let n: i64 = q.build_query_scalar().fetch_one(&st.db).await?;
    Ok(n as usize)
}

/// One row of the recycle bin.
#[derive(sqlx::FromRow)]
pub struct BinRow {
    pub id: i64,
    pub title: String,
    pub detail: Option<String>,
    pub owner_name: Option<String>,
    pub deleted_by_name: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Template)]
#[template(path = "records/recycle.html")]
struct RecyclePage {
    ctx: PageCtx,
    def: &'static RecordDef,
    rows: Vec<BinRow>,
    pager: Pager,
    can_purge: bool,
}

crate::page!(RecyclePage);

impl RecyclePage {
    fn t(&self, suffix: &str) -> &'static str {
        self.ctx.t(&self.def.msg(suffix))
    }
}

/// GET {path}/recycle — binned records the user may see, newest deletion first.
pub async fn page<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    let sort = list::Sort { key: "deleted", sql: "t.deleted_at", desc: true, nullable: false };
    let select = format!(
        "SELECT t.id, {} AS title, ({})::text AS detail, o.name AS owner_name, db.name AS deleted_by_name, t.deleted_at",
        def.title, def.recycle_detail.1
    );
    let from = format!(
        "FROM {} t LEFT JOIN users o ON o.id = t.owner_id LEFT JOIN users db ON db.id = t.deleted_by",
        def.table
    );
    let (pager, rows) = list::fetch_page(
        &st.db,
        list::Page { select: &select, from: &from, alias: "t" },
        |q| {
            q.push(format_args!("FROM {} t WHERE", def.table));
            sql::push_bin(q, def, Bin::Binned);
            q.push(" AND ");
            sql::push_visible(q, def, &scope);
        },
        &sort,
        raw.as_deref(),
        list::Total::Count,
    )
    .await?;
    let can_purge = user.can(def.module, Action::Purge);
    Ok(render(RecyclePage { ctx, def, rows, pager, can_purge }).await?.into_response())
}

/// Of the ticked `ids`, the binned records the user may see and change, locked in a new
/// transaction.
async fn locked_selection(
    st: &AppState,
    user: &CurrentUser,
    def: &'static RecordDef,
    ids: &[i64],
) -> AppResult<(Tx, Vec<i64>)> {
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    let ids = sql::writable_ids(&st.db, def, &scope, ids, Bin::Binned).await?;
    let mut tx = Tx::begin(&st.db).await?;
    let ids = lock_binned(&mut tx, def, &ids).await?;
    Ok((tx, ids))
}

/// POST {path}/recycle/restore — the ticked records the user may see and change come back,
/// unless the kind's rules (caps) refuse them.
pub async fn restore_selected<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let (mut tx, ids) = locked_selection(&st, user, def, &sel.ids).await?;
    let (ids, refused) = R::restorable(&mut tx, &ids, ctx.lang).await?;
    let back = restore(&mut tx, def, &ids, user.id, req.ip.as_deref()).await?;
    R::after_bin(&mut tx, &back, true).await?;
    tx.commit().await?;
    if !back.is_empty() || refused.is_empty() {
        ctx.flash_text(Kind::Success, ctx.tf1(&def.msg("restored_n"), "n", &back.len().to_string())).await;
    }
    for why in refused {
        ctx.flash_text(Kind::Error, why).await;
    }
    Ok(Redirect::to(&format!("{}/recycle", def.path)).into_response())
}

/// POST {path}/recycle/purge — the ticked records the user may see and change go for good.
pub async fn purge_selected<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(sel): Form<Selection>,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let (mut tx, ids) = locked_selection(&st, user, def, &sel.ids).await?;
    R::before_purge(&mut tx, &ids).await?;
    purge(&mut tx, def, &ids, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1(&def.msg("purged_n"), "n", &ids.len().to_string()), &format!("{}/recycle", def.path)).await
}
