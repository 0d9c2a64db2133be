//! The contract list: scenes, filters (state, amount, order and end dates, customer, owner,
//! custom fields), columns, bulk actions — on the shared list mechanism — and the footer with
//! the amount, received and unreceived totals of everything the filter matches (from per-owner
//! counters when nothing narrows the list).

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

use super::RECORD;
use super::model::{Contract, DICTS, ENTITY, MODULE, Status};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::AppResult;
use crate::fields::{FieldDef, FilterInput};
use crate::list::{
    self, Cell, Column, FilterContext, ListView, Narrowing, Narrows, Owned, RecordList, Scene, Sort, SortKey, filters,
};
use crate::org::{departments as depts, users};
use crate::state::AppState;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, SelectOpt, render};

pub const SORT_KEYS: &[SortKey] = &[
    SortKey { key: "updated", sql: "k.updated_at", nullable: false },
    SortKey { key: "created", sql: "k.created_at", nullable: false },
    SortKey { key: "order", sql: "k.order_date", nullable: false },
    SortKey { key: "end", sql: "k.end_date", nullable: true },
    SortKey { key: "name", sql: "k.name", nullable: false },
    SortKey { key: "amount", sql: "k.amount", nullable: false },
];

/// The filter form. Empty strings mean "no filter".
#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct ContractFilter {
    pub q: String,
    /// Customer name, short name or code contains.
    pub customer: String,
    pub customer_id: String,
    pub opportunity_id: String,
    pub owner: String,
    pub dept: String,
    pub status: String,
    pub amount_min: String,
    pub amount_max: String,
    pub order_from: String,
    pub order_to: String,
    pub end_from: String,
    pub end_to: String,
    pub scene: String,
    pub sort: String,
    pub dir: String,
}

impl ContractFilter {
    pub fn scene(&self) -> Scene {
        Scene::from_code(&self.scene).unwrap_or(Scene::All)
    }

    pub fn is_unfiltered(&self) -> bool {
        [
            &self.q,
            &self.customer,
            &self.customer_id,
            &self.opportunity_id,
            &self.owner,
            &self.dept,
            &self.status,
            &self.amount_min,
            &self.amount_max,
            &self.order_from,
            &self.order_to,
            &self.end_from,
            &self.end_to,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }

    pub fn has_more(&self) -> bool {
        [&self.owner, &self.dept, &self.amount_min, &self.amount_max, &self.end_from, &self.end_to]
            .iter()
            .any(|v| !v.trim().is_empty())
    }
}

/// The contract list's conditions, on alias `k`.
impl Narrows for ContractFilter {
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &DataScope,
        user: &CurrentUser,
    ) {
        let f = n.filter;
        q.push("FROM contracts k WHERE ").push(repo::LIVE).push(" AND ");
        repo::push_visible(q, scope);
        let owned = Owned {
            alias: "k",
            entity: ENTITY,
            keyword: &repo::KEYWORD,
            scene: f.scene(),
            q: &f.q,
            owner: &f.owner,
            dept: &f.dept,
        };
        n.push_owned(q, owned, user);
        crate::modules::customers::push_named(q, "k.customer_id", &f.customer);
        filters::push_id(q, "k.customer_id", &f.customer_id);
        filters::push_id(q, "k.opportunity_id", &f.opportunity_id);
        if let Some(s) = Status::from_code(&f.status) {
            q.push(" AND k.status = ").push_bind(s.code());
        }
        filters::push_amount_range(q, "k.amount", (&f.amount_min, &f.amount_max));
        filters::push_date_range(q, "k.order_date", (&f.order_from, &f.order_to));
        filters::push_date_range(q, "k.end_date", (&f.end_from, &f.end_to));
        n.push_custom(q, "k");
    }
}

