//! The work-log list's export (`crate::exports`): the logs of the tab the list shows (mine, sent
//! to me, team — with its kind, dates, author and unread filters: `list::matching`, the page's own
//! narrowing), in the tab's order; the work done, plans and problems in full where the list shows
//! the first line.

use super::model::ENTITY;
use super::{RECORD, Worklogs};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::web::i18n::Lang;

const JOINS: &str = "JOIN users au ON au.id = t.created_by LEFT JOIN departments ad ON ad.id = au.dept_id";

/// "2026-12-06" or "2026-11-30 ~ 2026-12-06", as the list writes it.
const PERIOD: &str = RECORD.title;

const COMMENTS: &str = "(SELECT count(*) FROM worklog_comments c WHERE c.worklog_id = t.id)";

const RECIPIENTS: &str = "(SELECT string_agg(u.name, ', ' ORDER BY u.name, u.id)
       FROM worklog_recipients r JOIN users u ON u.id = r.user_id WHERE r.worklog_id = t.id)";

const COLUMNS: &[Col] = &[
    Col::text("period", "worklog.period", PERIOD),
    Col::new("kind", "worklog.kind", "t.kind", Kind::Label(kind)),
    Col::text("author", "worklog.author", "au.name"),
    Col::text("author_dept", "worklog.export.dept", "ad.name"),
    Col::text("done", "worklog.export.done", "t.done"),
    Col::text("plans", "worklog.export.plans", "t.plans"),
    Col::text("problems", "worklog.export.problems", "t.problems"),
    Col::new("comments", "worklog.comments", COMMENTS, Kind::Int),
    Col::text("recipients", "worklog.recipients", RECIPIENTS),
    Col::new("submitted_at", "worklog.submitted_at", "t.submitted_at", Kind::DateTime),
    Col::new("updated_at", "worklog.export.updated_at", "t.updated_at", Kind::DateTime),
];

/// The list's columns.
const LISTED: &[&str] = &["period", "kind", "author", "done", "comments", "submitted_at"];

fn kind(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("worklog.kind.{v}")).unwrap_or(v).to_string()
}

/// The work-log list (`/worklogs`).
pub fn source() -> Source {
    Source {
        code: "worklogs",
        module: Module::Worklogs,
        right: Action::Export,
        title: "nav.worklogs",
        entity: ENTITY,
        list_path: "/worklogs",
        table: "worklogs",
        joins: JOINS,
        // The tab's own order ("sent to me": unread first, for the reader): `matching` gives the
        // ids in it.
        order: "",
        columns: COLUMNS,
        custom: None,
        dicts: &[],
        rows: Rows::Record(&RECORD, matching::<Worklogs>),
        visible: Visible::Fixed(LISTED),
    }
}
