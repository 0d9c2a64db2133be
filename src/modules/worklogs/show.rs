//! The log's page: the report, the period's numbers (live, each a link to its list), related
//! records, recipients with their read state, comments; tabs for attachments and history. A
//! recipient opening it marks it read; "mark unread" puts it back in their unread list.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Response};
use serde_json::json;

use super::RECORD;
use super::model::{Comment, Recipient, Worklog};
use super::repo;
use super::stats::{self, About, Number};
use crate::access::{Action, DataScope, Module};
use crate::audit;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::records::links::{self, Link};
use crate::state::AppState;
use crate::web::{FormData, PageCtx, RequestCtx, done, render};

const TABS: &[(&str, &str)] =
    &[("report", "worklog.tab.report"), ("attachments", "worklog.tab.attachments"), ("history", "worklog.tab.history")];

#[derive(Template)]
#[template(path = "worklogs/show.html")]
struct ShowPage {
    ctx: PageCtx,
    w: Worklog,
    d: Detail,
    numbers: Vec<Number>,
    related: Vec<Link>,
    recipients: Vec<Recipient>,
    comments: Vec<Comment>,
    /// The viewer is a recipient (offers "mark unread").
    is_recipient: bool,
    can_edit: bool,
    can_delete: bool,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
    }

    fn field(&self, name: &str) -> &'static str {
        self.ctx.t(&self.w.kind().field_key(name))
    }

    fn frozen(&self, n: &Number) -> Option<String> {
        stats::frozen_if_changed(&self.w.stats, n).map(|c| self.ctx.tf1("worklog.stats.at_submit", "n", &c.to_string()))
    }
}

/// A live log the user sees (404 otherwise), with their Worklogs scope.
async fn visible(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<(Worklog, DataScope)> {
    let scope = DataScope::resolve(&st.db, user, Module::Worklogs).await?;
    let w = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    Ok((w, scope))
}

pub async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Query(q): Query<TabQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let (w, scope) = visible(&st, user, id).await?;
    // Opening it is reading it (only a recipient's own row changes).
    repo::mark_read(&st.db, id, user.id).await?;
    let empty = serde_json::Map::new();
    let row = Row { id, owner: Some(w.owner_id), read_only: false, custom: &empty, customer: None };
    let d = Detail::load(&st, &ctx, (user, &scope), &RECORD, row, TABS, &q).await?;
    let (numbers, related, comments) = if d.tab == "report" {
        let about = About { author: w.created_by, start: w.period_start, end: w.period_end };
        let numbers = stats::compute(&st.db, user, about, st.config.timezone).await?;
        let related = links::of_items(&st.db, "worklog", &[id]).await?.remove(&id).unwrap_or_default();
        (numbers, related, repo::comments(&st.db, id).await?)
    } else {
        Default::default()
    };
    let recipients = repo::recipients(&st.db, id).await?;
    let page = ShowPage {
        is_recipient: recipients.iter().any(|r| r.user_id == user.id),
        // Only the author edits a log: it is their report.
        can_edit: w.created_by == user.id && user.can(Module::Worklogs, Action::Edit),
        can_delete: d.may(user, &RECORD, Action::Delete),
        ctx,
        w,
        d,
        numbers,
        related,
        recipients,
        comments,
    };
    render(page).await
}

/// POST /worklogs/{id}/comments: a comment under a log the user sees; its author is notified.
pub async fn comment(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let (w, _) = visible(&st, user, id).await?;
    let body = form.get("body").trim();
    if body.is_empty() {
        return Err(AppError::BadRequest("worklog.error.comment_empty"));
    }
    let mut tx = st.db.begin().await?;
    let cid = repo::add_comment(&mut tx, id, user.id, body).await?;
    audit::Entry::new("worklog", id, "worklog_comment")
        .change("comment", serde_json::Value::Null, json!(body))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    let params = json!({ "name": user.name, "period": w.period(), "kind": w.kind().code() });
    let link = format!("/worklogs/{id}#comment-{cid}");
    crate::notify::send(&mut tx, w.created_by, "worklog_comment", params, Some(&link), Some(user.id)).await?;
    done(tx, &ctx, "worklog.commented", &format!("/worklogs/{id}#comments")).await
}

/// POST /worklogs/{id}/unread: a recipient puts the log back among their unread ones.
pub async fn unread(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    visible(&st, user, id).await?;
    let mut tx = st.db.begin().await?;
    if !repo::mark_unread(&mut tx, id, user.id).await? {
        return Err(AppError::NotFound);
    }
    done(tx, &ctx, "worklog.marked_unread", "/worklogs?tab=received").await
}
