//! Payments through the approval engine's `payment` flow (amount and the submitter's department
//! are its conditions). Recording a payment submits it; only an approved (confirmed) payment
//! counts as received: the engine's callback books it on its contract, plan term and customer.
//! What is confirmed and what is waiting together may never exceed the contract's amount: each
//! submission locks the contract row and checks, so two payments submitted at the same moment
//! are checked one after the other.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::model::{ENTITY, Status};
use super::repo;
use crate::access::Module;
use crate::error::AppResult;
use crate::workflow::{Instance, Subject, SubjectDef};

pub struct PaymentApproval;

pub static SUBJECT: PaymentApproval = PaymentApproval;

pub fn subject() -> Subject {
    Subject(&SUBJECT)
}

impl SubjectDef for PaymentApproval {
    fn code(&self) -> &'static str {
        "payment"
    }

    fn entity(&self) -> &'static str {
        ENTITY
    }

    fn module(&self) -> Module {
        Module::Payments
    }

    fn label_key(&self) -> &'static str {
        "approval.subject.payment"
    }

    fn on_approved<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        inst: &'a Instance,
        _actor: Option<i64>,
        _ip: Option<&'a str>,
    ) -> BoxFuture<'a, AppResult<()>> {
        approved(tx, inst.record_id).boxed()
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

/// Confirmed: booked on the contract, its plan term and its customer (contract row locked first,
/// as every payment change does).
async fn approved(tx: &mut PgConnection, id: i64) -> AppResult<()> {
    let Some((status, contract_id, _, _)) = repo::lock(tx, id).await? else { return Ok(()) };
    if status != Status::Pending.code() {
        return Ok(());
    }
    repo::lock_contract(tx, contract_id).await?;
    repo::book(tx, id).await?;
    Ok(())
}

async fn back_to(tx: &mut PgConnection, id: i64, status: Status) -> AppResult<()> {
    if let Some((s, _, _, _)) = repo::lock(tx, id).await?
        && s == Status::Pending.code()
    {
        repo::set_status(tx, id, status.code()).await?;
    }
    Ok(())
}

async fn resubmitted(tx: &mut PgConnection, id: i64) -> AppResult<Option<Value>> {
    let Some((_, _, amount, _)) = repo::lock(tx, id).await? else { return Ok(None) };
    repo::set_status(tx, id, Status::Pending.code()).await?;
    Ok(Some(json!({ "amount": amount.to_string() })))
}

/// A rejected or withdrawn payment may go again while its contract is approved and it still
/// fits beside what is confirmed and waiting.
async fn check_resubmit(tx: &mut PgConnection, id: i64) -> AppResult<Result<(), &'static str>> {
    let Some((status, contract_id, amount, _)) = repo::lock(tx, id).await? else {
        return Ok(Err("approval.error.stale"));
    };
    if !Status::from_code(&status).is_some_and(Status::is_editable) {
        return Ok(Err("approval.error.stale"));
    }
    Ok(match fits(tx, contract_id, amount).await? {
        Fit::Fits => Ok(()),
        Fit::NotApproved => Err("payment.error.contract_state"),
        Fit::Over(_) => Err("payment.error.over_contract_short"),
    })
}

/// Whether `amount` more fits on the contract (locked by this call).
pub enum Fit {
    Fits,
    NotApproved,
    /// (contract amount, confirmed, waiting)
    Over((Decimal, Decimal, Decimal)),
}

pub async fn fits(tx: &mut PgConnection, contract_id: i64, amount: Decimal) -> sqlx::Result<Fit> {
    let Some((status, total, received, waiting, _)) = repo::lock_contract(tx, contract_id).await? else {
        return Ok(Fit::NotApproved);
    };
    if status != "approved" {
        return Ok(Fit::NotApproved);
    }
    Ok(if received + waiting + amount > total { Fit::Over((total, received, waiting)) } else { Fit::Fits })
}
