//! Customer rules (admin): the duplicate-check rule of each field of customers (name, phone,
//! mobile, e-mail), contacts (phone, mobile, e-mail) and leads (company name, phone, mobile,
//! e-mail): on/off, whole company or same department, warn or block; and the ownership / lock caps per
//! user or department. The kernels that apply them are `crate::modules::customers::{dup, caps}`.

mod handlers;
mod model;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::CustomerRules, Action::Manage);

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/customer-rules", MANAGE, handlers::index)
        .post("/admin/customer-rules/dup", MANAGE, handlers::save_rules)
        .post("/admin/customer-rules/caps", MANAGE, handlers::create_cap)
        .get("/admin/customer-rules/caps/{id}/edit", MANAGE, handlers::edit_cap)
        .post("/admin/customer-rules/caps/{id}", MANAGE, handlers::update_cap)
        .post("/admin/customer-rules/caps/{id}/delete", MANAGE, handlers::delete_cap)
}
