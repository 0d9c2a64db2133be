//! The opportunity list's export (`crate::exports`): an opportunity's fields, keyed like the
//! list's columns, and the list's own narrowing for the rows.

use super::model::{DICTS, ENTITY, MODULE};
use super::{Opportunities, RECORD};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::records::Record;
use crate::web::i18n::Lang;

const JOINS: &str = "JOIN customers cu ON cu.id = t.customer_id JOIN stages st ON st.id = t.stage_id
     JOIN stage_groups g ON g.id = t.group_id LEFT JOIN users ow ON ow.id = t.owner_id
     LEFT JOIN departments od ON od.id = ow.dept_id LEFT JOIN users cb ON cb.id = t.created_by";

/// The rate it counts with (`model::Status::rate`): the stage's while open, 100 won, 0 closed.
const RATE: &str = "CASE t.status WHEN 'open' THEN st.win_rate WHEN 'won' THEN 100 ELSE 0 END";

pub const COLUMNS: &[Col] = &[
    Col::text("name", "opportunity.name", "t.name"),
    Col::text("customer", "opportunity.customer", "cu.name"),
    Col::new("amount", "opportunity.amount", "t.amount", Kind::Money),
    Col::new("discount", "opportunity.discount", "t.discount", Kind::Money),
    Col::text("group", "opportunity.group", "g.name"),
    Col::text("stage", "opportunity.stage", "st.name_{lang}"),
    Col::new("win_rate", "opportunity.win_rate", RATE, Kind::Percent),
    Col::new(
        "weighted",
        "opportunity.weighted",
        "round(t.amount * (CASE t.status WHEN 'open' THEN st.win_rate WHEN 'won' THEN 100 ELSE 0 END) / 100.0, 2)",
        Kind::Money,
    ),
    Col::new("status", "opportunity.status", "t.status", Kind::Label(status)),
    Col::new("expected_close", "opportunity.expected_close", "t.expected_close", Kind::Date),
    Col::new("closed_on", "opportunity.closed_on", "t.closed_on", Kind::Date),
    Col::new("close_reason", "opportunity.close_reason", "t.close_reason_id", Kind::Dict),
    Col::text("close_note", "opportunity.close_note", "t.close_note"),
    Col::new("source", "opportunity.source", "t.source_id", Kind::Dict),
    Col::new("type", "opportunity.type", "t.type_id", Kind::Dict),
    Col::text("competitors", "opportunity.competitors", "t.competitors"),
    Col::text("next_step", "opportunity.next_step", "t.next_step"),
    Col::text("notes", "opportunity.notes", "t.notes"),
    Col::text("owner", "opportunity.owner", "ow.name"),
    Col::text("owner_dept", "opportunity.owner_dept", "od.name"),
    Col::new("last_followup", "opportunity.last_followup", "t.last_followup_at", Kind::DateTime),
    Col::new("next_contact", "opportunity.next_contact", "t.next_contact_at", Kind::DateTime),
    Col::text("created_by", "opportunity.created_by", "cb.name"),
    Col::new("created_at", "opportunity.created_at", "t.created_at", Kind::DateTime),
    Col::new("updated_at", "opportunity.updated_at", "t.updated_at", Kind::DateTime),
];

fn status(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("opportunity.status.{v}")).unwrap_or(v).to_string()
}

/// The opportunity list (`/opportunities`).
pub fn source() -> Source {
    Source {
        code: "opportunities",
        module: Module::Opportunities,
        right: Action::Export,
        title: "nav.opportunities",
        entity: ENTITY,
        list_path: "/opportunities",
        table: "opportunities",
        joins: JOINS,
        order: "t.updated_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some(ENTITY),
        dicts: DICTS,
        rows: Rows::Record(&RECORD, matching::<Opportunities>),
        visible: Visible::Chosen(MODULE, <Opportunities as Record>::column_list),
    }
}
