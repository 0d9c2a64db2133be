use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::repo::{self, Tab};
use crate::access::Action;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, PageCtx, Pager, RequestCtx, SelectOpt, render};
use crate::workflow::labels::{self, Names};
use crate::workflow::{self, FlowError, Instance, Outcome, StepKind, Subject};

const COMMENT_MAX: usize = 1000;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    tab: String,
}

pub struct TabView {
    pub code: &'static str,
    pub label: &'static str,
    pub count: i64,
    pub active: bool,
}

/// One line of the inbox, every text ready in the reader's language.
pub struct ItemView {
    pub id: i64,
    pub subject: &'static str,
    pub title: String,
    pub link: Option<String>,
    pub summary: String,
    pub submitter: String,
    pub submitted_at: String,
    pub status: &'static str,
    pub status_class: &'static str,
    /// The stage being decided (pending ones).
    pub step: String,
    /// My decision and when (decided tab).
    pub mine: String,
}

#[derive(Template)]
#[template(path = "approvals/index.html")]
struct IndexPage {
    ctx: PageCtx,
    tab: &'static str,
    tabs: Vec<TabView>,
    items: Vec<ItemView>,
    pager: Pager,
}

crate::page!(IndexPage);

/// The (name, link) of the records these approvals are about, by (subject, record id): one query
/// per subject.
pub(super) async fn record_titles(
    conn: &mut sqlx::PgConnection,
    rows: &[repo::Row],
) -> sqlx::Result<HashMap<(String, i64), (String, Option<String>)>> {
    let mut titles = HashMap::new();
    for subject in Subject::all() {
        let ids: Vec<i64> = rows.iter().filter(|r| r.subject == subject.code()).map(|r| r.record_id).collect();
        if !ids.is_empty() {
            for (id, t) in subject.describe(conn, &ids).await? {
                titles.insert((subject.code().to_string(), id), t);
            }
        }
    }
    Ok(titles)
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    RawQuery(raw): RawQuery,
    Query(q): Query<ListQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let tab = Tab::from_code(&q.tab);
    let mut tabs = Vec::new();
    let mut total = 0;
    for t in Tab::ALL {
        let n = repo::count(&st.db, *t, user.id).await?;
        if *t == tab {
            total = n;
        }
        tabs.push(TabView { code: t.code(), label: ctx.t(t.label_key()), count: n, active: *t == tab });
    }
    let pager = Pager::from_query(raw.as_deref(), total);
    let rows = repo::page(&st.db, tab, user.id, pager.limit(), pager.offset()).await?;
    let mut conn = st.db.acquire().await?;
    let dicts = workflow::summary_dicts(&mut conn).await?;
    let names = Names::load(&mut conn).await?;
    let mut titles = record_titles(&mut conn, &rows).await?;
    let lang = ctx.lang;
    let items = rows
        .into_iter()
        .filter_map(|r| {
            let subject = Subject::from_code(&r.subject)?;
            let (title, link) = titles.remove(&(r.subject.clone(), r.record_id)).unwrap_or_default();
            let step = if r.status == "pending" {
                r.plan
                    .0
                    .get((r.current_step - 1).max(0) as usize)
                    .map(|s| format!("{}. {}", r.current_step, labels::stage_label(s, &names, lang)))
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let mine = match (&r.my_status, &r.my_at) {
                (Some(s), Some(at)) if s != "pending" => {
                    format!("{} · {}", ctx.t(labels::task_status_key(s)), ctx.datetime(at))
                }
                _ => String::new(),
            };
            Some(ItemView {
                id: r.id,
                subject: ctx.t(subject.label_key()),
                title,
                link,
                summary: subject.summary(&r.payload.0, &dicts, lang),
                submitter: r.submitter,
                submitted_at: ctx.datetime(&r.submitted_at),
                status: ctx.t(labels::status_key(&r.status)),
                status_class: labels::status_badge(&r.status),
                step,
                mine,
            })
        })
        .collect();
    render(IndexPage { ctx, tab: tab.code(), tabs, items, pager }).await
}

pub struct TaskView {
    pub approver: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub comment: String,
    pub at: String,
    pub round: i32,
    pub fallback: bool,
}

pub struct StageView {
    pub no: i32,
    pub label: String,
    pub state: &'static str,
    pub state_class: &'static str,
    /// "done", "current", "rejected" or "": how its dot on the progress line looks.
    pub dot: &'static str,
    pub tasks: Vec<TaskView>,
}

/// A submitter-picks stage on the resubmit form.
pub struct PickView {
    pub seq: i32,
    pub label: String,
    pub options: Vec<SelectOpt>,
    pub selected: Vec<String>,
}

impl PickView {
    pub fn is_selected(&self, value: &str) -> bool {
        self.selected.iter().any(|s| s == value)
    }
}

#[derive(Template)]
#[template(path = "approvals/show.html")]
struct ShowPage {
    ctx: PageCtx,
    id: i64,
    subject: &'static str,
    title: String,
    link: Option<String>,
    summary: String,
    submitter: String,
    submitted_at: String,
    decided_at: String,
    flow_name: String,
    status: &'static str,
    status_class: &'static str,
    round: i32,
    stages: Vec<StageView>,
    can_decide: bool,
    can_withdraw: bool,
    can_resubmit: bool,
    /// Submitter-picks stages to choose for: on resubmission, or the current stage waiting.
    picks: Vec<PickView>,
    /// The current stage waits for the submitter side to pick its approvers (`picks` has it).
    can_pick: bool,
}

crate::page!(ShowPage);

/// The instance, if the user may see it: its submitter or owner, an approver on it, a super admin,
/// or anyone who can see the record it is about (read-only: the actions below check their own
/// rights, and the page offers them only to those who have them).
async fn visible(st: &AppState, req: &RequestCtx, id: i64) -> AppResult<Instance> {
    let user = req.user()?;
    let mut conn = st.db.acquire().await?;
    let inst = workflow::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    if user.is_super || inst.is_submitter_side(user.id) || repo::is_approver(&st.db, id, user.id).await? {
        return Ok(inst);
    }
    match inst.subject() {
        Some(subject) if subject.can_view_record(&st.db, user, inst.record_id).await? => Ok(inst),
        _ => Err(AppError::NotFound),
    }
}

pub async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let inst = visible(&st, &req, id).await?;
    let subject = inst.subject().ok_or(AppError::NotFound)?;
    let mut conn = st.db.acquire().await?;
    let tasks = workflow::tasks(&mut conn, id).await?;
    let names = Names::load(&mut conn).await?;
    let dicts = workflow::summary_dicts(&mut conn).await?;
    let (title, link) =
        subject.describe(&mut conn, &[inst.record_id]).await?.remove(&inst.record_id).unwrap_or_default();
    let awaiting = workflow::awaiting_picks(&mut conn, &inst).await?;
    let can_decide = inst.is_pending()
        && user.can(subject.module(), Action::Approve)
        && tasks.iter().any(|t| {
            t.approver_id == user.id && t.status == "pending" && t.stage == inst.current_step && t.round == inst.round
        });
    let submitter_side = inst.is_submitter_side(user.id);
    let can_resubmit =
        submitter_side && matches!(inst.status(), workflow::Status::Rejected | workflow::Status::Withdrawn);
    let can_pick = submitter_side && awaiting;
    let picks = pick_views(&mut conn, &inst, subject, &names, ctx.lang, (can_resubmit, can_pick)).await?;
    let flow_name = if inst.plan.0.is_empty() { ctx.t("approval.no_flow").to_string() } else { inst.flow_name.clone() };
    render(ShowPage {
        id,
        subject: ctx.t(subject.label_key()),
        title,
        link,
        summary: subject.summary(&inst.payload.0, &dicts, ctx.lang),
        submitter: names.user(inst.submitted_by),
        submitted_at: ctx.datetime(&inst.submitted_at),
        decided_at: ctx.opt_datetime(&inst.decided_at),
        flow_name,
        status: ctx.t(labels::status_key(&inst.status)),
        status_class: labels::status_badge(&inst.status),
        round: inst.round,
        stages: stage_views(&ctx, &inst, &tasks, &names, awaiting),
        can_decide,
        can_withdraw: submitter_side && inst.is_pending(),
        can_resubmit,
        picks,
        can_pick,
        ctx,
    })
    .await
}

