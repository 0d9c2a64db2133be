//! State transitions of an approval: submit, decide, withdraw, resubmit. Each runs inside the
//! caller's transaction and starts by locking the instance row (`FOR UPDATE`), so concurrent
//! actions on one instance are serialised: the first wins and the second learns who handled it.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::types::Json;
use sqlx::{Connection, PgConnection};

use super::model::{FLOW_COLUMNS, Flow, INSTANCE_COLUMNS, Instance, Mode, STEP_COLUMNS, Stage, Status, Step, StepKind};
use super::resolve::{self, Facts};
use super::{Subject, summary_dicts};
use crate::audit::Entry;
use crate::error::AppError;
use crate::web::i18n::Lang;

pub use super::resolve::allowed_set;

/// A new approval.
#[derive(Clone, Debug)]
pub struct Submission {
    pub subject: Subject,
    pub record_id: i64,
    pub submitted_by: i64,
    /// Whose superior chain superior steps follow (the record's owner); None → the submitter.
    pub owner_id: Option<i64>,
    /// Subject facts: {"from_status", "to_status"} for customers, {"amount"} for money.
    pub payload: Value,
    /// Approvers the submitter picked, by step seq (submitter-picks steps).
    pub picks: BTreeMap<i32, Vec<i64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Waiting for (further) approvers.
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    pub instance_id: i64,
    pub outcome: Outcome,
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the record already has a pending approval")]
    AlreadyPending,
    #[error("no such approval")]
    NotFound,
    #[error("not an approver or submitter of this approval")]
    Forbidden,
    /// Someone else decided (or the submitter withdrew) first; their name.
    #[error("already handled by {0}")]
    HandledBy(String),
    /// The instance is not in a state that allows this (withdraw after a decision, ...).
    #[error("not allowed in this state: {0}")]
    State(&'static str),
    /// Refused input; an i18n key.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<sqlx::Error> for FlowError {
    fn from(e: sqlx::Error) -> Self {
        FlowError::App(e.into())
    }
}

impl From<FlowError> for AppError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::AlreadyPending => AppError::Conflict("approval.error.already_pending"),
            FlowError::NotFound => AppError::NotFound,
            FlowError::Forbidden => AppError::Forbidden,
            FlowError::HandledBy(_) => AppError::Conflict("approval.error.handled"),
            FlowError::State(k) => AppError::Conflict(k),
            FlowError::Invalid(k) => AppError::BadRequest(k),
            FlowError::App(e) => e,
        }
    }
}

fn is_pending_conflict(e: &sqlx::Error) -> bool {
    crate::error::broke(e, "approval_instances_one_pending")
}

/// Start an approval. The subject's enabled flow is planned (conditions, approvers); no enabled
/// flow or no applicable step → approved at once, the subject's callback running in this
/// transaction. A record has at most one pending approval per subject.
pub async fn submit(tx: &mut PgConnection, s: Submission, ip: Option<&str>) -> Result<Done, FlowError> {
    if super::has_pending(tx, s.subject, s.record_id).await? {
        return Err(FlowError::AlreadyPending);
    }
    let (flow, steps) = current_flow(tx, s.subject).await?;
    let facts = Facts {
        subject: s.subject,
        submitted_by: s.submitted_by,
        chain_user: s.owner_id.unwrap_or(s.submitted_by),
        payload: &s.payload,
        picks: &s.picks,
        earlier_picks: &BTreeMap::new(),
    };
    let plan = resolve::plan(tx, &steps, &facts).await?;
    // A savepoint, so losing a race to the one-pending index leaves the caller's transaction usable.
    let mut sp = tx.begin().await?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO approval_instances
           (subject, record_id, flow_id, flow_name, status, current_step, resubmit_from, plan, submitted_by, owner_id, payload)
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(s.subject.code())
    .bind(s.record_id)
    .bind(flow.as_ref().map(|f| f.id))
    .bind(flow.as_ref().map(|f| f.name.clone()).unwrap_or_default())
    .bind(flow.as_ref().map(|f| f.resubmit_from.clone()).unwrap_or_else(|| "first".into()))
    .bind(Json(&plan))
    .bind(s.submitted_by)
    .bind(s.owner_id)
    .bind(Json(&s.payload))
    .fetch_one(&mut *sp)
    .await;
    let id = match inserted {
        Ok(id) => id,
        Err(e) if is_pending_conflict(&e) => {
            sp.rollback().await?;
            return Err(FlowError::AlreadyPending);
        }
        Err(e) => return Err(e.into()),
    };
    sp.commit().await?;
    let inst = lock(tx, id).await?;
    let dicts = summary_dicts(tx).await?;
    let what = json!({
        "zh": format!("{}：{}", Lang::Zh.t(s.subject.label_key()), s.subject.summary(&s.payload, &dicts, Lang::Zh)),
        "en": format!("{}: {}", Lang::En.t(s.subject.label_key()), s.subject.summary(&s.payload, &dicts, Lang::En)),
    });
    Entry::new(s.subject.entity(), s.record_id, "approval_submit")
        .change("approval", Value::Null, what)
        .write(tx, Some(s.submitted_by), ip)
        .await?;
    if plan.is_empty() {
        // Nothing to ask anyone: approved by the system.
        Entry::new(s.subject.entity(), s.record_id, "approval_approve").write(tx, None, ip).await?;
        finish(tx, &inst, Status::Approved, None, "", ip).await?;
        return Ok(Done { instance_id: id, outcome: Outcome::Approved });
    }
    activate(tx, &inst, 1, inst.round).await?;
    Ok(Done { instance_id: id, outcome: Outcome::Pending })
}

