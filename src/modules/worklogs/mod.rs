//! Work logs (工作日志: 日报/周报/月报). A rep writes what was done, what comes next and what got
//! in the way, for a day, a Monday–Sunday week or a calendar month (one log per period), with
//! the period's numbers (`stats`: new customers, follow-ups, opportunities, contracts, payments —
//! each a link to the list behind it) and related records. It goes to the author's superior and
//! any colleagues chosen, who are notified, see it (`RECORD.also_visible`) and may comment;
//! opening it marks it read. Managers see their people's logs through the Worklogs scope and
//! who has not submitted for a period (`/worklogs/missing`).
//!
//! Pages: `list` (tabs mine / sent to me / team, and the missing page), `show` (the report,
//! comments, read state), `form` (new / edit). `sources` feeds record timelines and the to-do
//! centre.

mod export;
mod form;
mod list;
pub mod model;
mod repo;
mod show;
mod sources;
pub mod stats;

use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::list::Column;
use crate::records::{Features, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Worklogs, Action::View);
const CREATE: Guard = Guard::Perm(Module::Worklogs, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Worklogs, Action::Edit);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "worklogs",
    path: "/worklogs",
    module: Module::Worklogs,
    owned: true,
    key: "worklog",
    // The period ("2026-12-06", "2026-11-30 ~ 2026-12-06"): names it in any language.
    title: "(t.period_start::text || CASE WHEN t.period_end > t.period_start THEN ' ~ ' || t.period_end::text ELSE '' END)",
    also_visible: Some(is_recipient),
    parent: None,
    read_only: None,
    customer: None,
    number_column: None,
    events: "worklog_",
    recycle_detail: ("worklog.author", "(SELECT u.name FROM users u WHERE u.id = t.created_by)"),
    features: Features {
        custom_fields: false,
        timeline: false,
        attachments: true,
        team: false,
        share: false,
        transfer: false,
    },
};

/// Recipients see the logs sent to them, whatever their scope.
fn is_recipient(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    q.push("EXISTS (SELECT 1 FROM worklog_recipients wr WHERE wr.worklog_id = t.id AND wr.user_id = ")
        .push_bind(scope.user_id)
        .push(")");
}

pub fn register(r: &mut Registry) {
    r.record(&RECORD);
    r.export(export::source());
    r.timeline_source(sources::TIMELINE);
    r.todo_source(sources::TODO);
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/worklogs", VIEW, list::index)
        .get("/worklogs/missing", VIEW, list::missing)
        .get("/worklogs/new", CREATE, form::new)
        .post("/worklogs", CREATE, form::create)
        .get("/worklogs/{id}", VIEW, show::show)
        .get("/worklogs/{id}/edit", EDIT, form::edit)
        .post("/worklogs/{id}", EDIT, form::update)
        .post("/worklogs/{id}/comments", VIEW, show::comment)
        .post("/worklogs/{id}/unread", VIEW, show::unread)
        .merge(crate::records::routes::<Worklogs>())
}

/// Work logs' plug into the record kernel.
pub struct Worklogs;

impl Record for Worklogs {
    const DEF: &'static RecordDef = &RECORD;

    /// The list has fixed columns (no column chooser on its page); these name them for the kernel.
    fn column_list(_defs: &[FieldDef], _lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        vec![
            Column::new("period", "worklog.period", None, true),
            Column::new("kind", "worklog.kind", None, true),
            Column::new("author", "worklog.author", None, true),
            Column::new("done", "worklog.summary", None, true),
            Column::new("submitted_at", "worklog.submitted_at", None, true),
        ]
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// The related-record rows go too (work_links has no foreign key: it points at many kinds).
    async fn before_purge(tx: &mut PgConnection, ids: &[i64]) -> AppResult<()> {
        repo::purge_links(tx, ids).await?;
        Ok(())
    }
}
