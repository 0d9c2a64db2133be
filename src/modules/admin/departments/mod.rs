//! Departments (admin): a tree under the root "办公室"; create, rename, move (no cycles), set a
//! head, delete when empty.

mod handlers;
pub mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Org, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/departments", MANAGE, handlers::index)
        .post("/admin/departments", MANAGE, handlers::create)
        .get("/admin/departments/{id}/edit", MANAGE, handlers::edit)
        .post("/admin/departments/{id}", MANAGE, handlers::update)
        .post("/admin/departments/{id}/delete", MANAGE, handlers::delete)
}
