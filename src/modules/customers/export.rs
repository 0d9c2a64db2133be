//! The customer list's export (`crate::exports`): every field of a customer as a column, keyed
//! like the list's columns, and the list's own narrowing for the rows.

use super::model::{DICTS, ENTITY, MODULE};
use super::{Customers, RECORD};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::records::Record;
use crate::web::i18n::Lang;

/// Decorating joins for the columns below.
const JOINS: &str = "LEFT JOIN users o ON o.id = t.owner_id LEFT JOIN departments od ON od.id = o.dept_id
     LEFT JOIN customers p ON p.id = t.parent_id LEFT JOIN users cb ON cb.id = t.created_by";

pub const COLUMNS: &[Col] = &[
    Col::text("code", "customer.code", "t.code"),
    Col::text("name", "customer.name", "t.name"),
    Col::text("short_name", "customer.short_name", "t.short_name"),
    Col::new("kind", "customer.kind", "t.kind", Kind::Label(kind)),
    Col::text("parent", "customer.parent", "p.name"),
    Col::new("status", "customer.status", "t.status_id", Kind::Dict),
    Col::text("level", "customer.level", "'L' || t.level"),
    Col::new("category", "customer.category", "t.category_id", Kind::Dict),
    Col::new("source", "customer.source", "t.source_id", Kind::Dict),
    Col::new("industry", "customer.industry", "t.industry_id", Kind::Dict),
    Col::new("region", "customer.region", "t.region_id", Kind::DictPath),
    Col::new("size", "customer.size", "t.size_id", Kind::Dict),
    Col::new("value_rating", "customer.value_rating", "t.value_rating_id", Kind::Dict),
    Col::new("credit_level", "customer.credit_level", "t.credit_level_id", Kind::Dict),
    Col::new("importance", "customer.importance", "t.importance_id", Kind::Dict),
    Col::new("relationship", "customer.relationship", "t.relationship_id", Kind::Dict),
    Col::new("stage", "customer.stage", "t.stage_id", Kind::Dict),
    Col::new("group", "customer.group", "t.group_id", Kind::Dict),
    Col::text("owner", "customer.owner", "o.name"),
    Col::text("owner_dept", "customer.owner_dept", "od.name"),
    Col::text("phone", "customer.phone", "t.phone"),
    Col::text("mobile", "customer.mobile", "t.mobile"),
    Col::text("fax", "customer.fax", "t.fax"),
    Col::text("email", "customer.email", "t.email"),
    Col::text("website", "customer.website", "t.website"),
    Col::text(
        "address",
        "customer.address_detail",
        "(SELECT a.detail FROM customer_addresses a WHERE a.customer_id = t.id ORDER BY a.position, a.id LIMIT 1)",
    ),
    Col::new("deal_status", "customer.deal", "t.deal_status", Kind::Label(deal)),
    Col::new("credit_limit", "customer.credit_limit", "t.credit_limit", Kind::Money),
    Col::new("receivable", "customer.receivable", "t.receivable", Kind::Money),
    Col::new("locked", "customer.locked", "t.locked", Kind::Bool),
    Col::new("frozen", "customer.frozen", "t.frozen", Kind::Bool),
    Col::new("gender", "customer.gender", "t.gender", Kind::Label(gender)),
    Col::new("birth_date", "customer.birth_date", "t.birth_date", Kind::Date),
    Col::text("id_number", "customer.id_number", "t.id_number"),
    Col::text("native_place", "customer.native_place", "t.native_place"),
    Col::text("ethnicity", "customer.ethnicity", "t.ethnicity"),
    Col::text("description", "customer.description", "t.description"),
    Col::new("last_followup", "customer.last_followup", "t.last_followup_at", Kind::DateTime),
    Col::new("next_contact", "customer.next_contact", "t.next_contact_at", Kind::DateTime),
    Col::text("created_by", "customer.created_by", "cb.name"),
    Col::new("created_at", "customer.created_at", "t.created_at", Kind::DateTime),
    Col::new("updated_at", "customer.updated_at", "t.updated_at", Kind::DateTime),
];

fn kind(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("customer.kind.{v}")).unwrap_or(v).to_string()
}

fn deal(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("customer.deal.{v}")).unwrap_or(v).to_string()
}

/// 男 / 女 (the users' labels).
pub fn gender(lang: Lang, v: &str) -> String {
    lang.try_t(&format!("user.gender.{v}")).unwrap_or(v).to_string()
}

/// The customer list (`/customers`): its rows by `Customers::matching`, in its default order.
pub fn source() -> Source {
    Source {
        code: "customers",
        module: Module::Customers,
        right: Action::Export,
        title: "nav.customers",
        entity: ENTITY,
        list_path: "/customers",
        table: "customers",
        joins: JOINS,
        order: "t.updated_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some(ENTITY),
        dicts: DICTS,
        rows: Rows::Record(&RECORD, matching::<Customers>),
        visible: Visible::Chosen(MODULE, <Customers as Record>::column_list),
    }
}
