//! The to-do centre's sources (待办事项). Each module registers what it has waiting for a user
//! (`Registry::todo_source`): follow-ups due, customers about to enter the pool, approvals waiting,
//! tasks due, events today, payment plans due... The page (`modules::todo`) and the top bar's
//! count walk the registered sources and never name a module.
//!
//! A source answers with how many items wait — exactly the rows its `href` list shows, so the
//! count never disagrees with the list it leads to — and the first few. Items go away when they
//! are dealt with (a follow-up written, an approval decided, a task done, a notice read); where
//! the page can settle an item itself it offers a button (`Item::done`).

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use sqlx::PgPool;

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::filters::midnight;
use crate::web::i18n::Lang;

/// How many items a section shows; the rest are behind its link.
pub const SHOWN: i64 = 8;

/// What a to-do source is asked with: the instant and the configured time zone (so "today" and
/// "overdue" follow the company's calendar day), and the reader's language for item texts.
#[derive(Clone, Copy, Debug)]
pub struct Cx {
    pub now: DateTime<Utc>,
    pub tz: FixedOffset,
    pub lang: Lang,
}

impl Cx {
    pub fn today(&self) -> NaiveDate {
        self.now.with_timezone(&self.tz).date_naive()
    }

    /// The start of today and of tomorrow.
    pub fn today_bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        day_bounds(self.now, self.tz)
    }
}

/// The instants the local day of `now` starts and ends (the next one starts).
pub fn day_bounds(now: DateTime<Utc>, tz: FixedOffset) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&tz).date_naive();
    (midnight(today, tz), midnight(today.succ_opt().unwrap_or(today), tz))
}

#[derive(Clone, Copy)]
pub struct Source {
    /// "followups_due": the section's id.
    pub code: &'static str,
    /// The section's title key.
    pub label_key: &'static str,
    /// The icon (`static/icons.svg`).
    pub icon: &'static str,
    /// Whether this user has such items at all (the module's view right).
    pub applies: fn(&CurrentUser) -> bool,
    /// The section: its count and, when `limit` > 0, its first `limit` items (the top bar asks
    /// with 0 and gets the count alone).
    pub load: for<'a> fn(&'a PgPool, &'a CurrentUser, Cx, i64) -> BoxFuture<'a, AppResult<Section>>,
}

/// One source's part of the page.
#[derive(Default)]
pub struct Section {
    /// Every item waiting (what `href` lists), not only those shown.
    pub count: i64,
    /// The first items, most urgent first.
    pub items: Vec<Item>,
    /// The list with all of them, filtered the same way ("/customers?scene=mine&contact_due=1").
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
    /// The day it is due, for items due on a date (a payment term, a contract's end).
    pub day: Option<NaiveDate>,
    /// It is late (shown red).
    pub overdue: bool,
    /// A POST that settles it from the page (a task's "done", a notice's "read"), with its
    /// button's label key.
    pub done: Option<(String, &'static str)>,
}

impl Item {
    pub fn new(title: impl Into<String>, link: impl Into<String>) -> Item {
        Item {
            title: title.into(),
            link: link.into(),
            note: String::new(),
            at: None,
            day: None,
            overdue: false,
            done: None,
        }
    }
}

fn sources() -> impl Iterator<Item = &'static Source> {
    crate::registry::get().todo_sources().iter()
}

/// The sections that apply to the user, in registration order, each with its first `limit`
/// items.
pub async fn sections(
    db: &PgPool,
    user: &CurrentUser,
    cx: Cx,
    limit: i64,
) -> AppResult<Vec<(&'static Source, Section)>> {
    let mut out = Vec::new();
    for source in sources().filter(|s| (s.applies)(user)) {
        out.push((source, (source.load)(db, user, cx, limit).await?));
    }
    Ok(out)
}

/// Everything waiting for the user: the top bar's count.
pub async fn total(db: &PgPool, user: &CurrentUser, cx: Cx) -> AppResult<i64> {
    Ok(sections(db, user, cx, 0).await?.iter().map(|(_, s)| s.count).sum())
}
