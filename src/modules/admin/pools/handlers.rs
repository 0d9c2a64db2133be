//! The pools page, the pool form (settings, members, admins) with its rules, the rule edit page,
//! and "run now". Every change is audited on entity "pool".

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::Utc;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::model::{self, PoolInput, RuleInput};
use super::repo::{self, PoolLine};
use crate::audit::Entry;
use crate::db::Tx;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::modules::pool as pools;
use crate::modules::pool::rules::{self, Rule, RuleKind};
use crate::org::{departments as depts, users};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

const HOME: &str = "/admin/pools";

#[derive(Template)]
#[template(path = "admin/pools/index.html")]
struct IndexPage {
    ctx: PageCtx,
    pools: Vec<PoolLine>,
}

crate::page!(IndexPage);

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    render(IndexPage { pools: repo::lines(&st.db).await?, ctx }).await
}

/// A rule as the pool page lists it.
pub struct RuleLine {
    pub id: i64,
    pub text: String,
    pub limits: String,
    pub exemptions: String,
    pub enabled: bool,
}

/// "无新建跟进记录超过 30 天" etc. (both the page and the history use it).
fn rule_text(lang: Lang, kind: RuleKind, days: i32) -> String {
    lang.tf("pool.rule_line", &[("rule", lang.t(kind.label_key())), ("days", &days.to_string())])
}

fn limits_text(lang: Lang, levels: &[i16], statuses: &[i64], dicts: &Dicts) -> String {
    let mut parts = Vec::new();
    if !levels.is_empty() {
        let l: Vec<String> = levels.iter().map(|l| format!("L{l}")).collect();
        parts.push(lang.tf("pool.limit_levels", &[("levels", &l.join("/"))]));
    }
    if !statuses.is_empty() {
        let s: Vec<String> = statuses.iter().map(|s| dicts.label(Some(*s), lang)).collect();
        parts.push(lang.tf("pool.limit_statuses", &[("statuses", &s.join("/"))]));
    }
    if parts.is_empty() { lang.t("pool.limit_none").to_string() } else { parts.join("；") }
}

fn exemptions_text(lang: Lang, dealt: bool, opps: bool) -> String {
    let mut parts = Vec::new();
    if dealt {
        parts.push(lang.t("pool.exempt_dealt"));
    }
    if opps {
        parts.push(lang.t("pool.exempt_open_opportunities"));
    }
    parts.join("；")
}

fn rule_line(lang: Lang, r: &Rule, dicts: &Dicts) -> RuleLine {
    RuleLine {
        id: r.id,
        text: rule_text(lang, r.kind(), r.days),
        limits: limits_text(lang, &r.levels, &r.status_ids, dicts),
        exemptions: exemptions_text(lang, r.exempt_dealt, r.exempt_open_opportunities),
        enabled: r.enabled,
    }
}

/// The rule in both languages, for the history.
fn rule_audit(r: &RuleInput, dicts: &Dicts) -> Value {
    let text = |lang: Lang| {
        let mut s = rule_text(lang, r.kind, r.days);
        s.push_str(&format!("（{}）", limits_text(lang, &r.levels, &r.status_ids, dicts)));
        let ex = exemptions_text(lang, r.exempt_dealt, r.exempt_open_opportunities);
        if !ex.is_empty() {
            s.push_str(&format!("（{ex}）"));
        }
        if !r.enabled {
            s.push_str(&format!("（{}）", lang.t("pool.rule_disabled")));
        }
        s
    };
    json!({ "zh": text(Lang::Zh), "en": text(Lang::En) })
}

#[derive(Template)]
#[template(path = "admin/pools/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// None when creating.
    id: Option<i64>,
    is_default: bool,
    form: FormData,
    errors: FormErrors,
    users: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
    rules: Vec<RuleLine>,
    rule_form: FormData,
    rule_errors: FormErrors,
    /// The rule being edited (the rule page), else None (the add form).
    rule_id: Option<i64>,
    status_options: Vec<SelectOpt>,
}

crate::page!(FormPage);

impl FormPage {
    fn kinds(&self) -> Vec<SelectOpt> {
        RuleKind::ALL.iter().map(|k| SelectOpt::new(k.code(), self.ctx.t(k.label_key()))).collect()
    }

    fn rule_action(&self) -> String {
        let id = self.id.unwrap_or_default();
        match self.rule_id {
            Some(r) => format!("/admin/pools/{id}/rules/{r}"),
            None => format!("/admin/pools/{id}/rules"),
        }
    }
}

struct Parts {
    users: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
    dicts: Dicts,
}

