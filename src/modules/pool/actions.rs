//! Claim (领取), assign (分配) and put back (退回公海). Each change locks the customer row first, so
//! of two users claiming the same customer at once exactly one wins and the other is told who did;
//! each writes an audit row and moves the customer's contacts along.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::{PgConnection, QueryBuilder};

use super::list::{PoolFilter, push_from_where};
use super::repo::{self, Pool};
use super::rules;
use crate::access::{DataScope, Module};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::modules::customers::{self, Customer, caps};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

/// The customer row as a claim sees it, locked for the transaction.
#[derive(sqlx::FromRow)]
struct Locked {
    name: String,
    owner_id: Option<i64>,
    owner_name: Option<String>,
    pool_id: Option<i64>,
    deleted: bool,
    frozen: bool,
}

async fn lock_customer(tx: &mut PgConnection, id: i64) -> sqlx::Result<Option<Locked>> {
    let row: Option<Locked> = sqlx::query_as(
        "SELECT name, owner_id, NULL::text AS owner_name, pool_id, deleted_at IS NOT NULL AS deleted, frozen
         FROM customers WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut row) = row else { return Ok(None) };
    // Read after the lock (a join in the locking query would show the owner as it was before).
    if let Some(owner) = row.owner_id {
        row.owner_name =
            sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(owner).fetch_optional(&mut *tx).await?;
    }
    Ok(Some(row))
}

/// Is the locked customer still in `pool`, free to take? Err: the sentence saying why not. A
/// frozen customer takes no changes, so it cannot be claimed or assigned either.
fn still_free(c: Option<&Locked>, pool: &Pool, lang: Lang) -> Result<(), String> {
    let Some(c) = c.filter(|c| !c.deleted) else {
        return Err(lang.t("pool.error.gone").to_string());
    };
    if c.owner_id.is_some() {
        let owner = c.owner_name.clone().unwrap_or_default();
        return Err(lang.tf("pool.error.taken", &[("name", &c.name), ("owner", &owner)]));
    }
    if c.pool_id != Some(pool.id) {
        return Err(lang.tf("pool.error.not_in_pool", &[("name", &c.name)]));
    }
    if c.frozen {
        return Err(lang.tf("pool.error.frozen", &[("name", &c.name)]));
    }
    Ok(())
}