/// Every column the list can show; custom fields come last.
pub fn available_columns(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
    let mut cols = vec![
        Column::new("number", "contract.number", None, true),
        Column::new("name", "contract.name", Some("name"), true),
        Column::new("customer", "contract.customer", None, true),
        Column::new("amount", "contract.amount", Some("amount"), true),
        Column::new("received", "contract.received", None, true),
        Column::new("unreceived", "contract.unreceived", None, false),
        Column::new("status", "contract.status", None, false),
        Column::new("order_date", "contract.order_date", Some("order"), true),
        Column::new("start_date", "contract.start_date", None, false),
        Column::new("end_date", "contract.end_date", Some("end"), false),
        Column::new("type", "contract.type", None, false),
        Column::new("opportunity", "contract.opportunity", None, false),
        Column::new("owner", "contract.owner", None, true),
        Column::new("owner_dept", "contract.owner_dept", None, false),
        Column::new("last_followup", "contract.last_followup", None, false),
        Column::new("created_at", "contract.created_at", Some("created"), false),
        Column::new("updated_at", "contract.updated_at", Some("updated"), false),
    ];
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

/// One cell of a contract's row (custom field columns are filled by the list kernel).
fn cell(k: &Contract, key: &str, dicts: &Dicts, ctx: &PageCtx) -> Cell {
    let lang = ctx.lang;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let date = |d: &Option<NaiveDate>| d.map(|d| ctx.date(&d)).unwrap_or_default();
    match key {
        "number" => Cell::link(k.number.clone(), format!("/contracts/{}", k.id)),
        "name" => Cell::link(k.name.clone(), format!("/contracts/{}", k.id)),
        "customer" => Cell::link(k.customer_name.clone(), format!("/customers/{}", k.customer_id)),
        "amount" => Cell::num(ctx.money(&k.amount)),
        "received" => Cell::num(ctx.money(&k.received)),
        "unreceived" => Cell::num(ctx.money(&k.unreceived())),
        "status" => Cell::text(lang.t(k.status().label_key())),
        "order_date" => Cell::text(ctx.date(&k.order_date)),
        "start_date" => Cell::text(date(&k.start_date)),
        "end_date" => Cell::text(date(&k.end_date)),
        "type" => Cell::text(dicts.label(k.type_id, lang)),
        "opportunity" => match (k.opportunity_id, &k.opportunity_name) {
            (Some(id), Some(name)) => Cell::link(name.clone(), format!("/opportunities/{id}")),
            _ => Cell::default(),
        },
        "owner" => Cell::text(opt(&k.owner_name)),
        "owner_dept" => Cell::text(opt(&k.owner_dept)),
        "last_followup" => Cell::text(ctx.opt_datetime(&k.last_followup_at)),
        "created_at" => Cell::text(ctx.datetime(&k.created_at)),
        "updated_at" => Cell::text(ctx.datetime(&k.updated_at)),
        _ => Cell::default(),
    }
}

/// The state beside the name (the status column is hidden by default).
fn badges(k: &Contract, ctx: &PageCtx) -> Vec<(String, &'static str)> {
    let s = k.status();
    vec![(ctx.t(s.label_key()).to_string(), s.badge())]
}

/// Amount, received and unreceived (approved contracts) of a set of contracts.
#[derive(Default, Debug, Clone, Copy)]
pub struct Totals {
    pub n: i64,
    pub amount: Decimal,
    pub received: Decimal,
    pub unreceived: Decimal,
}

impl Totals {
    fn add(&mut self, rows: Vec<(String, i64, Decimal, Decimal)>) {
        for (status, n, amount, received) in rows {
            self.n += n;
            self.amount += amount;
            self.received += received;
            if status == Status::Approved.code() {
                self.unreceived += amount - received;
            }
        }
    }
}

/// What the filtered contracts add up to: from the counters for the unfiltered "all" and "mine"
/// scenes (plus those reached through team places and shares), else from the rows.
async fn totals(
    db: &PgPool,
    scope: &DataScope,
    user: &CurrentUser,
    (unfiltered, scene): (bool, Scene),
    core: impl Fn(&mut QueryBuilder<'_, Postgres>),
) -> sqlx::Result<Totals> {
    let mut t = Totals::default();
    let owners: Option<Vec<i64>> = match (unfiltered, scene) {
        (true, Scene::All) => scope.owners.clone(),
        (true, Scene::Mine) => Some(vec![user.id]),
        _ => {
            let mut q = QueryBuilder::new(
                "SELECT k.status, count(*), coalesce(sum(k.amount), 0), coalesce(sum(k.received), 0) ",
            );
            core(&mut q);
            q.push(" GROUP BY 1");
            t.add(q.build_query_as().fetch_all(db).await?);
            return Ok(t);
        }
    };
    t.add(
        sqlx::query_as(
            "SELECT status, sum(n)::bigint, sum(amount), sum(received) FROM contract_sums
              WHERE n <> 0 AND ($1::bigint[] IS NULL OR owner_id = ANY($1)) GROUP BY 1",
        )
        .bind(&owners)
        .fetch_all(db)
        .await?,
    );
    if let (Some(owners), Scene::All) = (&owners, scene) {
        let mut q = QueryBuilder::new(
            "SELECT k.status, count(*), coalesce(sum(k.amount), 0), coalesce(sum(k.received), 0) FROM contracts k
              WHERE k.deleted_at IS NULL AND k.id = ANY(ARRAY(",
        );
        scope.push_extra_ids(&mut q, ENTITY);
        q.push(")) AND (k.owner_id IS NULL OR NOT k.owner_id = ANY(").push_bind(owners.clone()).push(")) GROUP BY 1");
        t.add(q.build_query_as().fetch_all(db).await?);
    }
    Ok(t)
}

#[derive(Template)]
#[template(path = "contracts/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: ContractFilter,
    owners: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
    custom: Vec<FilterInput>,
    footer: Totals,
    more_open: bool,
    can_create: bool,
}

crate::page!(IndexPage);

impl IndexPage {
    fn statuses(&self) -> Vec<SelectOpt> {
        Status::ALL.iter().map(|s| SelectOpt::new(s.code(), self.ctx.t(s.label_key()))).collect()
    }
}

pub async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<ContractFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/contracts", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?.with_extras(&st.db, ENTITY).await?;
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("updated", true));
    let unfiltered = filter.is_unfiltered() && cx.custom.is_empty();
    let total =
        list::usual_total(&st.db, &RECORD, &scope, user, (unfiltered, filter.scene(), &filter.q), false).await?;
    let core = |q: &mut QueryBuilder<'_, Postgres>| narrowing.push_from_where(q, &scope, user);
    let (pager, rows): (_, Vec<Contract>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "k" },
        core,
        &sort,
        Some(&raw),
        total,
    )
    .await?;
    let footer = totals(&st.db, &scope, user, (unfiltered, filter.scene()), core).await?;
    let listing =
        RecordList { def: &RECORD, ctx: &ctx, user, raw: &raw, sort: &sort, defs: &cx.defs, extra: Vec::new() };
    let available = available_columns(&cx.defs, ctx.lang);
    let list = listing
        .view(&st.db, available, pager, &rows, |k, key, _| cell(k, key, &cx.dicts, &ctx), |k| badges(k, &ctx))
        .await?;
    let page = IndexPage {
        more_open: filter.has_more() || !cx.custom.is_empty(),
        owners: users::scope_options(&st.db, scope.owners.as_deref()).await?,
        depts: depts::options(&st.db).await?,
        custom: FilterInput::all(&cx.defs, &cx.custom),
        can_create: user.can(Module::Contracts, Action::Create),
        footer,
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

/// Ids of the live contracts the list's filter (its query string) matches within `scope`, for
/// bulk actions on "every matching row".
pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: ContractFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let cx = FilterContext::load(st, ENTITY, &[], raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let mut q = QueryBuilder::new("SELECT k.id ");
    narrowing.push_from_where(&mut q, scope, user);
    q.push(" ORDER BY k.id");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
