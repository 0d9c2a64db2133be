//! Customers: records with dictionaries and custom fields, the list, detail, duplicate checks,
//! caps, stars, recycle bin.

mod actions;
mod bulk;
pub mod caps;
pub mod dup;
mod form;
pub mod list;
pub mod model;
pub mod normalize;
pub mod repo;
mod show;
mod state;
pub mod status;
pub mod team;
pub mod transfer;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::Column;
use crate::list::prefs::{self, ListModule};
use crate::state::AppState;
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Customers, Action::View);
const CREATE: Guard = Guard::Perm(Module::Customers, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Customers, Action::Edit);
const DELETE: Guard = Guard::Perm(Module::Customers, Action::Delete);
const PURGE: Guard = Guard::Perm(Module::Customers, Action::Purge);
const TRANSFER: Guard = Guard::Perm(Module::Customers, Action::Transfer);

pub fn routes() -> Routes {
    Routes::new()
        .get("/customers", VIEW, list::index)
        .get("/customers/new", CREATE, form::new)
        .post("/customers", CREATE, form::create)
        .get("/customers/check", VIEW, dup::check_page)
        .get("/customers/lookup", VIEW, form::lookup)
        .get("/customers/recycle", VIEW, actions::recycle)
        .post("/customers/recycle/restore", DELETE, actions::restore)
        .post("/customers/recycle/purge", PURGE, actions::purge)
        .post("/customers/bulk/delete", DELETE, actions::bulk_delete)
        .post("/customers/bulk/transfer", TRANSFER, transfer::bulk)
        .post("/customers/bulk/team", EDIT, team::bulk_team)
        .post("/customers/bulk/share", EDIT, team::bulk_share)
        .get("/customers/{id}", VIEW, show::show)
        .get("/customers/{id}/edit", EDIT, form::edit)
        .post("/customers/{id}", EDIT, form::update)
        .post("/customers/{id}/delete", DELETE, actions::delete_one)
        .get("/customers/{id}/transfer", TRANSFER, transfer::page)
        .post("/customers/{id}/transfer", TRANSFER, transfer::submit)
        .post("/customers/{id}/team", EDIT, team::add_member)
        .post("/customers/{id}/team/{user_id}/remove", EDIT, team::remove_member)
        .post("/customers/{id}/shares", EDIT, team::share)
        .post("/customers/{id}/shares/{share_id}/revoke", EDIT, team::revoke_share)
        .post("/customers/{id}/lock", EDIT, state::lock)
        .post("/customers/{id}/unlock", EDIT, state::unlock)
        .post("/customers/{id}/freeze", EDIT, state::freeze)
        .post("/customers/{id}/unfreeze", EDIT, state::unfreeze)
        .merge(crate::timeline::routes::<CustomerTimeline>())
        .merge(prefs::routes::<Customers>())
        .merge(crate::records::stars::routes::<Customers>())
        .merge(crate::attachments::routes::<AttachmentHost>())
}

/// The customer list's plug into the shared scene and column pages.
pub struct Customers;

impl ListModule for Customers {
    const MODULE: &'static str = model::MODULE;
    const PATH: &'static str = "/customers";
    const PERM: Module = Module::Customers;
    const TITLE: &'static str = "nav.customers";

    async fn columns(st: &AppState, lang: Lang) -> AppResult<Vec<Column>> {
        let defs = crate::fields::defs(&st.db, model::ENTITY).await?;
        Ok(list::available_columns(&defs, lang))
    }
}

impl crate::records::stars::Starrable for Customers {
    const ENTITY: &'static str = model::ENTITY;
    const KEY: &'static str = "customer";

    async fn can_view(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<bool> {
        let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
        Ok(repo::find_visible(&st.db, &scope, id, false).await?.is_some())
    }

    async fn selected(st: &AppState, user: &CurrentUser, sel: &crate::list::Selection) -> AppResult<Vec<i64>> {
        let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
        actions::selected(st, user, &scope, sel).await
    }
}

/// Customers hold attachments: seen with the record, changed by those who may edit it.
pub struct AttachmentHost;

impl crate::attachments::Host for AttachmentHost {
    const ENTITY: &'static str = model::ENTITY;
    const PATH: &'static str = "/customers";
    const VIEW: Guard = VIEW;
    const EDIT: Guard = EDIT;

    async fn can_view(st: &AppState, user: &crate::auth::CurrentUser, id: i64) -> AppResult<bool> {
        let scope = crate::access::DataScope::resolve(&st.db, user, Module::Customers).await?;
        Ok(repo::find_visible(&st.db, &scope, id, false).await?.is_some())
    }

    async fn writable(st: &AppState, user: &crate::auth::CurrentUser, id: i64) -> AppResult<()> {
        let scope = crate::access::DataScope::resolve(&st.db, user, Module::Customers).await?;
        form::writable(st, &scope, id).await.map(|_| ())
    }
}

/// Follow-ups on customers: written by those who may change the customer.
pub struct CustomerTimeline;

impl crate::timeline::Host for CustomerTimeline {
    const ENTITY: &'static str = model::ENTITY;
    const PATH: &'static str = "/customers";
    const GUARD: Guard = EDIT;

    async fn check_writable(st: &AppState, user: &crate::auth::CurrentUser, id: i64) -> AppResult<()> {
        let scope = crate::access::DataScope::resolve(&st.db, user, Module::Customers).await?;
        form::writable(st, &scope, id).await.map(|_| ())
    }

    async fn describe(st: &AppState, id: i64) -> AppResult<(String, Option<i64>)> {
        let name: String =
            sqlx::query_scalar("SELECT name FROM customers WHERE id = $1").bind(id).fetch_one(&st.db).await?;
        Ok((name, Some(id)))
    }
}
