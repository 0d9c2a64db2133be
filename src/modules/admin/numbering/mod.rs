//! Numbering rules (编号规则): per document kind, prefix + date part + counter with width and
//! reset period. The list shows the next number; editing affects only new documents. The kernel
//! that hands numbers out is `crate::numbering`.

mod handlers;
mod model;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Numbering, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/numbering", MANAGE, handlers::index)
        .get("/admin/numbering/{kind}/edit", MANAGE, handlers::edit)
        .post("/admin/numbering/{kind}", MANAGE, handlers::update)
}
