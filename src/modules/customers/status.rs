//! Customer level and status (客户级别与状态). A customer has a status (the ordered
//! `customer_status` dictionary) and a level 1–7 within it. The owner or a read-write team member
//! changes the level directly; reaching level 7 submits a status upgrade (`customer_status`
//! approval, by default to the owner's direct superior). Approval moves the status to the next
//! one and restarts at level 1; rejection changes nothing. The top status cannot be raised.
//! Every level or status change tells the owner's direct superior. A pending request that no
//! longer applies — the level left 7, or a super admin set the status directly — is withdrawn
//! automatically (audited; the submitter is told). A customer created at level 7 (a converted
//! lead) asks at once, like an edit reaching 7. When the flow's current step lets the submitter
//! pick approvers and none were picked (the automatic request has none), the request waits and the
//! card offers the submitter side "choose approvers" (see `workflow::pick`).

use serde_json::json;
use sqlx::PgConnection;

use super::model::{Customer, ENTITY};
use crate::access::Module;
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::web::i18n::Lang;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::workflow::{self, FlowError, Instance, Subject, SubjectDef, Submission, labels};

pub const TOP_LEVEL: i16 = 7;
const DICT: &str = "customer_status";

/// The status upgrade as an approval subject: payload `from_status`, `to_status`; approved by
/// holders of `approve` on customers; followed by whoever sees the customer.
pub struct StatusUpgrade;

pub static SUBJECT: StatusUpgrade = StatusUpgrade;

pub fn subject() -> Subject {
    Subject(&SUBJECT)
}

impl SubjectDef for StatusUpgrade {
    fn code(&self) -> &'static str {
        "customer_status"
    }

    fn entity(&self) -> &'static str {
        ENTITY
    }

    fn module(&self) -> Module {
        Module::Customers
    }

    fn label_key(&self) -> &'static str {
        "approval.subject.customer_status"
    }

    fn dicts(&self) -> &'static [&'static str] {
        &[DICT]
    }

    /// "基础客户 → 潜在客户"
    fn summary(&self, payload: &serde_json::Value, dicts: &Dicts, lang: Lang) -> String {
        let id = |key: &str| payload.get(key).and_then(|v| v.as_i64());
        let from = dicts.label(id("from_status"), lang);
        let to = dicts.label(id("to_status"), lang);
        lang.tf("approval.summary.status", &[("from", &from), ("to", &to)])
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

    fn check_resubmit<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        inst: &'a Instance,
    ) -> BoxFuture<'a, AppResult<Result<(), &'static str>>> {
        check_resubmit(tx, inst).boxed()
    }
}

/// After an edit of `cur` saved `level` and `status` (same transaction): the owner's superior is
/// told of each change, and a level reaching 7 from below asks for the next status.
pub async fn after_save(
    tx: &mut PgConnection,
    dicts: &Dicts,
    cur: &Customer,
    level: i16,
    status: i64,
    actor: &CurrentUser,
    ip: Option<&str>,
) -> AppResult<()> {
    let link = format!("/customers/{}", cur.id);
    if level != cur.level {
        let params = json!({ "actor": actor.name, "name": cur.name, "from": cur.level, "to": level });
        tell_superior(tx, cur.owner_id, "customer_level_changed", params, &link, actor.id).await?;
    }
    if status != cur.status_id {
        let head = Head {
            id: cur.id,
            name: cur.name.clone(),
            status_id: cur.status_id,
            level: cur.level,
            owner_id: cur.owner_id,
        };
        tell_status(tx, dicts, &head, cur.status_id, status, actor.id).await?;
    }
    // A pending request made for the old status or for level 7 no longer applies.
    let stale = if status != cur.status_id {
        Some("approval.stale.status_set")
    } else if cur.level == TOP_LEVEL && level < TOP_LEVEL {
        Some("approval.stale.level_left")
    } else {
        None
    };
    if let Some(reason) = stale {
        workflow::withdraw_stale(tx, subject(), cur.id, Some(actor.id), reason, ip).await?;
    }
    if level == TOP_LEVEL && cur.level < TOP_LEVEL {
        request_upgrade(tx, dicts, cur.id, cur.owner_id, status, actor.id, ip).await?;
    }
    Ok(())
}

/// After a customer was created at `level` and `status` by another path than the customer form
/// (a converted lead keeps the lead's level): level 7 asks for the next status at once.
#[allow(clippy::too_many_arguments)]
pub async fn after_create(
    tx: &mut PgConnection,
    dicts: &Dicts,
    id: i64,
    owner_id: Option<i64>,
    level: i16,
    status: i64,
    actor: i64,
    ip: Option<&str>,
) -> AppResult<()> {
    if level == TOP_LEVEL {
        request_upgrade(tx, dicts, id, owner_id, status, actor, ip).await?;
    }
    Ok(())
}

