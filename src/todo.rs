//! The to-do centre's sources (待办事项). Each module registers what it has waiting for a user
//! (`Registry::todo_source`): follow-ups due, customers about to enter the pool, approvals waiting,
//! tasks due, events today, payment plans due... The page (`modules::todo`) and the top bar's
//! count walk the registered sources and never name a module.
//!
//! A source answers with how many items wait (the same rows its `href` list shows) and the first
//! few. Items that may be set aside carry a `dismiss` key: the page stores it in
//! `todo_dismissals` and the source leaves dismissed items out of both its count and its rows
//! (`push_not_dismissed`), until the item changes (the key holds the time it is about).

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use sqlx::{Postgres, QueryBuilder};

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::state::AppState;

/// How many items a section shows; the rest are behind its link.
pub const SHOWN: i64 = 8;

#[derive(Clone, Copy)]
pub struct Source {
    /// "followups_due": the section's id and the dismissal's source.
    pub code: &'static str,
    /// The section's title key.
    pub label_key: &'static str,
    /// The icon (`static/icons.svg`).
    pub icon: &'static str,
    /// Whether this user has such items at all (the module's view right).
    pub applies: fn(&CurrentUser) -> bool,
    pub load: for<'a> fn(&'a AppState, &'a CurrentUser, DateTime<Utc>) -> BoxFuture<'a, AppResult<Section>>,
}

/// One source's part of the page.
#[derive(Default)]
pub struct Section {
    /// Every item waiting (what `href` lists), not only those shown.
    pub count: i64,
    /// The first `SHOWN` items, most urgent first.
    pub items: Vec<Item>,
    /// The list with all of them, filtered the same way ("/followups/overdue").
    pub href: String,
}

pub struct Item {
    pub title: String,
    /// The record it is about.
    pub link: String,
    /// What the item is about besides its title (a customer's name, "王强 提交").
    pub note: String,
    /// When it is due or happened.
    pub at: Option<DateTime<Utc>>,
    /// It is late (shown red).
    pub overdue: bool,
    /// (item id, time it is about) for the dismiss button; None: cannot be dismissed (it goes
    /// away when done: an approval decided, a task completed).
    pub dismiss: Option<(i64, DateTime<Utc>)>,
    /// A POST that completes it from the page (a task's "done"), with its button label key.
    pub done: Option<(String, &'static str)>,
}

impl Item {
    pub fn new(title: impl Into<String>, link: impl Into<String>) -> Item {
        Item {
            title: title.into(),
            link: link.into(),
            note: String::new(),
            at: None,
            overdue: false,
            dismiss: None,
            done: None,
        }
    }

    pub fn dismiss_value(&self) -> String {
        self.dismiss.map(|(id, at)| format!("{id}:{}", at.timestamp())).unwrap_or_default()
    }
}

/// ` AND NOT EXISTS (a dismissal of this item at this time)`: `id_sql` and `at_sql` name the
/// item's id and the time it is about (its due time, its entry into the pool...).
pub fn push_not_dismissed(
    q: &mut QueryBuilder<'_, Postgres>,
    source: &'static str,
    user_id: i64,
    id_sql: &str,
    at_sql: &str,
) {
    q.push(" AND NOT EXISTS (SELECT 1 FROM todo_dismissals d WHERE d.user_id = ")
        .push_bind(user_id)
        .push(" AND d.source = ")
        .push_bind(source)
        .push(format_args!(" AND d.item_id = {id_sql} AND d.about = {at_sql})"));
}
