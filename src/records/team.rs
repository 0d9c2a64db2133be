//! Team (相关团队) and sharing (共享), for every record kind with `features.team` / `share`.
//! Members see the record (and its children); read-write members may change it. Shares give
//! read-only access to users or whole departments. Expiry needs no job: the scope predicate
//! ignores expired rows. The detail page's team tab shows `members` and `shares`; the list's
//! bulk actions post here too.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use askama::Template;

use super::bin::selected;
use super::def::{Record, RecordDef};
use super::sql::{self, Bin};
use crate::access::DataScope;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::Selection;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, PageCtx, RequestCtx, SelectOpt, done, render};

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

/// The Team tab of a detail page: members, shares, and whom the add forms offer.
#[derive(Default)]
pub struct Panel {
    pub members: Vec<Member>,
    pub shares: Vec<Share>,
    pub users: Vec<SelectOpt>,
    pub depts: Vec<SelectOpt>,
}

impl Panel {
    pub async fn load(db: &sqlx::PgPool, def: &'static RecordDef, id: i64) -> sqlx::Result<Panel> {
        Ok(Panel {
            members: members(db, def, id).await?,
            shares: if def.features.share { shares(db, def, id).await? } else { Vec::new() },
            users: crate::org::users::options(db, true).await?,
            depts: if def.features.share { crate::org::departments::options(db).await? } else { Vec::new() },
        })
    }
}

pub async fn members(db: &sqlx::PgPool, def: &'static RecordDef, id: i64) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as(
        "SELECT m.user_id, u.name, d.name AS dept, m.access, m.expires_at, cb.name AS added_by
         FROM record_members m JOIN users u ON u.id = m.user_id JOIN departments d ON d.id = u.dept_id
         LEFT JOIN users cb ON cb.id = m.created_by
         WHERE m.entity = $1 AND m.record_id = $2 ORDER BY m.created_at",
    )
    .bind(def.entity)
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn shares(db: &sqlx::PgPool, def: &'static RecordDef, id: i64) -> sqlx::Result<Vec<Share>> {
    sqlx::query_as(
        "SELECT s.id, coalesce(u.name, d.name) AS target, s.dept_id IS NOT NULL AS is_dept, s.expires_at, cb.name AS added_by
         FROM record_shares s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN departments d ON d.id = s.dept_id
         LEFT JOIN users cb ON cb.id = s.created_by
         WHERE s.entity = $1 AND s.record_id = $2 ORDER BY s.created_at",
    )
    .bind(def.entity)
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

/// Add (or update) a member on records (id, name, owner); notifies the member once and audits
/// each record (the note in the actor's language, like every note). The owner needs no place.
async fn add_members(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    rows: &[(i64, String, Option<i64>)],
    m: &NewMember,
    actor: &CurrentUser,
    ip: Option<&str>,
    lang: Lang,
) -> AppResult<usize> {
    let member: String =
        sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(m.user_id).fetch_one(&mut *tx).await?;
    let access = lang.t(if m.access == "write" { "team.access.write" } else { "team.access.read" });
    let mut added_to: Vec<(i64, &str)> = Vec::new();
    for (id, name, _) in rows.iter().filter(|r| r.2 != Some(m.user_id)) {
        sqlx::query(
            "INSERT INTO record_members (entity, record_id, user_id, access, expires_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (entity, record_id, user_id) DO UPDATE SET access = EXCLUDED.access, expires_at = EXCLUDED.expires_at",
        )
        .bind(def.entity)
        .bind(id)
        .bind(m.user_id)
        .bind(m.access)
        .bind(m.expires_at)
        .bind(actor.id)
        .execute(&mut *tx)
        .await?;
        Entry::new(def.entity, *id, "team_add")
            .note(format!("{member} · {access}"))
            .write(tx, Some(actor.id), ip)
            .await?;
        added_to.push((*id, name.as_str()));
    }
    tell(tx, def, m.user_id, &added_to, "team_added", "all", actor).await?;
    Ok(added_to.len())
}

/// One notification for `recipient` about the records `about` (id, name): naming the record
/// when there is one, else how many with the first one's name (kind `<event>` / `<event>_n`),
/// like a bulk transfer tells its new owner once. Several lead to the list's `scene`.
async fn tell(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    recipient: i64,
    about: &[(i64, &str)],
    event: &str,
    scene: &str,
    actor: &CurrentUser,
) -> sqlx::Result<()> {
    let (kind, link) = match about {
        [] => return Ok(()),
        [(id, _)] => (def.event(event), def.url(*id)),
        _ => (def.event(&format!("{event}_n")), format!("{}?scene={scene}", def.path)),
    };
    let params = json!({ "name": about[0].1, "n": about.len(), "actor": actor.name });
    crate::notify::send(tx, recipient, &kind, params, Some(&link), Some(actor.id)).await
}

/// The record's team tab, where its team actions go back to.
fn team_tab(def: &'static RecordDef, id: i64) -> String {
    format!("{}?tab=team", def.url(id))
}

/// The record (id, name, owner), when the user may change it.
async fn writable_row(
    st: &AppState,
    def: &'static RecordDef,
    user: &CurrentUser,
    id: i64,
) -> AppResult<(i64, String, Option<i64>)> {
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    sql::check_writable(&st.db, def, &scope, id).await?;
    sql::titles(&mut *st.db.acquire().await?, def, &[id]).await?.pop().ok_or(AppError::NotFound)
}

/// POST {path}/{id}/team
pub async fn add_member<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<MemberForm>,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let row = writable_row(&st, def, user, id).await?;
    let m = match parse_member(&st, &f).await {
        Ok(m) => m,
        Err(AppError::BadRequest(key)) => {
            ctx.flash(Kind::Error, key).await;
            return Ok(Redirect::to(&team_tab(def, id)).into_response());
        }
        Err(e) => return Err(e),
    };
    let mut tx = st.db.begin().await?;
    let n = add_members(&mut tx, def, &[row], &m, user, req.ip.as_deref(), ctx.lang).await?;
    tx.commit().await?;
    ctx.flash(if n > 0 { Kind::Success } else { Kind::Info }, if n > 0 { "team.added" } else { "team.owner_already" })
        .await;
    Ok(Redirect::to(&team_tab(def, id)).into_response())
}