/// The progress view: each planned stage with its state and its approvers' decisions.
fn stage_views(
    ctx: &PageCtx,
    inst: &Instance,
    tasks: &[workflow::Task],
    names: &Names,
    awaiting: bool,
) -> Vec<StageView> {
    let stage_view = |(i, stage): (usize, &workflow::Stage)| {
        let no = i as i32 + 1;
        let (state, state_class) = if awaiting && no == inst.current_step {
            ("approval.stage.awaiting_picks", "badge-amber")
        } else {
            stage_state(inst, no)
        };
        let dot = match state {
            "approval.stage.done" => "done",
            "approval.stage.current" | "approval.stage.awaiting_picks" => "current",
            "approval.stage.rejected" => "rejected",
            _ => "",
        };
        let tasks = tasks
            .iter()
            .filter(|t| t.stage == no)
            .map(|t| TaskView {
                approver: t.approver_name.clone(),
                status: ctx.t(labels::task_status_key(&t.status)),
                status_class: labels::status_badge(&t.status),
                comment: t.comment.clone(),
                at: ctx.opt_datetime(&t.decided_at),
                round: t.round,
                fallback: t.fallback,
            })
            .collect();
        StageView {
            no,
            label: labels::stage_label(stage, names, ctx.lang),
            state: ctx.t(state),
            state_class,
            dot,
            tasks,
        }
    };
    inst.plan.0.iter().enumerate().map(stage_view).collect()
}

