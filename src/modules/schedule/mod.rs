//! Schedule (日程): events on people's calendars. An event belongs to its owner (whose schedule
//! it is); participants see it too. It may repeat (daily, weekly, monthly, until a day), remind
//! its people before it starts, and name related records (whose timelines then show it).
//!
//! - `calendar` — the month / week / day pages, with tasks, plan terms and contract ends;
//! - `form`, `show` — the event's pages (delete, recycle bin, stars and history come from the
//!   record kernel: events are a registered kind);
//! - `feed` — the private ICS subscription;
//! - `remind` — reminders of the next occurrence, and the job that keeps them coming;
//! - `model` — checks and the expansion of repeat rules; `repo` — the SQL.

mod calendar;
mod feed;
mod form;
pub mod model;
mod remind;
mod repo;
mod show;

use std::time::Duration;

use axum::response::Redirect;
use futures_util::FutureExt;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::jobs::Job;
use crate::list::Column;
use crate::records::{Features, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Schedule, Action::View);
const CREATE: Guard = Guard::Perm(Module::Schedule, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Schedule, Action::Edit);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "events",
    path: "/events",
    module: Module::Schedule,
    owned: true,
    key: "event",
    title: "t.title",
    also_visible: Some(participant),
    parent: None,
    read_only: None,
    customer: None,
    number_column: None,
    events: "event_",
    recycle_detail: ("event.starts_at", "to_char(t.starts_at, 'YYYY-MM-DD HH24:MI')"),
    features: Features {
        custom_fields: false,
        timeline: false,
        attachments: false,
        team: false,
        share: false,
        transfer: false,
    },
};

/// Participants see the event whatever their scope.
fn participant(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    q.push("(EXISTS (SELECT 1 FROM event_participants p WHERE p.event_id = t.id AND p.user_id = ");
    q.push_bind(scope.user_id).push("))");
}

pub fn register(r: &mut Registry) {
    r.record(&RECORD);
    r.timeline_source(crate::timeline::Source {
        code: "event",
        label_key: "event.timeline",
        icon: "calendar",
        new_form: Some(("/events/new", "event.new", Module::Schedule)),
        load: |db, user, lang, entity, id| timeline_items(db, user, lang, entity, id).boxed(),
    });
    r.todo_source(crate::todo::Source {
        code: "events_today",
        label_key: "event.todo.today",
        icon: "calendar",
        applies: |user| user.can(Module::Schedule, Action::View),
        load: |db, user, cx, limit| today(db, user, cx, limit).boxed(),
    });
    r.job(Job {
        name: "event_reminders",
        concurrent: false,
        every: Duration::from_secs(60),
        run: |ctx| remind::job(ctx).boxed(),
    });
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/calendar", VIEW, calendar::index)
        .post("/calendar/feed", VIEW, feed::create)
        .post("/calendar/feed/revoke", VIEW, feed::revoke)
        .get("/calendar/feed/{file}", Guard::Public, feed::serve)
        .get("/events", VIEW, || async { Redirect::to("/calendar") })
        .get("/events/new", CREATE, form::new)
        .post("/events", CREATE, form::create)
        .get("/events/{id}", VIEW, show::show)
        .get("/events/{id}/edit", EDIT, form::edit)
        .post("/events/{id}", EDIT, form::update)
        .merge(crate::records::routes::<Events>())
}

/// The timeline of a record: events related to it that the user sees, at their start.
fn timeline_items<'a>(
    db: &'a PgPool,
    user: &'a CurrentUser,
    lang: Lang,
    entity: &'a str,
    id: i64,
) -> impl std::future::Future<Output = AppResult<Vec<crate::timeline::Item>>> + Send + 'a {
    async move {
        if !user.can(Module::Schedule, Action::View) {
            return Ok(Vec::new());
        }
        let ids = crate::records::links::items_about(db, model::ENTITY, entity, id, 50).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let scope = DataScope::resolve(db, user, Module::Schedule).await?;
        let rows = repo::about(db, &scope, &ids).await?;
        Ok(rows
            .into_iter()
            .map(|e| {
                let mut lines = vec![e.title.clone()];
                lines.extend(e.location.clone().filter(|l| !l.is_empty()));
                crate::timeline::Item {
                    at: e.starts_at,
                    kind: crate::timeline::ItemKind::Linked("event"),
                    actor: e.owner_name.clone().unwrap_or_default(),
                    title: lang.t("event.timeline_badge").to_string(),
                    lines,
                    next_contact_at: None,
                    about: Vec::new(),
                    link: Some(format!("/events/{}", e.id)),
                    by_me: false,
                }
            })
            .collect())
    }
}

/// The to-do centre's "events today": the user's occurrences today (configured zone), the
/// same list the day view shows.
async fn today(db: &PgPool, user: &CurrentUser, cx: crate::todo::Cx, limit: i64) -> AppResult<crate::todo::Section> {
    let tz = cx.tz;
    let day = cx.today();
    let (from, to) = cx.today_bounds();
    let scope = DataScope::resolve(db, user, Module::Schedule).await?;
    let mut occ = calendar::events(db, &scope, user.id, (from, to), tz).await?;
    occ.sort_by(|a, b| (a.1.time.is_empty(), &a.1.time).cmp(&(b.1.time.is_empty(), &b.1.time)));
    let items = occ
        .iter()
        .take(limit as usize)
        .map(|(_, i)| {
            let mut item = crate::todo::Item::new(i.title.clone(), i.href.clone());
            item.note = i.time.clone();
            item
        })
        .collect();
    Ok(crate::todo::Section { count: occ.len() as i64, items, href: format!("/calendar?view=day&date={day}") })
}

/// Events' plug into the record kernel: no list of their own (the calendar is), so no columns.
pub struct Events;

impl Record for Events {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(_defs: &[FieldDef], _lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        Vec::new()
    }

    async fn matching(_st: &AppState, _user: &CurrentUser, _scope: &DataScope, _filter: &str) -> AppResult<Vec<i64>> {
        Ok(Vec::new())
    }

    /// In the bin an event reminds nobody; back from it, the job plans its next reminder.
    async fn after_bin(tx: &mut PgConnection, ids: &[i64], restored: bool) -> AppResult<()> {
        if restored {
            return Ok(repo::remind_again(tx, ids).await?);
        }
        for id in ids {
            repo::drop_pending_reminders(tx, &remind::link(*id)).await?;
            repo::set_next_remind(tx, *id, None).await?;
        }
        Ok(())
    }

    /// Related-record rows have no foreign key to the event.
    async fn before_purge(tx: &mut PgConnection, ids: &[i64]) -> AppResult<()> {
        sqlx::query("DELETE FROM work_links WHERE kind = 'event' AND item_id = ANY($1)").bind(ids).execute(tx).await?;
        Ok(())
    }
}