/// The stages a submission would go through now (conditions applied, approvers found, nothing
/// picked): what a submit page shows, and which submitter-picks stages it asks for.
pub async fn preview(tx: &mut PgConnection, s: &Submission) -> Result<Vec<Stage>, FlowError> {
    let (_, steps) = current_flow(tx, s.subject).await?;
    let facts = Facts {
        subject: s.subject,
        submitted_by: s.submitted_by,
        chain_user: s.owner_id.unwrap_or(s.submitted_by),
        payload: &s.payload,
        picks: &s.picks,
        earlier_picks: &BTreeMap::new(),
    };
    resolve::plan(tx, &steps, &facts).await
}

/// Approvers picked on a form: `picks_<step seq>=<user id>`, repeated.
pub fn picks_of(form: &crate::web::FormData) -> BTreeMap<i32, Vec<i64>> {
    let mut picks: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (k, v) in form.pairs() {
        if let (Some(seq), Ok(u)) = (k.strip_prefix("picks_").and_then(|s| s.parse::<i32>().ok()), v.parse::<i64>()) {
            picks.entry(seq).or_default().push(u);
        }
    }
    picks
}

/// The subject's enabled flow (if any) and its steps in order.
async fn current_flow(tx: &mut PgConnection, subject: Subject) -> sqlx::Result<(Option<Flow>, Vec<Step>)> {
    let flow: Option<Flow> =
        sqlx::query_as(&format!("SELECT {FLOW_COLUMNS} FROM approval_flows WHERE subject = $1 AND enabled"))
            .bind(subject.code())
            .fetch_optional(&mut *tx)
            .await?;
    let steps: Vec<Step> = match &flow {
        Some(f) => {
            sqlx::query_as(&format!("SELECT {STEP_COLUMNS} FROM approval_steps WHERE flow_id = $1 ORDER BY seq"))
                .bind(f.id)
                .fetch_all(&mut *tx)
                .await?
        }
        None => Vec::new(),
    };
    Ok((flow, steps))
}

