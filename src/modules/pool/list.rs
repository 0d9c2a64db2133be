//! A pool's page: its customers (owner empty) with the previous owner, when and why they entered,
//! on the shared list mechanism (filters, saved scenes, sorting, columns, bulk claim / assign).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::{Postgres, QueryBuilder};

use super::repo::{self, Pool};
use super::rules;
use crate::access::{Action, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldDef};
use crate::list::{self, BulkAction, Cell, Column, ColumnChoice, ListView, Row, Sort, SortKey, filters};
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

/// The list-preference module code (saved scenes, columns).
pub const MODULE: &str = "pool";

pub const SORT_KEYS: &[SortKey] = &[
    SortKey { key: "entered", sql: "c.pool_entered_at", nullable: false },
    SortKey { key: "name", sql: "c.name", nullable: false },
    SortKey { key: "level", sql: "c.level", nullable: false },
    SortKey { key: "followup", sql: "c.last_followup_at", nullable: true },
    SortKey { key: "created", sql: "c.created_at", nullable: false },
];

pub const SELECT: &str = "SELECT c.id, c.code, c.name, c.level, c.status_id, c.industry_id, c.region_id, c.source_id,
       c.phone, c.mobile, po.name AS previous_owner_name, c.pool_entered_at, c.pool_reason,
       c.last_followup_at, c.created_at, c.custom";

pub const FROM: &str = "FROM customers c LEFT JOIN users po ON po.id = c.previous_owner_id";

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct PoolRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: i16,
    pub status_id: i64,
    pub industry_id: Option<i64>,
    pub region_id: Option<i64>,
    pub source_id: Option<i64>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub previous_owner_name: Option<String>,
    pub pool_entered_at: Option<DateTime<Utc>>,
    pub pool_reason: Option<sqlx::types::Json<Value>>,
    pub last_followup_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub custom: sqlx::types::Json<Map<String, Value>>,
}

/// The filter form. Empty strings mean "no filter".
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct PoolFilter {
    pub pool: String,
    pub q: String,
    pub level: String,
    pub status: String,
    pub industry: String,
    pub region: String,
    pub previous_owner: String,
    /// "manual" (put back) or "auto" (recycled by a rule).
    pub reason: String,
    pub entered_from: String,
    pub entered_to: String,
    pub sort: String,
    pub dir: String,
}

impl PoolFilter {
    pub fn has_more(&self) -> bool {
        [&self.previous_owner, &self.reason, &self.entered_from, &self.entered_to].iter().any(|v| !v.trim().is_empty())
    }
}

/// `FROM ... WHERE` for the live customers of `pool`, narrowed by the filter.
pub fn push_from_where(
    q: &mut QueryBuilder<'_, Postgres>,
    pool: &Pool,
    f: &PoolFilter,
    dicts: &Dicts,
    tz: FixedOffset,
) {
    // The bare table: the count and the page's ids then come from the pool index alone; the
    // previous owner's name is joined onto the page's rows only (`FROM`).
    q.push("FROM customers c WHERE c.deleted_at IS NULL AND c.owner_id IS NULL AND c.pool_id = ").push_bind(pool.id);
    crate::modules::customers::KEYWORD.push(q, &f.q);
    if let Ok(l) = f.level.trim().parse::<i16>() {
        q.push(" AND c.level = ").push_bind(l);
    }
    filters::push_id(q, "c.status_id", &f.status);
    filters::push_id(q, "c.industry_id", &f.industry);
    filters::push_dict_subtree(q, "c.region_id", dicts, "region", &f.region);
    filters::push_id(q, "c.previous_owner_id", &f.previous_owner);
    match f.reason.as_str() {
        "manual" => {
            q.push(" AND c.pool_reason->>'kind' = 'put_back'");
        }
        "auto" => {
            q.push(" AND c.pool_reason->>'kind' IN ('no_followup', 'no_opportunity', 'no_deal')");
        }
        _ => {}
    }
    filters::push_day_range(q, "c.pool_entered_at", &f.entered_from, &f.entered_to, tz);
}

