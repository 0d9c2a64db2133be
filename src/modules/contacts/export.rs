//! The contact list's export (`crate::exports`): a contact's fields, keyed like the list's
//! columns, and the list's own narrowing for the rows.

use super::model::{DICTS, ENTITY, MODULE};
use super::{Contacts, RECORD};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::records::Record;

const JOINS: &str = "JOIN customers cu ON cu.id = t.customer_id LEFT JOIN users o ON o.id = t.owner_id
     LEFT JOIN departments od ON od.id = o.dept_id LEFT JOIN users cb ON cb.id = t.created_by";

pub const COLUMNS: &[Col] = &[
    Col::text("name", "contact.name", "t.name"),
    Col::text("customer", "contact.customer", "cu.name"),
    Col::text("customer_code", "customer.code", "cu.code"),
    Col::new("salutation", "contact.salutation", "t.salutation_id", Kind::Dict),
    Col::new("gender", "contact.gender", "t.gender", Kind::Label(crate::modules::customers::export::gender)),
    Col::text("position", "contact.position", "t.position"),
    Col::text("department", "contact.department", "t.department"),
    Col::text("phone", "contact.phone", "t.phone"),
    Col::text("mobile", "contact.mobile", "t.mobile"),
    Col::text("email", "contact.email", "t.email"),
    Col::text("wechat", "contact.wechat", "t.wechat"),
    Col::text("address", "contact.address", "t.address"),
    Col::new("birthday", "contact.birthday", "t.birthday", Kind::Date),
    Col::new("decision_maker", "contact.decision_maker", "t.decision_maker", Kind::Bool),
    Col::new("primary", "contact.primary", "t.is_primary", Kind::Bool),
    Col::text("notes", "contact.notes", "t.notes"),
    Col::text("owner", "contact.owner", "o.name"),
    Col::text("owner_dept", "customer.owner_dept", "od.name"),
    Col::new("last_followup", "contact.last_followup", "t.last_followup_at", Kind::DateTime),
    Col::new("next_contact", "contact.next_contact", "t.next_contact_at", Kind::DateTime),
    Col::text("created_by", "contact.created_by", "cb.name"),
    Col::new("created_at", "contact.created_at", "t.created_at", Kind::DateTime),
    Col::new("updated_at", "contact.updated_at", "t.updated_at", Kind::DateTime),
];

/// The contact list (`/contacts`).
pub fn source() -> Source {
    Source {
        code: "contacts",
        module: Module::Contacts,
        right: Action::Export,
        title: "nav.contacts",
        entity: ENTITY,
        list_path: "/contacts",
        table: "contacts",
        joins: JOINS,
        order: "t.updated_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some(ENTITY),
        dicts: DICTS,
        rows: Rows::Record(&RECORD, matching::<Contacts>),
        visible: Visible::Chosen(MODULE, <Contacts as Record>::column_list),
    }
}
