//! The contract page: header with amount, received, unreceived, state and approval progress,
//! the actions its state allows (edit, submit, void, print, delete); tabs (basic info, product
//! lines, payment plans, payments, follow-ups, team, attachments, approval record, history).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use chrono::Utc;

use super::approval::{self, subject};
use super::credit::Warning;
use super::model::{Contract, DICTS, Status};
use super::{LINES, RECORD, repo};
use crate::access::{Action, DataScope, Module};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::modules::payments::{self, ContractMoney};
use crate::modules::products::lines::{self, Table};
use crate::modules::{customers, opportunities};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};
use crate::workflow::{self, Task, labels};

const TABS: &[(&str, &str)] = &[
    ("basic", "contract.tab.basic"),
    ("lines", "contract.tab.lines"),
    ("plans", "contract.tab.plans"),
    ("payments", "contract.tab.payments"),
    ("timeline", "contract.tab.timeline"),
    ("team", "contract.tab.team"),
    ("attachments", "contract.tab.attachments"),
    ("approval", "contract.tab.approval"),
    ("history", "contract.tab.history"),
];

/// The latest approval of the contract, as the header and the Approval tab show it.
pub struct ApprovalView {
    pub id: i64,
    pub status: &'static str,
    pub class: &'static str,
    pub tasks: Vec<Task>,
    /// Comments of the approvers who rejected it.
    pub rejections: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "contracts/show.html")]
struct ShowPage {
    ctx: PageCtx,
    k: Contract,
    d: Detail,
    dicts: Dicts,
    lines: Table,
    money: ContractMoney,
    approval: Option<ApprovalView>,
    credit: Option<String>,
    customer_visible: bool,
    /// The linked opportunity is still open and the user may close it (offered once approved).
    win_offer: Option<(i64, String)>,
    can_edit: bool,
    can_submit: bool,
    can_void: bool,
    can_delete: bool,
    can_transfer: bool,
    today: String,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
    }

    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }

    fn status(&self) -> Status {
        self.k.status()
    }

    fn label(&self, id: &Option<i64>) -> String {
        self.dicts.label(*id, self.ctx.lang)
    }

    fn date(&self, d: &Option<chrono::NaiveDate>) -> String {
        d.map(|d| self.ctx.date(&d)).unwrap_or_default()
    }

    fn win_reasons(&self) -> Vec<SelectOpt> {
        self.dicts.options("win_reason", self.ctx.lang, None)
    }

    fn rejected_by(&self, who: &str, comment: &str) -> String {
        self.ctx.tf("contract.rejected_by", &[("name", who), ("comment", comment)])
    }

    fn task_status(&self, t: &Task) -> &'static str {
        self.ctx.t(labels::task_status_key(&t.status))
    }

    fn task_class(&self, t: &Task) -> &'static str {
        labels::status_badge(&t.status)
    }
}

pub async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Query(q): Query<TabQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?;
    let k = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let row = Row { id, owner: k.owner_id, read_only: false, custom: &k.custom, customer: Some(k.customer_id) };
    let d = Detail::load(&st, &ctx, (user, &scope), &RECORD, row, TABS, &q).await?;
    let customer_scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let customer_visible = customers::find_visible(&st.db, &customer_scope, k.customer_id, false).await?.is_some();
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let stored = if matches!(d.tab, "lines" | "basic") { lines::stored(&st.db, &LINES, id).await? } else { Vec::new() };
    let editable = k.status().is_editable();
    let win_offer = match (k.status(), k.opportunity_id) {
        (Status::Approved, Some(oid)) if user.can(Module::Opportunities, Action::Edit) => {
            opportunities::find_visible(&st.db, user, oid).await?.filter(|o| o.is_open()).map(|o| (o.id, o.name))
        }
        _ => None,
    };
    let page = ShowPage {
        lines: Table::new(stored, &dicts, ctx.lang, k.discount, k.amount),
        money: payments::contract_money(&st, user, &k, d.can_write, d.tab).await?,
        approval: approval_view(&st, k.id).await?,
        credit: k.credit_warning.as_ref().and_then(|w| Warning::from_json(&w.0)).map(|w| w.text(ctx.lang)),
        customer_visible,
        win_offer,
        can_edit: editable && d.may(user, &RECORD, Action::Edit),
        can_submit: editable && d.may(user, &RECORD, Action::Edit),
        can_void: approval::may_void(user, &k, d.can_write),
        can_delete: editable && d.may(user, &RECORD, Action::Delete),
        can_transfer: d.may(user, &RECORD, Action::Transfer),
        today: Utc::now().with_timezone(&st.config.timezone).date_naive().to_string(),
        dicts,
        d,
        ctx,
        k,
    };
    render(page).await
}

async fn approval_view(st: &AppState, id: i64) -> AppResult<Option<ApprovalView>> {
    let mut conn = st.db.acquire().await?;
    let Some(inst) = workflow::latest(&mut conn, subject(), id).await? else { return Ok(None) };
    let tasks = workflow::tasks(&mut conn, inst.id).await?;
    let rejections = tasks
        .iter()
        .filter(|t| t.status == "rejected" && t.round == inst.round)
        .map(|t| (t.approver_name.clone(), t.comment.clone()))
        .collect();
    Ok(Some(ApprovalView {
        id: inst.id,
        status: labels::status_key(&inst.status),
        class: labels::status_badge(&inst.status),
        tasks,
        rejections,
    }))
}