/// Give the customer to `owner` (the shared transfer routine: owner, contacts not transferred on
/// their own), with the claim record and the audit row. The caller holds the row lock and has checked everything.
async fn take(
    tx: &mut PgConnection,
    id: i64,
    owner: i64,
    pool: &Pool,
    kind: &'static str,
    actor: i64,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    // Contacts come along; opportunities keep their owner (their work, not the customer's).
    let contacts = [crate::modules::contacts::RECORD.entity];
    crate::records::transfer::hand(tx, &customers::RECORD, id, None, owner, &contacts, None, actor).await?;
    sqlx::query("INSERT INTO pool_claims (pool_id, customer_id, user_id, kind, actor_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(pool.id)
        .bind(id)
        .bind(owner)
        .bind(kind)
        .bind(actor)
        .execute(&mut *tx)
        .await?;
    let owner_name: Option<String> =
        sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(owner).fetch_optional(&mut *tx).await?;
    Entry::new("customer", id, kind)
        .change("pool", pool.name.clone(), Value::Null)
        .change("owner", Value::Null, crate::audit::opt(owner_name))
        .write(tx, Some(actor), ip)
        .await
}

/// Claim one customer of `pool` for `user`, in the caller's transaction: member, still free, daily
/// cap, reclaim cooldown, ownership cap. Ok(Err(sentence)) when refused.
#[allow(clippy::too_many_arguments)]
pub async fn claim(
    tx: &mut PgConnection,
    pool: &Pool,
    id: i64,
    user: &CurrentUser,
    now: DateTime<Utc>,
    tz: chrono::FixedOffset,
    lang: Lang,
    ip: Option<&str>,
) -> AppResult<Result<String, String>> {
    if !repo::sees_all(user) && !repo::belongs(&mut *tx, pool.id, user.id, user.dept_id).await? {
        return Ok(Err(lang.tf("pool.error.not_member", &[("pool", &pool.name)])));
    }
    let c = lock_customer(&mut *tx, id).await?;
    if let Err(why) = still_free(c.as_ref(), pool, lang) {
        return Ok(Err(why));
    }
    let name = c.map(|c| c.name).unwrap_or_default();
    if let Some(cap) = pool.claim_cap_per_day {
        // One claimer at a time per user, so two tabs cannot both take the last place of the day.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('pool_claim', $1))")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        let today: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pool_claims WHERE user_id = $1 AND pool_id = $2 AND kind = 'claim' AND claimed_at >= $3",
        )
        .bind(user.id)
        .bind(pool.id)
        // Daily claim caps count from the start of today in the configured time zone.
        .bind(crate::todo::day_bounds(now, tz).0)
        .fetch_one(&mut *tx)
        .await?;
        if today >= i64::from(cap) {
            return Ok(Err(lang.tf(
                "pool.error.daily_cap",
                &[("pool", &pool.name), ("n", &today.to_string()), ("cap", &cap.to_string())],
            )));
        }
    }
    if pool.reclaim_cooldown_days > 0 {
        let released: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT max(released_at) FROM pool_releases WHERE customer_id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.id)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(at) = released {
            let until = at + Duration::days(i64::from(pool.reclaim_cooldown_days));
            if until > now {
                let date = until.with_timezone(&tz).format("%Y-%m-%d").to_string();
                return Ok(Err(lang.tf(
                    "pool.error.cooldown",
                    &[("name", &name), ("days", &pool.reclaim_cooldown_days.to_string()), ("date", &date)],
                )));
            }
        }
    }
    // As a transfer counts it: a dealt customer counts only when the cap says dealt ones do.
    if let Err((over, locked)) = caps::check_receiving(&mut *tx, user.id, &[id]).await? {
        return Ok(Err(over.message(lang, &user.name, locked)));
    }
    take(tx, id, user.id, pool, "claim", user.id, ip).await?;
    Ok(Ok(name))
}

/// Assign one customer of `pool` to `assignee` (id, name), in the caller's transaction: still
/// free, the assignee's ownership cap. The new owner is notified.
pub async fn assign(
    tx: &mut PgConnection,
    pool: &Pool,
    id: i64,
    assignee: (i64, &str),
    actor: &CurrentUser,
    lang: Lang,
    ip: Option<&str>,
) -> AppResult<Result<String, String>> {
    let c = lock_customer(&mut *tx, id).await?;
    if let Err(why) = still_free(c.as_ref(), pool, lang) {
        return Ok(Err(why));
    }
    let name = c.map(|c| c.name).unwrap_or_default();
    if let Err((over, locked)) = caps::check_receiving(&mut *tx, assignee.0, &[id]).await? {
        return Ok(Err(over.message(lang, assignee.1, locked)));
    }
    take(tx, id, assignee.0, pool, "assign", actor.id, ip).await?;
    crate::notify::send(
        tx,
        assignee.0,
        "pool_assigned",
        json!({ "name": name, "actor": actor.name, "pool": pool.name }),
        Some(&format!("/customers/{id}")),
        Some(actor.id),
    )
    .await?;
    Ok(Ok(name))
}

/// The pool a list form acted on (its filter names it; else the first the user may open).
async fn pool_of(st: &AppState, user: &CurrentUser, filter: &PoolFilter) -> AppResult<Pool> {
    let pools = repo::visible(&st.db, user).await?;
    match filter.pool.trim().parse::<i64>() {
        Ok(id) => pools.into_iter().find(|p| p.id == id).ok_or(AppError::NotFound),
        Err(_) => pools.into_iter().next().ok_or(AppError::NotFound),
    }
}

