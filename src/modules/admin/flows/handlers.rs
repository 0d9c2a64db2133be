//! Approval flow admin pages: flows per subject with their preview, a flow's settings and steps.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::model::{self, FlowInput};
use super::repo;
use crate::audit::Entry;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::org::{departments as depts, users};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};
use crate::workflow::labels::{self, Names};
use crate::workflow::{Flow, Step, StepKind, Subject};

const ENTITY: &str = "approval_flow";
const LIST: &str = "/admin/flows";

pub struct FlowRow {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub preview: String,
    pub resubmit: &'static str,
    pub pending: i64,
}

pub struct SubjectGroup {
    pub code: &'static str,
    pub label: &'static str,
    pub flows: Vec<FlowRow>,
}

#[derive(Template)]
#[template(path = "admin/flows/index.html")]
struct IndexPage {
    ctx: PageCtx,
    groups: Vec<SubjectGroup>,
}

crate::page!(IndexPage);

fn resubmit_key(code: &str) -> &'static str {
    if code == "rejected_step" { "flows.resubmit.rejected_step" } else { "flows.resubmit.first" }
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    let flows = repo::flows(&st.db).await?;
    let steps = repo::all_steps(&st.db).await?;
    let pending: HashMap<i64, i64> = repo::pending_count(&st.db).await?.into_iter().collect();
    let mut conn = st.db.acquire().await?;
    let names = Names::load(&mut conn).await?;
    let groups = Subject::all()
        .into_iter()
        .map(|s| SubjectGroup {
            code: s.code(),
            label: ctx.t(s.label_key()),
            flows: flows
                .iter()
                .filter(|f| f.subject == s.code())
                .map(|f| {
                    let own: Vec<Step> = steps.iter().filter(|st| st.flow_id == f.id).cloned().collect();
                    FlowRow {
                        id: f.id,
                        name: f.name.clone(),
                        enabled: f.enabled,
                        preview: labels::preview(&own, &names, ctx.lang),
                        resubmit: ctx.t(resubmit_key(&f.resubmit_from)),
                        pending: pending.get(&f.id).copied().unwrap_or(0),
                    }
                })
                .collect(),
        })
        .collect();
    render(IndexPage { ctx, groups }).await
}

pub async fn create(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let subject = Subject::from_code(form.get("subject")).ok_or(AppError::BadRequest("form.invalid"))?;
    let name = form.get("name").trim().to_string();
    if name.is_empty() || name.chars().count() > model::NAME_MAX {
        ctx.flash(Kind::Error, "flows.error.name_needed").await;
        return Ok(Redirect::to(LIST).into_response());
    }
    let mut tx = st.db.begin().await?;
    let id = repo::insert(&mut tx, subject.code(), &name, user.id).await?;
    Entry::new(ENTITY, id, "create").note(name).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, "flows.created", &format!("{LIST}/{id}/edit")).await
}

/// One step's form on the edit page (id 0: the "add a step" form).
pub struct StepView {
    pub id: i64,
    pub seq: i32,
    pub first: bool,
    pub last: bool,
    pub label: String,
    pub form: FormData,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "admin/flows/edit.html")]
struct EditPage {
    ctx: PageCtx,
    flow: Flow,
    subject: &'static str,
    form: FlowInput,
    errors: FormErrors,
    preview: String,
    steps: Vec<StepView>,
    new_step: StepView,
    users: Vec<SelectOpt>,
    roles: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
}

crate::page!(EditPage);

impl EditPage {
    fn kinds(&self) -> Vec<SelectOpt> {
        StepKind::ALL
            .iter()
            .map(|k| {
                let key = match k {
                    StepKind::Users => "approval.kind.users",
                    StepKind::Role => "approval.kind.role",
                    StepKind::Superior => "approval.kind.superior",
                    StepKind::SuperiorsUpTo => "approval.kind.superiors_up_to",
                    StepKind::SubmitterPicks => "approval.kind.submitter_picks",
                };
                SelectOpt::new(k.code(), self.ctx.t(key))
            })
            .collect()
    }

    fn modes(&self) -> Vec<SelectOpt> {
        vec![
            SelectOpt::new("any", self.ctx.t("approval.mode.any_long")),
            SelectOpt::new("all", self.ctx.t("approval.mode.all_long")),
        ]
    }

    fn resubmit_options(&self) -> Vec<SelectOpt> {
        vec![
            SelectOpt::new("first", self.ctx.t("flows.resubmit.first")),
            SelectOpt::new("rejected_step", self.ctx.t("flows.resubmit.rejected_step")),
        ]
    }
}

