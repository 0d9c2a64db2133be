//! What is done to a task from its row or its page: complete and reopen (audited; the creator
//! hears of it), file it in a pile, its checklist, and comments with @mentions.

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::json;

use super::RECORD;
use super::model::{BUCKETS, COMMENT_MAX, ENTITY, TITLE_MAX, Task, bucket_key, mention_tokens};
use super::repo;
use super::show::{self, Typed};
use crate::access::{Action, DataScope, Module};
use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::notify;
use crate::records::detail::TabQuery;
use crate::state::AppState;
use crate::web::{FormData, PageCtx, RequestCtx, done};

/// Owner, creator, participants, and whoever may change it through the scope — with the
/// module's edit right — complete, reopen, file it and work its checklist.
pub fn may_act(user: &CurrentUser, scope: &DataScope, t: &Task, participant: bool) -> bool {
    user.can(Module::Tasks, Action::Edit)
        && (participant || t.created_by == Some(user.id) || t.owner_id == Some(user.id) || scope.owns(t.owner_id))
}

/// Writers in scope and the task's creator change its fields.
pub fn may_edit(user: &CurrentUser, scope: &DataScope, t: &Task) -> bool {
    user.can(Module::Tasks, Action::Edit) && (scope.owns(t.owner_id) || t.created_by == Some(user.id))
}

/// The task if the user sees it (else 404) and may act on it (else 403).
async fn acting(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<Task> {
    let scope = DataScope::resolve(&st.db, user, Module::Tasks).await?;
    let t = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let participant = repo::is_participant(&st.db, id, user.id).await?;
    if !may_act(user, &scope, &t, participant) {
        return Err(AppError::Forbidden);
    }
    Ok(t)
}

/// Where a row's form came from (a task list page, the to-do centre), else the task's page. Only
/// those paths are followed.
fn back(form: &FormData, id: i64) -> String {
    let b = form.get("back");
    if b == "/todo" || (b.starts_with("/tasks") && !b.contains("//") && !b.contains('\\')) {
        b.to_string()
    } else {
        format!("/tasks/{id}")
    }
}

/// POST /tasks/{id}/complete
pub async fn complete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    set_done(&st, ctx, &req, id, &form, true).await
}

/// POST /tasks/{id}/reopen
pub async fn reopen(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    set_done(&st, ctx, &req, id, &form, false).await
}

async fn set_done(
    st: &AppState,
    ctx: PageCtx,
    req: &RequestCtx,
    id: i64,
    form: &FormData,
    to: bool,
) -> AppResult<Response> {
    let user = req.user()?;
    let t = acting(st, user, id).await?;
    let mut tx = Tx::begin(&st.db).await?;
    if repo::set_done(&mut tx, id, to, user.id).await? {
        let action = RECORD.event(if to { "complete" } else { "reopen" });
        Entry::new(ENTITY, id, action).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
        if let (true, Some(creator)) = (to, t.created_by) {
            let params = json!({ "title": t.title, "by": user.name });
            notify::send(&mut tx, creator, "task_done", params, Some(&RECORD.url(id)), Some(user.id)).await?;
        }
    }
    let key = if to { "task.completed" } else { "task.reopened" };
    done(tx, &ctx, ctx.tf1(key, "title", &t.title), &back(form, id)).await
}

/// POST /tasks/{id}/bucket: file an open task of one's own in inbox, today, next or later.
pub async fn move_to(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let t = acting(&st, user, id).await?;
    let bucket = form.get("bucket");
    if !BUCKETS.contains(&bucket) {
        return Err(AppError::BadRequest("task.error.bucket"));
    }
    let mut tx = Tx::begin(&st.db).await?;
    if repo::set_bucket(&mut tx, id, bucket).await? {
        let (from, to) = (bucket_key(&t.bucket), bucket_key(bucket));
        Entry::new(ENTITY, id, "update")
            .change("bucket", audit::bilingual(from), audit::bilingual(to))
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    let label = ctx.t(bucket_key(bucket));
    done(tx, &ctx, ctx.tf("task.moved", &[("title", &t.title), ("to", label)]), &back(&form, id)).await
}

/// POST /tasks/{id}/subtasks: add a checklist item.
pub async fn add_subtask(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    acting(&st, user, id).await?;
    let title = form.get("title").trim();
    let error = if title.is_empty() {
        Some("task.error.subtask_required")
    } else if title.chars().count() > TITLE_MAX {
        Some("task.error.title_long")
    } else {
        None
    };
    if error.is_some() {
        let typed = Typed { subtask: title.to_string(), subtask_error: error, ..Typed::default() };
        return show::page(&st, ctx, user, id, &TabQuery::default(), typed).await;
    }
    let mut tx = Tx::begin(&st.db).await?;
    repo::add_subtask(&mut tx, id, title).await?;
    Entry::new(ENTITY, id, "update")
        .change("subtask", serde_json::Value::Null, title)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "task.subtask_added", &format!("/tasks/{id}#subtasks")).await
}

/// POST /tasks/{id}/subtasks/{sub}/toggle: tick or untick a checklist item.
pub async fn toggle_subtask(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, sub)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    acting(&st, user, id).await?;
    let mut tx = Tx::begin(&st.db).await?;
    let (title, now_done) = repo::toggle_subtask(&mut tx, id, sub).await?.ok_or(AppError::NotFound)?;
    let field = if now_done { "subtask_done" } else { "subtask_open" };
    Entry::new(ENTITY, id, "update")
        .change(field, serde_json::Value::Null, title)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "task.subtask_saved", &format!("/tasks/{id}#subtasks")).await
}

/// POST /tasks/{id}/subtasks/{sub}/delete
pub async fn remove_subtask(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, sub)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    acting(&st, user, id).await?;
    let mut tx = Tx::begin(&st.db).await?;
    let title = repo::remove_subtask(&mut tx, id, sub).await?.ok_or(AppError::NotFound)?;
    Entry::new(ENTITY, id, "update")
        .change("subtask", title, serde_json::Value::Null)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "task.subtask_removed", &format!("/tasks/{id}#subtasks")).await
}

/// POST /tasks/{id}/comments: whoever sees the task may comment; each user a `@name` or `@login`
/// names hears of it ("task_mention").
pub async fn comment(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Tasks).await?;
    let t = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let body = form.get("body").trim();
    let error = if body.is_empty() {
        Some("task.error.comment_required")
    } else if body.chars().count() > COMMENT_MAX {
        Some("task.error.comment_long")
    } else {
        None
    };
    if error.is_some() {
        let typed = Typed { comment: body.to_string(), comment_error: error, ..Typed::default() };
        return show::page(&st, ctx, user, id, &TabQuery::default(), typed).await;
    }
    let mentioned = repo::mentioned_users(&st.db, &mention_tokens(body)).await?;
    let mut tx = Tx::begin(&st.db).await?;
    repo::add_comment(&mut tx, id, user.id, body).await?;
    let excerpt: String = body.chars().take(60).collect();
    for who in mentioned {
        let params = json!({ "title": t.title, "by": user.name, "text": excerpt });
        notify::send(&mut tx, who, "task_mention", params, Some(&format!("/tasks/{id}#comments")), Some(user.id))
            .await?;
    }
    done(tx, &ctx, "task.commented", &format!("/tasks/{id}#comments")).await
}
