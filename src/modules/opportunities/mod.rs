//! Opportunities (商机): what a sales team works between the first conversation and the
//! contract. Each belongs to a customer and an owner, holds product lines, and moves along the
//! stages of its stage group (`stages`) until it is closed as won, lost or invalid; every move
//! is kept with the time spent where it was. Seen through its own owner's scope, team and shares
//! (not its customer's). A customer with live opportunities cannot be deleted; transferring a
//! customer offers to move its opportunities along.
//!
//! For other modules: `for_customer` (the customer's Opportunities tab, macro in
//! `templates/opportunities/_for_customer.html`), `sold_in` (the product page), `search`.

mod board;
mod export;
mod forecast;
mod form;
pub mod list;
pub mod model;
mod repo;
mod show;
mod stage;
pub mod stages;
mod totals;

use sqlx::PgConnection;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::list::Column;
use crate::modules::products::lines::LineTable;
use crate::records::{Features, Parent, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

pub use model::Opportunity;
pub use repo::{SoldRow, search};

const VIEW: Guard = Guard::Perm(Module::Opportunities, Action::View);
const CREATE: Guard = Guard::Perm(Module::Opportunities, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Opportunities, Action::Edit);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "opportunities",
    path: "/opportunities",
    module: Module::Opportunities,
    owned: true,
    key: "opportunity",
    title: "t.name",
    also_visible: None,
    parent: Some(Parent {
        entity: "customer",
        table: "customers",
        column: "customer_id",
        own_owner: None,
        follows_scope: false,
        blocks_delete: Some("opportunity.blocks_customer_delete"),
    }),
    read_only: None,
    customer: Some("t.customer_id"),
    number_column: None,
    events: "opportunity_",
    recycle_detail: ("opportunity.customer", "(SELECT p.name FROM customers p WHERE p.id = t.customer_id)"),
    features: Features::ALL,
};

/// Where opportunities keep their product lines.
pub const LINES: LineTable = LineTable { table: "opportunity_lines", parent: "opportunity_id" };

pub fn register(r: &mut Registry) {
    r.record(&RECORD);
    r.export(export::source());
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/opportunities", VIEW, list::index)
        .get("/opportunities/board", VIEW, board::board)
        .get("/opportunities/forecast", VIEW, forecast::forecast)
        .get("/opportunities/new", CREATE, form::new)
        .post("/opportunities", CREATE, form::create)
        .get("/opportunities/{id}", VIEW, show::show)
        .get("/opportunities/{id}/edit", EDIT, form::edit)
        .post("/opportunities/{id}", EDIT, form::update)
        .post("/opportunities/{id}/stage", EDIT, stage::move_stage)
        .post("/opportunities/{id}/close", EDIT, stage::close)
        .post("/opportunities/{id}/reopen", EDIT, stage::reopen)
        .merge(crate::records::routes::<Opportunities>())
}

/// A customer's opportunities as its page shows them.
#[derive(Default)]
pub struct CustomerTab {
    pub rows: Vec<Opportunity>,
    /// The customer's other opportunities, which the user does not see.
    pub hidden: i64,
    /// The user may add one from the customer's page.
    pub can_create: bool,
}

/// The customer's Opportunities tab (the caller has checked the customer is visible).
pub async fn for_customer(db: &sqlx::PgPool, user: &CurrentUser, customer_id: i64) -> AppResult<CustomerTab> {
    if !user.can(Module::Opportunities, Action::View) {
        return Ok(CustomerTab::default());
    }
    let scope = DataScope::resolve(db, user, Module::Opportunities).await?;
    let (rows, hidden) = repo::for_customer(db, &scope, customer_id).await?;
    Ok(CustomerTab { rows, hidden, can_create: user.can(Module::Opportunities, Action::Create) })
}

/// A live opportunity the user sees (none without the view right).
pub async fn find_visible(db: &sqlx::PgPool, user: &CurrentUser, id: i64) -> AppResult<Option<Opportunity>> {
    if !user.can(Module::Opportunities, Action::View) {
        return Ok(None);
    }
    let scope = DataScope::resolve(db, user, Module::Opportunities).await?;
    Ok(repo::find_visible(db, &scope, id).await?)
}

/// The opportunities selling a product, as its page shows them.
#[derive(Default)]
pub struct SoldIn {
    pub rows: Vec<SoldRow>,
    /// Others selling it, which the user does not see (or none without the view right).
    pub hidden: i64,
}

pub async fn sold_in(db: &sqlx::PgPool, user: &CurrentUser, product_id: i64) -> AppResult<SoldIn> {
    if !user.can(Module::Opportunities, Action::View) {
        return Ok(SoldIn::default());
    }
    let scope = DataScope::resolve(db, user, Module::Opportunities).await?;
    let (rows, hidden) = repo::sold_in(db, &scope, product_id).await?;
    Ok(SoldIn { rows, hidden })
}

/// Opportunities' plug into the record kernel.
pub struct Opportunities;

impl Record for Opportunities {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(defs: &[FieldDef], lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        list::available_columns(defs, lang)
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// An opportunity comes back from the bin only with its customer (restore that first).
    async fn restorable(tx: &mut PgConnection, ids: &[i64], lang: Lang) -> AppResult<(Vec<i64>, Vec<String>)> {
        let orphans: Vec<(i64, String)> = sqlx::query_as(
            "SELECT o.id, c.name FROM opportunities o JOIN customers c ON c.id = o.customer_id
              WHERE o.id = ANY($1) AND c.deleted_at IS NOT NULL ORDER BY o.id",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        let ok = ids.iter().copied().filter(|id| !orphans.iter().any(|(o, _)| o == id)).collect();
        let refused = orphans
            .iter()
            .map(|(_, name)| lang.tf("opportunity.restore_customer_first", &[("customer", name)]))
            .collect();
        Ok((ok, refused))
    }
}
