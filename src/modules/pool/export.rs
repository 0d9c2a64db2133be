//! A pool's export (`crate::exports`): the customers of the pool the list shows, narrowed by its
//! filter (`list::push_from_where`), with the pool's own columns and every customer field.

use futures_util::future::BoxFuture;
use sqlx::QueryBuilder;

use super::{list, repo};
use crate::access::{Action, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::exports::{Col, Kind, Rows, Source, Visible};
use crate::list::filters;
use crate::state::AppState;
use crate::web::i18n::Lang;

const JOINS: &str = "LEFT JOIN users po ON po.id = t.previous_owner_id LEFT JOIN users cb ON cb.id = t.created_by";

const COLUMNS: &[Col] = &[
    Col::text("name", "customer.name", "t.name"),
    Col::text("code", "customer.code", "t.code"),
    Col::text("level", "customer.level", "'L' || t.level"),
    Col::new("status", "customer.status", "t.status_id", Kind::Dict),
    Col::new("industry", "customer.industry", "t.industry_id", Kind::Dict),
    Col::new("region", "customer.region", "t.region_id", Kind::DictPath),
    Col::new("source", "customer.source", "t.source_id", Kind::Dict),
    // The list's "phone" column shows the phone, else the mobile.
    Col::text("phone", "customer.phone", "coalesce(t.phone, t.mobile)"),
    Col::text("mobile", "customer.mobile", "t.mobile"),
    Col::text("email", "customer.email", "t.email"),
    Col::text("previous_owner", "pool.previous_owner", "po.name"),
    Col::new("entered_at", "pool.entered_at", "t.pool_entered_at", Kind::DateTime),
    Col::new("reason", "pool.reason", "t.pool_reason", Kind::Label(reason)),
    Col::text("short_name", "customer.short_name", "t.short_name"),
    Col::new("category", "customer.category", "t.category_id", Kind::Dict),
    Col::new("size", "customer.size", "t.size_id", Kind::Dict),
    Col::new("stage", "customer.stage", "t.stage_id", Kind::Dict),
    Col::text("website", "customer.website", "t.website"),
    Col::text("description", "customer.description", "t.description"),
    Col::new("last_followup", "customer.last_followup", "t.last_followup_at", Kind::DateTime),
    Col::text("created_by", "customer.created_by", "cb.name"),
    Col::new("created_at", "customer.created_at", "t.created_at", Kind::DateTime),
];

/// Why it entered the pool, as the list says it.
fn reason(lang: Lang, json: &str) -> String {
    serde_json::from_str(json).map(|v| super::rules::reason_text(lang, &v)).unwrap_or_default()
}

/// The customers of the pool the query string names (else the user's first pool) that its
/// filter matches; none when the user may not open that pool.
fn ids<'a>(st: &'a AppState, user: &'a CurrentUser, raw: &'a str) -> BoxFuture<'a, AppResult<Vec<i64>>> {
    Box::pin(async move {
        let filter: list::PoolFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
        let pools = repo::visible(&st.db, user).await?;
        let pool = match filters::id_of(&filter.pool) {
            Some(id) => pools.into_iter().find(|p| p.id == id).ok_or(AppError::NotFound)?,
            None => match pools.into_iter().next() {
                Some(p) => p,
                None => return Ok(Vec::new()),
            },
        };
        let dicts = Dicts::load(&st.db, &["region"]).await?;
        let mut q = QueryBuilder::new("SELECT c.id ");
        list::push_from_where(&mut q, &pool, &filter, &dicts, st.config.timezone);
        Ok(q.build_query_scalar().fetch_all(&st.db).await?)
    })
}

/// A pool's list (`/pool`).
pub fn source() -> Source {
    Source {
        code: "pool",
        module: Module::Pool,
        right: Action::Export,
        title: "nav.pool",
        entity: "pool",
        list_path: "/pool",
        table: "customers",
        joins: JOINS,
        order: "t.pool_entered_at DESC, t.id DESC",
        columns: COLUMNS,
        custom: Some("customer"),
        dicts: &[
            "customer_status",
            "industry",
            "region",
            "customer_source",
            "customer_category",
            "company_size",
            "service_stage",
        ],
        rows: Rows::Own(ids),
        visible: Visible::Chosen(list::MODULE, |defs, lang, _| list::available_columns(defs, lang)),
    }
}