/// Lock and read an instance for the rest of the transaction.
pub async fn lock(tx: &mut PgConnection, id: i64) -> Result<Instance, FlowError> {
    sqlx::query_as(&format!("SELECT {INSTANCE_COLUMNS} FROM approval_instances WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(FlowError::NotFound)
}

/// Start stage `stage_no` (1-based) of the plan: a task for each approver who still may approve
/// (active, `approve` on the subject's module), or for each active super admin when none is left
/// (marked fallback); each approver is told. A submitter-picks stage nobody has picked for waits
/// instead: the submitter side is asked to choose (`pick`) — unless nobody could be picked, when
/// it falls back too.
async fn activate(tx: &mut PgConnection, inst: &Instance, stage_no: i32, round: i32) -> Result<(), FlowError> {
    let subject = inst.subject().ok_or(FlowError::NotFound)?;
    let stage: &Stage = inst.plan.0.get((stage_no - 1) as usize).ok_or(FlowError::NotFound)?;
    sqlx::query("UPDATE approval_instances SET current_step = $2 WHERE id = $1")
        .bind(inst.id)
        .bind(stage_no)
        .execute(&mut *tx)
        .await?;
    let link = format!("/approvals/{}", inst.id);
    if stage.kind() == StepKind::SubmitterPicks
        && stage.approvers.is_empty()
        && !resolve::allowed_set(tx, stage, subject.module()).await?.is_empty()
    {
        let params = notice_params(tx, inst, None, "").await?;
        for u in submitter_side(inst) {
            crate::notify::send(tx, u, "approval_pick", params.clone(), Some(&link), None).await?;
        }
        return Ok(());
    }
    let mut approvers = resolve::eligible(tx, &stage.approvers, subject.module()).await?;
    let fallback = approvers.is_empty();
    if fallback {
        approvers = resolve::super_admins(tx).await?;
    }
    if approvers.is_empty() {
        return Err(FlowError::Invalid("approval.error.no_approver"));
    }
    add_tasks(tx, inst, stage_no, stage.step_seq, round, &approvers, fallback).await
}

/// Tasks of stage `stage_no` for `approvers`, each told.
async fn add_tasks(
    tx: &mut PgConnection,
    inst: &Instance,
    stage_no: i32,
    step_seq: i32,
    round: i32,
    approvers: &[i64],
    fallback: bool,
) -> Result<(), FlowError> {
    let params = notice_params(tx, inst, None, "").await?;
    let link = format!("/approvals/{}", inst.id);
    for a in approvers {
        sqlx::query(
            "INSERT INTO approval_tasks (instance_id, stage, step_seq, round, approver_id, fallback)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(inst.id)
        .bind(stage_no)
        .bind(step_seq)
        .bind(round)
        .bind(a)
        .bind(fallback)
        .execute(&mut *tx)
        .await?;
        crate::notify::send(tx, *a, "approval_task", params.clone(), Some(&link), Some(inst.submitted_by)).await?;
    }
    Ok(())
}

/// The submitter and the owner it was submitted for (once each).
fn submitter_side(inst: &Instance) -> Vec<i64> {
    let mut out = vec![inst.submitted_by];
    if let Some(o) = inst.owner_id.filter(|o| *o != inst.submitted_by) {
        out.push(o);
    }
    out
}

/// Approve or reject the actor's pending task on the instance's current stage, with a comment.
/// Any-one: the first decision settles the stage and cancels the others' tasks. All: the stage
/// moves on when every task is approved. A rejection ends the instance.
pub async fn decide(
    tx: &mut PgConnection,
    id: i64,
    actor: i64,
    approve: bool,
    comment: &str,
    ip: Option<&str>,
) -> Result<Done, FlowError> {
    let inst = lock(tx, id).await?;
    let task: Option<(i64, bool)> = sqlx::query_as(
        "SELECT id, fallback FROM approval_tasks
         WHERE instance_id = $1 AND approver_id = $2 AND status = 'pending' AND stage = $3 AND round = $4
         ORDER BY id LIMIT 1",
    )
    .bind(id)
    .bind(actor)
    .bind(inst.current_step)
    .bind(inst.round)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((task_id, fallback)) = task.filter(|_| inst.is_pending()) else {
        return Err(why_not(tx, &inst, actor).await?);
    };
    let subject = inst.subject().ok_or(FlowError::NotFound)?;
    if !resolve::may_approve(tx, actor, subject.module()).await? {
        // Lost the `approve` permission since the task was made.
        return Err(FlowError::Forbidden);
    }
    let comment = comment.trim();
    sqlx::query("UPDATE approval_tasks SET status = $2, comment = $3, decided_at = now() WHERE id = $1")
        .bind(task_id)
        .bind(if approve { "approved" } else { "rejected" })
        .bind(comment)
        .execute(&mut *tx)
        .await?;
    let mut entry =
        Entry::new(subject.entity(), inst.record_id, if approve { "approval_approve" } else { "approval_reject" });
    if !comment.is_empty() {
        entry = entry.note(comment);
    }
    entry.write(tx, Some(actor), ip).await?;

    if !approve {
        finish(tx, &inst, Status::Rejected, Some(actor), comment, ip).await?;
        return Ok(Done { instance_id: id, outcome: Outcome::Rejected });
    }
    let stage = inst.plan.0.get((inst.current_step - 1) as usize);
    if stage.map(|s| s.mode()).unwrap_or(Mode::Any) == Mode::Any {
        cancel_pending(tx, id).await?;
    } else {
        if fallback {
            // A super admin standing in for approvers who are missing (none found, or disabled
            // meanwhile): one of them covers those; the stage's own approvers still sign.
            sqlx::query(
                "UPDATE approval_tasks SET status = 'cancelled', decided_at = now()
                 WHERE instance_id = $1 AND stage = $2 AND round = $3 AND status = 'pending' AND fallback",
            )
            .bind(id)
            .bind(inst.current_step)
            .bind(inst.round)
            .execute(&mut *tx)
            .await?;
        }
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM approval_tasks WHERE instance_id = $1 AND stage = $2 AND round = $3 AND status = 'pending'",
        )
        .bind(id)
        .bind(inst.current_step)
        .bind(inst.round)
        .fetch_one(&mut *tx)
        .await?;
        if left > 0 {
            return Ok(Done { instance_id: id, outcome: Outcome::Pending });
        }
    }
    let next = inst.current_step + 1;
    if next as usize > inst.plan.0.len() {
        finish(tx, &inst, Status::Approved, Some(actor), comment, ip).await?;
        return Ok(Done { instance_id: id, outcome: Outcome::Approved });
    }
    activate(tx, &inst, next, inst.round).await?;
    Ok(Done { instance_id: id, outcome: Outcome::Pending })
}

/// Whether `user` could decide now: a pending task on the instance's current stage, and the
/// `approve` permission on the subject's module.
pub async fn pending_task_of(tx: &mut PgConnection, inst: &Instance, user: i64) -> sqlx::Result<bool> {
    let Some(subject) = inst.subject().filter(|_| inst.is_pending()) else {
        return Ok(false);
    };
    let has: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM approval_tasks WHERE instance_id = $1 AND approver_id = $2
           AND status = 'pending' AND stage = $3 AND round = $4)",
    )
    .bind(inst.id)
    .bind(user)
    .bind(inst.current_step)
    .bind(inst.round)
    .fetch_one(&mut *tx)
    .await?;
    Ok(has && resolve::may_approve(tx, user, subject.module()).await?)
}