/// A failed step form to show again: (step id, 0 for a new one; what was typed; the errors).
type Failed = (i64, FormData, FormErrors);

async fn edit_page(
    st: &AppState,
    ctx: PageCtx,
    flow: Flow,
    settings: Option<(FlowInput, FormErrors)>,
    failed: Option<Failed>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let steps = repo::steps(&mut conn, flow.id).await?;
    let names = Names::load(&mut conn).await?;
    let lang = ctx.lang;
    let (form, errors) = settings.unwrap_or_else(|| {
        (
            FlowInput { name: flow.name.clone(), enabled: flow.enabled, resubmit_from: flow.resubmit_from.clone() },
            FormErrors::new(lang),
        )
    });
    let mut failed = failed;
    let n = steps.len();
    let views = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (form, errors) = match failed.take_if(|f| f.0 == s.id) {
                Some((_, f, e)) => (f, e),
                None => (model::step_form(s), FormErrors::new(lang)),
            };
            StepView {
                id: s.id,
                seq: s.seq,
                first: i == 0,
                last: i + 1 == n,
                label: labels::step_label(s, &names, lang),
                form,
                errors,
            }
        })
        .collect();
    let new_step = match failed.take_if(|f| f.0 == 0) {
        Some((_, f, e)) => {
            StepView { id: 0, seq: 0, first: false, last: false, label: String::new(), form: f, errors: e }
        }
        None => {
            let mut f = FormData::default();
            f.set("kind", "superior");
            f.set("level", "1");
            f.set("mode", "any");
            StepView {
                id: 0,
                seq: 0,
                first: false,
                last: false,
                label: String::new(),
                form: f,
                errors: FormErrors::new(lang),
            }
        }
    };
    let subject = Subject::from_code(&flow.subject).map(|s| ctx.t(s.label_key())).unwrap_or("");
    let page = EditPage {
        subject,
        preview: labels::preview(&steps, &names, lang),
        form,
        errors,
        steps: views,
        new_step,
        users: users::options(&st.db, true).await?,
        roles: repo::roles(&st.db).await?.into_iter().map(|(id, n)| SelectOpt::new(id, n)).collect(),
        depts: depts::options(&st.db).await?,
        flow,
        ctx,
    };
    Ok((status, render(page).await?).into_response())
}

pub async fn edit(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let flow = repo::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    edit_page(&st, ctx, flow, None, None, StatusCode::OK).await
}

/// Enabling a flow disables the subject's other flows (each audited).
async fn enable(tx: &mut PgConnection, flow: &Flow, actor: i64, ip: Option<&str>) -> AppResult<()> {
    for (other, _) in repo::disable_others(tx, &flow.subject, flow.id).await? {
        Entry::new(ENTITY, other, "update").change("enabled", true, false).write(tx, Some(actor), ip).await?;
    }
    Ok(())
}

fn resubmit_value(code: &str) -> Value {
    let key = resubmit_key(code);
    json!({ "zh": Lang::Zh.t(key), "en": Lang::En.t(key) })
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut input = FlowInput::from_form(&form);
    let mut errors = FormErrors::new(ctx.lang);
    input.validate(&mut errors);
    let mut tx = st.db.begin().await?;
    let flow = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !errors.is_empty() {
        drop(tx);
        return edit_page(&st, ctx, flow, Some((input, errors)), None, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if input.enabled && !flow.enabled {
        enable(&mut tx, &flow, user.id, req.ip.as_deref()).await?;
    }
    repo::update(&mut tx, id, &input).await?;
    let entry = Entry::new(ENTITY, id, "update")
        .change("name", flow.name.clone(), input.name.clone())
        .change("enabled", flow.enabled, input.enabled)
        .change("resubmit_from", resubmit_value(&flow.resubmit_from), resubmit_value(&input.resubmit_from));
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "flows.saved", &format!("{LIST}/{id}/edit")).await
}

pub async fn toggle(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let flow = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let enabled = !flow.enabled;
    if enabled {
        enable(&mut tx, &flow, user.id, req.ip.as_deref()).await?;
    }
    repo::set_enabled(&mut tx, id, enabled).await?;
    Entry::new(ENTITY, id, "update")
        .change("enabled", flow.enabled, enabled)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, if enabled { "flows.enabled_done" } else { "flows.disabled_done" }, LIST).await
}

pub async fn delete(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let flow = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    repo::delete(&mut tx, id).await?;
    Entry::new(ENTITY, id, "delete").note(flow.name.clone()).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("flows.deleted", "name", &flow.name), LIST).await
}

