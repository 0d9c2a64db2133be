//! Contacts (联系人): people at a customer. Several per customer, one primary; they follow their
//! customer's owner unless transferred on their own, and are visible through their owner, their
//! own team and shares, or their customer's team and shares.
//!
//! For the customer's Contacts tab: `for_customer` and the macro in
//! `templates/contacts/_for_customer.html`.

mod actions;
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
use crate::records::{Features, Parent, ReadOnly, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

pub use model::ContactRow;
pub use repo::search;

const VIEW: Guard = Guard::Perm(Module::Contacts, Action::View);
const CREATE: Guard = Guard::Perm(Module::Contacts, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Contacts, Action::Edit);

/// The duplicate rules of contacts (set on the customer rules page; `customers::dup`).
pub static DUPLICATES: crate::modules::customers::dup::Kind = crate::modules::customers::dup::Kind {
    def: &RECORD,
    fields: &["phone", "mobile", "email"],
    labels: &["contact.phone", "contact.mobile", "contact.email"],
    title: "crules.dup.kind.contact",
    messages: "crules.dup.contact.",
};

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "contacts",
    path: "/contacts",
    module: Module::Contacts,
    owned: true,
    key: "contact",
    title: "t.name",
    also_visible: None,
    parent: Some(Parent {
        entity: "customer",
        table: "customers",
        column: "customer_id",
        own_owner: Some("owner_locked"),
        follows_scope: true,
        blocks_delete: None,
    }),
    read_only: Some(ReadOnly {
        when: "EXISTS (SELECT 1 FROM customers p WHERE p.id = t.customer_id AND p.frozen)",
        reason: "contact.error.frozen",
    }),
    customer: Some("t.customer_id"),
    number_column: None,
    events: "contact_",
    recycle_detail: ("contact.customer", "(SELECT p.name FROM customers p WHERE p.id = t.customer_id)"),
    features: Features { team: false, share: false, ..Features::ALL },
};

pub fn register(r: &mut Registry) {
    r.record(&RECORD).import(&import::SOURCE);
    r.export(export::source());
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/contacts", VIEW, list::index)
        .get("/contacts/new", CREATE, form::new)
        .post("/contacts", CREATE, form::create)
        .get("/contacts/{id}", VIEW, show::show)
        .get("/contacts/{id}/edit", EDIT, form::edit)
        .post("/contacts/{id}", EDIT, form::update)
        .post("/contacts/{id}/primary", EDIT, actions::set_primary)
        .merge(crate::records::routes::<Contacts>())
}

/// Live contacts of one customer, primary first, for the customer's Contacts tab (the caller
/// has checked the customer is visible).
pub async fn for_customer(db: &sqlx::PgPool, customer_id: i64) -> sqlx::Result<Vec<ContactRow>> {
    repo::for_customer(db, customer_id).await
}

/// Contacts' plug into the record kernel.
pub struct Contacts;

impl Record for Contacts {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(defs: &[FieldDef], lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        list::available_columns(defs, lang)
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// A contact in the recycle bin is nobody's primary; its customer gets another one, and a
    /// restored contact comes back as an ordinary one (its customer has a primary meanwhile).
    async fn after_bin(tx: &mut PgConnection, ids: &[i64], _restored: bool) -> AppResult<()> {
        repo::unset_primary(tx, ids).await?;
        Ok(())
    }
}