/// Why the actor has nothing to decide: not theirs at all (403), or someone got there first.
async fn why_not(tx: &mut PgConnection, inst: &Instance, actor: i64) -> Result<FlowError, FlowError> {
    let involved: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM approval_tasks WHERE instance_id = $1 AND approver_id = $2)")
            .bind(inst.id)
            .bind(actor)
            .fetch_one(&mut *tx)
            .await?;
    if !involved {
        return Ok(FlowError::Forbidden);
    }
    let name: Option<String> = if inst.status() == Status::Withdrawn {
        sqlx::query_scalar("SELECT name FROM users WHERE id = $1")
            .bind(inst.submitted_by)
            .fetch_optional(&mut *tx)
            .await?
    } else {
        sqlx::query_scalar(
            "SELECT u.name FROM approval_tasks t JOIN users u ON u.id = t.approver_id
             WHERE t.instance_id = $1 AND t.status IN ('approved', 'rejected')
             ORDER BY t.decided_at DESC, t.id DESC LIMIT 1",
        )
        .bind(inst.id)
        .fetch_optional(&mut *tx)
        .await?
    };
    Ok(match name {
        Some(n) => FlowError::HandledBy(n),
        None => FlowError::State("approval.error.not_pending"),
    })
}

async fn cancel_pending(tx: &mut PgConnection, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "UPDATE approval_tasks SET status = 'cancelled', decided_at = now()
         WHERE instance_id = $1 AND status = 'pending' RETURNING approver_id",
    )
    .bind(id)
    .fetch_all(tx)
    .await
}

