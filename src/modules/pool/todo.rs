//! The pool's part of the to-do centre: my customers a rule of my pool will recycle soon — the
//! rows of "about to enter the pool" (/pool/upcoming), computed the same way.

use futures_util::FutureExt;
use sqlx::PgPool;

use super::rules;
use crate::access::{Action, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::todo::{Cx, Item, Section, Source};

pub const POOL_SOON: Source = Source {
    code: "pool_soon",
    label_key: "todo.pool_soon",
    icon: "pool",
    applies: |u| u.can(Module::Customers, Action::View),
    load: |db, user, cx, limit| pool_soon(db, user, cx, limit).boxed(),
};

async fn pool_soon(db: &PgPool, user: &CurrentUser, cx: Cx, limit: i64) -> AppResult<Section> {
    let (_, rows) = rules::upcoming_for(db, user.id, cx.now).await?;
    let items = rows
        .iter()
        .take(limit as usize)
        .map(|d| Item {
            at: Some(d.due_at),
            overdue: d.days_left(cx.now) <= 3,
            ..Item::new(d.name.clone(), format!("/customers/{}?tab=timeline", d.customer_id))
        })
        .collect();
    Ok(Section { count: rows.len() as i64, items, href: "/pool/upcoming".into() })
}
