//! Products (产品): the company-wide catalogue. Categories and units are dictionaries (admin,
//! 数据字典); every price a product had is kept (`product_prices`); cost prices are seen only
//! with the `cost` permission; only products on the shelf go on new opportunity lines.
//! No data scope: whoever holds the module's permissions sees and changes every product.

mod actions;
mod export;
mod form;
mod import;
pub mod lines;
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
use crate::records::{Features, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Products, Action::View);
const CREATE: Guard = Guard::Perm(Module::Products, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Products, Action::Edit);
const SHELF: Guard = Guard::Perm(Module::Products, Action::Shelf);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "products",
    path: "/products",
    module: Module::Products,
    owned: false,
    key: "product",
    title: "t.name",
    also_visible: None,
    parent: None,
    read_only: None,
    customer: None,
    number_column: Some("code"),
    events: "product_",
    recycle_detail: ("product.code", "t.code"),
    features: Features {
        custom_fields: true,
        attachments: true,
        timeline: false,
        team: false,
        share: false,
        transfer: false,
    },
};

pub fn register(r: &mut Registry) {
    r.record(&RECORD).import(&import::SOURCE);
    r.export(export::source());
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/products", VIEW, list::index)
        .get("/products/new", CREATE, form::new)
        .post("/products", CREATE, form::create)
        .get("/products/{id}", VIEW, show::show)
        .get("/products/{id}/edit", EDIT, form::edit)
        .post("/products/{id}", EDIT, form::update)
        .post("/products/{id}/shelf/{to}", SHELF, actions::shelf_one)
        .post("/products/bulk/shelf/{to}", SHELF, actions::shelf_bulk)
        .merge(crate::records::routes::<Products>())
}

/// The top bar's search: live products matching `text` (as the list's keyword filter).
pub async fn search(db: &sqlx::PgPool, text: &str, limit: i64) -> sqlx::Result<crate::list::Hits<model::Product>> {
    let page = crate::list::Page { select: repo::SELECT, from: repo::FROM, alias: "p" };
    crate::list::search_hits(
        db,
        page,
        |q| {
            q.push("FROM products p WHERE p.deleted_at IS NULL");
            repo::KEYWORD.push(q, text);
        },
        limit,
    )
    .await
}

/// A product offered on new lines: (id, code, name, list price, unit id).
pub type OnShelf = (i64, String, String, rust_decimal::Decimal, Option<i64>);

/// Products on the shelf, by name, for the line pickers of opportunities and contracts.
pub async fn on_shelf(db: &sqlx::PgPool) -> sqlx::Result<Vec<OnShelf>> {
    repo::on_shelf(db).await
}

/// Products' plug into the record kernel.
pub struct Products;

impl Record for Products {
    const DEF: &'static RecordDef = &RECORD;

    /// The cost column only for those who may see cost prices.
    fn column_list(defs: &[FieldDef], lang: Lang, user: &CurrentUser) -> Vec<Column> {
        list::available_columns(defs, lang, user.can(Module::Products, Action::Cost))
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// A product on any opportunity or contract line stays: the line's record would lose what
    /// it sold.
    async fn delete_blockers(tx: &mut PgConnection, ids: &[i64], lang: Lang) -> AppResult<Vec<(i64, String)>> {
        let used = repo::usage(tx, ids).await?;
        Ok(used
            .into_iter()
            .map(|(id, name, n, k)| {
                let args = [("name", name.as_str()), ("n", &n.to_string()), ("k", &k.to_string())];
                (id, lang.tf("product.error.in_use", &args))
            })
            .collect())
    }
}
