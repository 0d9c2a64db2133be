//! Feature modules. Each has its own folder with `mod.rs` (routes and what it registers),
//! pages, SQL and templates. `register` hands the registry every module's record kinds,
//! approval subjects and jobs; `routes` merges every module's routes.

pub mod admin;
pub mod approvals;
pub mod contacts;
pub mod contracts;
pub mod customers;
pub mod followups;
pub mod home;
pub mod leads;
pub mod notifications;
pub mod opportunities;
pub mod payments;
pub mod pool;
pub mod products;
pub mod schedule;
pub mod search;
pub mod tasks;
pub mod todo;
pub mod worklogs;

use crate::access::Routes;
use crate::registry::Registry;

/// Everything the modules plug into the kernel, in the order lists and tabs show them.
pub fn register(r: &mut Registry) {
    customers::register(r);
    notifications::register(r);
    approvals::register(r);
    followups::register(r);
    contacts::register(r);
    leads::register(r);
    pool::register(r);
    products::register(r);
    opportunities::register(r);
    contracts::register(r);
    payments::register(r);
    tasks::register(r);
    schedule::register(r);
    worklogs::register(r);
    todo::register(r);
    admin::register(r);
}

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
        .merge(products::routes())
        .merge(opportunities::routes())
        .merge(contracts::routes())
        .merge(payments::routes())
        .merge(approvals::routes())
        .merge(todo::routes())
        .merge(tasks::routes())
        .merge(schedule::routes())
        .merge(worklogs::routes())
        .merge(admin::routes())
}
