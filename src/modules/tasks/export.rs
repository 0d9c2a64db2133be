//! The task list's export (`crate::exports`): the tasks of the view the list shows (inbox, today,
//! team... — `list::matching`, the page's own narrowing), in the view's order. Related records
//! and tags are left out: the list shows each user only the related records they may see and
//! their own tags, which one column for every reader cannot.

use super::model::{ENTITY, bucket_key, priority_key};
use super::{RECORD, Tasks};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::web::i18n::Lang;

const JOINS: &str = "LEFT JOIN users ow ON ow.id = t.owner_id LEFT JOIN users cb ON cb.id = t.created_by
     LEFT JOIN users dn ON dn.id = t.done_by";

/// Done, overdue (open and past its due time) or open, as the list marks it.
const STATUS: &str = "CASE WHEN t.done_at IS NOT NULL THEN 'done' WHEN t.due_at < now() THEN 'overdue' ELSE 'open' END";

/// "2/5" as the list shows the checklist; empty without one.
const CHECKLIST: &str = "(SELECT count(*) FILTER (WHERE s.done_at IS NOT NULL) || '/' || count(*)
       FROM task_subtasks s WHERE s.task_id = t.id HAVING count(*) > 0)";

const PARTICIPANTS: &str = "(SELECT string_agg(u.name, ', ' ORDER BY u.name, u.id)
       FROM task_participants p JOIN users u ON u.id = p.user_id WHERE p.task_id = t.id)";

const COLUMNS: &[Col] = &[
    Col::new("status", "task.status", STATUS, Kind::Label(status)),
    Col::text("title", "task.title", "t.title"),
    Col::text("checklist", "task.export.checklist", CHECKLIST),
    Col::new("priority", "task.priority", "t.priority", Kind::Label(priority)),
    Col::new("due_at", "task.due_at", "t.due_at", Kind::DateTime),
    Col::text("owner", "task.owner", "ow.name"),
    Col::text("participants", "task.participants", PARTICIPANTS),
    Col::new("bucket", "task.bucket", "t.bucket", Kind::Label(bucket)),
    Col::text("description", "task.description", "t.description"),
    Col::new("done_at", "task.export.done_at", "t.done_at", Kind::DateTime),
    Col::text("done_by", "task.export.done_by", "dn.name"),
    Col::text("created_by", "task.created_by", "cb.name"),
    Col::new("created_at", "task.created_at", "t.created_at", Kind::DateTime),
    Col::new("updated_at", "task.export.updated_at", "t.updated_at", Kind::DateTime),
];

/// The list's columns (its related records and tags aside).
const LISTED: &[&str] = &["status", "title", "checklist", "priority", "due_at", "owner"];

fn status(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("task.status.{v}")).unwrap_or(v).to_string()
}

fn priority(lang: Lang, v: &str) -> String {
    lang.t(priority_key(v.parse().unwrap_or(0))).to_string()
}

fn bucket(lang: Lang, v: &str) -> String {
    lang.t(bucket_key(v)).to_string()
}

/// The task list (`/tasks`).
pub fn source() -> Source {
    Source {
        code: "tasks",
        module: Module::Tasks,
        right: Action::Export,
        title: "nav.tasks",
        entity: ENTITY,
        list_path: "/tasks",
        table: "tasks",
        joins: JOINS,
        // The view's own order, which differs between views: `matching` gives the ids in it.
        order: "",
        columns: COLUMNS,
        custom: None,
        dicts: &[],
        rows: Rows::Record(&RECORD, matching::<Tasks>),
        visible: Visible::Fixed(LISTED),
    }
}
