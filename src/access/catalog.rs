//! The permission catalog: every module's actions and what the seeded roles get. A module
//! appears here when it lands; the role editor and the seeded roles read this one table, and
//! route guards, buttons and the nav (`web/nav.rs`) ask `CurrentUser::can` about its entries.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    View,
    Create,
    Edit,
    Delete,
    /// Permanent delete from the recycle bin.
    Purge,
    Transfer,
    Import,
    Export,
    Approve,
    /// Hand out pool records to users.
    Assign,
    /// Put products on or take them off the shelf (上下架).
    Shelf,
    /// See products' cost prices.
    Cost,
    /// Void an approved contract (作废).
    Void,
    /// Use an admin page.
    Manage,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::View,
        Action::Create,
        Action::Edit,
        Action::Delete,
        Action::Purge,
        Action::Transfer,
        Action::Import,
        Action::Export,
        Action::Approve,
        Action::Assign,
        Action::Shelf,
        Action::Cost,
        Action::Void,
        Action::Manage,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::Create => "create",
            Action::Edit => "edit",
            Action::Delete => "delete",
            Action::Purge => "purge",
            Action::Transfer => "transfer",
            Action::Import => "import",
            Action::Export => "export",
            Action::Approve => "approve",
            Action::Assign => "assign",
            Action::Shelf => "shelf",
            Action::Cost => "cost",
            Action::Void => "void",
            Action::Manage => "manage",
        }
    }

    pub fn from_code(code: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.code() == code)
    }

    pub fn label_key(self) -> String {
        format!("action.{}", self.code())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Module {
    Dashboard,
    Customers,
    Contacts,
    Followups,
    Leads,
    Pool,
    /// The product catalogue: company-wide, no data scope.
    Products,
    Opportunities,
    Org,
    Roles,
    Logs,
    Dicts,
    Fields,
    Numbering,
    CustomerRules,
    Pools,
    Flows,
    /// Stage groups of opportunities (admin).
    StageGroups,
    /// Mail settings (SMTP accounts) and the outbox (admin).
    Mail,
    /// Contracts (合同) and their approval.
    Contracts,
    /// Payments (回款) and plans; plans are changed with the contract's edit right.
    Payments,
    /// Tasks (任务): their owner, creator and participants always see them; the scope adds
    /// subordinates' tasks for managers.
    Tasks,
    /// Schedule entries (日程) and the calendar.
    Schedule,
    /// Work logs (日志/周报/月报): their author and recipients always see them.
    Worklogs,
}

/// Which records of a module a role sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    SelfOnly,
    SelfAndSubordinates,
    Dept,
    DeptAndSub,
    All,
}

impl ScopeKind {
    pub const ALL: &'static [ScopeKind] =
        &[ScopeKind::SelfOnly, ScopeKind::SelfAndSubordinates, ScopeKind::Dept, ScopeKind::DeptAndSub, ScopeKind::All];

    pub fn code(self) -> &'static str {
        match self {
            ScopeKind::SelfOnly => "self",
            ScopeKind::SelfAndSubordinates => "subordinates",
            ScopeKind::Dept => "dept",
            ScopeKind::DeptAndSub => "dept_tree",
            ScopeKind::All => "all",
        }
    }

    pub fn from_code(code: &str) -> Option<ScopeKind> {
        ScopeKind::ALL.iter().copied().find(|s| s.code() == code)
    }

    pub fn label_key(self) -> String {
        format!("scope.{}", self.code())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Business,
    Admin,
}

pub struct ModuleDef {
    pub module: Module,
    pub code: &'static str,
    pub group: Group,
    pub actions: &'static [Action],
    /// Records of this module have owners and are filtered by a data scope.
    pub scoped: bool,
    /// Default grants of the seeded roles, by role code. The super admin has everything.
    pub defaults: &'static [(&'static str, &'static [Action])],
}

use Action::*;

const VIEW: &[Action] = &[View];
const CONTACT_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Transfer, Import, Export];
const LEAD_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Transfer, Import, Export];
const CUSTOMER_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Transfer, Import, Export, Approve];
const PRODUCT_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Shelf, Cost, Import, Export];
const OPPORTUNITY_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Transfer, Export];
const MANAGE: &[Action] = &[Manage];
const CONTRACT_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Transfer, Void, Approve, Export];
const PAYMENT_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Approve, Export];
const TASK_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Transfer, Export];
const TASK_DEFAULTS: &[Action] = &[View, Create, Edit, Delete, Transfer];
const TASK_MANAGER: &[Action] = &[View, Create, Edit, Delete, Transfer, Export];
/// Work logs: their list exports.
const WORK_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge, Export];
const WORK_DEFAULTS: &[Action] = &[View, Create, Edit, Delete];
const WORK_MANAGER: &[Action] = &[View, Create, Edit, Delete, Export];
/// Schedule: no export — events have no list of their own (the calendar is their page).
const EVENT_ACTIONS: &[Action] = &[View, Create, Edit, Delete, Purge];