/// The customers of the pool the selection names: ticked ones, or all matching the filter.
async fn selected(st: &AppState, pool: &Pool, filter: &PoolFilter, sel: &Selection) -> AppResult<Vec<i64>> {
    let dicts = Dicts::load(&st.db, &["region"]).await?;
    let mut q = QueryBuilder::new("SELECT c.id ");
    push_from_where(&mut q, pool, filter, &dicts, st.config.timezone);
    if !sel.all_matching() {
        q.push(" AND c.id = ANY(").push_bind(sel.ids.clone()).push(")");
    }
    q.push(" ORDER BY c.id LIMIT 1000");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}

fn parse_filter(sel: &Selection) -> PoolFilter {
    serde_html_form::from_str(sel.filter.trim_start_matches('?')).unwrap_or_default()
}

/// Flash what happened: how many succeeded, and each refusal.
async fn report(ctx: &PageCtx, done_key: &str, done: usize, refused: Vec<String>) {
    if done > 0 {
        ctx.flash_text(Kind::Success, ctx.tf1(done_key, "n", &done.to_string())).await;
    }
    let shown = refused.len().min(5);
    for why in refused.iter().take(shown) {
        ctx.flash_text(Kind::Error, why.clone()).await;
    }
    if refused.len() > shown {
        ctx.flash_text(Kind::Error, ctx.tf1("pool.more_refused", "n", &(refused.len() - shown).to_string())).await;
    }
}

/// POST /pool/claim — claim the ticked customers (or all matching), each on its own.
pub async fn bulk_claim(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let sel = Selection::from_form(&form);
    let filter = parse_filter(&sel);
    let pool = pool_of(&st, user, &filter).await?;
    let ids = selected(&st, &pool, &filter, &sel).await?;
    let (mut done, mut refused) = (0, Vec::new());
    let now = Utc::now();
    for id in ids {
        let mut tx = st.db.begin().await?;
        match claim(&mut tx, &pool, id, user, now, st.config.timezone, ctx.lang, req.ip.as_deref()).await? {
            Ok(_) => {
                tx.commit().await?;
                done += 1;
            }
            Err(why) => refused.push(why),
        }
    }
    report(&ctx, "pool.claimed_n", done, refused).await;
    Ok(Redirect::to(&sel.back("/pool")).into_response())
}

/// POST /pool/customers/{id}/claim — claim one customer (its detail page, a pool row).
pub async fn claim_one(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let pool_id: Option<i64> =
        sqlx::query_scalar("SELECT pool_id FROM customers WHERE id = $1 AND deleted_at IS NULL AND owner_id IS NULL")
            .bind(id)
            .fetch_optional(&st.db)
            .await?
            .flatten();
    let pools = repo::visible(&st.db, user).await?;
    let pool_ids: Vec<i64> = pools.iter().map(|p| p.id).collect();
    let Some(pool) = pool_id.and_then(|p| pools.into_iter().find(|x| x.id == p)) else {
        // Not free in one of the user's pools. Who has it is said only to whoever may know: a
        // customer they see, or one just claimed from a pool of theirs (two claimers racing).
        // Anything else — another pool, the recycle bin, an id that does not exist — is the
        // same 404, naming nobody.
        let Some((name, owner)) = taken_in_sight(&st, user, id, &pool_ids).await? else {
            return Err(AppError::NotFound);
        };
        ctx.flash_text(Kind::Error, ctx.lang.tf("pool.error.taken", &[("name", &name), ("owner", &owner)])).await;
        return Ok(Redirect::to("/pool").into_response());
    };
    let mut tx = st.db.begin().await?;
    match claim(&mut tx, &pool, id, user, Utc::now(), st.config.timezone, ctx.lang, req.ip.as_deref()).await? {
        Ok(name) => done(tx, &ctx, ctx.tf1("pool.claimed", "name", &name), &format!("/customers/{id}")).await,
        Err(why) => {
            drop(tx);
            ctx.flash_text(Kind::Error, why).await;
            Ok(Redirect::to(&format!("/pool?pool={}", pool.id)).into_response())
        }
    }
}

