//! The customer detail page: header, action bar, and tabs (basic info, related customers,
//! history). Later modules add their tabs to `TABS`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;

use super::model::{Address, Customer, DICT_FIELDS, DICTS};
use super::{RECORD, repo};
use crate::access::{Action, DataScope, Module};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

/// (tab key, i18n label). Later modules (contacts, timeline, team, ...) add theirs here.
const TABS: &[(&str, &str)] = &[
    ("basic", "customer.tab.basic"),
    ("timeline", "customer.tab.timeline"),
    ("contacts", "customer.tab.contacts"),
    ("opportunities", "customer.tab.opportunities"),
    ("contracts", "customer.tab.contracts"),
    ("team", "customer.tab.team"),
    ("attachments", "customer.tab.attachments"),
    ("related", "customer.tab.related"),
    ("history", "customer.tab.history"),
];

#[derive(Template)]
#[template(path = "customers/show.html")]
struct ShowPage {
    ctx: PageCtx,
    c: Customer,
    d: Detail,
    dicts: Dicts,
    addresses: Vec<Address>,
    can_edit: bool,
    can_delete: bool,
    can_transfer: bool,
    /// Owner in scope or read-write member (frozen or not): lock / freeze buttons.
    can_change_state: bool,
    can_freeze: bool,
    contacts: Vec<crate::modules::contacts::ContactRow>,
    can_add_contact: bool,
    /// The Opportunities tab (shown to those who may view opportunities).
    opportunities: crate::modules::opportunities::CustomerTab,
    show_opportunities: bool,
    /// "New opportunity": the customer has an owner and takes changes.
    can_add_opportunity: bool,
    /// The Contracts tab (shown to those who may view contracts).
    contracts: crate::modules::contracts::ContractsTab,
    show_contracts: bool,
    can_add_contract: bool,
    children: Vec<(i64, String, String)>,
    hidden_children: i64,
    parent_visible: bool,
    /// The latest status upgrade request and its outcome (src/modules/customers/status.rs).
    approval: Option<super::status::Card>,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        let mut tabs = self.d.tab_links(&self.ctx, TABS);
        tabs.retain(|(k, _, _)| *k != "opportunities" || self.show_opportunities);
        tabs.retain(|(k, _, _)| *k != "contracts" || self.show_contracts);
        tabs
    }

    fn dict(&self, id: &Option<i64>) -> String {
        self.dicts.label(*id, self.ctx.lang)
    }

    fn region(&self, id: &Option<i64>) -> String {
        self.dicts.path_label(*id, self.ctx.lang)
    }

    fn status(&self) -> String {
        self.dicts.label(Some(self.c.status_id), self.ctx.lang)
    }

    /// (label, value) of the classification group, skipping empty ones.
    fn classification(&self) -> Vec<(&'static str, String)> {
        DICT_FIELDS
            .iter()
            .map(|(col, _)| {
                let label = self.ctx.t(&format!("customer.{}", col.trim_end_matches("_id")));
                let value = if *col == "region_id" {
                    self.region(&self.c.region_id)
                } else {
                    self.dict(&self.c.dict_value(col))
                };
                (label, value)
            })
            .collect()
    }

    fn credit(&self) -> String {
        super::model::credit_hint(&self.dicts, self.c.credit_level_id, self.ctx.lang)
    }

    fn kind_label(&self) -> &'static str {
        self.ctx.t(&format!("customer.kind.{}", self.c.kind))
    }

    fn gender_label(&self) -> &'static str {
        match self.c.gender.as_deref() {
            Some("male") => self.ctx.t("user.gender.male"),
            Some("female") => self.ctx.t("user.gender.female"),
            _ => "",
        }
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
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let c = repo::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    let d = Detail::load(
        &st,
        &ctx,
        (user, &scope),
        &RECORD,
        Row { id, owner: c.owner_id, read_only: c.frozen, custom: &c.custom, customer: Some(id) },
        TABS,
        &q,
    )
    .await?;
    let (children, hidden_children) =
        if d.tab == "related" { repo::children(&st.db, &scope, id).await? } else { (Vec::new(), 0) };
    let parent_visible = match c.parent_id {
        Some(p) => repo::find_visible(&st.db, &scope, p, false).await?.is_some(),
        None => false,
    };
    let contacts =
        if d.tab == "contacts" { crate::modules::contacts::for_customer(&st.db, id).await? } else { Vec::new() };
    let opportunities = if d.tab == "opportunities" {
        crate::modules::opportunities::for_customer(&st.db, user, id).await?
    } else {
        Default::default()
    };
    let contracts = if d.tab == "contracts" {
        crate::modules::contracts::for_parent(&st.db, user, "customer_id", id).await?
    } else {
        Default::default()
    };
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let approval = super::status::card(&st.db, &c, &dicts, ctx.lang, user.id).await?;
    let page = ShowPage {
        approval,
        contacts,
        opportunities,
        contracts,
        show_contracts: user.can(Module::Contracts, Action::View),
        can_add_contract: user.can(Module::Contracts, Action::Create) && c.owner_id.is_some() && !c.frozen,
        show_opportunities: user.can(Module::Opportunities, Action::View),
        can_add_opportunity: user.can(Module::Opportunities, Action::Create) && c.owner_id.is_some() && !c.frozen,
        can_add_contact: d.can_write && !d.read_only && user.can(Module::Contacts, Action::Create),
        can_edit: d.may(user, &RECORD, Action::Edit),
        can_delete: d.may(user, &RECORD, Action::Delete),
        can_transfer: d.may(user, &RECORD, Action::Transfer),
        can_change_state: d.can_write && user.can(Module::Customers, Action::Edit),
        can_freeze: dicts.get(c.status_id).is_some_and(|s| s.flag("can_freeze")),
        addresses: repo::addresses(&st.db, id).await?,
        dicts,
        children,
        hidden_children,
        parent_visible,
        d,
        ctx,
        c,
    };
    render(page).await
}
