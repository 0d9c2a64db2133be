//! The sidebar. An entry shows when the user passes its guard; entries are added as modules land.

use crate::access::{Action, Guard, Module};
use crate::web::RequestCtx;

#[derive(Clone, Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label_key: &'static str,
    pub icon: &'static str,
    pub active: bool,
}

struct Entry {
    href: &'static str,
    label_key: &'static str,
    icon: &'static str,
    guard: Guard,
    /// Paths that highlight this entry (prefix match); `href` when empty.
    prefixes: &'static [&'static str],
}

const MAIN: &[Entry] = &[
    Entry { href: "/", label_key: "nav.home", icon: "home", guard: Guard::Login, prefixes: &[] },
    Entry { href: "/todo", label_key: "nav.todo", icon: "check", guard: Guard::Login, prefixes: &["/todo"] },
    Entry {
        href: "/customers",
        label_key: "nav.customers",
        icon: "customer",
        guard: Guard::Perm(Module::Customers, Action::View),
        prefixes: &["/customers"],
    },
    Entry {
        href: "/contacts",
        label_key: "nav.contacts",
        icon: "contact",
        guard: Guard::Perm(Module::Contacts, Action::View),
        prefixes: &["/contacts"],
    },
    Entry {
        href: "/leads",
        label_key: "nav.leads",
        icon: "list",
        guard: Guard::Perm(Module::Leads, Action::View),
        prefixes: &["/leads"],
    },
    Entry {
        href: "/opportunities",
        label_key: "nav.opportunities",
        icon: "funnel",
        guard: Guard::Perm(Module::Opportunities, Action::View),
        prefixes: &["/opportunities"],
    },
    Entry {
        href: "/contracts",
        label_key: "nav.contracts",
        icon: "contract",
        guard: Guard::Perm(Module::Contracts, Action::View),
        prefixes: &["/contracts"],
    },
    Entry {
        href: "/payments",
        label_key: "nav.payments",
        icon: "coin",
        guard: Guard::Perm(Module::Payments, Action::View),
        prefixes: &["/payments"],
    },
    Entry {
        href: "/products",
        label_key: "nav.products",
        icon: "box",
        guard: Guard::Perm(Module::Products, Action::View),
        prefixes: &["/products"],
    },
    Entry {
        href: "/pool",
        label_key: "nav.pool",
        icon: "pool",
        guard: Guard::Perm(Module::Pool, Action::View),
        prefixes: &["/pool"],
    },
    Entry {
        href: "/tasks",
        label_key: "nav.tasks",
        icon: "task",
        guard: Guard::Perm(Module::Tasks, Action::View),
        prefixes: &["/tasks"],
    },
    Entry {
        href: "/calendar",
        label_key: "nav.calendar",
        icon: "calendar",
        guard: Guard::Perm(Module::Schedule, Action::View),
        prefixes: &["/calendar", "/events"],
    },
    Entry {
        href: "/worklogs",
        label_key: "nav.worklogs",
        icon: "note",
        guard: Guard::Perm(Module::Worklogs, Action::View),
        prefixes: &["/worklogs"],
    },
    Entry {
        href: "/approvals",
        label_key: "nav.approvals",
        icon: "check",
        guard: Guard::Login,
        prefixes: &["/approvals"],
    },
    Entry {
        href: "/followups",
        label_key: "nav.followups",
        icon: "list",
        guard: Guard::Perm(Module::Followups, Action::View),
        prefixes: &["/followups"],
    },
];

const ADMIN: &[Entry] = &[
    Entry {
        href: "/admin/departments",
        label_key: "nav.departments",
        icon: "org",
        guard: Guard::Perm(Module::Org, Action::Manage),
        prefixes: &["/admin/departments"],
    },
    Entry {
        href: "/admin/users",
        label_key: "nav.users",
        icon: "users",
        guard: Guard::Perm(Module::Org, Action::Manage),
        prefixes: &["/admin/users"],
    },
    Entry {
        href: "/admin/roles",
        label_key: "nav.roles",
        icon: "shield",
        guard: Guard::Perm(Module::Roles, Action::Manage),
        prefixes: &["/admin/roles"],
    },
    Entry {
        href: "/admin/dicts",
        label_key: "nav.dicts",
        icon: "book",
        guard: Guard::Perm(Module::Dicts, Action::Manage),
        prefixes: &["/admin/dicts"],
    },
    Entry {
        href: "/admin/fields",
        label_key: "nav.fields",
        icon: "fields",
        guard: Guard::Perm(Module::Fields, Action::Manage),
        prefixes: &["/admin/fields"],
    },
    Entry {
        href: "/admin/numbering",
        label_key: "nav.numbering",
        icon: "hash",
        guard: Guard::Perm(Module::Numbering, Action::Manage),
        prefixes: &["/admin/numbering"],
    },
    Entry {
        href: "/admin/customer-rules",
        label_key: "nav.customer_rules",
        icon: "settings",
        guard: Guard::Perm(Module::CustomerRules, Action::Manage),
        prefixes: &["/admin/customer-rules"],
    },
    Entry {
        href: "/admin/pools",
        label_key: "nav.pools",
        icon: "pool",
        guard: Guard::Perm(Module::Pools, Action::Manage),
        prefixes: &["/admin/pools"],
    },
    Entry {
        href: "/admin/stages",
        label_key: "nav.stage_groups",
        icon: "funnel",
        guard: Guard::Perm(Module::StageGroups, Action::Manage),
        prefixes: &["/admin/stages"],
    },
    Entry {
        href: "/admin/flows",
        label_key: "nav.flows",
        icon: "check",
        guard: Guard::Perm(Module::Flows, Action::Manage),
        prefixes: &["/admin/flows"],
    },
    Entry {
        href: "/admin/mail",
        label_key: "nav.mail",
        icon: "mail",
        guard: Guard::Perm(Module::Mail, Action::Manage),
        prefixes: &["/admin/mail"],
    },
    Entry {
        href: "/admin/logs",
        label_key: "nav.logs",
        icon: "log",
        guard: Guard::Perm(Module::Logs, Action::View),
        prefixes: &["/admin/logs"],
    },
];

/// (main entries, admin entries) visible to this user, with the current one marked active.
pub fn for_user(req: &RequestCtx, path: &str) -> (Vec<NavItem>, Vec<NavItem>) {
    let pick = |entries: &[Entry]| {
        entries
            .iter()
            .filter(|e| req.user.is_some() && e.guard.allows(req).is_ok())
            .map(|e| NavItem {
                href: e.href,
                label_key: e.label_key,
                icon: e.icon,
                active: if e.prefixes.is_empty() {
                    path == e.href
                } else {
                    e.prefixes.iter().any(|p| path.starts_with(p))
                },
            })
            .collect()
    };
    (pick(MAIN), pick(ADMIN))
}