/// Every column the pool list can show; custom fields of customers come last.
pub fn available_columns(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
    let mut cols = vec![
        Column::new("name", "customer.name", Some("name"), true),
        Column::new("code", "customer.code", None, false),
        Column::new("level", "customer.level", Some("level"), true),
        Column::new("status", "customer.status", None, true),
        Column::new("industry", "customer.industry", None, true),
        Column::new("region", "customer.region", None, true),
        Column::new("source", "customer.source", None, false),
        Column::new("phone", "customer.phone", None, false),
        Column::new("previous_owner", "pool.previous_owner", None, true),
        Column::new("entered_at", "pool.entered_at", Some("entered"), true),
        Column::new("reason", "pool.reason", None, true),
        Column::new("last_followup", "customer.last_followup", Some("followup"), false),
        Column::new("created_at", "customer.created_at", Some("created"), false),
    ];
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

fn cell(r: &PoolRow, key: &str, dicts: &Dicts, defs: &[FieldDef], ctx: &PageCtx) -> Cell {
    let lang = ctx.lang;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match key {
        "name" => Cell::link(r.name.clone(), format!("/customers/{}", r.id)),
        "code" => Cell::text(r.code.clone()),
        "level" => Cell::num(format!("L{}", r.level)),
        "status" => Cell::text(dicts.label(Some(r.status_id), lang)),
        "industry" => Cell::text(dicts.label(r.industry_id, lang)),
        "region" => Cell::text(dicts.path_label(r.region_id, lang)),
        "source" => Cell::text(dicts.label(r.source_id, lang)),
        "phone" => Cell::text(r.phone.clone().or_else(|| r.mobile.clone()).unwrap_or_default()),
        "previous_owner" => Cell::text(opt(&r.previous_owner_name)),
        "entered_at" => Cell::text(ctx.opt_datetime(&r.pool_entered_at)),
        "reason" => Cell::text(r.pool_reason.as_ref().map(|v| rules::reason_text(lang, &v.0)).unwrap_or_default()),
        "last_followup" => Cell::text(ctx.opt_datetime(&r.last_followup_at)),
        "created_at" => Cell::text(ctx.datetime(&r.created_at)),
        k => Cell::text(fields::column_text(k, defs, &r.custom, lang, ctx.tz, &HashMap::new()).unwrap_or_default()),
    }
}

/// One tab of the pool bar.
pub struct PoolTab {
    pub id: i64,
    pub name: String,
    pub count: i64,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "pool/index.html")]
struct IndexPage {
    ctx: PageCtx,
    pools: Vec<PoolTab>,
    pool: Option<Pool>,
    list: ListView,
    filter: PoolFilter,
    status_options: Vec<SelectOpt>,
    industry_options: Vec<SelectOpt>,
    region_options: Vec<SelectOpt>,
    previous_owner_options: Vec<SelectOpt>,
    is_pool_admin: bool,
}

crate::page!(IndexPage);

impl IndexPage {
    fn pool_id(&self) -> i64 {
        self.pool.as_ref().map(|p| p.id).unwrap_or_default()
    }

    fn rules_hint(&self) -> String {
        let Some(p) = &self.pool else { return String::new() };
        let mut parts = vec![match p.claim_cap_per_day {
            Some(n) => self.ctx.tf1("pool.hint_cap", "n", &n.to_string()),
            None => self.ctx.t("pool.hint_no_cap").to_string(),
        }];
        if p.reclaim_cooldown_days > 0 {
            parts.push(self.ctx.tf1("pool.hint_cooldown", "n", &p.reclaim_cooldown_days.to_string()));
        }
        parts.join(if self.ctx.lang == Lang::En { "; " } else { "；" })
    }
}

