//! The opportunity page: header with amount, weighted amount and status; the stage bar (move,
//! close as won / lost / invalid, reopen); tabs (basic info, product lines, timeline, contacts,
//! stage history, contracts, team, attachments, history).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use chrono::Utc;

use super::model::{DICTS, Opportunity, Status, duration};
use super::repo::{self, LogRow};
use super::stages::{self, Stage, StageNames};
use super::{LINES, RECORD};
use crate::access::{Action, DataScope, Module};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::modules::customers;
use crate::modules::products::lines::{self, Table};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

const TABS: &[(&str, &str)] = &[
    ("basic", "opportunity.tab.basic"),
    ("lines", "opportunity.tab.lines"),
    ("timeline", "opportunity.tab.timeline"),
    ("contacts", "opportunity.tab.contacts"),
    ("stages", "opportunity.tab.stages"),
    ("contracts", "opportunity.tab.contracts"),
    ("team", "opportunity.tab.team"),
    ("attachments", "opportunity.tab.attachments"),
    ("history", "opportunity.tab.history"),
];

#[derive(Template)]
#[template(path = "opportunities/show.html")]
struct ShowPage {
    ctx: PageCtx,
    o: Opportunity,
    d: Detail,
    dicts: Dicts,
    /// The stages of its group, in order.
    stages: Vec<Stage>,
    names: StageNames,
    lines: Table,
    contacts: Vec<(i64, String, Option<String>)>,
    log: Vec<LogRow>,
    customer_visible: bool,
    contracts: crate::modules::contracts::ContractsTab,
    show_contracts: bool,
    can_add_contract: bool,
    can_edit: bool,
    can_delete: bool,
    can_transfer: bool,
    today: String,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        let mut tabs = self.d.tab_links(&self.ctx, TABS);
        tabs.retain(|(k, _, _)| *k != "contracts" || self.show_contracts);
        tabs
    }

    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }

    fn status(&self) -> Status {
        self.o.status()
    }

    /// (stage, reached, current) for the stage bar: stages up to the current one are reached.
    fn bar(&self) -> Vec<(&Stage, bool, bool)> {
        let at = self.stages.iter().position(|s| s.id == self.o.stage_id).unwrap_or(0);
        self.stages.iter().enumerate().map(|(i, s)| (s, i <= at, i == at)).collect()
    }

    fn outcomes(&self) -> Vec<(Status, Vec<SelectOpt>)> {
        Status::CLOSED
            .iter()
            .map(|s| (*s, self.dicts.options(s.reason_dict().unwrap_or_default(), self.ctx.lang, None)))
            .collect()
    }

    fn label(&self, id: &Option<i64>) -> String {
        self.dicts.label(*id, self.ctx.lang)
    }

    fn stage_name(&self, id: &Option<i64>) -> String {
        match id {
            Some(i) => self.names.name(*i, self.ctx.lang),
            None => self.ctx.t("opportunity.log.deleted_stage").to_string(),
        }
    }

    fn current_stage(&self) -> String {
        self.names.name(self.o.stage_id, self.ctx.lang)
    }

    fn weighted(&self) -> String {
        self.ctx.money(&self.o.weighted())
    }

    fn status_label(&self, code: &str) -> &'static str {
        self.ctx.t(Status::from_code(code).unwrap_or(Status::Open).label_key())
    }

    fn spent(&self, seconds: &i64) -> String {
        duration(self.ctx.lang, *seconds)
    }

    /// How long it has been at its stage (open ones).
    fn at_stage_for(&self) -> String {
        duration(self.ctx.lang, (Utc::now() - self.o.stage_changed_at).num_seconds())
    }

    fn close_label(&self, status: &Status) -> &'static str {
        self.ctx.t(&format!("opportunity.close_as_{}", status.code()))
    }

    /// "赢单 · 2026-12-01 · 价格有优势".
    fn closed_line(&self) -> String {
        let date = self.o.closed_on.map(|d| self.ctx.date(&d)).unwrap_or_default();
        let reason = self.dicts.label(self.o.close_reason_id, self.ctx.lang);
        self.ctx.tf(
            "opportunity.closed_line",
            &[("status", self.ctx.t(self.status().label_key())), ("date", &date), ("reason", &reason)],
        )
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
    let scope = DataScope::resolve(&st.db, user, Module::Opportunities).await?;
    let o = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let row = Row { id, owner: o.owner_id, read_only: false, custom: &o.custom, customer: Some(o.customer_id) };
    let d = Detail::load(&st, &ctx, (user, &scope), &RECORD, row, TABS, &q).await?;
    let customer_scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let customer_visible = customers::find_visible(&st.db, &customer_scope, o.customer_id, false).await?.is_some();
    let mut conn = st.db.acquire().await?;
    let group_stages = stages::of_group(&mut conn, o.group_id).await?;
    drop(conn);
    let stored = if matches!(d.tab, "lines" | "basic") { lines::stored(&st.db, &LINES, id).await? } else { Vec::new() };
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let page = ShowPage {
        lines: Table::new(stored, &dicts, ctx.lang, o.discount, o.amount),
        contacts: if d.tab == "contacts" { repo::contacts(&st.db, id).await? } else { Vec::new() },
        log: if d.tab == "stages" { repo::stage_log(&st.db, id).await? } else { Vec::new() },
        contracts: if d.tab == "contracts" {
            crate::modules::contracts::for_parent(&st.db, user, "opportunity_id", id).await?
        } else {
            Default::default()
        },
        show_contracts: user.can(Module::Contracts, Action::View),
        can_add_contract: user.can(Module::Contracts, Action::Create) && o.status != "lost" && o.status != "invalid",
        names: StageNames::load(&st.db).await?,
        stages: group_stages,
        dicts,
        customer_visible,
        can_edit: d.may(user, &RECORD, Action::Edit),
        can_delete: d.may(user, &RECORD, Action::Delete),
        can_transfer: d.may(user, &RECORD, Action::Transfer),
        today: Utc::now().with_timezone(&st.config.timezone).date_naive().to_string(),
        d,
        ctx,
        o,
    };
    render(page).await
}
