//! The calendar (日程): `/calendar?view=month|week|day&date=YYYY-MM-DD&user=<id>`. One person's
//! month (weeks from Monday), week (seven day columns) or day, server-rendered, showing their
//! events (owned or taking part; repeat rules expanded), tasks due, open payment plan terms
//! and effective contracts ending — each only as far as the viewer may see it. A manager picks
//! a user within their Schedule scope; anyone else's calendar is a 404.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, Utc};
use serde::Deserialize;

use super::model::{monday_of, month_start};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::filters::midnight;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

/// The session key holding a just-created feed URL, shown once on the next calendar page.
pub const NEW_FEED_URL: &str = "schedule_new_feed_url";

#[derive(Deserialize, Default)]
pub struct CalQuery {
    #[serde(default)]
    view: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    user: String,
}

/// One thing on a day.
#[derive(Clone)]
pub struct CalItem {
    /// "event", "task", "plan", "contract" (the CSS class and the legend).
    pub kind: &'static str,
    /// The event's id (`data-event`), 0 for the others.
    pub event_id: i64,
    pub title: String,
    /// "09:30", or "" for all-day and dated items.
    pub time: String,
    pub href: String,
    pub done: bool,
    sort: (bool, DateTime<Utc>),
}

impl CalItem {
    pub fn kind_key(&self) -> &'static str {
        match self.kind {
            "task" => "event.kind.task",
            "plan" => "event.kind.plan",
            "contract" => "event.kind.contract",
            _ => "event.kind.event",
        }
    }
}

pub struct Day {
    pub date: NaiveDate,
    pub in_range: bool,
    pub today: bool,
    pub items: Vec<CalItem>,
}

impl Day {
    pub fn iso(&self) -> String {
        self.date.format("%Y-%m-%d").to_string()
    }

    pub fn num(&self) -> u32 {
        self.date.day()
    }

    pub fn weekday_key(&self) -> String {
        format!("event.weekday.{}", self.date.weekday().num_days_from_monday())
    }
}

#[derive(Template)]
#[template(path = "schedule/calendar.html")]
struct CalendarPage {
    ctx: PageCtx,
    view: &'static str,
    date: NaiveDate,
    /// The heading: "2026-12" or "2026-12-07 – 2026-12-13".
    heading: String,
    prev: NaiveDate,
    next: NaiveDate,
    today: NaiveDate,
    /// Month: weeks of seven days; week and day: one row.
    weeks: Vec<Vec<Day>>,
    user_id: i64,
    users: Vec<SelectOpt>,
    own: bool,
    can_create: bool,
    feed: Option<DateTime<Utc>>,
    new_feed_url: Option<String>,
}

crate::page!(CalendarPage);

impl CalendarPage {
    fn link(&self, view: &str, date: &NaiveDate) -> String {
        let user = if self.own { String::new() } else { format!("&user={}", self.user_id) };
        format!("/calendar?view={view}&date={date}{user}")
    }

    fn weekday_keys(&self) -> Vec<String> {
        self.weeks.first().map(|w| w.iter().map(Day::weekday_key).collect()).unwrap_or_default()
    }

    fn new_link(&self, d: &Day) -> String {
        format!("/events/new?start={}T09:00", d.iso())
    }
}

/// When an event happens, as its page shows it: "2026-12-07 09:00 – 10:00", "2026-12-07 –
/// 2026-12-09 (all day)".
pub fn span(ctx: &PageCtx, all_day: bool, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let (s, e) = (start.with_timezone(&ctx.tz), end.with_timezone(&ctx.tz));
    if all_day {
        let last = (e - Duration::days(1)).date_naive();
        let days =
            if last > s.date_naive() { format!("{} – {last}", s.date_naive()) } else { s.date_naive().to_string() };
        return format!("{days}（{}）", ctx.t("event.all_day"));
    }
    if s.date_naive() == e.date_naive() {
        format!("{} – {}", s.format("%Y-%m-%d %H:%M"), e.format("%H:%M"))
    } else {
        format!("{} – {}", s.format("%Y-%m-%d %H:%M"), e.format("%Y-%m-%d %H:%M"))
    }
}