/// The submitter-picks stages to choose approvers for: all of them on a resubmission, the
/// current one while it waits for picks; each with the users it allows.
async fn pick_views(
    conn: &mut sqlx::PgConnection,
    inst: &Instance,
    subject: workflow::Subject,
    names: &Names,
    lang: Lang,
    (resubmitting, picking): (bool, bool),
) -> AppResult<Vec<PickView>> {
    let mut picks = Vec::new();
    if !resubmitting && !picking {
        return Ok(picks);
    }
    let current = (inst.current_step - 1).max(0) as usize;
    let choosing = inst
        .plan
        .0
        .iter()
        .enumerate()
        .filter(|(i, s)| s.kind() == StepKind::SubmitterPicks && (resubmitting || *i == current));
    for (_, stage) in choosing {
        let allowed = workflow::engine::allowed_set(&mut *conn, stage, subject.module()).await?;
        picks.push(PickView {
            seq: stage.step_seq,
            label: labels::stage_label(stage, names, lang),
            options: allowed.iter().map(|u| SelectOpt::new(u, names.user(*u))).collect(),
            selected: stage.approvers.iter().map(|u| u.to_string()).collect(),
        });
    }
    Ok(picks)
}

/// (state key, badge class) of stage `no` in the instance's current round.
fn stage_state(inst: &Instance, no: i32) -> (&'static str, &'static str) {
    use workflow::Status::*;
    let cur = inst.current_step;
    match inst.status() {
        Approved => ("approval.stage.done", "badge-green"),
        _ if no < cur => ("approval.stage.done", "badge-green"),
        Pending if no == cur => ("approval.stage.current", "badge-amber"),
        Rejected if no == cur => ("approval.stage.rejected", "badge-red"),
        Withdrawn if no == cur => ("approval.stage.stopped", ""),
        _ => ("approval.stage.waiting", ""),
    }
}

