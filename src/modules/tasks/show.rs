//! The task page: header with status, priority and due time, complete / reopen, "move to";
//! tabs: the task (fields, participants, related records, tags, checklist, comments),
//! attachments and history (kernel).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::RECORD;
use super::actions;
use super::model::{BUCKET_CHOICES, Task, bucket_key};
use super::repo::{self, Comment, Subtask, Tag};
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::records::links::Link;
use crate::state::AppState;
use crate::web::{PageCtx, render};

const TABS: &[(&str, &str)] =
    &[("basic", "task.tab.basic"), ("attachments", "task.tab.attachments"), ("history", "task.tab.history")];

#[derive(Template)]
#[template(path = "tasks/show.html")]
struct ShowPage {
    ctx: PageCtx,
    t: Task,
    d: Detail,
    participants: Vec<(i64, String)>,
    links: Vec<Link>,
    tags: Vec<Tag>,
    subtasks: Vec<Subtask>,
    comments: Vec<Comment>,
    typed: Typed,
    now: DateTime<Utc>,
    buckets: &'static [(&'static str, &'static str)],
    can_edit: bool,
    /// May complete, reopen, file it and work its checklist.
    can_act: bool,
    can_delete: bool,
    can_transfer: bool,
}

crate::page!(ShowPage);

/// What a refused comment or checklist item comes back with: the text typed and the error
/// shown under its field.
#[derive(Default)]
pub struct Typed {
    pub comment: String,
    pub comment_error: Option<&'static str>,
    pub subtask: String,
    pub subtask_error: Option<&'static str>,
}

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
    }

    fn overdue(&self) -> bool {
        self.t.is_overdue(self.now)
    }

    fn bucket_label(&self) -> &'static str {
        self.ctx.t(bucket_key(&self.t.bucket))
    }

    fn remind_label(&self) -> String {
        match self.t.remind_minutes {
            None => self.ctx.t("task.remind.none").to_string(),
            Some(m) => self.ctx.tf1(&format!("task.remind.{m}"), "n", &m.to_string()),
        }
    }

    fn back(&self) -> String {
        format!("/tasks/{}", self.t.id)
    }

    fn participant_names(&self) -> String {
        self.participants.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join("、")
    }

    fn done_line(&self) -> String {
        let at = self.ctx.opt_datetime(&self.t.done_at);
        let by = self.t.done_by_name.clone().unwrap_or_default();
        self.ctx.tf("task.done_line", &[("at", &at), ("by", &by)])
    }
}

pub async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: crate::web::RequestCtx,
    Path(id): Path<i64>,
    Query(q): Query<TabQuery>,
) -> AppResult<Response> {
    let user = req.user()?;
    page(&st, ctx, user, id, &q, Typed::default()).await
}

/// The page, 200 or — with a refused comment or checklist item — 422.
pub async fn page(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    id: i64,
    q: &TabQuery,
    typed: Typed,
) -> AppResult<Response> {
    let scope = DataScope::resolve(&st.db, user, Module::Tasks).await?;
    let t = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let custom = serde_json::Map::new();
    let row = Row { id, owner: t.owner_id, read_only: false, custom: &custom, customer: None };
    let d = Detail::load(st, &ctx, (user, &scope), &RECORD, row, TABS, q).await?;
    let participants = repo::participants(&st.db, id).await?;
    let is_participant = participants.iter().any(|(p, _)| *p == user.id);
    let refused = typed.comment_error.is_some() || typed.subtask_error.is_some();
    let page = ShowPage {
        can_edit: actions::may_edit(user, &scope, &t),
        can_act: actions::may_act(user, &scope, &t, is_participant),
        can_delete: d.may(user, &RECORD, Action::Delete),
        can_transfer: d.may(user, &RECORD, Action::Transfer),
        links: super::list::seen_links(st, user, &[id]).await?.remove(&id).unwrap_or_default(),
        tags: repo::tags_on(&st.db, user.id, &[id]).await?.remove(&id).unwrap_or_default(),
        subtasks: repo::subtasks(&st.db, id).await?,
        comments: repo::comments(&st.db, id).await?,
        now: Utc::now(),
        buckets: BUCKET_CHOICES,
        participants,
        typed,
        d,
        ctx,
        t,
    };
    let html = render(page).await?;
    let status = if refused { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, html).into_response())
}
