//! Contracts (合同/订单): what a customer signed, with product lines copied from an opportunity or
//! entered, approved through the engine's `contract` flow (`approval`), then paid in terms
//! (`payments`). Seen through its own owner's scope, team and shares. Only drafts and rejected
//! or withdrawn contracts change; an approved one is voided, not deleted. Customers' credit
//! limits are checked on submission (`credit`).
//!
//! For other modules: `for_parent` (the Contracts tabs of customers and opportunities),
//! `for_payment` (a contract payments and plan terms may be booked on), `find_visible`, `search`.

mod approval;
pub mod credit;
mod export;
mod form;
pub mod list;
pub mod model;
mod pages;
mod print;
mod repo;
mod show;

use sqlx::PgConnection;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::fields::FieldDef;
use crate::list::Column;
use crate::modules::products::lines::LineTable;
use crate::records::{Features, Parent, Record, RecordDef, sql};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

pub use approval::subject;
pub use model::{Contract, Status};
pub use repo::search;

const VIEW: Guard = Guard::Perm(Module::Contracts, Action::View);
const CREATE: Guard = Guard::Perm(Module::Contracts, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Contracts, Action::Edit);
const VOID: Guard = Guard::Perm(Module::Contracts, Action::Void);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "contracts",
    path: "/contracts",
    module: Module::Contracts,
    owned: true,
    key: "contract",
    title: "t.name",
    also_visible: None,
    parent: Some(Parent {
        entity: "customer",
        table: "customers",
        column: "customer_id",
        own_owner: None,
        follows_scope: false,
        blocks_delete: Some("contract.blocks_customer_delete"),
    }),
    read_only: None,
    customer: Some("t.customer_id"),
    number_column: Some("number"),
    events: "contract_",
    recycle_detail: ("contract.customer", "(SELECT p.name FROM customers p WHERE p.id = t.customer_id)"),
    features: Features::ALL,
};

/// Where contracts keep their product lines.
pub const LINES: LineTable = LineTable { table: "contract_lines", parent: "contract_id" };

pub fn register(r: &mut Registry) {
    r.record(&RECORD);
    r.export(export::source());
    r.subject(&approval::SUBJECT);
    r.todo_source(pages::TODO_EXPIRING);
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/contracts", VIEW, list::index)
        .get("/contracts/expiring", VIEW, pages::expiring)
        .get("/contracts/over-credit", VIEW, pages::over_credit)
        .get("/contracts/new", CREATE, form::new)
        .post("/contracts", CREATE, form::create)
        .get("/contracts/{id}", VIEW, show::show)
        .get("/contracts/{id}/print", VIEW, print::print)
        .get("/contracts/{id}/edit", EDIT, form::edit)
        .post("/contracts/{id}", EDIT, form::update)
        .get("/contracts/{id}/submit", EDIT, approval::submit_form)
        .post("/contracts/{id}/submit", EDIT, approval::submit)
        .post("/contracts/{id}/void", VOID, approval::void)
        .merge(crate::records::routes::<Contracts>())
}

/// A customer's or an opportunity's contracts as its page shows them.
#[derive(Default)]
pub struct ContractsTab {
    pub rows: Vec<Contract>,
    /// Others the user does not see.
    pub hidden: i64,
    pub can_create: bool,
}

/// The Contracts tab of a customer (`by` = "customer_id") or an opportunity ("opportunity_id");
/// the caller has checked the parent is visible.
pub async fn for_parent(db: &sqlx::PgPool, user: &CurrentUser, by: &'static str, id: i64) -> AppResult<ContractsTab> {
    if !user.can(Module::Contracts, Action::View) {
        return Ok(ContractsTab::default());
    }
    let scope = DataScope::resolve(db, user, Module::Contracts).await?;
    let (rows, hidden) = repo::for_parent(db, &scope, by, id).await?;
    Ok(ContractsTab { rows, hidden, can_create: user.can(Module::Contracts, Action::Create) })
}

/// A live contract the user sees (none without the view right).
pub async fn find_visible(db: &sqlx::PgPool, user: &CurrentUser, id: i64) -> AppResult<Option<Contract>> {
    if !user.can(Module::Contracts, Action::View) {
        return Ok(None);
    }
    let scope = DataScope::resolve(db, user, Module::Contracts).await?;
    Ok(repo::find_visible(db, &scope, id).await?)
}

/// An approved contract the user may change (404 unseen, 403 read-only, 409 not approved):
/// what payments and plan terms are booked on.
pub async fn for_payment(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<Contract> {
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?;
    let k = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    sql::check_writable(&st.db, &RECORD, &scope, id).await?;
    if k.status() != Status::Approved {
        return Err(AppError::Conflict("payment.error.contract_state"));
    }
    Ok(k)
}

/// Contracts' plug into the record kernel.
pub struct Contracts;

impl Record for Contracts {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(defs: &[FieldDef], lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        list::available_columns(defs, lang)
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// Only drafts and rejected or withdrawn contracts go to the bin: an approved one is voided
    /// (the record of what was signed stays), a pending one is withdrawn first.
    async fn delete_blockers(tx: &mut PgConnection, ids: &[i64], lang: Lang) -> AppResult<Vec<(i64, String)>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
            "SELECT id, name, status FROM contracts WHERE id = ANY($1) AND status NOT IN {}",
            Status::EDITABLE_SQL
        ))
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, status)| {
                let state = lang.t(Status::from_code(&status).unwrap_or(Status::Draft).label_key());
                (id, lang.tf("contract.error.delete_state", &[("name", &name), ("status", state)]))
            })
            .collect())
    }

    /// A contract comes back from the bin only with its customer (restore that first).
    async fn restorable(tx: &mut PgConnection, ids: &[i64], lang: Lang) -> AppResult<(Vec<i64>, Vec<String>)> {
        let orphans: Vec<(i64, String)> = sqlx::query_as(
            "SELECT k.id, c.name FROM contracts k JOIN customers c ON c.id = k.customer_id
              WHERE k.id = ANY($1) AND c.deleted_at IS NOT NULL ORDER BY k.id",
        )
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        let ok = ids.iter().copied().filter(|id| !orphans.iter().any(|(o, _)| o == id)).collect();
        let refused =
            orphans.iter().map(|(_, name)| lang.tf("contract.restore_customer_first", &[("customer", name)])).collect();
        Ok((ok, refused))
    }
}