pub const MODULES: &[ModuleDef] = &[
    ModuleDef {
        module: Module::Dashboard,
        code: "dashboard",
        group: Group::Business,
        actions: VIEW,
        scoped: true,
        defaults: &[("director", VIEW), ("manager", VIEW), ("rep", VIEW), ("readonly", VIEW)],
    },
    ModuleDef {
        module: Module::Customers,
        code: "customers",
        group: Group::Business,
        actions: CUSTOMER_ACTIONS,
        scoped: true,
        defaults: &[
            ("director", CUSTOMER_ACTIONS),
            ("manager", &[View, Create, Edit, Delete, Transfer, Import, Export, Approve]),
            ("rep", &[View, Create, Edit, Delete, Transfer]),
            ("readonly", VIEW),
        ],
    },
    ModuleDef {
        module: Module::Contacts,
        code: "contacts",
        group: Group::Business,
        actions: CONTACT_ACTIONS,
        scoped: true,
        defaults: &[
            ("director", CONTACT_ACTIONS),
            ("manager", &[View, Create, Edit, Delete, Transfer, Import, Export]),
            ("rep", &[View, Create, Edit, Delete, Transfer]),
            ("readonly", VIEW),
        ],
    },
    // Follow-up records (跟进记录): who may read the follow-up pages; adding one needs the right
    // to change the record it is about.
    ModuleDef {
        module: Module::Followups,
        code: "followups",
        group: Group::Business,
        actions: &[View, Export],
        scoped: true,
        defaults: &[("director", &[View, Export]), ("manager", &[View, Export]), ("rep", VIEW), ("readonly", VIEW)],
    },
    ModuleDef {
        module: Module::Leads,
        code: "leads",
        group: Group::Business,
        actions: LEAD_ACTIONS,
        scoped: true,
        defaults: &[
            ("director", LEAD_ACTIONS),
            ("manager", &[View, Create, Edit, Delete, Transfer, Import, Export]),
            ("rep", &[View, Create, Edit, Delete, Transfer]),
            ("readonly", VIEW),
        ],
    },
    // The public pool (公海): view = see the pools one is a member of and claim from them;
    // assign = hand pool customers to users (pool admins always may, in their pools).
    ModuleDef {
        module: Module::Pool,
        code: "pool",
        group: Group::Business,
        actions: &[View, Assign, Export],
        scoped: false,
        defaults: &[("director", &[View, Assign, Export]), ("manager", &[View, Assign, Export]), ("rep", VIEW)],
    },
    ModuleDef {
        module: Module::Products,
        code: "products",
        group: Group::Business,
        actions: PRODUCT_ACTIONS,
        scoped: false,
        defaults: &[
            ("director", PRODUCT_ACTIONS),
            ("manager", &[View, Cost, Export]),
            ("rep", VIEW),
            ("readonly", VIEW),
        ],
    },
    ModuleDef {
        module: Module::Opportunities,
        code: "opportunities",
        group: Group::Business,
        actions: OPPORTUNITY_ACTIONS,
        scoped: true,
        defaults: &[
            ("director", OPPORTUNITY_ACTIONS),
            ("manager", &[View, Create, Edit, Delete, Transfer, Export]),
            ("rep", &[View, Create, Edit, Delete, Transfer]),
            ("readonly", VIEW),
        ],
    },
    // Contracts and payments: managers approve (the approval engine asks only holders of
    // `approve` on the subject's module; super admins always). Databases made before these
    // modules had all their actions get the defaults again (migration 0026).
    ModuleDef {
        module: Module::Contracts,
        code: "contracts",
        group: Group::Business,
        actions: CONTRACT_ACTIONS,
        scoped: true,
        defaults: &[
            ("director", CONTRACT_ACTIONS),
            ("manager", &[View, Create, Edit, Delete, Transfer, Void, Approve, Export]),
            ("rep", &[View, Create, Edit, Delete, Transfer]),
            ("readonly", VIEW),
        ],
    },
    ModuleDef {
        module: Module::Payments,
        code: "payments",
        group: Group::Business,
        actions: PAYMENT_ACTIONS,
        scoped: true,
        defaults: &[
            ("director", PAYMENT_ACTIONS),
            ("manager", &[View, Create, Edit, Delete, Approve, Export]),
            ("rep", &[View, Create, Edit, Delete]),
            ("readonly", VIEW),
        ],
    },
    // Daily work: everyone plans their own day; managers see their subordinates' through the
    // scope.
    ModuleDef {
        module: Module::Tasks,
        code: "tasks",
        group: Group::Business,
        actions: TASK_ACTIONS,
        scoped: true,
        defaults: &[("director", TASK_ACTIONS), ("manager", TASK_MANAGER), ("rep", TASK_DEFAULTS), ("readonly", VIEW)],
    },
    ModuleDef {
        module: Module::Schedule,
        code: "schedule",
        group: Group::Business,
        actions: EVENT_ACTIONS,
        scoped: true,
        defaults: &[
            ("director", EVENT_ACTIONS),
            ("manager", WORK_DEFAULTS),
            ("rep", WORK_DEFAULTS),
            ("readonly", VIEW),
        ],
    },
    ModuleDef {
        module: Module::Worklogs,
        code: "worklogs",
        group: Group::Business,
        actions: WORK_ACTIONS,
        scoped: true,
        defaults: &[("director", WORK_ACTIONS), ("manager", WORK_MANAGER), ("rep", WORK_DEFAULTS), ("readonly", VIEW)],
    },
    ModuleDef { module: Module::Org, code: "org", group: Group::Admin, actions: MANAGE, scoped: false, defaults: &[] },
    ModuleDef {
        module: Module::Roles,
        code: "roles",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::Dicts,
        code: "dicts",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::Fields,
        code: "fields",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::Numbering,
        code: "numbering",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::CustomerRules,
        code: "customer_rules",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::Pools,
        code: "pools",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::Flows,
        code: "flows",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::StageGroups,
        code: "stage_groups",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::Mail,
        code: "mail",
        group: Group::Admin,
        actions: MANAGE,
        scoped: false,
        defaults: &[],
    },
    ModuleDef {
        module: Module::Logs,
        code: "logs",
        group: Group::Admin,
        actions: VIEW,
        scoped: false,
        defaults: &[("director", VIEW)],
    },
];