/// POST {path}/{id}/team/{user_id}/remove
pub async fn remove_member<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, member)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    writable_row(&st, def, user, id).await?;
    let mut tx = st.db.begin().await?;
    let name: Option<String> = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM record_members WHERE entity = $1 AND record_id = $2 AND user_id = $3 RETURNING user_id)
         SELECT u.name FROM gone JOIN users u ON u.id = gone.user_id",
    )
    .bind(def.entity)
    .bind(id)
    .bind(member)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(name) = name {
        Entry::new(def.entity, id, "team_remove").note(name).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "team.removed", &team_tab(def, id)).await
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

/// Share records (id, name); notifies the users and the active members of shared departments,
/// once each for the whole batch.
///
/// A share with a department reaches that department's own members only, not its
/// sub-departments: the scope predicate (`DataScope::push_extra_ids`), the "shared with me" scene
/// (`list::Scene::Shared`) and these notifications all match `dept_id` to the user's own
/// department. Sharing with a whole branch means choosing each department.
async fn add_shares(
    tx: &mut PgConnection,
    def: &'static RecordDef,
    rows: &[(i64, String)],
    s: &NewShares,
    actor: &CurrentUser,
    ip: Option<&str>,
) -> AppResult<()> {
    let targets: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM users WHERE id = ANY($1) UNION ALL SELECT name FROM departments WHERE id = ANY($2)",
    )
    .bind(&s.users)
    .bind(&s.depts)
    .fetch_all(&mut *tx)
    .await?;
    for (id, _) in rows {
        // Re-sharing replaces an earlier share with the same target (new expiry).
        sqlx::query(
            "DELETE FROM record_shares WHERE entity = $1 AND record_id = $2 AND (user_id = ANY($3) OR dept_id = ANY($4))",
        )
        .bind(def.entity)
        .bind(id)
        .bind(&s.users)
        .bind(&s.depts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO record_shares (entity, record_id, user_id, dept_id, expires_at, created_by)
             SELECT $1, $2, u, NULL, $5, $6 FROM unnest($3::bigint[]) u
             UNION ALL SELECT $1, $2, NULL, d, $5, $6 FROM unnest($4::bigint[]) d",
        )
        .bind(def.entity)
        .bind(id)
        .bind(&s.users)
        .bind(&s.depts)
        .bind(s.expires_at)
        .bind(actor.id)
        .execute(&mut *tx)
        .await?;
        Entry::new(def.entity, *id, "share").note(targets.join("、")).write(tx, Some(actor.id), ip).await?;
    }
    let recipients: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE status = 'active' AND (id = ANY($1) OR dept_id = ANY($2))")
            .bind(&s.users)
            .bind(&s.depts)
            .fetch_all(&mut *tx)
            .await?;
    let about: Vec<(i64, &str)> = rows.iter().map(|(id, name)| (*id, name.as_str())).collect();
    for r in recipients {
        tell(tx, def, r, &about, "shared", "shared", actor).await?;
    }
    Ok(())
}

/// POST {path}/{id}/shares
pub async fn share<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<ShareForm>,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let (_, name, _) = writable_row(&st, def, user, id).await?;
    let s = match parse_shares(&st, &f).await {
        Ok(s) => s,
        Err(AppError::BadRequest(key)) => {
            ctx.flash(Kind::Error, key).await;
            return Ok(Redirect::to(&team_tab(def, id)).into_response());
        }
        Err(e) => return Err(e),
    };
    let mut tx = st.db.begin().await?;
    add_shares(&mut tx, def, &[(id, name)], &s, user, req.ip.as_deref()).await?;
    done(tx, &ctx, "share.added", &team_tab(def, id)).await
}

