//! Feature modules. Each has its own folder with `mod.rs` (routes), handlers, SQL and templates.

pub mod admin;
pub mod approvals;
pub mod contacts;
pub mod customers;
pub mod followups;
pub mod home;
pub mod leads;
pub mod notifications;
pub mod pool;
pub mod search;

use crate::access::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .merge(home::routes())
        .merge(search::routes())
        .merge(customers::routes())
        .merge(contacts::routes())
        .merge(followups::routes())
        .merge(notifications::routes())
        .merge(leads::routes())
        .merge(pool::routes())
        .merge(approvals::routes())
        .merge(admin::routes())
}
