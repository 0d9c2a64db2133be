//! The payment list: state, amount, date, contract, customer, owner — on the shared list
//! mechanism — with the confirmed and waiting totals of everything the filter matches.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::RECORD;
use super::model::{DICTS, ENTITY, MODULE, Payment, Status};
use super::repo;
use crate::access::{DataScope, Module};
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
    SortKey { key: "paid", sql: "p.paid_on", nullable: false },
    SortKey { key: "created", sql: "p.created_at", nullable: false },
    SortKey { key: "updated", sql: "p.updated_at", nullable: false },
    SortKey { key: "amount", sql: "p.amount", nullable: false },
];

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct PaymentFilter {
    pub q: String,
    pub customer: String,
    pub customer_id: String,
    pub contract_id: String,
    pub owner: String,
    pub dept: String,
    pub status: String,
    pub method: String,
    pub amount_min: String,
    pub amount_max: String,
    pub paid_from: String,
    pub paid_to: String,
    pub scene: String,
    pub sort: String,
    pub dir: String,
}

impl PaymentFilter {
    pub fn scene(&self) -> Scene {
        Scene::from_code(&self.scene).unwrap_or(Scene::All)
    }

    pub fn is_unfiltered(&self) -> bool {
        [
            &self.q,
            &self.customer,
            &self.customer_id,
            &self.contract_id,
            &self.owner,
            &self.dept,
            &self.status,
            &self.method,
            &self.amount_min,
            &self.amount_max,
            &self.paid_from,
            &self.paid_to,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }
}

impl Narrows for PaymentFilter {
    fn push_from_where(
        n: &Narrowing<'_, Self>,
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &DataScope,
        user: &CurrentUser,
    ) {
        let f = n.filter;
        q.push("FROM payments p WHERE ").push(repo::LIVE).push(" AND ");
        repo::push_visible(q, scope);
        let owned = Owned {
            alias: "p",
            entity: ENTITY,
            keyword: &repo::KEYWORD,
            scene: f.scene(),
            q: &f.q,
            owner: &f.owner,
            dept: &f.dept,
        };
        n.push_owned(q, owned, user);
        crate::modules::customers::push_named(q, "p.customer_id", &f.customer);
        filters::push_id(q, "p.customer_id", &f.customer_id);
        filters::push_id(q, "p.contract_id", &f.contract_id);
        filters::push_id(q, "p.method_id", &f.method);
        if let Some(s) = Status::from_code(&f.status) {
            q.push(" AND p.status = ").push_bind(s.code());
        }
        filters::push_amount_range(q, "p.amount", (&f.amount_min, &f.amount_max));
        filters::push_date_range(q, "p.paid_on", (&f.paid_from, &f.paid_to));
        n.push_custom(q, "p");
    }
}

pub fn available_columns(defs: &[FieldDef], lang: Lang) -> Vec<Column> {
    let mut cols = vec![
        Column::new("number", "payment.number", None, true),
        Column::new("contract", "payment.contract", None, true),
        Column::new("customer", "payment.customer", None, true),
        Column::new("amount", "payment.amount", Some("amount"), true),
        Column::new("paid_on", "payment.paid_on", Some("paid"), true),
        Column::new("plan", "payment.plan", None, false),
        Column::new("method", "payment.method", None, true),
        Column::new("status", "payment.status", None, false),
        Column::new("owner", "payment.owner", None, true),
        Column::new("owner_dept", "payment.owner_dept", None, false),
        Column::new("created_at", "payment.created_at", Some("created"), false),
    ];
    cols.extend(Column::custom_fields(defs, lang));
    cols
}

fn cell(p: &Payment, key: &str, dicts: &Dicts, ctx: &PageCtx) -> Cell {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    match key {
        "number" => Cell::link(p.number.clone(), format!("/payments/{}", p.id)),
        "contract" => {
            Cell::link(format!("{} {}", p.contract_number, p.contract_name), format!("/contracts/{}", p.contract_id))
        }
        "customer" => Cell::link(p.customer_name.clone(), format!("/customers/{}", p.customer_id)),
        "amount" => Cell::num(ctx.money(&p.amount)),
        "paid_on" => Cell::text(ctx.date(&p.paid_on)),
        "plan" => Cell::text(p.plan_term.map(|t| ctx.tf1("payment.term", "n", &t.to_string())).unwrap_or_default()),
        "method" => Cell::text(dicts.label(p.method_id, ctx.lang)),
        "status" => Cell::text(ctx.t(p.status().label_key())),
        "owner" => Cell::text(opt(&p.owner_name)),
        "owner_dept" => Cell::text(opt(&p.owner_dept)),
        "created_at" => Cell::text(ctx.datetime(&p.created_at)),
        _ => Cell::default(),
    }
}

fn badges(p: &Payment, ctx: &PageCtx) -> Vec<(String, &'static str)> {
    let s = p.status();
    vec![(ctx.t(s.label_key()).to_string(), s.badge())]
}

/// (confirmed, waiting) of what the filter matches.
#[derive(Default)]
pub struct Totals {
    pub n: i64,
    pub confirmed: Decimal,
    pub waiting: Decimal,
}

#[derive(Template)]
#[template(path = "payments/index.html")]
struct IndexPage {
    ctx: PageCtx,
    list: ListView,
    filter: PaymentFilter,
    owners: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
    methods: Vec<SelectOpt>,
    custom: Vec<FilterInput>,
    footer: Totals,
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
    Query(filter): Query<PaymentFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    if let Some(to) = list::scenes::default_redirect(&st.db, user.id, MODULE, "/payments", &raw).await? {
        return Ok(Redirect::to(&to).into_response());
    }
    let scope = DataScope::resolve(&st.db, user, Module::Payments).await?;
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let sort = Sort::from_query(SORT_KEYS, &filter.sort, &filter.dir, ("paid", true));
    let unfiltered = filter.is_unfiltered() && cx.custom.is_empty();
    let total =
        list::usual_total(&st.db, &RECORD, &scope, user, (unfiltered, filter.scene(), &filter.q), false).await?;
    let core = |q: &mut QueryBuilder<'_, Postgres>| narrowing.push_from_where(q, &scope, user);
    let (pager, rows): (_, Vec<Payment>) = list::fetch_page(
        &st.db,
        list::Page { select: repo::SELECT, from: repo::FROM, alias: "p" },
        core,
        &sort,
        Some(&raw),
        total,
    )
    .await?;
    let mut q = QueryBuilder::new(
        "SELECT count(*), coalesce(sum(p.amount) FILTER (WHERE p.status = 'approved'), 0),
                coalesce(sum(p.amount) FILTER (WHERE p.status = 'pending'), 0) ",
    );
    core(&mut q);
    let (n, confirmed, waiting): (i64, Decimal, Decimal) = q.build_query_as().fetch_one(&st.db).await?;
    let listing =
        RecordList { def: &RECORD, ctx: &ctx, user, raw: &raw, sort: &sort, defs: &cx.defs, extra: Vec::new() };
    let available = available_columns(&cx.defs, ctx.lang);
    let list = listing
        .view(&st.db, available, pager, &rows, |p, key, _| cell(p, key, &cx.dicts, &ctx), |p| badges(p, &ctx))
        .await?;
    let page = IndexPage {
        owners: users::scope_options(&st.db, scope.owners.as_deref()).await?,
        depts: depts::options(&st.db).await?,
        methods: cx.dicts.options("payment_method", ctx.lang, None),
        custom: FilterInput::all(&cx.defs, &cx.custom),
        footer: Totals { n, confirmed, waiting },
        ctx,
        list,
        filter,
    };
    Ok(render(page).await?.into_response())
}

pub async fn matching(st: &AppState, user: &CurrentUser, scope: &DataScope, raw: &str) -> AppResult<Vec<i64>> {
    let filter: PaymentFilter = serde_html_form::from_str(raw.trim_start_matches('?')).unwrap_or_default();
    let cx = FilterContext::load(st, ENTITY, &[], raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let mut q = QueryBuilder::new("SELECT p.id ");
    narrowing.push_from_where(&mut q, scope, user);
    q.push(" ORDER BY p.id");
    Ok(q.build_query_scalar().fetch_all(&st.db).await?)
}