/// The user whose calendar is asked for: oneself, or someone within the Schedule scope (404
/// otherwise, as for a record out of scope).
async fn target(st: &AppState, user: &CurrentUser, scope: &DataScope, asked: &str) -> AppResult<i64> {
    let Ok(id) = asked.trim().parse::<i64>() else { return Ok(user.id) };
    if id == user.id {
        return Ok(id);
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)").bind(id).fetch_one(&st.db).await?;
    if exists && scope.owns(Some(id)) { Ok(id) } else { Err(AppError::NotFound) }
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<CalQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let tz = ctx.tz;
    let scope = DataScope::resolve(&st.db, user, Module::Schedule).await?;
    let who = target(&st, user, &scope, &q.user).await?;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let date = NaiveDate::parse_from_str(q.date.trim(), "%Y-%m-%d").unwrap_or(today);
    let view = match q.view.as_str() {
        "week" => "week",
        "day" => "day",
        _ => "month",
    };
    let (first, last, prev, next, heading) = match view {
        "week" => {
            let mon = monday_of(date);
            let sun = mon + Duration::days(6);
            (mon, sun, mon - Duration::days(7), mon + Duration::days(7), format!("{mon} – {sun}"))
        }
        "day" => (date, date, date - Duration::days(1), date + Duration::days(1), date.to_string()),
        _ => {
            let m = month_start(date);
            let end = m + Months::new(1) - Duration::days(1);
            let first = monday_of(m);
            let last = monday_of(end) + Duration::days(6);
            (first, last, m - Months::new(1), m + Months::new(1), m.format("%Y-%m").to_string())
        }
    };
    let in_range = |d: NaiveDate| view != "month" || d.month() == date.month();
    let items = gather(&st, user, &scope, who, (first, last), tz).await?;
    let mut weeks = Vec::new();
    let mut d = first;
    while d <= last {
        let row_len = if view == "day" { 1 } else { 7 };
        let mut row = Vec::new();
        for _ in 0..row_len {
            let mut its: Vec<CalItem> = items.iter().filter(|(day, _)| *day == d).map(|(_, i)| i.clone()).collect();
            its.sort_by_key(|i| i.sort);
            row.push(Day { date: d, in_range: in_range(d), today: d == today, items: its });
            d += Duration::days(1);
        }
        weeks.push(row);
    }
    let own = who == user.id;
    let users = if scope.is_all() || scope.owners.as_ref().is_some_and(|o| o.len() > 1) {
        crate::org::users::scope_options(&st.db, scope.owners.as_deref()).await?
    } else {
        Vec::new()
    };
    let new_feed_url = if own { ctx.session.remove::<String>(NEW_FEED_URL).await.ok().flatten() } else { None };
    let page = CalendarPage {
        feed: if own { repo::feed_created(&st.db, user.id).await? } else { None },
        can_create: own && user.can(Module::Schedule, Action::Create),
        view,
        date,
        heading,
        prev,
        next,
        today,
        weeks,
        user_id: who,
        users,
        own,
        new_feed_url,
        ctx,
    };
    render(page).await
}

/// Everything on `who`'s calendar from day `first` to `last` (local), as (day, item).
pub async fn gather(
    st: &AppState,
    viewer: &CurrentUser,
    scope: &DataScope,
    who: i64,
    (first, last): (NaiveDate, NaiveDate),
    tz: FixedOffset,
) -> AppResult<Vec<(NaiveDate, CalItem)>> {
    let (from, to) = (midnight(first, tz), midnight(last + Duration::days(1), tz));
    let mut out = events(&st.db, scope, who, (from, to), tz).await?;
    // Tasks: one's own, or a subordinate's for whoever sees their tasks.
    let task_scope = DataScope::resolve(&st.db, viewer, Module::Tasks).await?;
    let sees_tasks = viewer.can(Module::Tasks, Action::View) && (who == viewer.id || task_scope.owns(Some(who)));
    if sees_tasks {
        for t in crate::modules::tasks::due_between(&st.db, who, (from, to), false).await? {
            let local = t.due_at.with_timezone(&tz);
            let item = CalItem {
                kind: "task",
                event_id: 0,
                title: t.title,
                time: local.format("%H:%M").to_string(),
                href: format!("/tasks/{}", t.id),
                done: t.done,
                sort: (true, t.due_at),
            };
            out.push((local.date_naive(), item));
        }
    }
    if viewer.can(Module::Contracts, Action::View) {
        let contracts = DataScope::resolve(&st.db, viewer, Module::Contracts).await?;
        for (_, term, due, name, contract) in repo::plans_due(&st.db, &contracts, who, (first, last)).await? {
            let title = format!("{name} #{term}");
            out.push((due, dated("plan", title, format!("/contracts/{contract}"), due, tz)));
        }
        for (id, name, end) in repo::contracts_ending(&st.db, &contracts, who, (first, last)).await? {
            out.push((end, dated("contract", name, format!("/contracts/{id}"), end, tz)));
        }
    }
    Ok(out)
}

fn dated(kind: &'static str, title: String, href: String, day: NaiveDate, tz: FixedOffset) -> CalItem {
    CalItem { kind, event_id: 0, title, time: String::new(), href, done: false, sort: (false, midnight(day, tz)) }
}

/// `who`'s event occurrences overlapping [from, to), on every local day each one covers.
pub async fn events(
    db: &sqlx::PgPool,
    scope: &DataScope,
    who: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    tz: FixedOffset,
) -> AppResult<Vec<(NaiveDate, CalItem)>> {
    let mut out = Vec::new();
    for e in repo::of_user(db, scope, who, (from, to)).await? {
        for (start, end) in e.rule().occurrences(from, to, tz) {
            let (s, last) = (start.with_timezone(&tz).date_naive(), end.with_timezone(&tz));
            // Half-open: an event ending at midnight does not reach the next day.
            let mut last_day = last.date_naive();
            if last_day > s && last.time() == chrono::NaiveTime::MIN {
                last_day -= Duration::days(1);
            }
            let mut day = s;
            while day <= last_day {
                let starts_here = day == s && !e.all_day;
                let item = CalItem {
                    kind: "event",
                    event_id: e.id,
                    title: e.title.clone(),
                    time: if starts_here {
                        start.with_timezone(&tz).format("%H:%M").to_string()
                    } else {
                        String::new()
                    },
                    href: format!("/events/{}", e.id),
                    done: false,
                    sort: (starts_here, start),
                };
                if midnight(day, tz) < to && midnight(day + Duration::days(1), tz) > from {
                    out.push((day, item));
                }
                day += Duration::days(1);
            }
        }
    }
    Ok(out)
}
