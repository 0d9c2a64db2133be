//! The payment list's export (`crate::exports`): a payment's fields, keyed like the list's
//! columns, and the list's own narrowing for the rows.

use super::model::{DICTS, ENTITY, MODULE};
use super::{Payments, RECORD};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::records::Record;
use crate::web::i18n::Lang;

const JOINS: &str = "JOIN contracts k ON k.id = t.contract_id JOIN customers cu ON cu.id = t.customer_id
     LEFT JOIN payment_plans pl ON pl.id = t.plan_id LEFT JOIN users ow ON ow.id = t.owner_id
     LEFT JOIN departments od ON od.id = ow.dept_id";

pub const COLUMNS: &[Col] = &[
    Col::text("number", "payment.number", "t.number"),
    Col::text("contract", "payment.contract", "k.number || ' ' || k.name"),
    Col::text("customer", "payment.customer", "cu.name"),
    Col::new("amount", "payment.amount", "t.amount", Kind::Money),
    Col::new("paid_on", "payment.paid_on", "t.paid_on", Kind::Date),
    Col::new("plan", "payment.plan", "pl.term", Kind::Label(term)),
    Col::new("method", "payment.method", "t.method_id", Kind::Dict),
    Col::new("status", "payment.status", "t.status", Kind::Label(status)),
    Col::text("notes", "payment.notes", "t.notes"),
    Col::new("approved_at", "payment.approved_at", "t.approved_at", Kind::DateTime),
    Col::text("owner", "payment.owner", "ow.name"),
    Col::text("owner_dept", "payment.owner_dept", "od.name"),
    Col::new("created_at", "payment.created_at", "t.created_at", Kind::DateTime),
];

fn status(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("payment.status.{v}")).unwrap_or(v).to_string()
}

/// "第2期".
fn term(lang: Lang, n: &str) -> String {
    lang.tf("payment.term", &[("n", n)])
}

/// The payment list (`/payments`), newest payment date first as the list.
pub fn source() -> Source {
    Source {
        code: "payments",
        module: Module::Payments,
        right: Action::Export,
        title: "nav.payments",
        entity: ENTITY,
        list_path: "/payments",
        table: "payments",
        joins: JOINS,
        order: "t.paid_on DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some(ENTITY),
        dicts: DICTS,
        rows: Rows::Record(&RECORD, matching::<Payments>),
        visible: Visible::Chosen(MODULE, <Payments as Record>::column_list),
    }
}
