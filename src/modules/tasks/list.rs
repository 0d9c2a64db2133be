//! The task list: one tab per view (see `mod.rs`), each row with a form that completes or
//! reopens it (works without JavaScript), its priority, due time (red when overdue), owner,
//! related records and the user's tags; the kernel's pager.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::Html;
use chrono::Utc;
use serde::Deserialize;

use super::model::{BUCKET_CHOICES, Task, View};
use super::repo::{self, Clock, Tag};
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::Column;
use crate::records::links::{self, Link};
use crate::state::AppState;
use crate::web::pager::Pager;
use crate::web::{PageCtx, RequestCtx, render};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    pub view: String,
}

/// The columns the kernel's column chooser knows (the list itself has a fixed layout).
pub fn available_columns() -> Vec<Column> {
    vec![
        Column::new("title", "task.title", None, true),
        Column::new("priority", "task.priority", None, true),
        Column::new("due_at", "task.due_at", None, true),
        Column::new("owner", "task.owner", None, true),
    ]
}

/// A row of the list.
pub struct Row {
    pub t: Task,
    pub links: Vec<Link>,
    pub tags: Vec<Tag>,
    /// (done, all) of its checklist.
    pub checklist: Option<(i64, i64)>,
}

#[derive(Template)]
#[template(path = "tasks/index.html")]
struct IndexPage {
    ctx: PageCtx,
    view: View,
    views: Vec<View>,
    rows: Vec<Row>,
    pager: Pager,
    now: chrono::DateTime<Utc>,
    can_create: bool,
    can_edit: bool,
    buckets: &'static [(&'static str, &'static str)],
}

crate::page!(IndexPage);

impl IndexPage {
    fn due(&self, r: &Row) -> String {
        self.ctx.opt_datetime(&r.t.due_at)
    }

    fn overdue(&self, r: &Row) -> bool {
        r.t.is_overdue(self.now)
    }

    /// Where a row's forms come back to: this view, this page.
    fn back(&self) -> String {
        let page = if self.pager.page > 1 { format!("&page={}", self.pager.page) } else { String::new() };
        format!("/tasks?view={}{page}", self.view.code())
    }

    /// The "move to" control is for open tasks of one's own piles.
    fn movable(&self, r: &Row) -> bool {
        self.can_edit && !r.t.is_done() && self.ctx.user.as_ref().is_some_and(|u| r.t.owner_id == Some(u.id))
    }
}

/// The views this user is offered: team only when their scope is wider than themselves.
pub fn views_for(user: &CurrentUser, scope: &DataScope) -> Vec<View> {
    let wide = scope.owners.as_ref().is_none_or(|o| o.iter().any(|id| *id != user.id));
    View::ALL.into_iter().filter(|v| *v != View::Team || wide).collect()
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<ListQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Tasks).await?;
    let views = views_for(user, &scope);
    let view = view_of(&q, user, &scope);
    let now = Utc::now();
    let clock = Clock::at(now, st.config.timezone);
    let (pager, tasks) = repo::view(&st.db, view, user.id, &scope, clock, raw.as_deref()).await?;
    let rows = decorate(&st, user, tasks).await?;
    let page = IndexPage {
        can_create: user.can(Module::Tasks, Action::Create),
        can_edit: user.can(Module::Tasks, Action::Edit),
        buckets: BUCKET_CHOICES,
        ctx,
        view,
        views,
        rows,
        pager,
        now,
    };
    render(page).await
}

/// The rows with their related records, the user's tags and checklist progress.
async fn decorate(st: &AppState, user: &CurrentUser, tasks: Vec<Task>) -> AppResult<Vec<Row>> {
    let me = user.id;
    let ids: Vec<i64> = tasks.iter().map(|t| t.id).collect();
    let mut links = seen_links(st, user, &ids).await?;
    let mut tags = repo::tags_on(&st.db, me, &ids).await?;
    let counts: HashMap<i64, (i64, i64)> = repo::subtask_counts(&st.db, &ids).await?;
    Ok(tasks
        .into_iter()
        .map(|t| Row {
            links: links.remove(&t.id).unwrap_or_default(),
            tags: tags.remove(&t.id).unwrap_or_default(),
            checklist: counts.get(&t.id).copied(),
            t,
        })
        .collect())
}

/// The view the query names when the user is offered it, else the inbox.
fn view_of(q: &ListQuery, user: &CurrentUser, scope: &DataScope) -> View {
    View::from_code(&q.view).filter(|v| views_for(user, scope).contains(v)).unwrap_or(View::Inbox)
}

/// Ids of the tasks the list's view (its query string) holds, in its order, the same view the
/// page shows (team falls back to the inbox where the page does): the kernel's bulk actions and
/// the export.
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let q: ListQuery = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let view = view_of(&q, user, scope);
    let clock = Clock::at(Utc::now(), st.config.timezone);
    Ok(repo::view_ids(&st.db, view, user.id, scope, clock).await?)
}

/// The related records of these tasks that the user sees (a participant from another department
/// does not learn the names of customers outside their scope), by task.
pub async fn seen_links(st: &AppState, user: &CurrentUser, ids: &[i64]) -> AppResult<HashMap<i64, Vec<Link>>> {
    let mut all = links::of_items(&st.db, "task", ids).await?;
    let refs: Vec<_> = all.values().flatten().map(|l| (l.entity, l.id)).collect();
    let seen = links::visible_refs(&st.db, user, &refs).await?;
    for list in all.values_mut() {
        list.retain(|l| seen.contains(&(l.entity, l.id)));
    }
    Ok(all)
}
