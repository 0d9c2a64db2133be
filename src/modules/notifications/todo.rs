//! The notification centre's part of the to-do centre: records newly handed to me (transferred
//! or assigned from the pool) whose notice I have not read — the inbox's "handed to me" tab.
//! "Got it" marks the notice read.

use futures_util::FutureExt;
use sqlx::PgPool;

use super::repo::{self, Which};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::todo::{Cx, Item, Section, Source};

pub const HANDED_TO_ME: Source = Source {
    code: "handed_to_me",
    label_key: "todo.handed_to_me",
    icon: "bell",
    applies: |_| true,
    load: |db, user, cx, limit| handed_to_me(db, user, cx, limit).boxed(),
};

async fn handed_to_me(db: &PgPool, user: &CurrentUser, cx: Cx, limit: i64) -> AppResult<Section> {
    let (_, _, count) = repo::counts(db, user.id).await?;
    let rows =
        if limit > 0 && count > 0 { repo::page(db, user.id, Which::Handover, limit, 0).await? } else { Vec::new() };
    let items = rows
        .into_iter()
        .map(|r| Item {
            note: r.actor_name.unwrap_or_default(),
            at: Some(r.created_at),
            done: Some((format!("/notifications/{}/read", r.id), "todo.mark_read")),
            ..Item::new(crate::notify::render(cx.lang, &r.kind, &r.params.0), format!("/notifications/{}", r.id))
        })
        .collect();
    Ok(Section { count, items, href: "/notifications?tab=handover".into() })
}
