//! Team (相关团队) and sharing (共享) of customers. Members see the customer and its contacts;
//! read-write members may change it. Shares give read-only access to users or whole departments.
//! Expiry needs no job: the scope predicate ignores expired rows.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::form::writable;
use super::model::ENTITY;
use crate::access::{DataScope, Module};
use crate::audit::Entry;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormData, PageCtx, RequestCtx};

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub dept: String,
    pub access: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub added_by: Option<String>,
}

impl Member {
    pub fn expired(&self) -> bool {
        self.expires_at.is_some_and(|e| e <= Utc::now())
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Share {
    pub id: i64,
    /// The user's or department's name.
    pub target: String,
    pub is_dept: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub added_by: Option<String>,
}

impl Share {
    pub fn expired(&self) -> bool {
        self.expires_at.is_some_and(|e| e <= Utc::now())
    }
}

pub async fn members(db: &sqlx::PgPool, id: i64) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as(
        "SELECT m.user_id, u.name, d.name AS dept, m.access, m.expires_at, cb.name AS added_by
         FROM record_members m JOIN users u ON u.id = m.user_id JOIN departments d ON d.id = u.dept_id
         LEFT JOIN users cb ON cb.id = m.created_by
         WHERE m.entity = 'customer' AND m.record_id = $1 ORDER BY m.created_at",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn shares(db: &sqlx::PgPool, id: i64) -> sqlx::Result<Vec<Share>> {
    sqlx::query_as(
        "SELECT s.id, coalesce(u.name, d.name) AS target, s.dept_id IS NOT NULL AS is_dept, s.expires_at, cb.name AS added_by
         FROM record_shares s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN departments d ON d.id = s.dept_id
         LEFT JOIN users cb ON cb.id = s.created_by
         WHERE s.entity = 'customer' AND s.record_id = $1 ORDER BY s.created_at",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// "Until" dates mean through that local day.
fn until(date: &str, tz: chrono::FixedOffset) -> Result<Option<DateTime<Utc>>, AppError> {
    let d = date.trim();
    if d.is_empty() {
        return Ok(None);
    }
    let day = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| AppError::BadRequest("fields.error.date"))?;
    let next = day.succ_opt().ok_or(AppError::BadRequest("fields.error.date"))?;
    let at = tz.from_local_datetime(&next.and_hms_opt(0, 0, 0).unwrap()).single().map(|x| x.with_timezone(&Utc));
    match at {
        Some(at) if at > Utc::now() => Ok(Some(at)),
        _ => Err(AppError::BadRequest("team.error.past")),
    }
}

#[derive(Deserialize, Default)]
pub struct MemberForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    access: String,
    #[serde(default)]
    until: String,
}

struct NewMember {
    user_id: i64,
    access: &'static str,
    expires_at: Option<DateTime<Utc>>,
}

async fn parse_member(st: &AppState, f: &MemberForm) -> AppResult<NewMember> {
    let user_id: i64 = f.user_id.trim().parse().map_err(|_| AppError::BadRequest("team.error.user"))?;
    let active: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND status = 'active')")
        .bind(user_id)
        .fetch_one(&st.db)
        .await?;
    if !active {
        return Err(AppError::BadRequest("team.error.user"));
    }
    let access = if f.access == "write" { "write" } else { "read" };
    Ok(NewMember { user_id, access, expires_at: until(&f.until, st.config.timezone)? })
}

/// Add (or update) a member on customers; notifies the member and audits each customer (the
/// audit note in the actor's language, like every note).
async fn add_members(
    tx: &mut PgConnection,
    ids: &[(i64, String, Option<i64>)],
    m: &NewMember,
    actor: &crate::auth::CurrentUser,
    ip: Option<&str>,
    lang: crate::web::i18n::Lang,
) -> AppResult<usize> {
    let mut added = 0;
    let mut added_to: Vec<(i64, &str)> = Vec::new();
    for (id, name, owner) in ids {
        // The owner needs no team place.
        if *owner == Some(m.user_id) {
            continue;
        }
        sqlx::query(
            "INSERT INTO record_members (entity, record_id, user_id, access, expires_at, created_by)
             VALUES ('customer', $1, $2, $3, $4, $5)
             ON CONFLICT (entity, record_id, user_id) DO UPDATE SET access = EXCLUDED.access, expires_at = EXCLUDED.expires_at",
        )
        .bind(id)
        .bind(m.user_id)
        .bind(m.access)
        .bind(m.expires_at)
        .bind(actor.id)
        .execute(&mut *tx)
        .await?;
        let member: String =
            sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(m.user_id).fetch_one(&mut *tx).await?;
        Entry::new(ENTITY, *id, "team_add")
            .note(format!(
                "{member} · {}",
                lang.t(if m.access == "write" { "team.access.write" } else { "team.access.read" })
            ))
            .write(tx, Some(actor.id), ip)
            .await?;
        added_to.push((*id, name.as_str()));
        added += 1;
    }
    tell(tx, m.user_id, &added_to, ("team_added", "team_added_n"), "/customers?scene=all", actor).await?;
    Ok(added)
}

/// One notification for `recipient` about the customers `about` (id, name): naming the customer
/// when there is one, else how many with the first one's name (`kinds`: single, several), like
/// a bulk transfer tells its new owner once.
async fn tell(
    tx: &mut PgConnection,
    recipient: i64,
    about: &[(i64, &str)],
    kinds: (&str, &str),
    list_link: &str,
    actor: &crate::auth::CurrentUser,
) -> sqlx::Result<()> {
    let (kind, link) = match about {
        [] => return Ok(()),
        [(id, _)] => (kinds.0, format!("/customers/{id}")),
        _ => (kinds.1, list_link.to_string()),
    };
    let params = json!({ "name": about[0].1, "n": about.len(), "actor": actor.name });
    crate::notify::send(tx, recipient, kind, params, Some(&link), Some(actor.id)).await
}

pub async fn add_member(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<MemberForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let c = writable(&st, &scope, id).await?;
    let back = format!("/customers/{id}?tab=team");
    let m = match parse_member(&st, &f).await {
        Ok(m) => m,
        Err(AppError::BadRequest(key)) => {
            ctx.flash(Kind::Error, key).await;
            return Ok(Redirect::to(&back).into_response());
        }
        Err(e) => return Err(e),
    };
    let mut tx = st.db.begin().await?;
    let n = add_members(&mut tx, &[(id, c.name.clone(), c.owner_id)], &m, user, req.ip.as_deref(), ctx.lang).await?;
    tx.commit().await?;
    ctx.flash(if n > 0 { Kind::Success } else { Kind::Info }, if n > 0 { "team.added" } else { "team.owner_already" })
        .await;
    Ok(Redirect::to(&back).into_response())
}

pub async fn remove_member(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, member)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    writable(&st, &scope, id).await?;
    let mut tx = st.db.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM record_members WHERE entity = 'customer' AND record_id = $1 AND user_id = $2 RETURNING user_id)
         SELECT u.name FROM gone JOIN users u ON u.id = gone.user_id",
    )
    .bind(id)
    .bind(member)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(name) = name {
        Entry::new(ENTITY, id, "team_remove").note(name).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    tx.commit().await?;
    ctx.flash(Kind::Success, "team.removed").await;
    Ok(Redirect::to(&format!("/customers/{id}?tab=team")).into_response())
}