async fn parts(st: &AppState) -> AppResult<Parts> {
    Ok(Parts {
        users: users::options(&st.db, true).await?,
        depts: depts::options(&st.db).await?,
        dicts: Dicts::load(&st.db, &["customer_status"]).await?,
    })
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    st: &AppState,
    ctx: PageCtx,
    id: Option<i64>,
    form: FormData,
    errors: FormErrors,
    rule_form: FormData,
    rule_errors: FormErrors,
    rule_id: Option<i64>,
) -> AppResult<FormPage> {
    let p = parts(st).await?;
    let mut conn = st.db.acquire().await?;
    let (is_default, rules) = match id {
        Some(id) => {
            let pool = pools::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
            let list = rules::of_pool(&mut conn, id).await?;
            (pool.is_default, list.iter().map(|r| rule_line(ctx.lang, r, &p.dicts)).collect())
        }
        None => (false, Vec::new()),
    };
    Ok(FormPage {
        status_options: p.dicts.options("customer_status", ctx.lang, None),
        users: p.users,
        depts: p.depts,
        ctx,
        id,
        is_default,
        form,
        errors,
        rules,
        rule_form,
        rule_errors,
        rule_id,
    })
}

pub async fn new(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    let mut form = FormData::default();
    form.set("reclaim_cooldown_days", "0");
    form.set("remind_days_before", "3");
    let (e1, e2) = (FormErrors::new(ctx.lang), FormErrors::new(ctx.lang));
    render(form_page(&st, ctx, None, form, e1, model::blank_rule(), e2, None).await?).await
}

pub async fn edit(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Html<String>> {
    let mut conn = st.db.acquire().await?;
    let input = repo::input(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let (e1, e2) = (FormErrors::new(ctx.lang), FormErrors::new(ctx.lang));
    render(form_page(&st, ctx, Some(id), input.to_form(), e1, model::blank_rule(), e2, None).await?).await
}

/// Field → value for the history (names, not ids).
async fn snapshot(conn: &mut PgConnection, p: &PoolInput) -> sqlx::Result<Vec<(&'static str, Value)>> {
    let member_users: Vec<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = ANY($1) ORDER BY name")
        .bind(&p.member_users)
        .fetch_all(&mut *conn)
        .await?;
    let member_depts = sqlx::query_scalar::<_, String>("SELECT name FROM departments WHERE id = ANY($1) ORDER BY name")
        .bind(&p.member_depts)
        .fetch_all(&mut *conn)
        .await?;
    let admins: Vec<String> = sqlx::query_scalar("SELECT name FROM users WHERE id = ANY($1) ORDER BY name")
        .bind(&p.admins)
        .fetch_all(&mut *conn)
        .await?;
    let list = |v: Vec<String>| if v.is_empty() { Value::Null } else { json!(v.join("、")) };
    Ok(vec![
        ("name", json!(p.name)),
        ("claim_cap_per_day", crate::audit::opt(p.claim_cap_per_day)),
        ("reclaim_cooldown_days", json!(p.reclaim_cooldown_days)),
        ("remind_days_before", json!(p.remind_days_before)),
        ("member_users", list(member_users)),
        ("member_depts", list(member_depts)),
        ("admins", list(admins)),
    ])
}

async fn save(st: &AppState, ctx: PageCtx, req: &RequestCtx, id: Option<i64>, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let input = model::check_pool(&form, &mut errors);
    let mut tx = st.db.begin().await?;
    if repo::name_taken(&mut tx, &input.name, id).await? {
        errors.add("name", "pool.error.name_taken");
    }
    let before = match id {
        Some(id) => Some(repo::input(&mut tx, id).await?.ok_or(AppError::NotFound)?),
        None => None,
    };
    if !errors.is_empty() {
        drop(tx);
        let e2 = FormErrors::new(ctx.lang);
        let page = form_page(st, ctx, id, form, errors, model::blank_rule(), e2, None).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let old = match &before {
        Some(b) => snapshot(&mut tx, b).await?,
        None => Vec::new(),
    };
    let saved = repo::save(&mut tx, id, &input, user.id).await?;
    let new = snapshot(&mut tx, &input).await?;
    let mut entry = Entry::new("pool", saved, if id.is_some() { "update" } else { "create" });
    for (field, value) in new {
        let was = old.iter().find(|(f, _)| *f == field).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
        entry = entry.change(field, was, value);
    }
    if id.is_none() || entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, ctx.tf1("pool.admin.saved", "name", &input.name), &format!("/admin/pools/{saved}")).await
}

pub async fn create(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    save(&st, ctx, &req, None, form).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    save(&st, ctx, &req, Some(id), form).await
}

pub async fn delete(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let pool = pools::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if pool.is_default {
        return Err(AppError::Conflict("pool.error.default_delete"));
    }
    let default = pools::default_pool(&mut tx).await?.ok_or(AppError::Conflict("pool.error.no_default"))?;
    let moved = repo::delete(&mut tx, id, default.id).await?;
    Entry::new("pool", id, "delete")
        .change("name", pool.name.clone(), Value::Null)
        .note(moved.to_string())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    ctx.flash_text(
        Kind::Success,
        ctx.lang
            .tf("pool.admin.deleted", &[("name", &pool.name), ("n", &moved.to_string()), ("default", &default.name)]),
    )
    .await;
    Ok(Redirect::to(HOME).into_response())
}

async fn status_ids(st: &AppState) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'customer_status'").fetch_all(&st.db).await
}

async fn rule_refused(
    st: &AppState,
    ctx: PageCtx,
    id: i64,
    form: FormData,
    errors: FormErrors,
    rule_id: Option<i64>,
) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let input = repo::input(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let e1 = FormErrors::new(ctx.lang);
    let page = form_page(st, ctx, Some(id), input.to_form(), e1, form, errors, rule_id).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response())
}