/// (name, owner's name) of a live customer someone owns, when `user` may know who: it is in their
/// customer scope, or it was claimed within the last day from one of `pool_ids` (the pools they
/// belong to) by its owner now — a customer they saw in their pool a moment ago.
async fn taken_in_sight(
    st: &AppState,
    user: &CurrentUser,
    id: i64,
    pool_ids: &[i64],
) -> AppResult<Option<(String, String)>> {
    let just_claimed: Option<(String, String)> = sqlx::query_as(
        "SELECT c.name, u.name FROM customers c JOIN users u ON u.id = c.owner_id
          WHERE c.id = $1 AND c.deleted_at IS NULL
            AND EXISTS (SELECT 1 FROM (SELECT pc.pool_id, pc.user_id, pc.claimed_at FROM pool_claims pc
                                        WHERE pc.customer_id = c.id ORDER BY pc.claimed_at DESC, pc.id DESC LIMIT 1) last
                         WHERE last.user_id = c.owner_id AND last.pool_id = ANY($2)
                           AND last.claimed_at > now() - interval '1 day')",
    )
    .bind(id)
    .bind(pool_ids)
    .fetch_optional(&st.db)
    .await?;
    if just_claimed.is_some() {
        return Ok(just_claimed);
    }
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    Ok(customers::find_visible(&st.db, &scope, id, false)
        .await?
        .and_then(|c| c.owner_name.filter(|_| c.owner_id.is_some()).map(|owner| (c.name, owner))))
}

#[derive(Template)]
#[template(path = "pool/assign.html")]
struct AssignPage {
    ctx: PageCtx,
    pool: Pool,
    sel: Selection,
    count: usize,
    users: Vec<SelectOpt>,
    error: Option<String>,
}

crate::page!(AssignPage);

impl AssignPage {
    fn all_matching(&self) -> bool {
        self.sel.all_matching()
    }
}

/// POST /pool/assign — first the options page (pick the user), then the assignment.
pub async fn bulk_assign(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let sel = Selection::from_form(&form);
    let filter = parse_filter(&sel);
    let pool = pool_of(&st, user, &filter).await?;
    {
        let mut conn = st.db.acquire().await?;
        if !repo::can_assign(&mut conn, &pool, user).await? {
            return Err(AppError::Forbidden);
        }
    }
    let ids = selected(&st, &pool, &filter, &sel).await?;
    let assignee = form.get("assignee").trim().parse::<i64>().ok();
    let assignee = match assignee {
        Some(a) => {
            sqlx::query_as::<_, (i64, String)>("SELECT id, name FROM users WHERE id = $1 AND status = 'active'")
                .bind(a)
                .fetch_optional(&st.db)
                .await?
        }
        None => None,
    };
    let Some((assignee_id, assignee_name)) = assignee else {
        let error = form.has("assignee").then(|| ctx.t("pool.error.assignee").to_string());
        let mut conn = st.db.acquire().await?;
        let users = repo::member_users(&mut conn, pool.id)
            .await?
            .into_iter()
            .map(|(id, name, dept)| SelectOpt::new(id, format!("{name}（{dept}）")))
            .collect();
        let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        let page = AssignPage { ctx, pool, count: ids.len(), sel, users, error };
        return Ok((status, render(page).await?).into_response());
    };
    let (mut done, mut refused) = (0, Vec::new());
    for id in ids {
        let mut tx = st.db.begin().await?;
        match assign(&mut tx, &pool, id, (assignee_id, &assignee_name), user, ctx.lang, req.ip.as_deref()).await? {
            Ok(_) => {
                tx.commit().await?;
                done += 1;
            }
            Err(why) => refused.push(why),
        }
    }
    report(&ctx, "pool.assigned_n", done, refused).await;
    Ok(Redirect::to(&sel.back("/pool")).into_response())
}

// ---------- put back ----------

#[derive(Template)]
#[template(path = "pool/put_back.html")]
struct PutBackPage {
    ctx: PageCtx,
    c: Customer,
    pools: Vec<SelectOpt>,
    form: FormData,
    errors: FormErrors,
}

