//! Leads (线索): prospects with contact details, source, industry, level, region, custom fields and
//! an owner; the list, detail with timeline / attachments / history, create, edit, recycle bin,
//! transfer, and conversion into customers (`convert`, single and bulk). Converted leads are
//! read-only and linked both ways with their customer.

pub mod convert;
mod export;
mod form;
mod import;
pub mod list;
pub mod model;
mod repo;
mod show;

use sqlx::PgConnection;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::list::Column;
use crate::records::{Features, ReadOnly, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

pub use repo::search;

const VIEW: Guard = Guard::Perm(Module::Leads, Action::View);
const CREATE: Guard = Guard::Perm(Module::Leads, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Leads, Action::Edit);

/// The duplicate rules of leads (set on the customer rules page; `customers::dup`).
pub static DUPLICATES: crate::modules::customers::dup::Kind = crate::modules::customers::dup::Kind {
    def: &RECORD,
    fields: &["name", "phone", "mobile", "email"],
    labels: &["lead.name", "lead.phone", "lead.mobile", "lead.email"],
    title: "crules.dup.kind.lead",
    messages: "crules.dup.lead.",
};

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "leads",
    path: "/leads",
    module: Module::Leads,
    owned: true,
    key: "lead",
    title: "t.name",
    also_visible: None,
    parent: None,
    read_only: Some(ReadOnly { when: "t.converted_at IS NOT NULL", reason: "lead.error.converted" }),
    customer: None,
    number_column: None,
    events: "lead_",
    recycle_detail: ("lead.contact_name", "t.contact_name"),
    features: Features { team: false, share: false, ..Features::ALL },
};

pub fn register(r: &mut Registry) {
    r.record(&RECORD).import(&import::SOURCE);
    r.export(export::source());
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/leads", VIEW, list::index)
        .get("/leads/new", CREATE, form::new)
        .post("/leads", CREATE, form::create)
        .post("/leads/bulk/convert", EDIT, convert::bulk)
        .get("/leads/{id}", VIEW, show::show)
        .get("/leads/{id}/edit", EDIT, form::edit)
        .post("/leads/{id}", EDIT, form::update)
        .get("/leads/{id}/convert", EDIT, convert::page)
        .post("/leads/{id}/convert", EDIT, convert::submit)
        .merge(crate::records::routes::<Leads>())
}

/// Leads' plug into the record kernel.
pub struct Leads;

impl Record for Leads {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(defs: &[FieldDef], lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        list::available_columns(defs, lang)
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// Follow-ups written on the lead go with it, unless they were carried to a customer.
    async fn before_purge(tx: &mut PgConnection, ids: &[i64]) -> AppResult<()> {
        repo::purge_followups(tx, ids).await?;
        Ok(())
    }
}
