//! The product list's export (`crate::exports`): a product's fields, keyed like the list's
//! columns (the cost price only for those who may see it), and the list's own narrowing.

use super::model::{DICTS, ENTITY, MODULE};
use super::{Products, RECORD};
use crate::access::{Action, Module};
use crate::exports::{Col, Kind, Rows, Source, Visible, matching};
use crate::records::Record;
use crate::web::i18n::Lang;

const JOINS: &str = "LEFT JOIN users cb ON cb.id = t.created_by";

pub const COLUMNS: &[Col] = &[
    Col::text("name", "product.name", "t.name"),
    Col::text("code", "product.code", "t.code"),
    Col::new("category", "product.category", "t.category_id", Kind::DictPath),
    Col::new("unit", "product.unit", "t.unit_id", Kind::Dict),
    Col::new("price", "product.price", "t.price", Kind::Money),
    Col::new("cost_price", "product.cost_price", "t.cost_price", Kind::Money).needs(Action::Cost),
    Col::text("spec", "product.spec", "t.spec"),
    Col::new("shelf", "product.shelf", "t.on_shelf::text", Kind::Label(shelf)),
    Col::text("description", "product.description", "t.description"),
    Col::text("created_by", "customer.created_by", "cb.name"),
    Col::new("created_at", "product.created_at", "t.created_at", Kind::DateTime),
    Col::new("updated_at", "product.updated_at", "t.updated_at", Kind::DateTime),
];

fn shelf(lang: Lang, v: &str) -> String {
    lang.t(if v == "true" { "product.on_shelf" } else { "product.off_shelf" }).to_string()
}

/// The product catalogue (`/products`).
pub fn source() -> Source {
    Source {
        code: "products",
        module: Module::Products,
        right: Action::Export,
        title: "nav.products",
        entity: ENTITY,
        list_path: "/products",
        table: "products",
        joins: JOINS,
        order: "t.updated_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some(ENTITY),
        dicts: DICTS,
        rows: Rows::Record(&RECORD, matching::<Products>),
        visible: Visible::Chosen(MODULE, <Products as Record>::column_list),
    }
}
