//! Dictionaries (数据字典, admin): every option list with its ordered items; add, edit, reorder,
//! enable/disable, and delete items nothing uses. Modules read items through `crate::dicts`.

mod handlers;
pub mod model;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Dicts, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/dicts", MANAGE, handlers::index)
        .get("/admin/dicts/{code}", MANAGE, handlers::show)
        .post("/admin/dicts/{code}/items", MANAGE, handlers::create)
        .get("/admin/dicts/{code}/items/{id}/edit", MANAGE, handlers::edit)
        .post("/admin/dicts/{code}/items/{id}", MANAGE, handlers::update)
        .post("/admin/dicts/{code}/items/{id}/move", MANAGE, handlers::move_item)
        .post("/admin/dicts/{code}/items/{id}/toggle", MANAGE, handlers::toggle)
        .post("/admin/dicts/{code}/items/{id}/delete", MANAGE, handlers::delete)
}