fn back(id: i64) -> Response {
    Redirect::to(&format!("/approvals/{id}")).into_response()
}

/// Commit a transition, or turn "someone else was first" and state errors into a message on
/// the approval's page (nothing written).
async fn finish(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    ctx: &PageCtx,
    id: i64,
    result: Result<workflow::Done, FlowError>,
    done_key: impl Fn(Outcome) -> &'static str,
) -> AppResult<Response> {
    match result {
        Ok(done) => {
            tx.commit().await?;
            ctx.flash(Kind::Success, done_key(done.outcome)).await;
            Ok(back(id))
        }
        Err(FlowError::HandledBy(name)) => {
            drop(tx);
            ctx.flash_text(Kind::Error, ctx.tf1("approval.error.handled_by", "name", &name)).await;
            Ok(back(id))
        }
        Err(FlowError::State(key) | FlowError::Invalid(key)) => {
            drop(tx);
            ctx.flash(Kind::Error, key).await;
            Ok(back(id))
        }
        Err(FlowError::AlreadyPending) => {
            drop(tx);
            ctx.flash(Kind::Error, "approval.error.already_pending").await;
            Ok(back(id))
        }
        Err(e) => Err(e.into()),
    }
}

fn comment_of(form: &FormData) -> AppResult<String> {
    let c = form.get("comment").trim().to_string();
    if c.chars().count() > COMMENT_MAX {
        return Err(AppError::BadRequest("approval.error.comment_long"));
    }
    Ok(c)
}

pub async fn approve(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?.id;
    let comment = comment_of(&form)?;
    // One it may not see answers as one that does not exist (404), not "not yours" (403).
    visible(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    let result = workflow::decide(&mut tx, id, user, true, &comment, req.ip.as_deref()).await;
    let done = |o: Outcome| if o == Outcome::Approved { "approval.done.approved" } else { "approval.done.passed_on" };
    finish(tx, &ctx, id, result, done).await
}

pub async fn reject(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?.id;
    let comment = comment_of(&form)?;
    visible(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    let result = if comment.is_empty() && reason_missing(&mut tx, id, user).await? {
        Err(FlowError::Invalid("approval.error.reason_required"))
    } else {
        workflow::decide(&mut tx, id, user, false, &comment, req.ip.as_deref()).await
    };
    finish(tx, &ctx, id, result, |_| "approval.done.rejected").await
}

/// A rejection needs a reason — said only to an approver who could reject now; anyone else gets
/// the answer `decide` gives them.
async fn reason_missing(tx: &mut sqlx::PgConnection, id: i64, user: i64) -> AppResult<bool> {
    let inst = match workflow::engine::lock(tx, id).await {
        Ok(i) => i,
        Err(FlowError::NotFound) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    Ok(workflow::engine::pending_task_of(tx, &inst, user).await?)
}

pub async fn withdraw(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?.id;
    visible(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    let result = workflow::withdraw(&mut tx, id, user, req.ip.as_deref()).await;
    finish(tx, &ctx, id, result, |_| "approval.done.withdrawn").await
}

pub async fn resubmit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?.id;
    let picks = workflow::picks_of(&form);
    let picks = (!picks.is_empty()).then_some(&picks);
    visible(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    let result = workflow::resubmit(&mut tx, id, user, picks, req.ip.as_deref()).await;
    let done = |o: Outcome| if o == Outcome::Approved { "approval.done.approved" } else { "approval.done.resubmitted" };
    finish(tx, &ctx, id, result, done).await
}

/// POST /approvals/{id}/pick — the submitter side chooses the approvers of the stage waiting for
/// them (`picks_<seq>`, the current stage's step).
pub async fn pick(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?.id;
    let picked: Vec<i64> = workflow::picks_of(&form).into_values().flatten().collect();
    visible(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    let result = workflow::pick(&mut tx, id, user, &picked, req.ip.as_deref()).await;
    finish(tx, &ctx, id, result, |_| "approval.done.picked").await
}
