//! The contact detail page: header, action bar, and tabs (basic info, timeline, history).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::model::{Contact, DICTS, ENTITY};
use super::{list, repo};
use crate::access::{Action, DataScope, Module};
use crate::audit::history::{self, LogRow};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldDef};
use crate::modules::customers;
use crate::org::users;
use crate::state::AppState;
use crate::timeline::TimelineView;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

/// (tab key, i18n label).
const TABS: &[(&str, &str)] = &[
    ("basic", "contact.tab.basic"),
    ("timeline", "contact.tab.timeline"),
    ("attachments", "customer.tab.attachments"),
    ("history", "contact.tab.history"),
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
#[template(path = "contacts/show.html")]
struct ShowPage {
    ctx: PageCtx,
    c: Contact,
    tab: &'static str,
    dicts: Dicts,
    defs: Vec<FieldDef>,
    starred: bool,
    can_edit: bool,
    can_delete: bool,
    can_transfer: bool,
    customer_visible: bool,
    transfer_options: Vec<SelectOpt>,
    history: Vec<LogRow>,
    timeline: Option<TimelineView>,
    user_names: HashMap<i64, String>,
    /// Loaded only on the attachments tab.
    attachments: crate::attachments::Panel,
}

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        TABS.iter().map(|(k, l)| (*k, self.ctx.t(l), *k == self.tab)).collect()
    }

    fn salutation(&self) -> String {
        self.dicts.label(self.c.salutation_id, self.ctx.lang)
    }

    fn gender(&self) -> &'static str {
        list::gender_label(self.ctx.lang, self.c.gender.as_deref())
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

    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
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
    let scope = DataScope::resolve(&st.db, user, Module::Contacts).await?;
    let c = repo::find_visible(&st.db, &scope, id, false).await?.ok_or(AppError::NotFound)?;
    let tab = TABS.iter().map(|(k, _)| *k).find(|k| *k == q.tab).unwrap_or("basic");
    let can_write = repo::can_write(&st.db, &scope, &c).await? && !c.customer_frozen;
    let customer_scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let customer_visible = customers::find_visible(&st.db, &customer_scope, c.customer_id, false).await?.is_some();
    let history = if tab == "history" { history::for_record(&st.db, ENTITY, id, 200).await? } else { Vec::new() };
    let timeline = if tab == "timeline" {
        let can_add = can_write && user.can(Module::Contacts, Action::Edit);
        Some(
            TimelineView::load(
                &st.db,
                &ctx.session,
                ctx.lang,
                ENTITY,
                id,
                Some(c.customer_id),
                &q.kind,
                can_add,
                format!("/contacts/{id}"),
            )
            .await?,
        )
    } else {
        None
    };
    let attachments = if tab == "attachments" {
        crate::attachments::Panel::load(&st, &super::RECORD, user, id).await?
    } else {
        crate::attachments::Panel::default()
    };
    let can_transfer = can_write && user.can(Module::Contacts, Action::Transfer);
    let transfer_options = if can_transfer { users::options(&st.db, true).await? } else { Vec::new() };
    let defs = fields::defs(&st.db, ENTITY).await?;
    let user_names = fields::user_names(&st.db, &defs, std::iter::once(&*c.custom)).await?;
    let page = ShowPage {
        starred: crate::records::stars::is_starred(&st.db, user.id, ENTITY, id).await?,
        can_edit: can_write && user.can(Module::Contacts, Action::Edit),
        can_delete: can_write && user.can(Module::Contacts, Action::Delete),
        can_transfer,
        customer_visible,
        transfer_options,
        dicts: Dicts::load(&st.db, DICTS).await?,
        defs,
        user_names,
        history,
        timeline,
        attachments,
        tab,
        ctx,
        c,
    };
    render(page)
}
