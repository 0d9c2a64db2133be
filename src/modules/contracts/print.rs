//! The printable contract (A4): both parties — the customer, and the company as configured
//! (`CRM_COMPANY_NAME`) — the product lines, totals, the amount in Chinese capitals (大写金额), the
//! payment terms, signers and dates. The print stylesheet hides everything but the sheet.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;

use super::model::{Contract, DICTS};
use super::{LINES, repo};
use crate::access::{DataScope, Module};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::modules::products::lines::{self, Table};
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

#[derive(Template)]
#[template(path = "contracts/print.html")]
struct PrintPage {
    ctx: PageCtx,
    k: Contract,
    lines: Table,
    company: String,
    capitals: String,
}

crate::page!(PrintPage);

impl PrintPage {
    fn text<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }

    /// "合同编号：HT…" / "Contract no.: HT…"
    fn kv(&self, label_key: &str, value: &str) -> String {
        self.ctx.tf("contract.print.kv", &[("label", self.ctx.t(label_key)), ("value", value)])
    }

    fn date(&self, d: &Option<chrono::NaiveDate>) -> String {
        d.map(|d| self.ctx.date(&d)).unwrap_or_default()
    }
}

/// GET /contracts/{id}/print
pub async fn print(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?;
    let k = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let stored = lines::stored(&st.db, &LINES, id).await?;
    render(PrintPage {
        lines: Table::new(stored, &dicts, ctx.lang, k.discount, k.amount),
        company: st.config.company_name.trim().to_string(),
        capitals: crate::money::capitals(k.amount),
        ctx,
        k,
    })
    .await
}
