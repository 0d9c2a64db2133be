//! A contract's states and their transitions. Submitting (draft, rejected or withdrawn → pending)
//! sends it through the approval engine's `contract` flow, whose conditions read the amount and
//! the submitter's department; the submit page shows the stages, asks for the approvers of
//! submitter-picks steps, and warns when the customer's credit limit would be exceeded (the
//! submitter confirms; the figures stay on the contract for its approvers). The engine calls
//! back: approved → the contract takes payments, adds to what its customer owes and marks the
//! customer dealt; rejected or withdrawn → editable again. An approved contract without
//! confirmed or waiting payments can be voided with a reason. Every transition is audited (the
//! engine writes the approval rows, this module the void) and so on the timeline.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::RECORD;
use super::credit::{self, Warning};
use super::model::{Contract, ENTITY, Status};
use super::repo::{self, Head};
use crate::access::{Action, DataScope, Module};
use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::records::sql;
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};
use crate::workflow::labels::{self, Names};
use crate::workflow::{self, FlowError, Instance, StepKind, Subject, SubjectDef, Submission};

/// Approving a contract (payload: amount).
pub struct ContractApproval;

pub static SUBJECT: ContractApproval = ContractApproval;

pub fn subject() -> Subject {
    Subject(&SUBJECT)
}

impl SubjectDef for ContractApproval {
    fn code(&self) -> &'static str {
        "contract"
    }

    fn entity(&self) -> &'static str {
        ENTITY
    }

    fn module(&self) -> Module {
        Module::Contracts
    }

    fn label_key(&self) -> &'static str {
        "approval.subject.contract"
    }

    fn on_approved<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        inst: &'a Instance,
        actor: Option<i64>,
        ip: Option<&'a str>,
    ) -> BoxFuture<'a, AppResult<()>> {
        on_approved(tx, inst, actor, ip).boxed()
    }

    fn on_rejected<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        inst: &'a Instance,
        _actor: Option<i64>,
        _ip: Option<&'a str>,
    ) -> BoxFuture<'a, AppResult<()>> {
        back_to(tx, inst.record_id, Status::Rejected).boxed()
    }

    fn on_withdrawn<'a>(&'a self, tx: &'a mut PgConnection, inst: &'a Instance) -> BoxFuture<'a, AppResult<()>> {
        back_to(tx, inst.record_id, Status::Withdrawn).boxed()
    }

    fn on_resubmitted<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        inst: &'a Instance,
    ) -> BoxFuture<'a, AppResult<Option<Value>>> {
        resubmitted(tx, inst.record_id).boxed()
    }

    fn check_resubmit<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        inst: &'a Instance,
    ) -> BoxFuture<'a, AppResult<Result<(), &'static str>>> {
        check_resubmit(tx, inst.record_id).boxed()
    }
}

/// Approved: it takes payments, its customer owes its amount and has dealt (now).
async fn on_approved(tx: &mut PgConnection, inst: &Instance, actor: Option<i64>, ip: Option<&str>) -> AppResult<()> {
    let Some(h) = repo::lock(tx, inst.record_id).await? else { return Ok(()) };
    if h.status != Status::Pending.code() {
        return Ok(());
    }
    sqlx::query("UPDATE contracts SET status = 'approved', approved_at = now() WHERE id = $1")
        .bind(h.id)
        .execute(&mut *tx)
        .await?;
    credit::add_receivable(tx, h.customer_id, h.amount).await?;
    let was: Option<String> = sqlx::query_scalar(
        "UPDATE customers c SET deal_status = 'dealt', dealt_at = now() FROM customers old
          WHERE c.id = $1 AND old.id = c.id RETURNING old.deal_status",
    )
    .bind(h.customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    if was.as_deref() != Some("dealt") {
        Entry::new("customer", h.customer_id, "deal")
            .change("deal_status", audit::bilingual("customer.deal.none"), audit::bilingual("customer.deal.dealt"))
            .note(format!("{} {}", h.number, h.name))
            .write(tx, actor, ip)
            .await?;
    }
    Ok(())
}

/// Rejected or withdrawn: editable again (only from pending: a later state stays).
async fn back_to(tx: &mut PgConnection, id: i64, status: Status) -> AppResult<()> {
    if let Some(h) = repo::lock(tx, id).await?
        && h.status == Status::Pending.code()
    {
        repo::set_status(tx, id, status.code()).await?;
    }
    Ok(())
}

/// Going round again: waiting again, with its current amount and credit figures.
async fn resubmitted(tx: &mut PgConnection, id: i64) -> AppResult<Option<Value>> {
    let Some(h) = repo::lock(tx, id).await? else { return Ok(None) };
    let warning = credit::check(tx, h.customer_id, h.amount).await?;
    sqlx::query("UPDATE contracts SET status = 'pending', credit_warning = $2 WHERE id = $1")
        .bind(id)
        .bind(warning.as_ref().map(Warning::to_json))
        .execute(&mut *tx)
        .await?;
    Ok(Some(payload(&h)))
}

/// A rejected or withdrawn contract may go again while it is live and editable. Over its
/// customer's credit limit it needs the submitter's confirmation, given on the contract's submit
/// page (which records the figures): from the approvals page it is refused until then.
async fn check_resubmit(tx: &mut PgConnection, id: i64) -> AppResult<Result<(), &'static str>> {
    let Some(h) = repo::lock(tx, id).await? else { return Ok(Err("approval.error.stale")) };
    if !matches!(Status::from_code(&h.status), Some(Status::Rejected | Status::Withdrawn)) {
        return Ok(Err("approval.error.stale"));
    }
    let confirmed: bool = sqlx::query_scalar("SELECT credit_warning IS NOT NULL FROM contracts WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if !confirmed && credit::check(tx, h.customer_id, h.amount).await?.is_some() {
        return Ok(Err("contract.error.credit_resubmit"));
    }
    Ok(Ok(()))
}

