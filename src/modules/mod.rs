//! Feature modules. Each has its own folder with `mod.rs` (routes), handlers, SQL and templates.

pub mod admin;
pub mod customers;
pub mod home;
pub mod search;

use crate::access::Routes;

pub fn routes() -> Routes {
    Routes::new().merge(home::routes()).merge(search::routes()).merge(customers::routes()).merge(admin::routes())
}