/// Default data scope of each seeded role, for every scoped module.
pub const DEFAULT_SCOPES: &[(&str, ScopeKind)] = &[
    ("director", ScopeKind::All),
    ("manager", ScopeKind::DeptAndSub),
    ("rep", ScopeKind::SelfOnly),
    ("readonly", ScopeKind::SelfAndSubordinates),
];

impl Module {
    pub fn def(self) -> &'static ModuleDef {
        MODULES.iter().find(|d| d.module == self).expect("every module is in MODULES")
    }

    pub fn code(self) -> &'static str {
        self.def().code
    }

    pub fn from_code(code: &str) -> Option<Module> {
        MODULES.iter().find(|d| d.code == code).map(|d| d.module)
    }

    pub fn label_key(self) -> String {
        format!("module.{}", self.code())
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Give seeded roles the defaults of modules they have not received defaults for yet.
/// Runs after migrations; a module's defaults are applied once, so admins' later edits stay.
pub async fn apply_role_defaults(db: &sqlx::PgPool) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("LOCK TABLE role_defaults_applied IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    for def in MODULES {
        let done: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM role_defaults_applied WHERE module = $1)")
            .bind(def.code)
            .fetch_one(&mut *tx)
            .await?;
        if done {
            continue;
        }
        for (role_code, actions) in def.defaults {
            for action in *actions {
                sqlx::query(
                    "INSERT INTO role_permissions (role_id, module, action)
                     SELECT id, $2, $3 FROM roles WHERE code = $1 ON CONFLICT DO NOTHING",
                )
                .bind(role_code)
                .bind(def.code)
                .bind(action.code())
                .execute(&mut *tx)
                .await?;
            }
        }
        if def.scoped {
            for (role_code, scope) in DEFAULT_SCOPES {
                sqlx::query(
                    "INSERT INTO role_scopes (role_id, module, scope)
                     SELECT id, $2, $3 FROM roles WHERE code = $1 ON CONFLICT DO NOTHING",
                )
                .bind(role_code)
                .bind(def.code)
                .bind(scope.code())
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("INSERT INTO role_defaults_applied (module) VALUES ($1)").bind(def.code).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
