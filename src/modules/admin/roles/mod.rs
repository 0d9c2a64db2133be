//! Roles (角色权限): roles with their permissions per module and data scopes, and which roles must
//! use two-factor sign-in (the super admin role too).

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
        .post("/admin/roles/two-factor", MANAGE, handlers::two_factor)
        .get("/admin/roles/{id}/edit", MANAGE, handlers::edit_form)
        .post("/admin/roles/{id}", MANAGE, handlers::update)
        .post("/admin/roles/{id}/copy", MANAGE, handlers::copy)
        .post("/admin/roles/{id}/delete", MANAGE, handlers::delete)
}
