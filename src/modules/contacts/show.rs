//! The contact detail page: header, action bar, and tabs (basic info, timeline, history).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;

use super::RECORD;
use super::model::{Contact, DICTS};
use super::{list, repo};
use crate::access::{Action, DataScope, Module};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::modules::customers;
use crate::org::users;
use crate::records::detail::{Detail, Row, TabQuery};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

/// (tab key, i18n label).
const TABS: &[(&str, &str)] = &[
    ("basic", "contact.tab.basic"),
    ("timeline", "contact.tab.timeline"),
    ("attachments", "customer.tab.attachments"),
    ("history", "contact.tab.history"),
];

#[derive(Template)]
#[template(path = "contacts/show.html")]
struct ShowPage {
    ctx: PageCtx,
    c: Contact,
    d: Detail,
    dicts: Dicts,
    can_edit: bool,
    can_delete: bool,
    can_transfer: bool,
    customer_visible: bool,
    transfer_options: Vec<SelectOpt>,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
    }

    fn salutation(&self) -> String {
        self.dicts.label(self.c.salutation_id, self.ctx.lang)
    }

    fn gender(&self) -> &'static str {
        list::gender_label(self.ctx.lang, self.c.gender.as_deref())
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
    let d = Detail::load(
        &st,
        &ctx,
        (user, &scope),
        &RECORD,
        Row { id, owner: c.owner_id, read_only: c.customer_frozen, custom: &c.custom, customer: Some(c.customer_id) },
        TABS,
        &q,
    )
    .await?;
    let customer_scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let customer_visible = customers::find_visible(&st.db, &customer_scope, c.customer_id, false).await?.is_some();
    let can_transfer = d.may(user, &RECORD, Action::Transfer);
    let transfer_options = if can_transfer { users::options(&st.db, true).await? } else { Vec::new() };
    let page = ShowPage {
        can_edit: d.may(user, &RECORD, Action::Edit),
        can_delete: d.may(user, &RECORD, Action::Delete),
        can_transfer,
        customer_visible,
        transfer_options,
        dicts: Dicts::load(&st.db, DICTS).await?,
        d,
        ctx,
        c,
    };
    render(page).await
}
