//! Roles (角色权限): roles with their permissions per module and data scopes.

mod handlers;
mod model;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Roles, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/roles", MANAGE, handlers::index)
        .post("/admin/roles", MANAGE, handlers::create)
        .get("/admin/roles/new", MANAGE, handlers::new_form)
        .get("/admin/roles/{id}/edit", MANAGE, handlers::edit_form)
        .post("/admin/roles/{id}", MANAGE, handlers::update)
        .post("/admin/roles/{id}/copy", MANAGE, handlers::copy)
        .post("/admin/roles/{id}/delete", MANAGE, handlers::delete)
}