/// The pool to show: the one asked for if the user may open it, else the first they may.
fn pick(pools: &[Pool], asked: &str) -> AppResult<Option<Pool>> {
    match filters::id_of(asked) {
        Some(id) => pools.iter().find(|p| p.id == id).cloned().map(Some).ok_or(AppError::NotFound),
        None => Ok(pools.first().cloned()),
    }
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<PoolFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/pool", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let pools = repo::visible(&st.db, user).await?;
    let pool = pick(&pools, &filter.pool)?;
    let tabs = pool_tabs(&st, &pools, pool.as_ref()).await?;
    let dicts = Dicts::load(&st.db, &["customer_status", "industry", "region", "customer_source"]).await?;
    let defs = fields::defs(&st.db, "customer").await?;
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("entered", true));
    let tz = st.config.timezone;
    let (pager, rows): (_, Vec<PoolRow>) = match &pool {
        Some(p) => {
            let page = list::Page { select: SELECT, from: FROM, alias: "c" };
            let core = |q: &mut QueryBuilder<'_, Postgres>| push_from_where(q, p, &filter, &dicts, tz);
            list::fetch_page(&st.db, page, core, &sort, Some(&raw), list::Total::Count).await?
        }
        None => (crate::web::Pager::from_query(Some(&raw), 0), Vec::new()),
    };
    let columns = ColumnChoice::load(&st.db, user.id, MODULE, available_columns(&defs, ctx.lang)).await?.columns();
    let rows = rows
        .iter()
        .map(|r| Row {
            id: r.id,
            cells: columns.iter().map(|c| cell(r, &c.key, &dicts, &defs, &ctx)).collect(),
            badges: Vec::new(),
        })
        .collect();
    let (bulk, is_pool_admin) = bulk_actions(&st, &ctx, user, pool.as_ref()).await?;
    let list = ListView {
        path: "/pool".into(),
        raw_query: raw.clone(),
        scenes: scene_tabs(&st, &ctx, user, &raw, pool.as_ref()).await?,
        headers: list::headers(&columns, &raw, &sort, |c| c.label(ctx.lang)),
        rows,
        pager,
        bulk,
        columns_href: "/pool/columns".into(),
    };
    let lang = ctx.lang;
    let page = IndexPage {
        status_options: dicts.options("customer_status", lang, None),
        industry_options: dicts.options("industry", lang, None),
        region_options: dicts.options("region", lang, None),
        previous_owner_options: crate::org::users::options(&st.db, false).await?,
        pools: tabs,
        pool,
        is_pool_admin,
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

/// The pool bar: every pool the user may open, with how many customers sit in it.
async fn pool_tabs(st: &AppState, pools: &[Pool], current: Option<&Pool>) -> AppResult<Vec<PoolTab>> {
    let counts: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT pool_id, count(*) FROM customers WHERE deleted_at IS NULL AND owner_id IS NULL AND pool_id = ANY($1)
         GROUP BY pool_id",
    )
    .bind(pools.iter().map(|p| p.id).collect::<Vec<_>>())
    .fetch_all(&st.db)
    .await?;
    Ok(pools
        .iter()
        .map(|p| PoolTab {
            id: p.id,
            name: p.name.clone(),
            count: counts.iter().find(|c| c.0 == p.id).map(|c| c.1).unwrap_or(0),
            active: current.is_some_and(|x| x.id == p.id),
        })
        .collect())
}

/// Claim for those who may open the pool, assign for its admins and managers, export for those
/// who may; and whether the user is one of the pool's admins.
async fn bulk_actions(
    st: &AppState,
    ctx: &PageCtx,
    user: &CurrentUser,
    pool: Option<&Pool>,
) -> AppResult<(Vec<BulkAction>, bool)> {
    let Some(p) = pool else { return Ok((Vec::new(), false)) };
    let mut conn = st.db.acquire().await?;
    let is_admin = repo::is_admin(&mut conn, p.id, user.id).await?;
    let mut bulk = Vec::new();
    if user.can(Module::Pool, Action::View) {
        let confirm = Some(ctx.t("pool.confirm_claim").into());
        bulk.push(BulkAction {
            label: ctx.t("pool.claim").into(),
            action: "/pool/claim".into(),
            confirm,
            danger: false,
        });
    }
    if repo::can_assign(&mut conn, p, user).await? {
        bulk.push(BulkAction {
            label: ctx.t("pool.assign").into(),
            action: "/pool/assign".into(),
            confirm: None,
            danger: false,
        });
    }
    bulk.extend(crate::exports::bulk_action(ctx, user, "pool"));
    Ok((bulk, is_admin))
}

/// The scene bar: pools have no owners, so of the system scenes only "all" makes sense here.
async fn scene_tabs(
    st: &AppState,
    ctx: &PageCtx,
    user: &CurrentUser,
    raw: &str,
    pool: Option<&Pool>,
) -> AppResult<Vec<list::scenes::SceneTab>> {
    let saved = list::scenes::saved(&st.db, user.id, MODULE).await?;
    let mut scenes = list::scenes::tabs("/pool", raw, &saved, ctx.lang, |s| s == list::Scene::All);
    let saved_active = scenes.iter().any(|t| t.saved_id.is_some() && t.active);
    if let (Some(all), Some(p)) = (scenes.first_mut(), pool) {
        all.label = ctx.t("pool.scene_all").to_string();
        all.href = format!("/pool?pool={}", p.id);
        all.active = !saved_active;
    }
    Ok(scenes)
}