fn payload(h: &Head) -> Value {
    json!({ "amount": h.amount.to_string() })
}

/// The user and the contract they may change, its state one of `allowed` (404 / 403 / 409).
pub async fn changeable<'r>(
    st: &AppState,
    req: &'r RequestCtx,
    id: i64,
    allowed: &[Status],
) -> AppResult<(&'r CurrentUser, Contract)> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?;
    let k = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    sql::check_writable(&st.db, &RECORD, &scope, id).await?;
    if !allowed.contains(&k.status()) {
        return Err(AppError::Conflict("contract.error.state"));
    }
    Ok((user, k))
}

/// A submitter-picks stage on the submit page.
pub struct PickView {
    pub seq: i32,
    pub label: String,
    pub options: Vec<SelectOpt>,
    pub picked: Vec<String>,
}

#[derive(Template)]
#[template(path = "contracts/submit.html")]
struct SubmitPage {
    ctx: PageCtx,
    k: Contract,
    /// Each stage the flow would ask now, as a label.
    stages: Vec<String>,
    picks: Vec<PickView>,
    warning: Option<String>,
    errors: FormErrors,
}

crate::page!(SubmitPage);

impl SubmitPage {
    fn is_picked(&self, pk: &PickView, value: &str) -> bool {
        pk.picked.iter().any(|p| p == value)
    }
}

fn submission(user: &CurrentUser, k: &Contract, picks: BTreeMap<i32, Vec<i64>>) -> Submission {
    Submission {
        subject: subject(),
        record_id: k.id,
        submitted_by: user.id,
        owner_id: k.owner_id,
        payload: json!({ "amount": k.amount.to_string() }),
        picks,
    }
}

/// The submit page's parts: the stages and the picks they ask for, the credit warning.
async fn submit_page(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    k: Contract,
    form: &FormData,
    errors: FormErrors,
) -> AppResult<SubmitPage> {
    let mut conn = st.db.acquire().await?;
    let stages = workflow::preview(&mut conn, &submission(user, &k, BTreeMap::new())).await?;
    let names = Names::load(&mut conn).await?;
    let mut picks = Vec::new();
    for s in stages.iter().filter(|s| s.kind() == StepKind::SubmitterPicks) {
        let allowed = workflow::engine::allowed_set(&mut conn, s, Module::Contracts).await?;
        if allowed.is_empty() {
            continue;
        }
        picks.push(PickView {
            seq: s.step_seq,
            label: labels::stage_label(s, &names, ctx.lang),
            options: allowed.iter().map(|u| SelectOpt::new(u, names.user(*u))).collect(),
            picked: form.all(&format!("picks_{}", s.step_seq)).iter().map(|v| v.to_string()).collect(),
        });
    }
    let warning = credit::check(&mut conn, k.customer_id, k.amount).await?.map(|w| w.text(ctx.lang));
    let stages = stages.iter().map(|s| labels::stage_label(s, &names, ctx.lang)).collect();
    Ok(SubmitPage { ctx, k, stages, picks, warning, errors })
}

/// GET /contracts/{id}/submit
pub async fn submit_form(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let (user, k) = changeable(&st, &req, id, &[Status::Draft, Status::Rejected, Status::Withdrawn]).await?;
    let errors = FormErrors::new(ctx.lang);
    render(submit_page(&st, ctx, user, k, &FormData::default(), errors).await?).await
}

