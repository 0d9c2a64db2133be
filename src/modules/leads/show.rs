//! The lead detail page: header, action bar, and tabs (basic info, timeline, attachments, history).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;

use super::RECORD;
use super::model::{DICT_FIELDS, DICTS, Lead};
use super::repo;
use crate::access::{Action, DataScope, Module};

use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

const TABS: &[(&str, &str)] = &[
    ("basic", "lead.tab.basic"),
    ("timeline", "lead.tab.timeline"),
    ("attachments", "lead.tab.attachments"),
    ("history", "lead.tab.history"),
];

#[derive(Template)]
#[template(path = "leads/show.html")]
struct ShowPage {
    ctx: PageCtx,
    l: Lead,
    d: Detail,
    dicts: Dicts,
    can_edit: bool,
    can_delete: bool,
    can_transfer: bool,
    can_convert: bool,
    /// The customer it became, when the user may open it.
    customer_visible: bool,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
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
    let d = Detail::load(
        &st,
        &ctx,
        (user, &scope),
        &RECORD,
        Row { id, owner: l.owner_id, read_only: l.is_converted(), custom: &l.custom, customer: None },
        TABS,
        &q,
    )
    .await?;
    let customer_visible = match l.customer_id {
        Some(c) => {
            let cscope = DataScope::resolve(&st.db, user, Module::Customers).await?;
            crate::modules::customers::find_visible(&st.db, &cscope, c, false).await?.is_some()
        }
        None => false,
    };
    let can_edit = d.may(user, &RECORD, Action::Edit);
    let page = ShowPage {
        can_edit,
        can_delete: d.may(user, &RECORD, Action::Delete),
        can_transfer: d.may(user, &RECORD, Action::Transfer),
        can_convert: can_edit && user.can(Module::Customers, Action::Create),
        customer_visible,
        dicts: Dicts::load(&st.db, DICTS).await?,
        d,
        ctx,
        l,
    };
    render(page).await
}
