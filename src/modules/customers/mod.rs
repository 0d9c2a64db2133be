//! Customers: records with dictionaries and custom fields, the list, detail, duplicate checks,
//! caps, stars, recycle bin.

mod actions;
pub mod caps;
pub mod dup;
mod form;
pub mod list;
pub mod model;
pub mod normalize;
pub mod repo;
mod show;

use crate::access::{Action, Guard, Module, Routes};
use crate::app::AppState;
use crate::error::AppResult;
use crate::list::Column;
use crate::list::prefs::{self, ListModule};
use crate::web::i18n::Lang;

const VIEW: Guard = Guard::Perm(Module::Customers, Action::View);
const CREATE: Guard = Guard::Perm(Module::Customers, Action::Create);
const EDIT: Guard = Guard::Perm(Module::Customers, Action::Edit);
const DELETE: Guard = Guard::Perm(Module::Customers, Action::Delete);
const PURGE: Guard = Guard::Perm(Module::Customers, Action::Purge);

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
        .post("/customers/bulk/star", VIEW, actions::bulk_star_on)
        .post("/customers/bulk/unstar", VIEW, actions::bulk_star_off)
        .post("/customers/bulk/delete", DELETE, actions::bulk_delete)
        .get("/customers/{id}", VIEW, show::show)
        .get("/customers/{id}/edit", EDIT, form::edit)
        .post("/customers/{id}", EDIT, form::update)
        .post("/customers/{id}/star", VIEW, actions::toggle_star)
        .post("/customers/{id}/delete", DELETE, actions::delete_one)
        .merge(prefs::routes::<Customers>())
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
