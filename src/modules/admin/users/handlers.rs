use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde_json::json;

use super::model::{DisableForm, PasswordReset, UserFilter, UserForm, UserInput};
use super::repo::{self, TreeRow, UserListRow, UserRow};
use crate::access::ownership::{self, Holdings};
use crate::audit::{self, Entry};
use crate::auth::{CurrentUser, password, two_factor};
use crate::error::{AppError, AppResult};
use crate::org::departments as depts;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormErrors, PageCtx, Pager, RequestCtx, SelectOpt, done, render};

#[derive(Template)]
#[template(path = "admin/users/index.html")]
struct IndexPage {
    ctx: PageCtx,
    rows: Vec<UserListRow>,
    filter: UserFilter,
    pager: Pager,
    dept_options: Vec<SelectOpt>,
    role_options: Vec<SelectOpt>,
    /// Super admins' rows are editable by super admins only.
    viewer_is_super: bool,
}

crate::page!(IndexPage);

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(filter): Query<UserFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let total = repo::count(&st.db, &filter).await?;
    let pager = Pager::from_query(raw.as_deref(), total);
    let rows = repo::list(&st.db, &filter, pager.limit(), pager.offset()).await?;
    let role_options = repo::roles(&st.db).await?.into_iter().map(|(id, name, _)| SelectOpt::new(id, name)).collect();
    let viewer_is_super = ctx.user()?.is_super;
    let dept_options = depts::options(&st.db).await?;
    render(IndexPage { ctx, rows, filter, pager, dept_options, role_options, viewer_is_super }).await
}

#[derive(Template)]
#[template(path = "admin/users/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// None when creating.
    id: Option<i64>,
    status: String,
    form: UserForm,
    errors: FormErrors,
    dept_options: Vec<SelectOpt>,
    superior_options: Vec<SelectOpt>,
    /// (id, name, is_super, may change) per role.
    roles: Vec<(i64, String, bool, bool)>,
    /// The user's two-factor sign-in (None when creating).
    two_factor: Option<two_factor::State>,
}

crate::page!(FormPage);

impl FormPage {
    fn two_factor_since(&self) -> String {
        let at = self.two_factor.as_ref().and_then(|s| s.enabled_at);
        at.map(|t| self.ctx.datetime(&t)).unwrap_or_default()
    }
    fn gender_options(&self) -> Vec<SelectOpt> {
        vec![
            SelectOpt::new("male", self.ctx.t("user.gender.male")),
            SelectOpt::new("female", self.ctx.t("user.gender.female")),
        ]
    }
    fn lang_options(&self) -> Vec<SelectOpt> {
        crate::web::i18n::Lang::ALL.iter().map(|l| SelectOpt::new(l.code(), l.native_name())).collect()
    }
}

async fn form_page(
    st: &AppState,
    ctx: PageCtx,
    id: Option<i64>,
    status: String,
    form: UserForm,
    errors: FormErrors,
) -> AppResult<FormPage> {
    let actor_is_super = ctx.user()?.is_super;
    let roles = repo::roles(&st.db)
        .await?
        .into_iter()
        .map(|(rid, name, is_super)| (rid, name, is_super, actor_is_super || !is_super))
        .collect();
    let superior_options = crate::org::users::options(&st.db, true)
        .await?
        .into_iter()
        .filter(|o| Some(o.value.as_str()) != id.map(|i| i.to_string()).as_deref())
        .collect();
    let two_factor = match id {
        Some(id) => Some(two_factor::state(&st.db, id).await?),
        None => None,
    };
    Ok(FormPage {
        dept_options: depts::options(&st.db).await?,
        superior_options,
        roles,
        two_factor,
        ctx,
        id,
        status,
        form,
        errors,
    })
}

