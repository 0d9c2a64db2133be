//! The approval engine (审批流).
//!
//! - A subject (customer status upgrade, contract, payment) has flows; the enabled one is used.
//!   A flow has ordered steps: named users, a role's holders, the superior at level N, the
//!   consecutive superiors up to level N, or approvers the submitter picks; any-one (或签) or all
//!   (会签); optional conditions (amount above X, submitter's department) decide whether a step
//!   applies. See `model`.
//! - `engine::submit` plans an instance from the flow (no enabled flow, or no step applies →
//!   approved at once), `decide` approves or rejects a task, `withdraw` and `resubmit` serve the
//!   submitter. Each runs in the caller's transaction and locks the instance row first, so two
//!   approvers acting at the same moment get one result and the second a clear "already handled".
//!   A stage that finds nobody (top of the chain, disabled users, users without the `approve`
//!   permission on the subject's module) goes to the active super admins. Only holders of
//!   `approve` on `Subject::module` (and super admins) are asked, and only they may decide.
//! - A submitter-picks stage nobody has picked for (e.g. the automatic level-7 submission) waits:
//!   the submitter side is told to choose from the allowed set (`pick`), and its tasks start then.
//! - `resubmit` plans again from the subject's current flow and organisation; from the rejected
//!   step it keeps the stages decided before it and plans that stage and the later ones afresh.
//! - `withdraw_stale` takes back a request that no longer applies (the subject decides when);
//!   `release_tasks_of` hands a disabled user's open tasks to the super admins.
//! - The subject's callbacks run in the same transaction when an instance reaches a final state;
//!   `describe` names the record for the inbox; `can_view_record` says who, besides the
//!   participants, may follow an instance read-only (whoever can see the record it is about).
//!   New subjects add an arm to each `match` below.
//! - Every step writes an audit row on the record (`approval_*` actions) and notifies: a new task
//!   its approver, the outcome the submitter.

pub mod engine;
pub mod labels;
pub mod model;
mod resolve;

use std::collections::HashMap;

use sqlx::{PgConnection, PgPool};

pub use engine::{
    Done, FlowError, Outcome, Submission, awaiting_picks, decide, pick, release_tasks_of, resubmit, submit, withdraw,
    withdraw_stale,
};
pub use model::{Condition, Flow, Instance, Mode, Stage, Status, Step, StepKind, Task};

use crate::access::Module;
use crate::auth::CurrentUser;
use crate::dicts::{Dicts, ITEM_COLUMNS};
use crate::error::AppResult;
use crate::web::i18n::Lang;

/// What is being approved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// Raising a customer to the next status (payload: from_status, to_status).
    CustomerStatus,
    /// Contracts (payload: amount) — registered so admins can shape the flow before the module lands.
    Contract,
    /// Payments (payload: amount).
    Payment,
}

impl Subject {
    pub const ALL: &'static [Subject] = &[Subject::CustomerStatus, Subject::Contract, Subject::Payment];

