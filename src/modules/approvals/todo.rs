//! The approvals' part of the to-do centre: approvals waiting for my decision, and my requests
//! that came back rejected — the inbox's "waiting" and "returned" tabs, counted the same way.

use futures_util::FutureExt;
use sqlx::PgPool;

use super::repo::{self, Tab};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::todo::{Item, Section, Source};

pub const WAITING: Source = Source {
    code: "approvals_waiting",
    label_key: "todo.approvals_waiting",
    icon: "check",
    applies: |_| true,
    load: |db, user, _, limit| section(db, user, Tab::Waiting, limit).boxed(),
};

pub const RETURNED: Source = Source {
    code: "approvals_returned",
    label_key: "todo.approvals_returned",
    icon: "check",
    applies: |_| true,
    load: |db, user, _, limit| section(db, user, Tab::Returned, limit).boxed(),
};

async fn section(db: &PgPool, user: &CurrentUser, tab: Tab, limit: i64) -> AppResult<Section> {
    let count = repo::count(db, tab, user.id).await?;
    let href = format!("/approvals?tab={}", tab.code());
    if limit == 0 || count == 0 {
        return Ok(Section { count, items: Vec::new(), href });
    }
    let rows = repo::page(db, tab, user.id, limit, 0).await?;
    let mut titles = super::handlers::record_titles(&mut *db.acquire().await?, &rows).await?;
    let items = rows
        .iter()
        .map(|r| {
            let title = titles.remove(&(r.subject.clone(), r.record_id)).map(|(t, _)| t);
            Item {
                note: r.submitter.clone(),
                at: Some(r.my_at.unwrap_or(r.submitted_at)),
                ..Item::new(title.unwrap_or_else(|| format!("#{}", r.record_id)), format!("/approvals/{}", r.id))
            }
        })
        .collect();
    Ok(Section { count, items, href })
}