/// POST {path}/{id}/shares/{share_id}/revoke
pub async fn revoke_share<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, share_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    writable_row(&st, def, user, id).await?;
    let mut tx = st.db.begin().await?;
    let target: Option<String> = sqlx::query_scalar(
        "WITH gone AS (DELETE FROM record_shares WHERE id = $1 AND entity = $2 AND record_id = $3 RETURNING user_id, dept_id)
         SELECT coalesce(u.name, d.name) FROM gone LEFT JOIN users u ON u.id = gone.user_id LEFT JOIN departments d ON d.id = gone.dept_id",
    )
    .bind(share_id)
    .bind(def.entity)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(t) = target {
        Entry::new(def.entity, id, "unshare").note(t).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "share.revoked", &team_tab(def, id)).await
}

#[derive(Template)]
#[template(path = "records/bulk.html")]
struct OptionsPage {
    ctx: PageCtx,
    def: &'static RecordDef,
    /// "team" or "share"
    action: &'static str,
    sel: Selection,
    count: usize,
    users: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
}

crate::page!(OptionsPage);

impl OptionsPage {
    fn title_key(&self) -> &'static str {
        if self.action == "team" { "team.bulk_title" } else { "share.bulk_title" }
    }
}

/// The options page of a bulk team or share action, carrying the list's selection along.
async fn options_page<R: Record>(
    st: &AppState,
    ctx: PageCtx,
    action: &'static str,
    sel: Selection,
) -> AppResult<Response> {
    let user = ctx.user()?;
    let scope = DataScope::resolve(&st.db, user, R::DEF.module).await?;
    let count = selected::<R>(st, user, &scope, &sel).await?.len();
    let users = crate::org::users::options(&st.db, true).await?;
    let depts = crate::org::departments::options(&st.db).await?;
    Ok(render(OptionsPage { ctx, def: R::DEF, action, sel, count, users, depts }).await?.into_response())
}

/// What a bulk form chose, or the options page to show instead: when nothing was chosen yet
/// (the list's first post), or the choice was refused (with its reason as a flash).
async fn choice<R: Record, T>(
    st: &AppState,
    ctx: &PageCtx,
    sel: &Selection,
    action: &'static str,
    chosen: bool,
    parsed: impl std::future::Future<Output = AppResult<T>>,
) -> AppResult<Result<T, Response>> {
    if chosen {
        match parsed.await {
            Ok(v) => return Ok(Ok(v)),
            Err(AppError::BadRequest(key)) => ctx.flash(Kind::Error, key).await,
            Err(e) => return Err(e),
        }
    }
    Ok(Err(options_page::<R>(st, ctx.clone(), action, sel.clone()).await?))
}

/// (id, name, owner) of the selected records the user may change, locked.
async fn writable_selection<R: Record>(
    st: &AppState,
    tx: &mut PgConnection,
    user: &CurrentUser,
    sel: &Selection,
) -> AppResult<Vec<(i64, String, Option<i64>)>> {
    let scope = DataScope::resolve(&st.db, user, R::DEF.module).await?;
    let ids = selected::<R>(st, user, &scope, sel).await?;
    let ok = sql::writable_ids(&st.db, R::DEF, &scope, &ids, Bin::Live).await?;
    Ok(sql::lock_live(tx, R::DEF, &ok).await?)
}

/// POST {path}/bulk/team — the member form first, then the members added to the selection.
pub async fn bulk_team<R: Record>(
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
    let chosen = !f.user_id.trim().is_empty();
    let m = match choice::<R, _>(&st, &ctx, &sel, "team", chosen, parse_member(&st, &f)).await? {
        Ok(m) => m,
        Err(options) => return Ok(options),
    };
    let mut tx = st.db.begin().await?;
    let rows = writable_selection::<R>(&st, &mut tx, user, &sel).await?;
    let n = add_members(&mut tx, R::DEF, &rows, &m, user, req.ip.as_deref(), ctx.lang).await?;
    done(tx, &ctx, ctx.tf1(&R::DEF.msg("team_added_n"), "n", &n.to_string()), &sel.back(R::DEF.path)).await
}

/// POST {path}/bulk/share — the share form first, then the selection shared.
pub async fn bulk_share<R: Record>(
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
    let chosen = f.user_ids.iter().chain(f.dept_ids.iter()).any(|v| !v.trim().is_empty());
    let s = match choice::<R, _>(&st, &ctx, &sel, "share", chosen, parse_shares(&st, &f)).await? {
        Ok(s) => s,
        Err(options) => return Ok(options),
    };
    let mut tx = st.db.begin().await?;
    let rows = writable_selection::<R>(&st, &mut tx, user, &sel).await?;
    let targets: Vec<(i64, String)> = rows.into_iter().map(|r| (r.0, r.1)).collect();
    add_shares(&mut tx, R::DEF, &targets, &s, user, req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1(&R::DEF.msg("shared_n"), "n", &targets.len().to_string()), &sel.back(R::DEF.path)).await
}