pub async fn add_rule(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let input = model::check_rule(&form, &status_ids(&st).await?, &mut errors);
    if !errors.is_empty() {
        return rule_refused(&st, ctx, id, form, errors, None).await;
    }
    let dicts = Dicts::load(&st.db, &["customer_status"]).await?;
    let mut tx = st.db.begin().await?;
    pools::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    repo::insert_rule(&mut tx, id, &input).await?;
    Entry::new("pool", id, "rule_add")
        .change("rule", Value::Null, rule_audit(&input, &dicts))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "pool.admin.rule_saved", &format!("/admin/pools/{id}")).await
}

async fn find_rule(conn: &mut PgConnection, pool_id: i64, rule_id: i64) -> AppResult<Rule> {
    rules::of_pool(conn, pool_id).await?.into_iter().find(|r| r.id == rule_id).ok_or(AppError::NotFound)
}

fn input_of(r: &Rule) -> RuleInput {
    RuleInput {
        kind: r.kind(),
        days: r.days,
        levels: r.levels.clone(),
        status_ids: r.status_ids.clone(),
        exempt_dealt: r.exempt_dealt,
        exempt_open_opportunities: r.exempt_open_opportunities,
        enabled: r.enabled,
    }
}

pub async fn edit_rule(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path((id, rule_id)): Path<(i64, i64)>,
) -> AppResult<Html<String>> {
    let mut conn = st.db.acquire().await?;
    let rule = find_rule(&mut conn, id, rule_id).await?;
    let input = repo::input(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let (e1, e2) = (FormErrors::new(ctx.lang), FormErrors::new(ctx.lang));
    render(form_page(&st, ctx, Some(id), input.to_form(), e1, model::rule_form(&rule), e2, Some(rule_id)).await?).await
}

pub async fn update_rule(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, rule_id)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let input = model::check_rule(&form, &status_ids(&st).await?, &mut errors);
    if !errors.is_empty() {
        return rule_refused(&st, ctx, id, form, errors, Some(rule_id)).await;
    }
    let dicts = Dicts::load(&st.db, &["customer_status"]).await?;
    let mut tx = st.db.begin().await?;
    let old = find_rule(&mut tx, id, rule_id).await?;
    repo::update_rule(&mut tx, rule_id, &input).await?;
    let entry = Entry::new("pool", id, "rule_update").change(
        "rule",
        rule_audit(&input_of(&old), &dicts),
        rule_audit(&input, &dicts),
    );
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "pool.admin.rule_saved", &format!("/admin/pools/{id}")).await
}

pub async fn delete_rule(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, rule_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    let dicts = Dicts::load(&st.db, &["customer_status"]).await?;
    let mut tx = st.db.begin().await?;
    let old = find_rule(&mut tx, id, rule_id).await?;
    repo::delete_rule(&mut tx, id, rule_id).await?;
    Entry::new("pool", id, "rule_delete")
        .change("rule", rule_audit(&input_of(&old), &dicts), Value::Null)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "pool.admin.rule_deleted", &format!("/admin/pools/{id}")).await
}

/// Apply the rules now (the same job the loop runs hourly, under its lock).
pub async fn run_now(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let job = crate::jobs::JobCtx { db: st.db.clone(), config: st.config.clone(), now: Utc::now() };
    let results = crate::jobs::run_named(job, &["pool_recycle", "pool_warnings"]).await;
    let text = results.iter().map(|(name, _, msg)| format!("{name}: {msg}")).collect::<Vec<_>>().join("；");
    ctx.flash_text(Kind::Success, ctx.tf1("pool.admin.ran", "result", &text)).await;
    Ok(Redirect::to(HOME).into_response())
}
