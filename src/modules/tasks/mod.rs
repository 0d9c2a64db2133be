//! Tasks (任务): what someone has to do, by when. A task has an owner (负责人), its creator,
//! participants (参与人), a due time, a priority, the owner's own tags, a checklist (子任务),
//! comments with @mentions, attachments, and related records (a customer, a contact, an
//! opportunity... through `records::links`), on whose timelines it shows.
//!
//! Who sees a task: its owner's data scope (so managers see their subordinates' tasks), its
//! creator and its participants (`also_visible`). Who may complete, reopen, file it or tick its
//! checklist: its owner, creator and participants, and whoever may change it through the scope —
//! with the module's edit right. Editing the fields: writers in scope and its creator. The kernel
//! gives the recycle bin, stars, transfer (a new owner), attachments and the history.
//!
//! The list's views (`/tasks?view=`), for me, with days in the configured time zone:
//! - inbox (收件箱): my open tasks filed under inbox, not due by the end of today;
//! - today (今天要做): my open tasks filed under today, or due before tomorrow (overdue ones too);
//! - next (下一步要做) / later (以后要做): my open tasks filed there, not due by the end of today;
//!   so every open task of mine is in exactly one of inbox, today, next and later;
//! - overdue: my open tasks past their due time; done: mine, done, newest first;
//! - assigned: tasks I created for someone else; involved: tasks I take part in;
//! - team: open tasks of others in my scope (offered when my scope is wider than myself).
//!
//! Reminders: the `task_reminders` job tells the owner and participants (`task_due`) once when
//! the due time less the lead time (`remind_minutes`) has come; a new due time or lead time
//! reminds again. The to-do centre's "tasks_today" source is the today view.
//!
//! For other modules: link to `/tasks/new?related=customer:12` to start a task about a record;
//! `due_between` gives a user's tasks due in a range (the calendar and its feed).

mod actions;
mod export;
mod form;
mod list;
pub mod model;
mod repo;
mod show;
mod sources;
mod tags;

pub use repo::{DueTask, due_between};

use std::time::Duration;

use futures_util::FutureExt;
use sqlx::PgConnection;

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

const VIEW: Guard = Guard::Perm(Module::Tasks, Action::View);
const CREATE: Guard = Guard::Perm(Module::Tasks, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Tasks, Action::Edit);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "tasks",
    path: "/tasks",
    module: Module::Tasks,
    owned: true,
    key: "task",
    title: "t.title",
    also_visible: Some(repo::push_also_visible),
    parent: None,
    read_only: None,
    customer: None,
    number_column: None,
    events: "task_",
    recycle_detail: ("task.due_at", "to_char(t.due_at, 'YYYY-MM-DD HH24:MI')"),
    features: Features {
        custom_fields: false,
        timeline: false,
        attachments: true,
        team: false,
        share: false,
        transfer: true,
    },
};

pub fn register(r: &mut Registry) {
    r.record(&RECORD);
    r.export(export::source());
    r.timeline_source(sources::TIMELINE);
    r.todo_source(sources::TODAY);
    r.job(Job {
        name: "task_reminders",
        concurrent: false,
        every: Duration::from_secs(60),
        run: |ctx| sources::remind(ctx).boxed(),
    });
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/tasks", VIEW, list::index)
        .get("/tasks/new", CREATE, form::new)
        .post("/tasks", CREATE, form::create)
        .get("/tasks/tags", VIEW, tags::page)
        .post("/tasks/tags", VIEW, tags::add)
        .post("/tasks/tags/{tag}", VIEW, tags::update)
        .post("/tasks/tags/{tag}/delete", VIEW, tags::delete)
        .get("/tasks/{id}", VIEW, show::show)
        .get("/tasks/{id}/edit", EDIT, form::edit)
        .post("/tasks/{id}", EDIT, form::update)
        .post("/tasks/{id}/complete", EDIT, actions::complete)
        .post("/tasks/{id}/reopen", EDIT, actions::reopen)
        .post("/tasks/{id}/bucket", EDIT, actions::move_to)
        .post("/tasks/{id}/subtasks", EDIT, actions::add_subtask)
        .post("/tasks/{id}/subtasks/{sub}/toggle", EDIT, actions::toggle_subtask)
        .post("/tasks/{id}/subtasks/{sub}/delete", EDIT, actions::remove_subtask)
        .post("/tasks/{id}/comments", VIEW, actions::comment)
        .merge(crate::records::routes::<Tasks>())
}

/// Tasks' plug into the record kernel.
pub struct Tasks;

impl Record for Tasks {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(_defs: &[FieldDef], _lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        list::available_columns()
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// Related-record links have no foreign key: they go with the task.
    async fn before_purge(tx: &mut PgConnection, ids: &[i64]) -> AppResult<()> {
        Ok(repo::delete_links(tx, ids).await?)
    }
}
