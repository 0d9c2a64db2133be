//! Approval flows (审批流程): per subject, flows with ordered steps, one enabled at a time; a
//! readable preview ("1. 直属上级 → 2. 销售总监（任一）"). The engine is `crate::workflow`.

mod handlers;
mod model;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Flows, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/flows", MANAGE, handlers::index)
        .post("/admin/flows", MANAGE, handlers::create)
        .get("/admin/flows/{id}/edit", MANAGE, handlers::edit)
        .post("/admin/flows/{id}", MANAGE, handlers::update)
        .post("/admin/flows/{id}/toggle", MANAGE, handlers::toggle)
        .post("/admin/flows/{id}/delete", MANAGE, handlers::delete)
        .post("/admin/flows/{id}/steps", MANAGE, handlers::add_step)
        .post("/admin/flows/{id}/steps/{step_id}", MANAGE, handlers::update_step)
        .post("/admin/flows/{id}/steps/{step_id}/delete", MANAGE, handlers::delete_step)
        .post("/admin/flows/{id}/steps/{step_id}/move", MANAGE, handlers::move_step)
}