crate::page!(PutBackPage);

/// A live customer the user may put back: they own it, or its owner is in their customer scope;
/// not frozen, not locked, not already in a pool.
async fn releasable(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<(Customer, DataScope)> {
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let c = customers::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    let Some(owner) = c.owner_id else {
        return Err(AppError::Conflict("pool.error.already_in_pool"));
    };
    if owner != user.id && !scope.owns(Some(owner)) {
        return Err(AppError::Forbidden);
    }
    if c.frozen {
        return Err(AppError::Conflict("customer.error.frozen"));
    }
    if c.locked {
        return Err(AppError::Conflict("pool.error.locked"));
    }
    Ok((c, scope))
}

async fn pool_options(st: &AppState) -> sqlx::Result<Vec<SelectOpt>> {
    Ok(repo::all(&st.db).await?.into_iter().map(|p| SelectOpt::new(p.id, p.name)).collect())
}

/// GET /customers/{id}/put-back — pick the pool, give a reason.
pub async fn put_back_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let (c, _) = releasable(&st, user, id).await?;
    let mut form = FormData::default();
    let mut conn = st.db.acquire().await?;
    let governing = match c.owner_id {
        Some(o) => repo::governing(&mut conn, o).await?,
        None => None,
    };
    let chosen = match governing {
        Some(p) => Some(p),
        None => repo::default_pool(&mut conn).await?,
    };
    form.set("pool_id", chosen.map(|p| p.id.to_string()).unwrap_or_default());
    let errors = FormErrors::new(ctx.lang);
    render(PutBackPage { pools: pool_options(&st).await?, ctx, c, form, errors }).await
}

/// POST /customers/{id}/put-back
pub async fn put_back(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let (c, scope) = releasable(&st, user, id).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let text = form.get("reason").trim().to_string();
    if text.is_empty() {
        errors.add("reason", "pool.error.reason");
    } else if text.chars().count() > 500 {
        errors.add("reason", "customer.error.too_long");
    }
    let mut tx = st.db.begin().await?;
    let pool = match form.get("pool_id").trim().parse::<i64>() {
        Ok(p) => repo::find(&mut tx, p).await?,
        Err(_) => None,
    };
    if pool.is_none() {
        errors.add("pool_id", "form.required");
    }
    let (Some(pool), true) = (pool, errors.is_empty()) else {
        drop(tx);
        let page = PutBackPage { pools: pool_options(&st).await?, ctx, c, form, errors };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    };
    customers::lock(&mut tx, id).await?;
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT owner_id FROM customers WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    let Some(owner) = owner.filter(|o| Some(*o) == c.owner_id) else {
        return Err(AppError::Conflict("pool.error.changed"));
    };
    let reason = json!({ "kind": "put_back", "text": text });
    sqlx::query(
        "UPDATE customers SET owner_id = NULL, pool_id = $2, pool_entered_at = now(), pool_reason = $3,
           previous_owner_id = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(pool.id)
    .bind(sqlx::types::Json(&reason))
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    rules::after_release(&mut tx, id, owner, pool.id, "put_back", Some(user.id)).await?;
    Entry::new("customer", id, "put_back")
        .change("owner", crate::audit::opt(c.owner_name.clone()), Value::Null)
        .change("pool", Value::Null, pool.name.clone())
        .change("pool_reason", Value::Null, json!(text))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    crate::notify::send(
        &mut tx,
        owner,
        "pool_put_back",
        json!({ "name": c.name, "actor": user.name, "pool": pool.name }),
        Some(&format!("/customers/{id}")),
        Some(user.id),
    )
    .await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.lang.tf("pool.put_back_done", &[("name", &c.name), ("pool", &pool.name)])).await;
    // The user may no longer see it (not a member of that pool).
    let still = customers::find_visible(&st.db, &scope, id, false).await?.is_some();
    Ok(Redirect::to(&if still { format!("/customers/{id}") } else { "/customers".to_string() }).into_response())
}
