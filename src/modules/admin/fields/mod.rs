//! Custom fields (admin): define extra fields per entity, order them, deactivate them, and try
//! the resulting form. The mechanism itself lives in `crate::fields`.

mod handlers;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Fields, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/fields", MANAGE, handlers::index)
        .get("/admin/fields/new", MANAGE, handlers::new)
        .post("/admin/fields", MANAGE, handlers::create)
        .get("/admin/fields/preview", MANAGE, handlers::preview)
        .post("/admin/fields/preview", MANAGE, handlers::preview_submit)
        .get("/admin/fields/{id}/edit", MANAGE, handlers::edit)
        .post("/admin/fields/{id}", MANAGE, handlers::update)
        .post("/admin/fields/{id}/move", MANAGE, handlers::move_field)
        .post("/admin/fields/{id}/toggle", MANAGE, handlers::toggle)
}
