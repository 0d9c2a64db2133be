//! The payment list: state, amount, date, contract, customer, owner — on the shared list
//! mechanism — with the confirmed and waiting totals of everything the filter matches.

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::{PgPool, Postgres, QueryBuilder};

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

/// How many payments the filter matches, and how much of it is confirmed and waiting.
#[derive(Default)]
pub struct Totals {
    pub n: i64,
    pub confirmed: Decimal,
    pub waiting: Decimal,
}

impl Totals {
    fn add(&mut self, rows: Vec<(String, i64, Decimal)>) {
        for (status, n, amount) in rows {
            self.n += n;
            match Status::from_code(&status) {
                Some(Status::Approved) => self.confirmed += amount,
                Some(Status::Pending) => self.waiting += amount,
                _ => {}
            }
        }
    }
}

/// The footer: for the unfiltered "all" and "mine" scenes from the per-owner counters
/// (`payment_sums`) plus the few payments seen through their contract rather than their own
/// owner, else from the rows the filter matches.
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
            let mut q = QueryBuilder::new("SELECT p.status, count(*), coalesce(sum(p.amount), 0) ");
            core(&mut q);
            q.push(" GROUP BY 1");
            t.add(q.build_query_as().fetch_all(db).await?);
            return Ok(t);
        }
    };
    t.add(
        sqlx::query_as(
            "SELECT status, sum(n)::bigint, sum(amount) FROM payment_sums
              WHERE n <> 0 AND ($1::bigint[] IS NULL OR owner_id = ANY($1)) GROUP BY 1",
        )
        .bind(&owners)
        .fetch_all(db)
        .await?,
    );
    if let (Some(owners), Scene::All) = (&owners, scene) {
        // Seen through a team place or share (theirs or their contract's), or through their
        // contract's owner: owned by someone out of scope.
        let mut q = QueryBuilder::new(
            "SELECT p.status, count(*), coalesce(sum(p.amount), 0) FROM payments p
              WHERE p.deleted_at IS NULL AND (p.id = ANY(ARRAY(",
        );
        scope.push_child_extra_ids(&mut q, &repo::CHILD);
        q.push(")) OR p.contract_id = ANY(ARRAY(");
        scope.push_extra_ids(&mut q, "contract");
        q.push("))) AND (p.owner_id IS NULL OR NOT p.owner_id = ANY(").push_bind(owners.clone()).push(")) GROUP BY 1");
        t.add(q.build_query_as().fetch_all(db).await?);
    }
    Ok(t)
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
    let footer = totals(&st.db, &scope, user, (unfiltered, filter.scene()), core).await?;
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
        footer,
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
