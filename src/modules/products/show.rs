//! The product page: header with the shelf state, and tabs (basic info, price history, sold in,
//! attachments, history).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;

use super::RECORD;
use super::model::{DICTS, Product};
use super::repo::{self, PriceRow};
use crate::access::{Action, DataScope, Module};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::modules::opportunities::{self, SoldIn};
use crate::records::detail::{Detail, Row, TabQuery};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

const TABS: &[(&str, &str)] = &[
    ("basic", "product.tab.basic"),
    ("prices", "product.tab.prices"),
    ("sold", "product.tab.sold"),
    ("attachments", "product.tab.attachments"),
    ("history", "product.tab.history"),
];

#[derive(Template)]
#[template(path = "products/show.html")]
struct ShowPage {
    ctx: PageCtx,
    p: Product,
    d: Detail,
    dicts: Dicts,
    prices: Vec<PriceRow>,
    sold: SoldIn,
    cost_visible: bool,
    can_edit: bool,
    can_delete: bool,
    can_shelve: bool,
}

crate::page!(ShowPage);

impl ShowPage {
    fn tabs(&self) -> Vec<(&'static str, &'static str, bool)> {
        self.d.tab_links(&self.ctx, TABS)
    }

    fn status_label(&self, code: &str) -> &'static str {
        self.ctx
            .t(opportunities::model::Status::from_code(code).unwrap_or(opportunities::model::Status::Open).label_key())
    }

    fn label(&self, id: &Option<i64>) -> String {
        self.dicts.label(*id, self.ctx.lang)
    }

    fn category(&self) -> String {
        self.dicts.path_label(self.p.category_id, self.ctx.lang)
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
    let scope = DataScope::resolve(&st.db, user, Module::Products).await?;
    let p = repo::find(&st.db, id).await?.ok_or(AppError::NotFound)?;
    let row = Row { id, owner: None, read_only: false, custom: &p.custom, customer: None };
    let d = Detail::load(&st, &ctx, (user, &scope), &RECORD, row, TABS, &q).await?;
    let prices = if d.tab == "prices" { repo::prices(&st.db, id).await? } else { Vec::new() };
    let sold = if d.tab == "sold" { opportunities::sold_in(&st.db, user, id).await? } else { SoldIn::default() };
    let page = ShowPage {
        cost_visible: user.can(Module::Products, Action::Cost),
        can_edit: d.may(user, &RECORD, Action::Edit),
        can_delete: d.may(user, &RECORD, Action::Delete),
        can_shelve: d.may(user, &RECORD, Action::Shelf),
        dicts: Dicts::load(&st.db, DICTS).await?,
        prices,
        sold,
        d,
        ctx,
        p,
    };
    render(page).await
}
