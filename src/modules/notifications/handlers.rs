use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::repo;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{PageCtx, Pager, render};

const LIST: &str = "/notifications";

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    tab: String,
}

#[derive(Deserialize, Default)]
pub struct ReadForm {
    /// The list page the "mark read" button was on: stay there instead of following the link.
    #[serde(default)]
    back: String,
}

/// One notification as shown: its text in the reader's language.
pub struct Item {
    pub id: i64,
    pub text: String,
    pub at: String,
    pub iso: String,
    pub actor: Option<String>,
    pub has_link: bool,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "notifications/index.html")]
struct IndexPage {
    ctx: PageCtx,
    unread_tab: bool,
    /// Unread notices of records handed to me (transfers, pool assignments): the to-do centre's
    /// "newly handed to me".
    handover_tab: bool,
    items: Vec<Item>,
    pager: Pager,
    total_all: i64,
    total_unread: i64,
    total_handover: i64,
    /// This page (tab and paging), for the buttons to come back to.
    back: String,
}

crate::page!(IndexPage);

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    RawQuery(raw): RawQuery,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let user_id = ctx.user()?.id;
    let which = match q.tab.as_str() {
        "unread" => repo::Which::Unread,
        "handover" => repo::Which::Handover,
        _ => repo::Which::All,
    };
    let unread_tab = which == repo::Which::Unread;
    let (total_all, total_unread, total_handover) = repo::counts(&st.db, user_id).await?;
    let total = match which {
        repo::Which::All => total_all,
        repo::Which::Unread => total_unread,
        repo::Which::Handover => total_handover,
    };
    let pager = Pager::from_query(raw.as_deref(), total);
    let rows = repo::page(&st.db, user_id, which, pager.limit(), pager.offset()).await?;
    let items = rows
        .into_iter()
        .map(|r| Item {
            id: r.id,
            text: crate::notify::render(ctx.lang, &r.kind, &r.params.0),
            at: ctx.datetime(&r.created_at),
            iso: r.created_at.to_rfc3339(),
            actor: r.actor_name,
            has_link: r.link.as_deref().is_some_and(safe_link),
            unread: r.read_at.is_none(),
        })
        .collect();
    let back = match raw.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => format!("{LIST}?{q}"),
        None => LIST.to_string(),
    };
    let handover_tab = which == repo::Which::Handover;
    let page = IndexPage { ctx, unread_tab, handover_tab, items, pager, total_all, total_unread, total_handover, back };
    Ok(render(page).await?.into_response())
}

/// Open a notification: mark it read and follow its link.
pub async fn open(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let link = repo::mark_read(&st.db, ctx.user()?.id, id).await?.ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&target(link.as_deref(), LIST)).into_response())
}

/// Mark one notification read and go to its link (the list without one). The list's own
/// "mark read" buttons send `back` (that list page) to stay where they are.
pub async fn read(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<i64>,
    Form(form): Form<ReadForm>,
) -> AppResult<Response> {
    let link = repo::mark_read(&st.db, ctx.user()?.id, id).await?.ok_or(AppError::NotFound)?;
    if is_list_page(&form.back) {
        return Ok(Redirect::to(&form.back).into_response());
    }
    Ok(Redirect::to(&target(link.as_deref(), LIST)).into_response())
}

pub async fn read_all(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    repo::mark_all_read(&st.db, ctx.user()?.id).await?;
    ctx.flash(Kind::Success, "notifications.all_read_done").await;
    Ok(Redirect::to(LIST).into_response())
}

/// The notification's own link when it is a safe one, else `fallback`; ready for a Location
/// header (anything outside visible ASCII is percent-encoded).
fn target(link: Option<&str>, fallback: &str) -> String {
    match link.filter(|l| safe_link(l)) {
        Some(l) => encode(l),
        None => fallback.to_string(),
    }
}

/// Only relative, same-site paths are followed (links are written by code, but never trusted).
fn safe_link(link: &str) -> bool {
    link.starts_with('/')
        && !link.starts_with("//")
        && !link.starts_with("/\\")
        && !link.contains("://")
        && !link.chars().any(|c| c.is_control())
}

fn encode(link: &str) -> String {
    let mut out = String::with_capacity(link.len());
    for b in link.bytes() {
        if (0x21..=0x7e).contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A page of this list (sent back by its own buttons), usable as a Location as it is.
fn is_list_page(back: &str) -> bool {
    safe_link(back)
        && back.bytes().all(|b| (0x21..=0x7e).contains(&b))
        && (back == LIST || back.starts_with("/notifications?") || back == "/todo")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_links_are_followed() {
        assert_eq!(target(Some("/customers/3"), LIST), "/customers/3");
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:x", "", "/a\nb"] {
            assert_eq!(target(Some(bad), LIST), LIST, "{bad:?}");
        }
        assert_eq!(target(None, "/notifications?tab=unread"), "/notifications?tab=unread");
        assert_eq!(target(Some("/customers?q=张 三"), LIST), "/customers?q=%E5%BC%A0%20%E4%B8%89");
        assert!(!is_list_page("/notifications?q=张"));
        assert!(is_list_page("/notifications?tab=unread&page=2"));
        assert!(!is_list_page("/customers"));
        assert!(!is_list_page("/notificationsx"));
    }
}
