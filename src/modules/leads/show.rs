//! The lead detail page: header, action bar, and tabs (basic info, timeline, attachments, history).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::model::{DICT_FIELDS, DICTS, ENTITY, Lead};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::audit::history::{self, LogRow};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldDef};
use crate::state::AppState;
use crate::timeline::TimelineView;
use crate::web::{PageCtx, RequestCtx, render};

const TABS: &[(&str, &str)] = &[
    ("basic", "lead.tab.basic"),
    ("timeline", "lead.tab.timeline"),
    ("attachments", "lead.tab.attachments"),
    ("history", "lead.tab.history"),
];

#[derive(Deserialize, Default)]
pub struct TabQuery {
    #[serde(default)]
    tab: String,
    #[serde(default)]
    kind: String,
}

#[derive(Template)]
#[template(path = "leads/show.html")]
struct ShowPage {
    ctx: PageCtx,
    l: Lead,
    tab: &'static str,
    dicts: Dicts,
    defs: Vec<FieldDef>,
    starred: bool,
    can_edit: bool,
    can_delete: bool,
    can_transfer: bool,
    can_convert: bool,
    /// The customer it became, when the user may open it.
    customer_visible: bool,
    timeline: Option<TimelineView>,
    attachments: crate::attachments::Panel,
    history: Vec<LogRow>,
    user_names: HashMap<i64, String>,
}

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        TABS.iter().map(|(k, l)| (*k, self.ctx.t(l), *k == self.tab)).collect()
    }

    fn classification(&self) -> Vec<(&'static str, String)> {
        DICT_FIELDS
            .iter()
            .map(|(col, _)| {
                let label = self.ctx.t(&format!("lead.{}", col.trim_end_matches("_id")));
                let value = if *col == "region_id" {
                    self.dicts.path_label(self.l.region_id, self.ctx.lang)
                } else {
                    self.dicts.label(self.l.dict_value(col), self.ctx.lang)
                };
                (label, value)
            })
            .collect()
    }

    fn custom_values(&self) -> Vec<(String, String)> {
        self.defs
            .iter()
            .map(|d| {
                let v = fields::display(d, self.l.custom.get(&d.key), self.ctx.lang, self.ctx.tz, &self.user_names);
                (d.label(self.ctx.lang).to_string(), v)
            })
            .collect()
    }

    fn sentences(&self, row: &LogRow) -> Vec<String> {
        row.sentences(self.ctx.lang)
    }

    fn converted_line(&self) -> String {
        self.ctx.lang.tf(
            "lead.converted_line",
            &[
                ("actor", self.l.converted_by_name.as_deref().unwrap_or_default()),
                ("at", &self.ctx.opt_datetime(&self.l.converted_at)),
            ],
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
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let l = repo::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    let tab = TABS.iter().map(|(k, _)| *k).find(|k| *k == q.tab).unwrap_or("basic");
    let can_write = scope.can_write(&st.db, ENTITY, id, l.owner_id).await? && !l.is_converted();
    let can_edit = can_write && user.can(Module::Leads, Action::Edit);
    let history = if tab == "history" { history::for_record(&st.db, ENTITY, id, 200).await? } else { Vec::new() };
    let timeline = if tab == "timeline" {
        let base = format!("/leads/{id}");
        Some(TimelineView::load(&st.db, &ctx.session, ctx.lang, ENTITY, id, None, &q.kind, can_edit, base).await?)
    } else {
        None
    };
    let attachments = if tab == "attachments" {
        crate::attachments::Panel::load(&st, &super::RECORD, user, id).await?
    } else {
        crate::attachments::Panel::default()
    };
    let customer_visible = match l.customer_id {
        Some(c) => {
            let cscope = DataScope::resolve(&st.db, user, Module::Customers).await?;
            crate::modules::customers::find_visible(&st.db, &cscope, c, false).await?.is_some()
        }
        None => false,
    };
    let defs = fields::defs(&st.db, ENTITY).await?;
    let user_names = fields::user_names(&st.db, &defs, std::iter::once(&*l.custom)).await?;
    let page = ShowPage {
        starred: crate::records::stars::is_starred(&st.db, user.id, ENTITY, id).await?,
        can_edit,
        can_delete: can_write && user.can(Module::Leads, Action::Delete),
        can_transfer: can_write && user.can(Module::Leads, Action::Transfer),
        can_convert: can_edit && user.can(Module::Customers, Action::Create),
        customer_visible,
        timeline,
        attachments,
        history,
        dicts: Dicts::load(&st.db, DICTS).await?,
        defs,
        user_names,
        tab,
        ctx,
        l,
    };
    render(page)
}
