//! What tasks give the rest of the app: entries on related records' timelines, the to-do
//! centre's "today" section, and the reminder job.

use chrono::Utc;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::json;
use sqlx::PgPool;

use super::RECORD;
use super::model::Task;
use super::repo::{self, Clock};
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::jobs::JobCtx;
use crate::records::links;
use crate::records::sql::{self, Bin};
use crate::timeline::{self, ItemKind};
use crate::todo;
use crate::web::i18n::Lang;

/// How many tasks a record's timeline shows.
const ON_TIMELINE: i64 = 100;
/// Reminders stamped per statement; a run repeats until fewer come back.
const REMINDER_BATCH: i64 = 500;

pub const TIMELINE: timeline::Source = timeline::Source {
    code: "task",
    label_key: "task.timeline",
    icon: "task",
    new_form: Some(("/tasks/new", "task.new", Module::Tasks)),
    load: |db, user, lang, entity, id| on_timeline(db, user, lang, entity, id).boxed(),
};

/// The tasks related to a record that the user sees, as timeline entries: created (or done)
/// by whom, open or done, due when.
async fn on_timeline(
    db: &PgPool,
    user: &CurrentUser,
    lang: Lang,
    entity: &str,
    id: i64,
) -> AppResult<Vec<timeline::Item>> {
    if !user.can(Module::Tasks, Action::View) {
        return Ok(Vec::new());
    }
    let ids = links::items_about(db, "task", entity, id, ON_TIMELINE).await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let scope = DataScope::resolve(db, user, Module::Tasks).await?;
    let seen = sql::visible_ids(db, &RECORD, &scope, &ids, Bin::Live).await?;
    let tasks = repo::by_ids(db, &seen).await?;
    Ok(tasks.iter().map(|t| entry(t, lang)).collect())
}

fn entry(t: &Task, lang: Lang) -> timeline::Item {
    // The source gets no time zone, so the due time is said as open / overdue rather than shown.
    let status = match (t.is_done(), t.is_overdue(Utc::now())) {
        (true, _) => "task.status.done",
        (false, true) => "task.status.overdue",
        (false, false) => "task.status.open",
    };
    let mut lines = vec![t.title.clone(), lang.t(status).to_string()];
    if let Some(owner) = &t.owner_name {
        lines.push(lang.tf("task.owner_line", &[("name", owner)]));
    }
    if t.is_done() {
        let by = t.done_by_name.clone().unwrap_or_default();
        lines.push(lang.tf("task.done_by_line", &[("name", &by)]));
    }
    timeline::Item {
        at: t.done_at.unwrap_or(t.created_at),
        kind: ItemKind::Linked("task"),
        actor: t.creator_name.clone().unwrap_or_default(),
        title: lang.t("entity.task").to_string(),
        lines,
        next_contact_at: None,
        about: Vec::new(),
        link: Some(RECORD.url(t.id)),
        by_me: false,
    }
}

pub const TODAY: todo::Source = todo::Source {
    code: "tasks_today",
    label_key: "task.todo.today",
    icon: "task",
    applies: |user| user.can(Module::Tasks, Action::View),
    load: |db, user, cx, limit| today(db, user, cx, limit).boxed(),
};

/// My open tasks for today (due by the end of today — overdue ones flagged — or filed under
/// today): the rows of `/tasks?view=today`.
fn today<'a>(
    db: &'a PgPool,
    user: &'a CurrentUser,
    cx: todo::Cx,
    limit: i64,
) -> BoxFuture<'a, AppResult<todo::Section>> {
    async move {
        let scope = DataScope::resolve(db, user, Module::Tasks).await?;
        let now = cx.now;
        let clock = Clock::at(now, cx.tz);
        let (count, rows) = repo::today(db, user.id, &scope, clock, limit).await?;
        let items = rows
            .into_iter()
            .map(|t| {
                let mut item = todo::Item::new(t.title.clone(), RECORD.url(t.id));
                item.at = t.due_at;
                item.overdue = t.is_overdue(now);
                item.done = Some((format!("/tasks/{}/complete", t.id), "task.complete"));
                item
            })
            .collect();
        Ok(todo::Section { count, items, href: "/tasks?view=today".into() })
    }
    .boxed()
}

/// The job: for open tasks whose reminder time has come, tell the owner and the participants
/// once ("task_due"), stamping `reminded_at` in the same transaction.
pub async fn remind(ctx: JobCtx) -> anyhow::Result<String> {
    let mut sent = 0;
    loop {
        let mut tx = ctx.db.begin().await?;
        let due = repo::take_due_reminders(&mut tx, ctx.now, REMINDER_BATCH).await?;
        let ids: Vec<i64> = due.iter().map(|d| d.0).collect();
        let participants = repo::participants_of(&mut tx, &ids).await?;
        for (id, title, due_at, owner) in &due {
            let at = due_at.with_timezone(&ctx.config.timezone).format("%Y-%m-%d %H:%M").to_string();
            let params = json!({ "title": title, "due": at });
            let link = RECORD.url(*id);
            let mut to: Vec<i64> = participants.iter().filter(|(t, _)| t == id).map(|(_, u)| *u).collect();
            to.extend(*owner);
            to.sort_unstable();
            to.dedup();
            for user in to {
                crate::notify::send(&mut tx, user, "task_due", params.clone(), Some(&link), None).await?;
                sent += 1;
            }
        }
        tx.commit().await?;
        if (due.len() as i64) < REMINDER_BATCH {
            break;
        }
    }
    Ok(format!("{sent} task reminders"))
}
