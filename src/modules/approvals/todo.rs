//! The approvals' part of the to-do centre: approvals waiting for my decision, and my requests
//! that came back rejected — the inbox's "waiting" and "returned" tabs, counted the same way.

use futures_util::FutureExt;
use sqlx::PgPool;

use super::repo::{self, Tab};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::todo::{Item, Section, Source};
use crate::workflow::Subject;

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
    let mut conn = db.acquire().await?;
    // The records' names, one query per subject (as the inbox reads them).
    let mut titles = std::collections::HashMap::new();
    for subject in Subject::all() {
        let ids: Vec<i64> = rows.iter().filter(|r| r.subject == subject.code()).map(|r| r.record_id).collect();
        if !ids.is_empty() {
            for (id, (title, _)) in subject.describe(&mut conn, &ids).await? {
                titles.insert((subject.code(), id), title);
            }
        }
    }
    let items = rows
        .iter()
        .map(|r| {
            let title = titles.get(&(r.subject.as_str(), r.record_id)).cloned();
            Item {
                note: r.submitter.clone(),
                at: Some(r.my_at.unwrap_or(r.submitted_at)),
                ..Item::new(title.unwrap_or_else(|| format!("#{}", r.record_id)), format!("/approvals/{}", r.id))
            }
        })
        .collect();
    Ok(Section { count, items, href })
}
