//! The customer detail page: header, action bar, and tabs (basic info, related customers,
//! history). Later modules add their tabs to `TABS`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::model::{Address, Customer, DICT_FIELDS, DICTS, ENTITY};
use super::{RECORD, repo};
use crate::access::{Action, DataScope, Module};
use crate::audit::history::{self, LogRow};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldDef};
use crate::org::{departments as depts, users};
use crate::records::team;
use crate::state::AppState;
use crate::timeline::TimelineView;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

/// (tab key, i18n label). Later modules (contacts, timeline, team, ...) add theirs here.
const TABS: &[(&str, &str)] = &[
    ("basic", "customer.tab.basic"),
    ("timeline", "customer.tab.timeline"),
    ("contacts", "customer.tab.contacts"),
    ("team", "customer.tab.team"),
    ("attachments", "customer.tab.attachments"),
    ("related", "customer.tab.related"),
    ("history", "customer.tab.history"),
];

#[derive(Deserialize, Default)]
pub struct TabQuery {
    #[serde(default)]
    tab: String,
    /// Timeline filter: "", "followup" or "history".
    #[serde(default)]
    kind: String,
}

#[derive(Template)]
#[template(path = "customers/show.html")]
struct ShowPage {
    ctx: PageCtx,
    c: Customer,
    tab: &'static str,
    dicts: Dicts,
    defs: Vec<FieldDef>,
    addresses: Vec<Address>,
    starred: bool,
    can_edit: bool,
    can_delete: bool,
    can_transfer: bool,
    /// Owner in scope or read-write member (frozen or not): lock / freeze buttons.
    can_change_state: bool,
    can_freeze: bool,
    timeline: Option<TimelineView>,
    contacts: Vec<crate::modules::contacts::ContactRow>,
    can_add_contact: bool,
    /// Loaded only on the attachments tab.
    attachments: crate::attachments::Panel,
    members: Vec<team::Member>,
    shares: Vec<team::Share>,
    users: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
    children: Vec<(i64, String, String)>,
    hidden_children: i64,
    parent_visible: bool,
    history: Vec<LogRow>,
    user_names: HashMap<i64, String>,
    /// The latest status upgrade request and its outcome (src/modules/customers/status.rs).
    approval: Option<super::status::Card>,
}

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        TABS.iter().map(|(k, l)| (*k, self.ctx.t(l), *k == self.tab)).collect()
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

    fn custom_values(&self) -> Vec<(String, String)> {
        self.defs
            .iter()
            .map(|d| {
                let v = fields::display(d, self.c.custom.get(&d.key), self.ctx.lang, self.ctx.tz, &self.user_names);
                (d.label(self.ctx.lang).to_string(), v)
            })
            .collect()
    }

    fn sentences(&self, row: &LogRow) -> Vec<String> {
        row.sentences(self.ctx.lang)
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
    let tab = TABS.iter().map(|(k, _)| *k).find(|k| *k == q.tab).unwrap_or("basic");
    let can_write = scope.can_write(&st.db, ENTITY, id, c.owner_id).await?;
    let (children, hidden_children) =
        if tab == "related" { repo::children(&st.db, &scope, id).await? } else { (Vec::new(), 0) };
    let parent_visible = match c.parent_id {
        Some(p) => repo::find_visible(&st.db, &scope, p, false).await?.is_some(),
        None => false,
    };
    let history = if tab == "history" { history::for_record(&st.db, ENTITY, id, 200).await? } else { Vec::new() };
    let defs = fields::defs(&st.db, ENTITY).await?;
    let user_names = fields::user_names(&st.db, &defs, std::iter::once(&*c.custom)).await?;
    let can_edit = can_write && user.can(Module::Customers, Action::Edit) && !c.frozen;
    let timeline = if tab == "timeline" {
        let base = format!("/customers/{id}");
        Some(TimelineView::load(&st.db, &ctx.session, ctx.lang, ENTITY, id, Some(id), &q.kind, can_edit, base).await?)
    } else {
        None
    };
    let (members, shares, users_opts, dept_opts) = if tab == "team" {
        (
            team::members(&st.db, &RECORD, id).await?,
            team::shares(&st.db, &RECORD, id).await?,
            users::options(&st.db, true).await?,
            depts::options(&st.db).await?,
        )
    } else {
        Default::default()
    };
    let contacts =
        if tab == "contacts" { crate::modules::contacts::for_customer(&st.db, id).await? } else { Vec::new() };
    let can_add_contact = can_write && !c.frozen && user.can(Module::Contacts, Action::Create);
    let attachments = if tab == "attachments" {
        crate::attachments::Panel::load(&st, &RECORD, user, id).await?
    } else {
        crate::attachments::Panel::default()
    };
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let approval = super::status::card(&st.db, &c, &dicts, ctx.lang, user.id).await?;
    let page = ShowPage {
        approval,
        attachments,
        contacts,
        can_add_contact,
        starred: crate::records::stars::is_starred(&st.db, user.id, ENTITY, id).await?,
        can_edit,
        can_delete: can_write && user.can(Module::Customers, Action::Delete) && !c.frozen,
        can_transfer: can_write && user.can(Module::Customers, Action::Transfer) && !c.frozen,
        can_change_state: can_write && user.can(Module::Customers, Action::Edit),
        can_freeze: dicts.get(c.status_id).is_some_and(|s| s.flag("can_freeze")),
        timeline,
        members,
        shares,
        users: users_opts,
        depts: dept_opts,
        addresses: repo::addresses(&st.db, id).await?,
        dicts,
        defs,
        user_names,
        children,
        hidden_children,
        parent_visible,
        history,
        tab,
        ctx,
        c,
    };
    render(page)
}
