//! Customers: records with dictionaries and custom fields, the list, detail, duplicate checks,
//! caps, level and status, lock and freeze. Stars, the recycle bin, team and sharing, transfer,
//! attachments and follow-ups come from the record kernel (`crate::records`) through `RECORD`.

pub mod caps;
pub mod dup;
pub mod export;
mod form;
mod import;
pub mod list;
pub mod model;
mod repo;
mod show;
mod state;
pub mod status;
mod todo;

use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::fields::FieldDef;
use crate::list::Column;
use crate::records::{Features, ReadOnly, Record, RecordDef};
use crate::registry::Registry;
use crate::state::AppState;
use crate::web::i18n::Lang;

pub use form::{Created, create_customer, picked};
pub use model::Customer;
pub use model::{Address, CustomerInput};
pub use repo::{
    JOINED_KEYWORD, KEYWORD, find_by_code_or_name, find_visible, lock, lookup, push_named, search, set_lead_origin,
};

const VIEW: Guard = Guard::Perm(Module::Customers, Action::View);
const CREATE: Guard = Guard::Perm(Module::Customers, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Customers, Action::Edit);

pub const RECORD: RecordDef = RecordDef {
    entity: model::ENTITY,
    table: "customers",
    path: "/customers",
    module: Module::Customers,
    owned: true,
    key: "customer",
    title: "t.name",
    also_visible: Some(in_member_pool),
    parent: None,
    read_only: Some(ReadOnly { when: "t.frozen", reason: "customer.error.frozen" }),
    customer: Some("t.id"),
    number_column: Some("code"),
    events: "",
    recycle_detail: ("customer.code", "t.code"),
    features: Features::ALL,
};

/// Customers sitting in a pool (no owner) are seen by the pool's members and admins, so they
/// can open them before claiming.
fn in_member_pool(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    crate::modules::pool::push_in_member_pool(q, "t", scope);
}

pub fn register(r: &mut Registry) {
    r.record(&RECORD).subject(&status::SUBJECT).todo_source(todo::CONTACT_DUE).import(&import::SOURCE);
    r.export(export::source());
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/customers", VIEW, list::index)
        .get("/customers/new", CREATE, form::new)
        .post("/customers", CREATE, form::create)
        .get("/customers/check", VIEW, dup::check_page)
        .get("/customers/lookup", VIEW, form::lookup)
        .get("/customers/{id}", VIEW, show::show)
        .get("/customers/{id}/edit", EDIT, form::edit)
        .post("/customers/{id}", EDIT, form::update)
        .post("/customers/{id}/lock", EDIT, state::lock)
        .post("/customers/{id}/unlock", EDIT, state::unlock)
        .post("/customers/{id}/freeze", EDIT, state::freeze)
        .post("/customers/{id}/unfreeze", EDIT, state::unfreeze)
        .merge(crate::records::routes::<Customers>())
}

/// Customers' plug into the record kernel.
pub struct Customers;

impl Record for Customers {
    const DEF: &'static RecordDef = &RECORD;

    fn column_list(defs: &[FieldDef], lang: Lang, _user: &CurrentUser) -> Vec<Column> {
        list::available_columns(defs, lang)
    }

    async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, filter: &str) -> AppResult<Vec<i64>> {
        list::matching(st, user, scope, filter).await
    }

    /// An owner's binned customers come back together or not at all, within their caps.
    async fn restorable(tx: &mut PgConnection, ids: &[i64], lang: Lang) -> AppResult<(Vec<i64>, Vec<String>)> {
        caps::within_caps(tx, ids, lang).await
    }

    async fn check_receiving(
        tx: &mut PgConnection,
        to: i64,
        to_name: &str,
        ids: &[i64],
        lang: Lang,
    ) -> AppResult<Result<(), String>> {
        Ok(caps::check_receiving(tx, to, ids).await?.map_err(|(over, locked)| over.message(lang, to_name, locked)))
    }

    /// Follow-ups go with the customer (ON DELETE CASCADE); subsidiaries lose their parent.
    async fn before_purge(tx: &mut PgConnection, ids: &[i64]) -> AppResult<()> {
        repo::orphan_subsidiaries(tx, ids).await?;
        Ok(())
    }
}
