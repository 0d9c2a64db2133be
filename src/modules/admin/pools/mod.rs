//! Pool rules (admin, 公海规则): pools with their members (users and departments), admins, daily
//! claim cap, reclaim cooldown and reminder days, and each pool's recycle rules. The kernels that
//! apply them live in `crate::modules::pool` (`rules::recycle`, `rules::warn`, the claim checks).

mod handlers;
mod model;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Pools, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/pools", MANAGE, handlers::index)
        .get("/admin/pools/new", MANAGE, handlers::new)
        .post("/admin/pools", MANAGE, handlers::create)
        .post("/admin/pools/run", MANAGE, handlers::run_now)
        .get("/admin/pools/{id}", MANAGE, handlers::edit)
        .post("/admin/pools/{id}", MANAGE, handlers::update)
        .post("/admin/pools/{id}/delete", MANAGE, handlers::delete)
        .post("/admin/pools/{id}/rules", MANAGE, handlers::add_rule)
        .get("/admin/pools/{id}/rules/{rule_id}", MANAGE, handlers::edit_rule)
        .post("/admin/pools/{id}/rules/{rule_id}", MANAGE, handlers::update_rule)
        .post("/admin/pools/{id}/rules/{rule_id}/delete", MANAGE, handlers::delete_rule)
}
