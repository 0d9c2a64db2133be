//! The approval engine (审批流).
//!
//! - A subject (customer status upgrade, contract, payment: whatever the modules register) has flows; the enabled one is used.
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
//!   Subjects are registered by their modules (`subject::SubjectDef`); the engine knows none.
//! - Every step writes an audit row on the record (`approval_*` actions) and notifies: a new task
//!   its approver, the outcome the submitter.

pub mod engine;
pub mod labels;
pub mod model;
mod resolve;
mod subject;

use sqlx::PgConnection;

pub use engine::{
    Done, FlowError, Outcome, Submission, awaiting_picks, decide, pick, picks_of, preview, release_tasks_of, resubmit,
    submit, withdraw, withdraw_stale,
};
pub use model::{Condition, Flow, Instance, Mode, Stage, Status, Step, StepKind, Task};
pub use subject::{Subject, SubjectDef};

use crate::dicts::{Dicts, ITEM_COLUMNS};

/// The dictionaries the registered subjects' summaries need, read on the given connection
/// (inside a transaction too).
pub async fn summary_dicts(conn: &mut PgConnection) -> sqlx::Result<Dicts> {
    let mut codes: Vec<&str> = Subject::all().iter().flat_map(|s| s.0.dicts().iter().copied()).collect();
    codes.sort_unstable();
    codes.dedup();
    let rows = sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM dict_items WHERE dict = ANY($1)"))
        .bind(&codes)
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
