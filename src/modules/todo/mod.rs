//! The to-do centre (待办事项): the page a rep opens every morning. It walks the to-do sources the
//! modules registered (`crate::todo`) — follow-ups due, customers about to enter the pool, records
//! handed to me, customers not followed up for long, approvals waiting and requests returned,
//! tasks, today's events, payment terms due, contracts expiring, logs to read — and shows each
//! section with its count, its first items and a link to the full list.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use chrono::Utc;

use crate::access::{Guard, Routes};
use crate::error::AppResult;
use crate::registry::Registry;
use crate::state::AppState;
use crate::todo::{self, Cx, Section, Source};
use crate::web::page::TODO_COUNT_KEY;
use crate::web::{PageCtx, RequestCtx, render};

pub fn register(_r: &mut Registry) {}

pub fn routes() -> Routes {
    Routes::new().get("/todo", Guard::Login, index)
}

#[derive(Template)]
#[template(path = "todo/index.html")]
struct TodoPage {
    ctx: PageCtx,
    /// Sections with something waiting, then the clear ones (named, so the user knows what was
    /// looked at).
    busy: Vec<(&'static Source, Section)>,
    clear: Vec<&'static Source>,
    total: i64,
}

crate::page!(TodoPage);

/// GET /todo
async fn index(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let user = req.user()?;
    let now = Utc::now();
    let cx = Cx { now, tz: st.config.timezone, lang: ctx.lang };
    let sections = todo::sections(&st.db, user, cx, todo::SHOWN).await?;
    let total = sections.iter().map(|(_, s)| s.count).sum();
    // The top bar shows this count from now on (it is as fresh as can be).
    let _ = ctx.session.insert(TODO_COUNT_KEY, (total, now.timestamp())).await;
    let (busy, clear): (Vec<_>, Vec<_>) = sections.into_iter().partition(|(_, s)| s.count > 0);
    render(TodoPage { ctx, busy, clear: clear.into_iter().map(|(src, _)| src).collect(), total }).await
}