pub async fn new(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    let errors = FormErrors::new(ctx.lang);
    render(form_page(&st, ctx, None, "active".into(), UserForm::default(), errors).await?).await
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    let actor = req.user()?;
    let (input, mut errors) = form.check(ctx.lang);
    if let Err(key) = password::check_strength(&form.password, &[form.login.as_str(), form.mobile.as_str()]) {
        errors.add("password", key);
    }
    let mut tx = st.db.begin().await?;
    let input = check_against_db(&mut tx, actor, None, input, &mut errors).await?;
    if !errors.is_empty() {
        drop(tx);
        let page = form_page(&st, ctx, None, "active".into(), form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    };
    let hash = password::hash(form.password.clone()).await?;
    let id = repo::insert(&mut tx, &input, &hash, actor.id).await?;
    repo::set_roles(&mut tx, id, &input.roles).await?;
    let snapshot = Snapshot::of(&mut tx, &input).await?;
    snapshot
        .diff(Entry::new("user", id, "create"), &Snapshot::default())
        .write(&mut tx, Some(actor.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("user.created", "name", &input.name), "/admin/users").await
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let mut conn = st.db.acquire().await?;
    let u = repo::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    guard_super_target(&mut conn, req.user()?, &u).await?;
    drop(conn);
    let errors = FormErrors::new(ctx.lang);
    let status = u.status.clone();
    render(form_page(&st, ctx, Some(id), status, form_of(&u), errors).await?).await
}

fn form_of(u: &UserRow) -> UserForm {
    UserForm {
        login: u.login.clone(),
        mobile: u.mobile.clone().unwrap_or_default(),
        password: String::new(),
        name: u.name.clone(),
        gender: u.gender.clone().unwrap_or_default(),
        email: u.email.clone().unwrap_or_default(),
        dept_id: u.dept_id.to_string(),
        position: u.position.clone().unwrap_or_default(),
        superior_id: u.superior_id.map(|s| s.to_string()).unwrap_or_default(),
        roles: u.role_ids.clone(),
        lang: u.lang.clone().unwrap_or_default(),
    }
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    let actor = req.user()?;
    let mut tx = st.db.begin().await?;
    // Superior changes are checked for loops under one lock, taken before any row lock (the
    // new superior's foreign-key lock would otherwise deadlock with a concurrent edit of them).
    crate::db::lock_tree(&mut tx, crate::db::Tree::Superiors).await?;
    let old = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    guard_super_target(&mut tx, actor, &old).await?;
    let (input, mut errors) = form.check(ctx.lang);
    let input = check_against_db(&mut tx, actor, Some(&old), input, &mut errors).await?;
    if !errors.is_empty() {
        drop(tx);
        let page = form_page(&st, ctx, Some(id), old.status.clone(), form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    };
    let before = Snapshot::of(&mut tx, &input_of(&old)).await?;
    repo::update(&mut tx, id, &input).await?;
    repo::set_roles(&mut tx, id, &input.roles).await?;
    let after = Snapshot::of(&mut tx, &input).await?;
    let entry = after.diff(Entry::new("user", id, "update"), &before);
    if entry.has_changes() {
        entry.write(&mut tx, Some(actor.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "user.saved", "/admin/users").await
}

fn input_of(u: &UserRow) -> UserInput {
    UserInput {
        login: u.login.clone(),
        mobile: u.mobile.clone(),
        name: u.name.clone(),
        gender: u.gender.clone(),
        email: u.email.clone(),
        dept_id: u.dept_id,
        position: u.position.clone(),
        superior_id: u.superior_id,
        lang: u.lang.clone(),
        roles: u.role_ids.clone(),
    }
}

/// A super admin's account (login, mobile, password, status...) is changed by super admins only:
/// otherwise anyone holding the user admin permission could take it over or lock it. Refused
/// with 403, like any action the actor has no right to.
async fn guard_super_target(tx: &mut sqlx::PgConnection, actor: &CurrentUser, target: &UserRow) -> AppResult<()> {
    if actor.is_super {
        return Ok(());
    }
    let super_ids = repo::super_role_ids(tx).await?;
    if target.role_ids.iter().any(|r| super_ids.contains(r)) {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// Uniqueness, superior cycles, role rules. Returns the input with roles adjusted to what the
/// actor may grant.
async fn check_against_db(
    tx: &mut sqlx::PgConnection,
    actor: &CurrentUser,
    old: Option<&UserRow>,
    mut input: UserInput,
    errors: &mut FormErrors,
) -> AppResult<UserInput> {
    let id = old.map(|o| o.id);
    if repo::login_taken(tx, &input.login, id).await? {
        errors.add("login", "user.login_taken");
    }
    if let Some(m) = &input.mobile {
        if repo::mobile_taken(tx, m, id).await? {
            errors.add("mobile", "user.mobile_taken");
        }
    }
    if !errors.has("dept_id") && depts::name_of(tx, Some(input.dept_id)).await?.is_none() {
        errors.add("dept_id", "form.invalid");
    }
    if let Some(s) = input.superior_id {
        let exists = crate::org::users::name_of(tx, Some(s)).await?.is_some();
        // The caller of an update holds the superiors' tree lock (see `update`).
        let cycle = match old {
            Some(o) => s == o.id || crate::org::users::superior_chain(tx, s).await?.contains(&o.id),
            None => false,
        };
        if !exists {
            errors.add("superior_id", "form.invalid");
        } else if cycle {
            errors.add("superior_id", "user.superior_cycle");
        }
    }
    // Only super admins grant or take away the super admin role.
    let super_ids = repo::super_role_ids(tx).await?;
    let had_super = old.is_some_and(|o| o.role_ids.iter().any(|r| super_ids.contains(r)));
    if !actor.is_super {
        input.roles.retain(|r| !super_ids.contains(r));
        if had_super {
            input.roles.extend(super_ids.iter().copied());
        }
    }
    let valid: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM roles WHERE id = ANY($1)").bind(&input.roles).fetch_all(&mut *tx).await?;
    input.roles.retain(|r| valid.contains(r));
    // Without a role a user can log in but do nothing; ask for one instead of saving a dead end.
    if input.roles.is_empty() && !errors.has("roles") {
        errors.add("roles", "user.roles_required");
    }
    let keeps_super = input.roles.iter().any(|r| super_ids.contains(r));
    if let Some(o) = old {
        if had_super && !keeps_super && o.status == "active" && repo::other_active_super_admins(tx, o.id).await? == 0 {
            errors.add("roles", "user.last_super_admin");
        }
    }
    Ok(input)
}

/// The user's fields as shown in the history, with names instead of ids.
#[derive(Default)]
struct Snapshot(Vec<(&'static str, serde_json::Value)>);

impl Snapshot {
    async fn of(tx: &mut sqlx::PgConnection, u: &UserInput) -> AppResult<Snapshot> {
        Ok(Snapshot(vec![
            ("login", json!(u.login)),
            ("mobile", audit::opt(u.mobile.clone())),
            ("name", json!(u.name)),
            ("gender", audit::opt(u.gender.clone())),
            ("email", audit::opt(u.email.clone())),
            ("dept", audit::opt(depts::name_of(tx, Some(u.dept_id)).await?)),
            ("position", audit::opt(u.position.clone())),
            ("superior", audit::opt(crate::org::users::name_of(tx, u.superior_id).await?)),
            ("lang", audit::opt(u.lang.clone())),
            ("roles", json!(repo::role_names(tx, &u.roles).await?)),
        ]))
    }

    fn diff(&self, mut entry: Entry, before: &Snapshot) -> Entry {
        for (field, new) in &self.0 {
            let old =
                before.0.iter().find(|(f, _)| f == field).map(|(_, v)| v.clone()).unwrap_or(serde_json::Value::Null);
            let empty = matches!(&old, serde_json::Value::Array(a) if a.is_empty())
                && matches!(new, serde_json::Value::Array(a) if a.is_empty());
            if !empty {
                entry = entry.change(field, old, new.clone());
            }
        }
        entry
    }
}

pub async fn reset_password(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<PasswordReset>,
) -> AppResult<Response> {
    let actor = req.user()?;
    let mut tx = st.db.begin().await?;
    let u = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    guard_super_target(&mut tx, actor, &u).await?;
    if let Err(key) = password::check_strength(&f.password, &[u.login.as_str(), u.mobile.as_deref().unwrap_or("")]) {
        ctx.flash_text(Kind::Error, format!("{}：{}", ctx.t("user.reset_password"), ctx.t(key))).await;
        return Ok(Redirect::to(&format!("/admin/users/{id}/edit")).into_response());
    }
    let hash = password::hash(f.password).await?;
    repo::set_password(&mut tx, id, &hash).await?;
    Entry::new("user", id, "password_reset").write(&mut tx, Some(actor.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("user.password_was_reset", "name", &u.name), &format!("/admin/users/{id}/edit")).await
}

/// Remove a user's two-factor secret and recovery codes (a lost phone). A user whose role requires
/// it sets it up again at their next sign-in.
pub async fn reset_two_factor(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = req.user()?;
    let mut tx = st.db.begin().await?;
    let u = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    guard_super_target(&mut tx, actor, &u).await?;
    let back = format!("/admin/users/{id}/edit");
    if !two_factor::disable(&mut tx, id).await? {
        drop(tx);
        ctx.flash_text(Kind::Error, ctx.tf1("user.two_factor.not_on", "name", &u.name)).await;
        return Ok(Redirect::to(&back).into_response());
    }
    Entry::new("user", id, "two_factor_reset").write(&mut tx, Some(actor.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("user.two_factor.was_reset", "name", &u.name), &back).await
}

#[derive(Template)]
#[template(path = "admin/users/disable.html")]
struct DisablePage {
    ctx: PageCtx,
    id: i64,
    name: String,
    holdings: Holdings,
    user_options: Vec<SelectOpt>,
}

crate::page!(DisablePage);

impl DisablePage {
    fn entity_label(&self, entity: &str) -> String {
        self.ctx.lang.try_t(&format!("entity.{entity}")).unwrap_or(entity).to_string()
    }
}

pub async fn disable_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let u = repo::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    guard_super_target(&mut conn, req.user()?, &u).await?;
    if u.status != "active" {
        return Ok(Redirect::to(&format!("/admin/users/{id}/edit")).into_response());
    }
    let holdings = ownership::holdings(&mut conn, id).await?;
    drop(conn);
    let user_options =
        crate::org::users::options(&st.db, true).await?.into_iter().filter(|o| o.value != id.to_string()).collect();
    Ok(render(DisablePage { ctx, id, name: u.name, holdings, user_options }).await?.into_response())
}

/// Disable: sessions end at once (epoch bump), records optionally go to another user, all in
/// one transaction with the audit rows.
pub async fn disable(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<DisableForm>,
) -> AppResult<Response> {
    let actor = req.user()?;
    let mut tx = st.db.begin().await?;
    let u = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    guard_super_target(&mut tx, actor, &u).await?;
    let back = format!("/admin/users/{id}/disable");
    if id == actor.id {
        ctx.flash(Kind::Error, "user.cannot_disable_self").await;
        return Ok(Redirect::to(&back).into_response());
    }
    let super_ids = repo::super_role_ids(&mut tx).await?;
    let is_super = u.role_ids.iter().any(|r| super_ids.contains(r));
    if is_super && repo::other_active_super_admins(&mut tx, id).await? == 0 {
        ctx.flash(Kind::Error, "user.last_super_admin").await;
        return Ok(Redirect::to(&back).into_response());
    }
    let hand_to: Option<i64> = f.hand_to.trim().parse().ok();
    if let Some(to) = hand_to {
        let ok: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND status = 'active' AND id <> $2)")
                .bind(to)
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if !ok {
            return Err(AppError::BadRequest("form.invalid"));
        }
    }
    repo::set_status(&mut tx, id, "disabled").await?;
    crate::workflow::release_tasks_of(&mut tx, id, Some(actor.id), req.ip.as_deref()).await?;
    let mut entry = Entry::new("user", id, "disable").change("status", "active", "disabled");
    let mut over_cap = Vec::new();
    let mut moved = None;
    if let Some(to) = hand_to {
        moved = Some(ownership::hand_over(&mut tx, id, to, actor.id, req.ip.as_deref()).await?);
        entry = entry.note(crate::org::users::name_of(&mut tx, Some(to)).await?.unwrap_or_default());
        over_cap = cap_warnings(&mut tx, &ctx, to).await?;
    }
    let heads = ownership::pass_heads(&mut tx, id, hand_to, actor.id, req.ip.as_deref()).await?;
    if let (Some(to), Some(moved)) = (hand_to, moved) {
        // The heir hears what they received, kind by kind, with a link to the records.
        ownership::tell_heir(&mut tx, id, to, &moved, heads, actor.id).await?;
    }
    entry.write(&mut tx, Some(actor.id), req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("user.disabled_done", "name", &u.name)).await;
    for text in over_cap {
        ctx.flash_text(Kind::Warning, text).await;
    }
    Ok(Redirect::to("/admin/users").into_response())
}

/// Warnings when the heir of a handover now owns or locks more customers than their cap allows.
/// The handover itself is not refused (see `ownership::hand_over`): the admin is told, and can
/// move customers on or raise the cap.
async fn cap_warnings(tx: &mut sqlx::PgConnection, ctx: &PageCtx, heir: i64) -> AppResult<Vec<String>> {
    use crate::modules::customers::caps;
    let Some(cap) = caps::effective(tx, heir).await? else {
        return Ok(Vec::new());
    };
    let name = crate::org::users::name_of(tx, Some(heir)).await?.unwrap_or_default();
    let mut out = Vec::new();
    if let Some(limit) = cap.max_owned {
        let current = caps::owned_count(tx, heir, cap.count_dealt).await?;
        if current > limit {
            let args = [("name", name.as_str()), ("current", &current.to_string()), ("limit", &limit.to_string())];
            out.push(ctx.tf("user.handover_over_cap", &args));
        }
    }
    if let Some(limit) = cap.max_locked {
        let current = caps::locked_count(tx, heir).await?;
        if current > limit {
            let args = [("name", name.as_str()), ("current", &current.to_string()), ("limit", &limit.to_string())];
            out.push(ctx.tf("user.handover_over_lock_cap", &args));
        }
    }
    Ok(out)
}

pub async fn enable(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let actor = req.user()?;
    let mut tx = st.db.begin().await?;
    let u = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    guard_super_target(&mut tx, actor, &u).await?;
    if u.status != "active" {
        repo::set_status(&mut tx, id, "active").await?;
        Entry::new("user", id, "enable")
            .change("status", "disabled", "active")
            .write(&mut tx, Some(actor.id), req.ip.as_deref())
            .await?;
    }
    done(tx, &ctx, ctx.tf1("user.enabled_done", "name", &u.name), "/admin/users").await
}

#[derive(Template)]
#[template(path = "admin/users/tree.html")]
struct TreePage {
    ctx: PageCtx,
    nodes: Vec<(usize, TreeRow, usize)>,
}

crate::page!(TreePage);

/// Who reports to whom: everyone without a superior at the top, their reports below.
pub async fn tree(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    let rows = repo::all_for_tree(&st.db).await?;
    let mut nodes = Vec::with_capacity(rows.len());
    fn visit(rows: &[TreeRow], parent: Option<i64>, depth: usize, out: &mut Vec<(usize, TreeRow, usize)>) {
        for r in rows.iter().filter(|r| r.superior_id == parent) {
            let reports = rows.iter().filter(|x| x.superior_id == Some(r.id)).count();
            out.push((depth, r.clone(), reports));
            if depth < 50 {
                visit(rows, Some(r.id), depth + 1, out);
            }
        }
    }
    visit(&rows, None, 0, &mut nodes);
    render(TreePage { ctx, nodes }).await
}

#[derive(serde::Deserialize, Default)]
pub struct LookupQuery {
    #[serde(default)]
    q: String,
}

/// Suggestions for user pickers (filters, assignees): active colleagues by name, with their
/// department. Any logged-in user may look colleagues up, so no login or mobile (usually a phone
/// number) is returned, and only user admins find people by them.
pub async fn lookup(
    State(st): State<AppState>,
    req: RequestCtx,
    Query(q): Query<LookupQuery>,
) -> AppResult<axum::Json<serde_json::Value>> {
    let by_login = req.user()?.can(crate::access::Module::Org, crate::access::Action::Manage);
    let rows = repo::lookup(&st.db, q.q.trim(), by_login, 15).await?;
    Ok(axum::Json(serde_json::json!(
        rows.into_iter()
            .map(|(id, name, dept)| serde_json::json!({"id": id, "name": name, "dept": dept}))
            .collect::<Vec<_>>()
    )))
}
