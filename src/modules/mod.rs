//! Feature modules. Each has its own folder with `mod.rs` (routes), handlers, SQL and templates.

pub mod admin;
pub mod home;

use crate::access::Routes;

pub fn routes() -> Routes {
    Routes::new().merge(home::routes()).merge(admin::routes())
}