#[derive(Deserialize, Default)]
pub struct ShareForm {
    #[serde(default)]
    user_ids: Vec<String>,
    #[serde(default)]
    dept_ids: Vec<String>,
    #[serde(default)]
    until: String,
}

struct NewShares {
    users: Vec<i64>,
    depts: Vec<i64>,
    expires_at: Option<DateTime<Utc>>,
}

async fn parse_shares(st: &AppState, f: &ShareForm) -> AppResult<NewShares> {
    let ids = |v: &Vec<String>| v.iter().filter_map(|s| s.trim().parse::<i64>().ok()).collect::<Vec<i64>>();
    let users: Vec<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND status = 'active'")
        .bind(ids(&f.user_ids))
        .fetch_all(&st.db)
        .await?;
    let depts: Vec<i64> = sqlx::query_scalar("SELECT id FROM departments WHERE id = ANY($1)")
        .bind(ids(&f.dept_ids))
        .fetch_all(&st.db)
        .await?;
    if users.is_empty() && depts.is_empty() {
        return Err(AppError::BadRequest("share.error.nobody"));
    }
    Ok(NewShares { users, depts, expires_at: until(&f.until, st.config.timezone)? })
}

/// Share customers; notifies the users and the active members of shared departments, once each
/// for the whole batch.
///
/// A share with a department reaches that department's own members only, not its
/// sub-departments: the scope predicate (`DataScope::push_extra_ids`), the "shared with me" scene
/// (`list::Scene::Shared`) and these notifications all match `dept_id` to the user's own
/// department. Sharing with a whole branch means choosing each department.
async fn add_shares(
    tx: &mut PgConnection,
    ids: &[(i64, String)],
    s: &NewShares,
    actor: &crate::auth::CurrentUser,
    ip: Option<&str>,
) -> AppResult<()> {
    for (id, _) in ids {
        // Re-sharing replaces an earlier share with the same target (new expiry).
        sqlx::query(
            "DELETE FROM record_shares WHERE entity = 'customer' AND record_id = $1 AND (user_id = ANY($2) OR dept_id = ANY($3))",
        )
        .bind(id)
        .bind(&s.users)
        .bind(&s.depts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO record_shares (entity, record_id, user_id, expires_at, created_by)
             SELECT 'customer', $1, unnest($2::bigint[]), $3, $4",
        )
        .bind(id)
        .bind(&s.users)
        .bind(s.expires_at)
        .bind(actor.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO record_shares (entity, record_id, dept_id, expires_at, created_by)
             SELECT 'customer', $1, unnest($2::bigint[]), $3, $4",
        )
        .bind(id)
        .bind(&s.depts)
        .bind(s.expires_at)
        .bind(actor.id)
        .execute(&mut *tx)
        .await?;
        let targets: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM users WHERE id = ANY($1) UNION ALL SELECT name FROM departments WHERE id = ANY($2)",
        )
        .bind(&s.users)
        .bind(&s.depts)
        .fetch_all(&mut *tx)
        .await?;
        Entry::new(ENTITY, *id, "share").note(targets.join("、")).write(tx, Some(actor.id), ip).await?;
    }
    let recipients: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE status = 'active' AND (id = ANY($1) OR dept_id = ANY($2))")
            .bind(&s.users)
            .bind(&s.depts)
            .fetch_all(&mut *tx)
            .await?;
    let about: Vec<(i64, &str)> = ids.iter().map(|(id, name)| (*id, name.as_str())).collect();
    for r in recipients {
        tell(tx, r, &about, ("shared", "shared_n"), "/customers?scene=shared", actor).await?;
    }
    Ok(())
}

