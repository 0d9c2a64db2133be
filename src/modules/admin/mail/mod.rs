//! Mail settings (邮件设置): the SMTP accounts in order (primary, then fallbacks), a test mail that
//! reports the server's answer, and the outbox with retry and cancel. The sending itself is the
//! kernel's (`crate::mail`); this module registers its job.

mod handlers;
mod model;
mod quota;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const MANAGE: Guard = Guard::Perm(Module::Mail, Action::Manage);

pub fn register(r: &mut crate::registry::Registry) {
    r.job(crate::mail::outbox::job());
}

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/mail", MANAGE, handlers::index)
        .post("/admin/mail/test", MANAGE, handlers::test)
        .get("/admin/mail/accounts/new", MANAGE, handlers::new)
        .post("/admin/mail/accounts", MANAGE, handlers::create)
        .get("/admin/mail/accounts/{id}/edit", MANAGE, handlers::edit)
        .post("/admin/mail/accounts/{id}", MANAGE, handlers::update)
        .post("/admin/mail/accounts/{id}/delete", MANAGE, handlers::delete)
        .post("/admin/mail/accounts/{id}/up", MANAGE, handlers::up)
        .get("/admin/mail/quota", MANAGE, quota::index)
        .post("/admin/mail/quota/roles", MANAGE, quota::save_roles)
        .post("/admin/mail/quota/users", MANAGE, quota::save_user)
        .get("/admin/mail/outbox", MANAGE, handlers::outbox)
        .post("/admin/mail/outbox/{id}/retry", MANAGE, handlers::retry)
        .post("/admin/mail/outbox/{id}/cancel", MANAGE, handlers::cancel)
}