/// The ids a step may name.
async fn known_ids(st: &AppState) -> AppResult<(Vec<i64>, Vec<i64>, Vec<i64>)> {
    let users: Vec<i64> = sqlx::query_scalar("SELECT id FROM users").fetch_all(&st.db).await?;
    let roles: Vec<i64> = sqlx::query_scalar("SELECT id FROM roles").fetch_all(&st.db).await?;
    let depts: Vec<i64> = sqlx::query_scalar("SELECT id FROM departments").fetch_all(&st.db).await?;
    Ok((users, roles, depts))
}

/// The flow's preview in both languages, for the history.
async fn preview_value(tx: &mut PgConnection, flow: i64) -> AppResult<Value> {
    let steps = repo::steps(tx, flow).await?;
    let names = Names::load(tx).await?;
    Ok(json!({ "zh": labels::preview(&steps, &names, Lang::Zh), "en": labels::preview(&steps, &names, Lang::En) }))
}

/// Run a change to a flow's steps in one transaction: lock the flow, change, audit the preview
/// before and after.
async fn step_change(
    st: &AppState,
    req: &RequestCtx,
    id: i64,
    change: impl AsyncFnOnce(&mut PgConnection, &Flow) -> AppResult<()>,
) -> AppResult<()> {
    let user = req.user()?;
    let mut tx = st.db.begin().await?;
    let flow = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let before = preview_value(&mut tx, id).await?;
    change(&mut tx, &flow).await?;
    repo::touch(&mut tx, id).await?;
    let after = preview_value(&mut tx, id).await?;
    Entry::new(ENTITY, id, "update")
        .change("steps", before, after)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn add_step(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (u, r, d) = known_ids(&st).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let Some(input) = model::check_step(&form, &u, &r, &d, &mut errors) else {
        let mut conn = st.db.acquire().await?;
        let flow = repo::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        drop(conn);
        return edit_page(&st, ctx, flow, None, Some((0, form, errors)), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    step_change(&st, &req, id, async |tx, _| {
        repo::add_step(tx, id, &input).await?;
        Ok(())
    })
    .await?;
    ctx.flash(Kind::Success, "flows.step_added").await;
    Ok(Redirect::to(&format!("{LIST}/{id}/edit")).into_response())
}

/// The step of the flow, or 404.
async fn step_of(conn: &mut PgConnection, flow: i64, step: i64) -> AppResult<Step> {
    repo::steps(conn, flow).await?.into_iter().find(|s| s.id == step).ok_or(AppError::NotFound)
}

pub async fn update_step(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, step)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let (u, r, d) = known_ids(&st).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let checked = model::check_step(&form, &u, &r, &d, &mut errors);
    let mut conn = st.db.acquire().await?;
    let flow = repo::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    step_of(&mut conn, id, step).await?;
    drop(conn);
    let Some(input) = checked else {
        return edit_page(&st, ctx, flow, None, Some((step, form, errors)), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    step_change(&st, &req, id, async |tx, _| {
        step_of(tx, id, step).await?;
        repo::update_step(tx, step, &input).await?;
        Ok(())
    })
    .await?;
    ctx.flash(Kind::Success, "flows.step_saved").await;
    Ok(Redirect::to(&format!("{LIST}/{id}/edit")).into_response())
}

pub async fn delete_step(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, step)): Path<(i64, i64)>,
) -> AppResult<Response> {
    step_change(&st, &req, id, async |tx, _| {
        let s = step_of(tx, id, step).await?;
        repo::delete_step(tx, id, &s).await?;
        Ok(())
    })
    .await?;
    ctx.flash(Kind::Success, "flows.step_removed").await;
    Ok(Redirect::to(&format!("{LIST}/{id}/edit")).into_response())
}

pub async fn move_step(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, step)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    let up = form.get("direction") == "up";
    step_change(&st, &req, id, async |tx, _| {
        let steps = repo::steps(tx, id).await?;
        let at = steps.iter().position(|s| s.id == step).ok_or(AppError::NotFound)?;
        let other = if up { at.checked_sub(1) } else { Some(at + 1).filter(|i| *i < steps.len()) };
        if let Some(o) = other {
            repo::swap(tx, &steps[at], &steps[o]).await?;
        }
        Ok(())
    })
    .await?;
    ctx.flash(Kind::Success, "flows.step_moved").await;
    Ok(Redirect::to(&format!("{LIST}/{id}/edit")).into_response())
}