/// Submit the upgrade from `status` to the next one, unless it is the top status or a request
/// is already pending.
async fn request_upgrade(
    tx: &mut PgConnection,
    dicts: &Dicts,
    id: i64,
    owner_id: Option<i64>,
    status: i64,
    actor: i64,
    ip: Option<&str>,
) -> AppResult<()> {
    let Some(next) = dicts.next_after(DICT, status) else {
        return Ok(());
    };
    let submission = Submission {
        subject: subject(),
        record_id: id,
        submitted_by: actor,
        owner_id,
        payload: json!({ "from_status": status, "to_status": next.id }),
        picks: Default::default(),
    };
    match workflow::submit(tx, submission, ip).await {
        Ok(_) | Err(FlowError::AlreadyPending) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn tell_superior(
    tx: &mut PgConnection,
    owner: Option<i64>,
    kind: &str,
    params: serde_json::Value,
    link: &str,
    actor: i64,
) -> AppResult<()> {
    let Some(owner) = owner else { return Ok(()) };
    let superior: Option<i64> = sqlx::query_scalar("SELECT superior_id FROM users WHERE id = $1")
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
    if let Some(s) = superior {
        crate::notify::send(tx, s, kind, params, Some(link), Some(actor)).await?;
    }
    Ok(())
}

/// The few columns status changes need.
#[derive(sqlx::FromRow)]
struct Head {
    id: i64,
    name: String,
    status_id: i64,
    level: i16,
    owner_id: Option<i64>,
}

async fn tell_status(tx: &mut PgConnection, dicts: &Dicts, c: &Head, from: i64, to: i64, actor: i64) -> AppResult<()> {
    let params = json!({
        "name": c.name,
        "from_zh": dicts.label(Some(from), Lang::Zh), "from_en": dicts.label(Some(from), Lang::En),
        "to_zh": dicts.label(Some(to), Lang::Zh), "to_en": dicts.label(Some(to), Lang::En),
    });
    tell_superior(tx, c.owner_id, "customer_status_changed", params, &format!("/customers/{}", c.id), actor).await
}

/// The upgrade was approved: the status moves to the requested one and the level restarts at 1
/// (unless the status changed meanwhile, e.g. set by a super admin: then nothing moves).
async fn on_approved(tx: &mut PgConnection, inst: &Instance, actor: Option<i64>, ip: Option<&str>) -> AppResult<()> {
    let cur: Option<Head> =
        sqlx::query_as("SELECT id, name, status_id, level, owner_id FROM customers WHERE id = $1 FOR UPDATE")
            .bind(inst.record_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(cur) = cur else { return Ok(()) };
    let (Some(from), Some(to)) = (inst.payload_id("from_status"), inst.payload_id("to_status")) else {
        return Ok(());
    };
    if cur.status_id != from {
        return Ok(());
    }
    sqlx::query("UPDATE customers SET status_id = $2, level = 1 WHERE id = $1")
        .bind(cur.id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    let dicts = workflow::summary_dicts(tx).await?;
    Entry::new(ENTITY, cur.id, "status_upgrade")
        .change("status", dicts.audit_value(Some(from)), dicts.audit_value(Some(to)))
        .change("level", cur.level, 1)
        .write(tx, actor, ip)
        .await?;
    tell_status(tx, &dicts, &cur, from, to, actor.unwrap_or(inst.submitted_by)).await
}

/// A rejected or withdrawn upgrade may go again while the customer still holds the status it
/// started from, is still at level 7, and a next status exists.
async fn check_resubmit(tx: &mut PgConnection, inst: &Instance) -> AppResult<Result<(), &'static str>> {
    let row: Option<(i64, i16, bool)> =
        sqlx::query_as("SELECT status_id, level, deleted_at IS NOT NULL FROM customers WHERE id = $1")
            .bind(inst.record_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some((status, level, deleted)) = row else { return Ok(Err("approval.error.stale")) };
    if deleted || Some(status) != inst.payload_id("from_status") || level != TOP_LEVEL {
        return Ok(Err("approval.error.stale"));
    }
    let dicts = workflow::summary_dicts(tx).await?;
    if dicts.next_after(DICT, status).map(|n| n.id) != inst.payload_id("to_status") {
        return Ok(Err("approval.error.stale"));
    }
    Ok(Ok(()))
}

/// What the customer card shows about its latest upgrade request: the outcome, linked to its
/// progress page, and a resubmit link for the submitter side while it may go again.
pub struct Card {
    pub instance_id: i64,
    /// Badge class of the outcome.
    pub class: &'static str,
    pub text: String,
    pub can_resubmit: bool,
    /// The request waits for the submitter side to choose its approvers (a submitter-picks step).
    pub can_pick: bool,
}

/// Pending and approved requests always show; a rejected or withdrawn one only while the customer
/// still holds the status it started from (an outdated failure is no longer news).
pub async fn card(db: &sqlx::PgPool, c: &Customer, dicts: &Dicts, lang: Lang, user: i64) -> AppResult<Option<Card>> {
    let mut conn = db.acquire().await?;
    let Some(inst) = workflow::latest(&mut conn, subject(), c.id).await? else { return Ok(None) };
    let from = dicts.label(inst.payload_id("from_status"), lang);
    let to = dicts.label(inst.payload_id("to_status"), lang);
    let args = [("from", from.as_str()), ("to", to.as_str())];
    let current = inst.payload_id("from_status") == Some(c.status_id);
    let awaiting = workflow::awaiting_picks(&mut conn, &inst).await?;
    let key = match inst.status() {
        workflow::Status::Pending if awaiting => "approval.card.awaiting_picks",
        workflow::Status::Pending => "approval.card.pending",
        workflow::Status::Approved => "approval.card.approved",
        workflow::Status::Rejected if current => "approval.card.rejected",
        workflow::Status::Withdrawn if current => "approval.card.withdrawn",
        workflow::Status::Rejected | workflow::Status::Withdrawn => return Ok(None),
    };
    let closed = matches!(inst.status(), workflow::Status::Rejected | workflow::Status::Withdrawn);
    Ok(Some(Card {
        instance_id: inst.id,
        class: labels::status_badge(&inst.status),
        text: lang.tf(key, &args),
        can_resubmit: closed && c.level == TOP_LEVEL && inst.is_submitter_side(user),
        can_pick: awaiting && inst.is_submitter_side(user),
    }))
}
