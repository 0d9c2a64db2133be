//! The lead list's export (`crate::exports`): a lead's fields, keyed like the list's columns,
//! and the list's own narrowing for the rows.

use super::model::{DICTS, ENTITY, MODULE};
use super::{Leads, RECORD};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::records::Record;
use crate::web::i18n::Lang;

const JOINS: &str = "LEFT JOIN users o ON o.id = t.owner_id LEFT JOIN departments od ON od.id = o.dept_id
     LEFT JOIN customers cu ON cu.id = t.customer_id";

pub const COLUMNS: &[Col] = &[
    Col::text("name", "lead.name", "t.name"),
    Col::text("contact_name", "lead.contact_name", "t.contact_name"),
    Col::text("phone", "lead.phone", "t.phone"),
    Col::text("mobile", "lead.mobile", "t.mobile"),
    Col::text("email", "lead.email", "t.email"),
    Col::text("address", "lead.address", "t.address"),
    Col::new("source", "lead.source", "t.source_id", Kind::Dict),
    Col::new("industry", "lead.industry", "t.industry_id", Kind::Dict),
    Col::text("level", "lead.level", "'L' || t.level"),
    Col::new("region", "lead.region", "t.region_id", Kind::DictPath),
    Col::new(
        "state",
        "lead.state",
        "CASE WHEN t.converted_at IS NULL THEN 'open' ELSE 'converted' END",
        Kind::Label(state),
    ),
    Col::text("customer", "field.lead.customer", "cu.name"),
    Col::text("notes", "lead.notes", "t.notes"),
    Col::text("owner", "lead.owner", "o.name"),
    Col::text("owner_dept", "lead.owner_dept", "od.name"),
    Col::new("last_followup", "lead.last_followup", "t.last_followup_at", Kind::DateTime),
    Col::new("next_contact", "lead.next_contact", "t.next_contact_at", Kind::DateTime),
    Col::new("created_at", "lead.created_at", "t.created_at", Kind::DateTime),
    Col::new("updated_at", "lead.updated_at", "t.updated_at", Kind::DateTime),
];

fn state(lang: Lang, v: &str) -> String {
    lang.t(&format!("lead.state.{v}")).to_string()
}

/// The lead list (`/leads`).
pub fn source() -> Source {
    Source {
        code: "leads",
        module: Module::Leads,
        right: Action::Export,
        title: "nav.leads",
        entity: ENTITY,
        list_path: "/leads",
        table: "leads",
        joins: JOINS,
        order: "t.updated_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some(ENTITY),
        dicts: DICTS,
        rows: Rows::Record(&RECORD, matching::<Leads>),
        visible: Visible::Chosen(MODULE, <Leads as Record>::column_list),
    }
}