/// A final state: remaining tasks cancelled, the subject's callback, the submitter (and the owner
/// it was submitted for) told.
async fn finish(
    tx: &mut PgConnection,
    inst: &Instance,
    status: Status,
    actor: Option<i64>,
    comment: &str,
    ip: Option<&str>,
) -> Result<(), FlowError> {
    cancel_pending(tx, inst.id).await?;
    sqlx::query("UPDATE approval_instances SET status = $2, decided_at = now() WHERE id = $1")
        .bind(inst.id)
        .bind(status.code())
        .execute(&mut *tx)
        .await?;
    let subject = inst.subject().ok_or(FlowError::NotFound)?;
    let kind = match status {
        Status::Approved => {
            subject.on_approved(tx, inst, actor, ip).await?;
            "approval_approved"
        }
        Status::Rejected => {
            subject.on_rejected(tx, inst, actor, ip).await?;
            "approval_rejected"
        }
        _ => return Ok(()),
    };
    let params = notice_params(tx, inst, actor, comment).await?;
    let link = format!("/approvals/{}", inst.id);
    for u in submitter_side(inst) {
        // Approved at once: the submitter knows already; the owner is told it came from them.
        crate::notify::send(tx, u, kind, params.clone(), Some(&link), actor.or(Some(inst.submitted_by))).await?;
    }
    Ok(())
}