    pub fn code(self) -> &'static str {
        match self {
            Subject::CustomerStatus => "customer_status",
            Subject::Contract => "contract",
            Subject::Payment => "payment",
        }
    }

    pub fn from_code(code: &str) -> Option<Subject> {
        Subject::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// The entity whose history (audit rows) and timeline the approval belongs to.
    pub fn entity(self) -> &'static str {
        match self {
            Subject::CustomerStatus => "customer",
            Subject::Contract => "contract",
            Subject::Payment => "payment",
        }
    }

    /// The permission module whose `approve` an approver of this subject needs (super admins
    /// always have it): approvers without it are skipped when a stage is planned or starts, and
    /// cannot decide.
    pub fn module(self) -> Module {
        match self {
            Subject::CustomerStatus => Module::Customers,
            Subject::Contract => Module::Contracts,
            Subject::Payment => Module::Payments,
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Subject::CustomerStatus => "approval.subject.customer_status",
            Subject::Contract => "approval.subject.contract",
            Subject::Payment => "approval.subject.payment",
        }
    }

    /// Subjects whose instances belong to records of `entity` (for a record's timeline).
    pub fn for_entity(entity: &str) -> Vec<Subject> {
        Subject::ALL.iter().copied().filter(|s| s.entity() == entity).collect()
    }

    /// (title, link) of each record, for the inbox and notifications. Records that are gone
    /// show as "#id" without a link.
    pub async fn describe(
        self,
        conn: &mut PgConnection,
        ids: &[i64],
    ) -> sqlx::Result<HashMap<i64, (String, Option<String>)>> {
        let mut out: HashMap<i64, (String, Option<String>)> =
            ids.iter().map(|id| (*id, (format!("#{id}"), None))).collect();
        match self {
            Subject::CustomerStatus => {
                let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM customers WHERE id = ANY($1)")
                    .bind(ids)
                    .fetch_all(&mut *conn)
                    .await?;
                for (id, name) in rows {
                    out.insert(id, (name, Some(format!("/customers/{id}"))));
                }
            }
            Subject::Contract | Subject::Payment => {}
        }
        Ok(out)
    }

    /// Whether `user` can see the record itself (its module's view permission and data scope,
    /// team, shares), and so may follow its approvals read-only: steps, decisions, comments, but
    /// no actions (those stay with the approvers and the submitter). Subjects whose module has
    /// not landed yet answer no: only their participants see them.
    pub async fn can_view_record(self, db: &PgPool, user: &CurrentUser, record_id: i64) -> AppResult<bool> {
        match self {
            Subject::CustomerStatus => crate::modules::customers::status::can_view(db, user, record_id).await,
            Subject::Contract | Subject::Payment => Ok(false),
        }
    }

    /// A one-line summary of what is asked, e.g. "基础客户 → 潜在客户" or "金额 120,000.00".
    pub fn summary(self, payload: &serde_json::Value, dicts: &Dicts, lang: Lang) -> String {
        let id = |key: &str| payload.get(key).and_then(|v| v.as_i64());
        match self {
            Subject::CustomerStatus => {
                let from = dicts.label(id("from_status"), lang);
                let to = dicts.label(id("to_status"), lang);
                lang.tf("approval.summary.status", &[("from", &from), ("to", &to)])
            }
            Subject::Contract | Subject::Payment => match payload.get("amount") {
                Some(a) => {
                    let amount = a.as_str().map(str::to_string).unwrap_or_else(|| a.to_string());
                    lang.tf("approval.summary.amount", &[("amount", &amount)])
                }
                None => String::new(),
            },
        }
    }

    /// The instance reached "approved": make it so on the record (same transaction).
    pub async fn on_approved(
        self,
        tx: &mut PgConnection,
        inst: &Instance,
        actor: Option<i64>,
        ip: Option<&str>,
    ) -> AppResult<()> {
        match self {
            Subject::CustomerStatus => crate::modules::customers::status::on_approved(tx, inst, actor, ip).await,
            Subject::Contract | Subject::Payment => Ok(()),
        }
    }

    /// The instance was rejected. Customer status: nothing moves.
    pub async fn on_rejected(
        self,
        _tx: &mut PgConnection,
        _inst: &Instance,
        _actor: Option<i64>,
        _ip: Option<&str>,
    ) -> AppResult<()> {
        match self {
            Subject::CustomerStatus | Subject::Contract | Subject::Payment => Ok(()),
        }
    }

    /// The submitter withdrew it. Customer status: nothing moves.
    pub async fn on_withdrawn(self, _tx: &mut PgConnection, _inst: &Instance) -> AppResult<()> {
        match self {
            Subject::CustomerStatus | Subject::Contract | Subject::Payment => Ok(()),
        }
    }

    /// Whether a rejected or withdrawn instance may go round again; Err is an i18n key.
    pub async fn check_resubmit(self, tx: &mut PgConnection, inst: &Instance) -> AppResult<Result<(), &'static str>> {
        match self {
            Subject::CustomerStatus => crate::modules::customers::status::check_resubmit(tx, inst).await,
            Subject::Contract | Subject::Payment => Ok(Ok(())),
        }
    }
}

/// The dictionaries summaries need, read on the given connection (inside a transaction too).
pub async fn summary_dicts(conn: &mut PgConnection) -> sqlx::Result<Dicts> {
    let rows = sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM dict_items WHERE dict = 'customer_status'"))
        .fetch_all(conn)
        .await?;
    Ok(Dicts::from_items(rows))
}

/// The latest instance of a record for `subject` (any status).
pub async fn latest(conn: &mut PgConnection, subject: Subject, record_id: i64) -> sqlx::Result<Option<Instance>> {
    sqlx::query_as(&format!(
        "SELECT {} FROM approval_instances WHERE subject = $1 AND record_id = $2 ORDER BY id DESC LIMIT 1",
        model::INSTANCE_COLUMNS
    ))
    .bind(subject.code())
    .bind(record_id)
    .fetch_optional(conn)
    .await
}

/// Whether the record has a pending instance for `subject`.
pub async fn has_pending(conn: &mut PgConnection, subject: Subject, record_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM approval_instances WHERE subject = $1 AND record_id = $2 AND status = 'pending')",
    )
    .bind(subject.code())
    .bind(record_id)
    .fetch_one(conn)
    .await
}

/// The instance with its tasks (all rounds), for the progress view.
pub async fn tasks(conn: &mut PgConnection, instance_id: i64) -> sqlx::Result<Vec<Task>> {
    sqlx::query_as(&format!("{} WHERE t.instance_id = $1 ORDER BY t.stage, t.round, t.id", model::TASK_SELECT))
        .bind(instance_id)
        .fetch_all(conn)
        .await
}

pub async fn find(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Instance>> {
    sqlx::query_as(&format!("SELECT {} FROM approval_instances WHERE id = $1", model::INSTANCE_COLUMNS))
        .bind(id)
        .fetch_optional(conn)
        .await
}