pub async fn share(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<ShareForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let c = writable(&st, &scope, id).await?;
    let back = format!("/customers/{id}?tab=team");
    let s = match parse_shares(&st, &f).await {
        Ok(s) => s,
        Err(AppError::BadRequest(key)) => {
            ctx.flash(Kind::Error, key).await;
            return Ok(Redirect::to(&back).into_response());
        }
        Err(e) => return Err(e),
    };
    let mut tx = st.db.begin().await?;
    add_shares(&mut tx, &[(id, c.name)], &s, user, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash(Kind::Success, "share.added").await;
    Ok(Redirect::to(&back).into_response())
}

pub async fn revoke_share(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, share_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    writable(&st, &scope, id).await?;
    let mut tx = st.db.begin().await?;
    let target: Option<String> = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM record_shares WHERE id = $1 AND entity = 'customer' AND record_id = $2 RETURNING user_id, dept_id)
         SELECT coalesce(u.name, d.name) FROM gone LEFT JOIN users u ON u.id = gone.user_id LEFT JOIN departments d ON d.id = gone.dept_id",
    )
    .bind(share_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(t) = target {
        Entry::new(ENTITY, id, "unshare").note(t).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    tx.commit().await?;
    ctx.flash(Kind::Success, "share.revoked").await;
    Ok(Redirect::to(&format!("/customers/{id}?tab=team")).into_response())
}

/// Bulk "add to team" from the list: the member form posts back here with the selection.
pub async fn bulk_team(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let sel = Selection::from_form(&form);
    let f = MemberForm {
        user_id: form.get("user_id").to_string(),
        access: form.get("access").to_string(),
        until: form.get("until").to_string(),
    };
    if f.user_id.trim().is_empty() {
        return super::bulk::options_page(&st, ctx, "team", sel).await;
    }
    let m = match parse_member(&st, &f).await {
        Ok(m) => m,
        Err(AppError::BadRequest(key)) => {
            ctx.flash(Kind::Error, key).await;
            return super::bulk::options_page(&st, ctx, "team", sel).await;
        }
        Err(e) => return Err(e),
    };
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let rows = super::bulk::writable_rows(&st, user, &scope, &sel).await?;
    let mut tx = st.db.begin().await?;
    let targets: Vec<(i64, String, Option<i64>)> = rows.iter().map(|r| (r.0, r.1.clone(), r.2)).collect();
    let n = add_members(&mut tx, &targets, &m, user, req.ip.as_deref(), ctx.lang).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("team.added_n", "n", &n.to_string())).await;
    Ok(Redirect::to(&sel.back("/customers")).into_response())
}

/// Bulk share from the list.
pub async fn bulk_share(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let sel = Selection::from_form(&form);
    let f = ShareForm {
        user_ids: form.all("user_ids").iter().map(|s| s.to_string()).collect(),
        dept_ids: form.all("dept_ids").iter().map(|s| s.to_string()).collect(),
        until: form.get("until").to_string(),
    };
    if f.user_ids.iter().chain(f.dept_ids.iter()).all(|v| v.trim().is_empty()) {
        return super::bulk::options_page(&st, ctx, "share", sel).await;
    }
    let s = match parse_shares(&st, &f).await {
        Ok(s) => s,
        Err(AppError::BadRequest(key)) => {
            ctx.flash(Kind::Error, key).await;
            return super::bulk::options_page(&st, ctx, "share", sel).await;
        }
        Err(e) => return Err(e),
    };
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let rows = super::bulk::writable_rows(&st, user, &scope, &sel).await?;
    let mut tx = st.db.begin().await?;
    let targets: Vec<(i64, String)> = rows.iter().map(|r| (r.0, r.1.clone())).collect();
    add_shares(&mut tx, &targets, &s, user, req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("share.added_n", "n", &targets.len().to_string())).await;
    Ok(Redirect::to(&sel.back("/customers")).into_response())
}