/// The submitter (or the owner it was submitted for) takes a pending instance back.
pub async fn withdraw(tx: &mut PgConnection, id: i64, actor: i64, ip: Option<&str>) -> Result<Done, FlowError> {
    let inst = lock(tx, id).await?;
    if !inst.is_submitter_side(actor) {
        return Err(FlowError::Forbidden);
    }
    if !inst.is_pending() {
        return Err(FlowError::State("approval.error.not_pending"));
    }
    let subject = inst.subject().ok_or(FlowError::NotFound)?;
    let approvers = cancel_pending(tx, id).await?;
    sqlx::query("UPDATE approval_instances SET status = 'withdrawn', decided_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Entry::new(subject.entity(), inst.record_id, "approval_withdraw").write(tx, Some(actor), ip).await?;
    subject.on_withdrawn(tx, &inst).await?;
    let params = notice_params(tx, &inst, Some(actor), "").await?;
    let link = format!("/approvals/{id}");
    for a in approvers {
        crate::notify::send(tx, a, "approval_withdrawn", params.clone(), Some(&link), Some(actor)).await?;
    }
    Ok(Done { instance_id: id, outcome: Outcome::Withdrawn })
}

/// Send a rejected (or withdrawn) instance round again, planned afresh from the subject's current
/// flow and organisation (a new superior, changed roles and flows apply): from the first stage,
/// or — when the flow says so, it was rejected and the flow is still the one it went through —
/// from the stage that rejected it, keeping the stages decided before it and planning that stage
/// and the later ones anew. `picks` gives the approvers of submitter-picks steps (by step seq);
/// without, the earlier picks stay as far as they are still allowed.
pub async fn resubmit(
    tx: &mut PgConnection,
    id: i64,
    actor: i64,
    picks: Option<&BTreeMap<i32, Vec<i64>>>,
    ip: Option<&str>,
) -> Result<Done, FlowError> {
    let inst = lock(tx, id).await?;
    if !inst.is_submitter_side(actor) {
        return Err(FlowError::Forbidden);
    }
    if !matches!(inst.status(), Status::Rejected | Status::Withdrawn) {
        return Err(FlowError::State("approval.error.not_resubmittable"));
    }
    let subject = inst.subject().ok_or(FlowError::NotFound)?;
    // Another request went in meanwhile: say so before the subject judges its record's state.
    if super::has_pending(tx, subject, inst.record_id).await? {
        return Err(FlowError::AlreadyPending);
    }
    if let Err(key) = subject.check_resubmit(tx, &inst).await? {
        return Err(FlowError::State(key));
    }
    // The record goes back to waiting, and the facts are its current ones (a contract edited
    // after its rejection asks about its new amount).
    let payload = match subject.on_resubmitted(tx, &inst).await? {
        Some(p) => {
            sqlx::query("UPDATE approval_instances SET payload = $2 WHERE id = $1")
                .bind(id)
                .bind(Json(&p))
                .execute(&mut *tx)
                .await?;
            p
        }
        None => inst.payload.0.clone(),
    };
    let (flow, steps) = current_flow(tx, subject).await?;
    let old = &inst.plan.0;
    let earlier: BTreeMap<i32, Vec<i64>> = old
        .iter()
        .filter(|s| s.kind() == StepKind::SubmitterPicks && !s.approvers.is_empty())
        .map(|s| (s.step_seq, s.approvers.clone()))
        .collect();
    let no_picks = BTreeMap::new();
    let facts = Facts {
        subject,
        submitted_by: inst.submitted_by,
        chain_user: inst.owner_id.unwrap_or(inst.submitted_by),
        payload: &payload,
        picks: picks.unwrap_or(&no_picks),
        earlier_picks: &earlier,
    };
    let fresh = resolve::plan(tx, &steps, &facts).await?;
    let same_flow = flow.as_ref().map(|f| f.id) == inst.flow_id;
    let rejected_at = (inst.current_step - 1).max(0) as usize;
    let (plan, start) = match old.get(rejected_at) {
        Some(rejected) if inst.status() == Status::Rejected && inst.resubmit_from == "rejected_step" && same_flow => {
            let decided = &old[..rejected_at];
            let mut plan = decided.to_vec();
            plan.extend(fresh.into_iter().filter(|s| {
                s.step_seq > rejected.step_seq
                    || (s.step_seq == rejected.step_seq
                        && !decided.iter().any(|d| d.step_seq == s.step_seq && d.level == s.level))
            }));
            (plan, rejected_at as i32 + 1)
        }
        _ => (fresh, 1),
    };
    let round = inst.round + 1;
    let mut sp = tx.begin().await?;
    let updated = sqlx::query(
        "UPDATE approval_instances SET status = 'pending', decided_at = NULL, round = $2, plan = $3,
                submitted_at = now(), current_step = 0, flow_id = $4, flow_name = $5, resubmit_from = $6
         WHERE id = $1",
    )
    .bind(id)
    .bind(round)
    .bind(Json(&plan))
    .bind(flow.as_ref().map(|f| f.id))
    .bind(flow.as_ref().map(|f| f.name.clone()).unwrap_or_default())
    .bind(flow.as_ref().map(|f| f.resubmit_from.clone()).unwrap_or_else(|| "first".into()))
    .execute(&mut *sp)
    .await;
    match updated {
        Ok(_) => sp.commit().await?,
        Err(e) if is_pending_conflict(&e) => {
            sp.rollback().await?;
            return Err(FlowError::AlreadyPending);
        }
        Err(e) => return Err(e.into()),
    }
    Entry::new(subject.entity(), inst.record_id, "approval_resubmit").write(tx, Some(actor), ip).await?;
    let inst = lock(tx, id).await?;
    if start as usize > plan.len() {
        // Nothing (left) to ask: no enabled flow, no applicable step, or only decided stages.
        finish(tx, &inst, Status::Approved, None, "", ip).await?;
        return Ok(Done { instance_id: id, outcome: Outcome::Approved });
    }
    activate(tx, &inst, start, round).await?;
    Ok(Done { instance_id: id, outcome: Outcome::Pending })
}

/// Whether the instance waits for its submitter side to pick the approvers of its current
/// (submitter-picks) stage.
pub async fn awaiting_picks(conn: &mut PgConnection, inst: &Instance) -> sqlx::Result<bool> {
    if !inst.is_pending() || inst.current_step < 1 {
        return Ok(false);
    }
    let Some(stage) = inst.plan.0.get((inst.current_step - 1) as usize) else { return Ok(false) };
    if stage.kind() != StepKind::SubmitterPicks || !stage.approvers.is_empty() {
        return Ok(false);
    }
    let has_tasks: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM approval_tasks WHERE instance_id = $1 AND stage = $2 AND round = $3)",
    )
    .bind(inst.id)
    .bind(inst.current_step)
    .bind(inst.round)
    .fetch_one(conn)
    .await?;
    Ok(!has_tasks)
}

