//! Admin areas: organisation (departments, users), roles and data scopes, dictionaries, custom
//! fields, numbering rules, customer rules (duplicates, caps), public pools, approval flows, opportunity stage groups, and
//! the operation and login logs.

pub mod customer_rules;
pub mod departments;
pub mod dicts;
pub mod fields;
pub mod flows;
pub mod logs;
pub mod mail;
pub mod numbering;
pub mod pools;
pub mod roles;
pub mod stages;
pub mod users;

use crate::access::Routes;

/// What the admin areas plug into the kernel: the user list's export.
pub fn register(r: &mut crate::registry::Registry) {
    users::register(r);
    mail::register(r);
}

pub fn routes() -> Routes {
    Routes::new()
        .merge(departments::routes())
        .merge(users::routes())
        .merge(roles::routes())
        .merge(logs::routes())
        .merge(dicts::routes())
        .merge(fields::routes())
        .merge(numbering::routes())
        .merge(customer_rules::routes())
        .merge(pools::routes())
        .merge(flows::routes())
        .merge(stages::routes())
        .merge(mail::routes())
}
