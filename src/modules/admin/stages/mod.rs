//! Stage groups (admin, 商机阶段): each group is an ordered list of stages with win rates; a group
//! applies to the departments chosen for it (and those under them), the default group to the
//! rest. Opportunities read the groups through `crate::modules::opportunities::stages`. Every
//! change is audited on entity "stage_group".

mod handlers;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::StageGroups, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/stages", MANAGE, handlers::index)
        .post("/admin/stages", MANAGE, handlers::create)
        .get("/admin/stages/{id}", MANAGE, handlers::edit)
        .post("/admin/stages/{id}", MANAGE, handlers::update)
        .post("/admin/stages/{id}/default", MANAGE, handlers::make_default)
        .post("/admin/stages/{id}/delete", MANAGE, handlers::delete)
        .post("/admin/stages/{id}/stages", MANAGE, handlers::save_stages)
        .post("/admin/stages/{id}/stages/{stage_id}/delete", MANAGE, handlers::delete_stage)
}