/// POST /contracts/{id}/submit — `picks_<seq>` for submitter-picks stages (required when the
/// stage has anyone to pick), `confirm_credit` when the credit limit would be exceeded.
pub async fn submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (user, k) = changeable(&st, &req, id, &[Status::Draft, Status::Rejected, Status::Withdrawn]).await?;
    let picks = workflow::picks_of(&form);
    let mut tx = st.db.begin().await?;
    let head = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !Status::from_code(&head.status).is_some_and(Status::is_editable) {
        return Err(AppError::Conflict("contract.error.state"));
    }
    // Lock the customer too: what it owes is read for the warning.
    sqlx::query("SELECT 1 FROM customers WHERE id = $1 FOR UPDATE").bind(k.customer_id).execute(&mut *tx).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let preview = workflow::preview(&mut tx, &submission(user, &k, BTreeMap::new())).await?;
    for s in preview.iter().filter(|s| s.kind() == StepKind::SubmitterPicks) {
        let allowed = workflow::engine::allowed_set(&mut tx, s, Module::Contracts).await?;
        if !allowed.is_empty() && picks.get(&s.step_seq).is_none_or(|p| p.is_empty()) {
            errors.add(&format!("picks_{}", s.step_seq), "contract.error.pick_approver");
        }
    }
    let warning = credit::check(&mut tx, k.customer_id, k.amount).await?;
    if warning.is_some() && !form.has("confirm_credit") {
        errors.add("confirm_credit", "contract.error.confirm_credit");
    }
    if !errors.is_empty() {
        drop(tx);
        let page = submit_page(&st, ctx, user, k, &form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    // The figures the submitter confirmed stay for the approvers (none: within the limit).
    sqlx::query("UPDATE contracts SET credit_warning = $2 WHERE id = $1")
        .bind(id)
        .bind(warning.as_ref().map(Warning::to_json))
        .execute(&mut *tx)
        .await?;
    let again = match workflow::latest(&mut tx, subject(), id).await? {
        Some(inst) if matches!(inst.status(), workflow::Status::Rejected | workflow::Status::Withdrawn) => {
            Some(inst.id)
        }
        _ => None,
    };
    // A contract that went round before goes again in the same approval (the engine's resubmit
    // puts it back to pending through `on_resubmitted`); a first one is pending from here.
    let result = match again {
        Some(inst) => workflow::resubmit(&mut tx, inst, user.id, Some(&picks), req.ip.as_deref()).await,
        None => {
            repo::set_status(&mut tx, id, Status::Pending.code()).await?;
            workflow::submit(&mut tx, submission(user, &k, picks), req.ip.as_deref()).await
        }
    };
    let key = match result {
        Ok(d) if d.outcome == workflow::Outcome::Approved => "contract.submitted_approved",
        Ok(_) => "contract.submitted",
        Err(FlowError::Invalid(key) | FlowError::State(key)) => {
            drop(tx);
            errors.add("picks", key);
            let page = submit_page(&st, ctx, user, k, &form, errors).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    done(tx, &ctx, ctx.tf1(key, "name", &k.name), &format!("/contracts/{id}")).await
}

/// POST /contracts/{id}/void — `reason` (required). Only an approved contract with no confirmed
/// and no waiting payment: money already booked against it must be dealt with first.
pub async fn void(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (user, k) = changeable(&st, &req, id, &[Status::Approved]).await?;
    let reason: String = form.get("reason").trim().chars().take(1000).collect();
    if reason.is_empty() {
        return Err(AppError::BadRequest("contract.error.void_reason"));
    }
    let mut tx = st.db.begin().await?;
    let h = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if h.status != Status::Approved.code() {
        return Err(AppError::Conflict("contract.error.state"));
    }
    let (confirmed, waiting) = repo::payment_sums(&mut tx, id).await?;
    if confirmed > Decimal::ZERO || waiting > Decimal::ZERO {
        return Err(AppError::Conflict("contract.error.void_paid"));
    }
    sqlx::query(
        "UPDATE contracts SET status = 'void', void_reason = $2, voided_at = now(), voided_by = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(&reason)
    .bind(user.id)
    .execute(&mut *tx)
    .await?;
    credit::add_receivable(&mut tx, h.customer_id, -(h.amount - h.received)).await?;
    Entry::new(ENTITY, id, "void")
        .change("status", audit::bilingual(Status::Approved.label_key()), audit::bilingual(Status::Void.label_key()))
        .note(reason)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("contract.voided", "name", &k.name), &format!("/contracts/{id}")).await
}

/// Whether the user may void it (button on the page).
pub fn may_void(user: &CurrentUser, k: &Contract, can_write: bool) -> bool {
    can_write && k.status() == Status::Approved && user.can(Module::Contracts, Action::Void)
}