/// The submitter side picks the approvers of the current submitter-picks stage that waits for
/// them (from its allowed set); the stage's tasks start.
pub async fn pick(
    tx: &mut PgConnection,
    id: i64,
    actor: i64,
    picked: &[i64],
    ip: Option<&str>,
) -> Result<Done, FlowError> {
    let inst = lock(tx, id).await?;
    if !inst.is_submitter_side(actor) {
        return Err(FlowError::Forbidden);
    }
    if !awaiting_picks(tx, &inst).await? {
        return Err(FlowError::State("approval.error.not_awaiting_picks"));
    }
    if picked.is_empty() {
        return Err(FlowError::Invalid("approval.error.pick_none"));
    }
    let subject = inst.subject().ok_or(FlowError::NotFound)?;
    let at = (inst.current_step - 1) as usize;
    let mut plan = inst.plan.0.clone();
    plan[at].approvers = resolve::check_picks(tx, &plan[at], picked, subject.module()).await?;
    sqlx::query("UPDATE approval_instances SET plan = $2 WHERE id = $1")
        .bind(id)
        .bind(Json(&plan))
        .execute(&mut *tx)
        .await?;
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM users WHERE id = ANY($1) ORDER BY array_position($1, id)")
            .bind(&plan[at].approvers)
            .fetch_all(&mut *tx)
            .await?;
    Entry::new(subject.entity(), inst.record_id, "approval_pick")
        .change("approvers", Value::Null, json!(names))
        .write(tx, Some(actor), ip)
        .await?;
    let inst = lock(tx, id).await?;
    activate(tx, &inst, inst.current_step, inst.round).await?;
    Ok(Done { instance_id: id, outcome: Outcome::Pending })
}

