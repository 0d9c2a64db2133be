//! Users (admin): create, edit, reset password, reset two-factor sign-in (a lost phone), disable (ending sessions, handing records over)
//! and enable; the reporting tree. Users are never deleted.

mod export;
mod handlers;
pub mod model;
pub mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Org, Action::Manage);

pub fn register(r: &mut crate::registry::Registry) {
    r.export(export::source());
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/users", MANAGE, handlers::index)
        .get("/admin/users/new", MANAGE, handlers::new)
        .post("/admin/users", MANAGE, handlers::create)
        .get("/admin/users/tree", MANAGE, handlers::tree)
        .get("/admin/users/{id}/edit", MANAGE, handlers::edit)
        .post("/admin/users/{id}", MANAGE, handlers::update)
        .post("/admin/users/{id}/password", MANAGE, handlers::reset_password)
        .post("/admin/users/{id}/two-factor/reset", MANAGE, handlers::reset_two_factor)
        .get("/admin/users/{id}/disable", MANAGE, handlers::disable_page)
        .post("/admin/users/{id}/disable", MANAGE, handlers::disable)
        .post("/admin/users/{id}/enable", MANAGE, handlers::enable)
        .get("/users/lookup", Guard::Login, handlers::lookup)
}
