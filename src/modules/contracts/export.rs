//! The contract list's export (`crate::exports`): a contract's fields, keyed like the list's
//! columns, and the list's own narrowing for the rows.

use super::model::{DICTS, ENTITY, MODULE};
use super::{Contracts, RECORD};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::records::Record;
use crate::web::i18n::Lang;

const JOINS: &str = "JOIN customers cu ON cu.id = t.customer_id LEFT JOIN opportunities op ON op.id = t.opportunity_id
     LEFT JOIN contacts cs ON cs.id = t.customer_signer_id LEFT JOIN users us ON us.id = t.company_signer_id
     LEFT JOIN users ow ON ow.id = t.owner_id LEFT JOIN departments od ON od.id = ow.dept_id
     LEFT JOIN users cb ON cb.id = t.created_by";

pub const COLUMNS: &[Col] = &[
    Col::text("number", "contract.number", "t.number"),
    Col::text("name", "contract.name", "t.name"),
    Col::text("customer", "contract.customer", "cu.name"),
    Col::new("amount", "contract.amount", "t.amount", Kind::Money),
    Col::new("discount", "contract.discount", "t.discount", Kind::Money),
    Col::new("received", "contract.received", "t.received", Kind::Money),
    // What is still to come in on an approved contract (`Contract::unreceived`).
    Col::new(
        "unreceived",
        "contract.unreceived",
        "CASE WHEN t.status = 'approved' THEN t.amount - t.received ELSE 0 END",
        Kind::Money,
    ),
    Col::new("status", "contract.status", "t.status", Kind::Label(status)),
    Col::new("order_date", "contract.order_date", "t.order_date", Kind::Date),
    Col::new("start_date", "contract.start_date", "t.start_date", Kind::Date),
    Col::new("end_date", "contract.end_date", "t.end_date", Kind::Date),
    Col::new("type", "contract.type", "t.type_id", Kind::Dict),
    Col::text("opportunity", "contract.opportunity", "op.name"),
    Col::text("customer_signer", "contract.customer_signer", "cs.name"),
    Col::text("company_signer", "contract.company_signer", "us.name"),
    Col::text("payment_terms", "contract.payment_terms", "t.payment_terms"),
    Col::text("notes", "contract.notes", "t.notes"),
    Col::new("approved_at", "contract.approved_at", "t.approved_at", Kind::DateTime),
    Col::text("owner", "contract.owner", "ow.name"),
    Col::text("owner_dept", "contract.owner_dept", "od.name"),
    Col::new("last_followup", "contract.last_followup", "t.last_followup_at", Kind::DateTime),
    Col::text("created_by", "contract.created_by", "cb.name"),
    Col::new("created_at", "contract.created_at", "t.created_at", Kind::DateTime),
    Col::new("updated_at", "contract.updated_at", "t.updated_at", Kind::DateTime),
];

fn status(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("contract.status.{v}")).unwrap_or(v).to_string()
}

/// The contract list (`/contracts`).
pub fn source() -> Source {
    Source {
        code: "contracts",
        module: Module::Contracts,
        right: Action::Export,
        title: "nav.contracts",
        entity: ENTITY,
        list_path: "/contracts",
        table: "contracts",
        joins: JOINS,
        order: "t.updated_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some(ENTITY),
        dicts: DICTS,
        rows: Rows::Record(&RECORD, matching::<Contracts>),
        visible: Visible::Chosen(MODULE, <Contracts as Record>::column_list),
    }
}