/// Take back the record's pending instance of `subject` because the record changed under it and
/// the request no longer applies (`reason`: an i18n key saying why). Tasks are cancelled, the
/// record's history says so, approvers and the submitter side are told. Ok(None): nothing was
/// pending.
pub async fn withdraw_stale(
    tx: &mut PgConnection,
    subject: Subject,
    record_id: i64,
    actor: Option<i64>,
    reason: &'static str,
    ip: Option<&str>,
) -> Result<Option<Done>, FlowError> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM approval_instances WHERE subject = $1 AND record_id = $2 AND status = 'pending'",
    )
    .bind(subject.code())
    .bind(record_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else { return Ok(None) };
    let inst = lock(tx, id).await?;
    if !inst.is_pending() {
        return Ok(None);
    }
    let approvers = cancel_pending(tx, id).await?;
    sqlx::query("UPDATE approval_instances SET status = 'withdrawn', decided_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let why = json!({ "zh": Lang::Zh.t(reason), "en": Lang::En.t(reason) });
    Entry::new(subject.entity(), record_id, "approval_withdraw_stale")
        .change("reason", Value::Null, why)
        .write(tx, actor, ip)
        .await?;
    subject.on_withdrawn(tx, &inst).await?;
    let mut params = notice_params(tx, &inst, actor, "").await?;
    params["reason_zh"] = json!(Lang::Zh.t(reason));
    params["reason_en"] = json!(Lang::En.t(reason));
    let link = format!("/approvals/{id}");
    let mut told = submitter_side(&inst);
    for a in approvers {
        if !told.contains(&a) {
            told.push(a);
        }
    }
    for u in told {
        crate::notify::send(tx, u, "approval_withdrawn_stale", params.clone(), Some(&link), actor).await?;
    }
    Ok(Some(Done { instance_id: id, outcome: Outcome::Withdrawn }))
}

/// `user` is being disabled (call in that transaction): their open tasks on the stages being
/// decided go to the active super admins, marked fallback as when a stage finds nobody, so no
/// approval waits for them. Their task reads "skipped"; a super admin already asked on that stage
/// is not asked twice. Each handover is in the record's history. Returns how many were handed on.
pub async fn release_tasks_of(
    tx: &mut PgConnection,
    user: i64,
    actor: Option<i64>,
    ip: Option<&str>,
) -> Result<usize, FlowError> {
    let open: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT t.instance_id FROM approval_tasks t
           JOIN approval_instances i ON i.id = t.instance_id
          WHERE t.approver_id = $1 AND t.status = 'pending' AND i.status = 'pending'
          ORDER BY t.instance_id",
    )
    .bind(user)
    .fetch_all(&mut *tx)
    .await?;
    if open.is_empty() {
        return Ok(0);
    }
    let admins: Vec<i64> = resolve::super_admins(tx).await?.into_iter().filter(|a| *a != user).collect();
    let name: String =
        sqlx::query_scalar("SELECT name FROM users WHERE id = $1").bind(user).fetch_one(&mut *tx).await?;
    let mut handed = 0;
    for id in open {
        let inst = lock(tx, id).await?;
        let subject = inst.subject().ok_or(FlowError::NotFound)?;
        let stage_tasks: Vec<(i64, i64, i32)> = sqlx::query_as(
            "SELECT id, approver_id, step_seq FROM approval_tasks
              WHERE instance_id = $1 AND stage = $2 AND round = $3 AND status = 'pending'",
        )
        .bind(id)
        .bind(inst.current_step)
        .bind(inst.round)
        .fetch_all(&mut *tx)
        .await?;
        let Some(&(_, _, step_seq)) = stage_tasks.iter().find(|t| t.1 == user) else { continue };
        let others: Vec<i64> = stage_tasks.iter().map(|t| t.1).filter(|a| *a != user).collect();
        let to: Vec<i64> = admins.iter().copied().filter(|a| !others.contains(a)).collect();
        if to.is_empty() && others.is_empty() {
            // Nobody could take it over; leave it rather than strand the stage.
            continue;
        }
        sqlx::query(
            "UPDATE approval_tasks SET status = 'skipped', decided_at = now()
              WHERE instance_id = $1 AND stage = $2 AND round = $3 AND approver_id = $4 AND status = 'pending'",
        )
        .bind(id)
        .bind(inst.current_step)
        .bind(inst.round)
        .bind(user)
        .execute(&mut *tx)
        .await?;
        add_tasks(tx, &inst, inst.current_step, step_seq, inst.round, &to, true).await?;
        let names: Vec<String> =
            sqlx::query_scalar("SELECT name FROM users WHERE id = ANY($1) ORDER BY array_position($1, id)")
                .bind(&to)
                .fetch_all(&mut *tx)
                .await?;
        Entry::new(subject.entity(), inst.record_id, "approval_handover")
            .change("approver", name.clone(), json!(names))
            .write(tx, actor, ip)
            .await?;
        handed += 1;
    }
    Ok(handed)
}

/// Params of approval notifications: the record's title, the subject and the summary in both
/// languages (each reader sees theirs), the submitter, the deciding user and the comment.
async fn notice_params(
    tx: &mut PgConnection,
    inst: &Instance,
    actor: Option<i64>,
    comment: &str,
) -> Result<Value, FlowError> {
    let subject = inst.subject().ok_or(FlowError::NotFound)?;
    let titles = subject.describe(tx, &[inst.record_id]).await?;
    let title = titles.get(&inst.record_id).map(|t| t.0.clone()).unwrap_or_default();
    let dicts = summary_dicts(tx).await?;
    let names: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM users WHERE id = ANY($1)")
        .bind(vec![inst.submitted_by, actor.unwrap_or(inst.submitted_by)])
        .fetch_all(&mut *tx)
        .await?;
    let name = |id: i64| names.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone()).unwrap_or_default();
    Ok(json!({
        "title": title,
        "subject_zh": Lang::Zh.t(subject.label_key()),
        "subject_en": Lang::En.t(subject.label_key()),
        "summary_zh": subject.summary(&inst.payload.0, &dicts, Lang::Zh),
        "summary_en": subject.summary(&inst.payload.0, &dicts, Lang::En),
        "submitter": name(inst.submitted_by),
        "actor": actor.map(name).unwrap_or_default(),
        "comment": if comment.is_empty() { "—".to_string() } else { comment.to_string() },
    }))
}
