//! Operation log (操作日志) and login log (登录日志).

mod handlers;
mod model;
mod repo;

use crate::access::{Action, Guard, Module, Routes};

const VIEW: Guard = Guard::Perm(Module::Logs, Action::View);

pub fn routes() -> Routes {
    Routes::new().get("/admin/logs", VIEW, handlers::index).get("/admin/logs/logins", VIEW, handlers::logins)
}
