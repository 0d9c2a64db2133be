//! The forecast (销售预测): the open opportunities of one stage group that the user's scope and
//! the list's filter reach, by expected close month × stage (amount and weighted amount), with
//! the overdue and undated ones apart; and the stalled ones — no stage change and no follow-up
//! for N days (N chosen on the page).

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::Html;
use chrono::{Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{Postgres, QueryBuilder};

use super::board::chosen_group;
use super::list::{FilterOptions, OpportunityFilter};
use super::model::{DICTS, ENTITY, Opportunity};
use super::repo;
use super::stages::{self, Stage, StageNames};
use crate::access::{DataScope, Module};
use crate::error::AppResult;
use crate::list::{self, FilterContext, Narrowing};
use crate::money;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

const DEFAULT_MONTHS: u32 = 6;
const DEFAULT_STALLED_DAYS: i64 = 30;
const STALLED_SHOWN: i64 = 50;

/// One row of the table: a month (or the overdue / undated ones), its cells by stage.
pub struct MonthRow {
    pub label: String,
    pub cells: Vec<Cell>,
    pub total: Cell,
}

#[derive(Default, Clone, Copy)]
pub struct Cell {
    pub n: i64,
    pub amount: Decimal,
    pub weighted: Decimal,
}

impl Cell {
    fn add(&mut self, n: i64, amount: Decimal, rate: i16) {
        self.n += n;
        self.amount += amount;
        self.weighted += money::weighted(amount, rate);
    }
}

#[derive(Template)]
#[template(path = "opportunities/forecast.html")]
struct ForecastPage {
    ctx: PageCtx,
    filter: OpportunityFilter,
    options: FilterOptions,
    group_id: i64,
    months: u32,
    stalled_days: i64,
    stages: Vec<Stage>,
    rows: Vec<MonthRow>,
    totals: Vec<Cell>,
    grand: Cell,
    stalled: Vec<Opportunity>,
    stalled_total: i64,
    names: StageNames,
    query: String,
}

crate::page!(ForecastPage);

impl ForecastPage {
    fn stage(&self, id: &i64) -> String {
        self.names.name(*id, self.ctx.lang)
    }

    fn stalled_since(&self, o: &Opportunity) -> String {
        let last = o.last_followup_at.map_or(o.stage_changed_at, |f| f.max(o.stage_changed_at));
        super::model::duration(self.ctx.lang, (Utc::now() - last).num_seconds())
    }
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(n)).unwrap_or(d)
}

pub async fn forecast(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(mut filter): Query<OpportunityFilter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let raw = raw.unwrap_or_default();
    let scope = DataScope::resolve(&st.db, user, Module::Opportunities).await?.with_extras(&st.db, ENTITY).await?;
    let months = filter.months.trim().parse::<u32>().ok().filter(|m| (1..=24).contains(m)).unwrap_or(DEFAULT_MONTHS);
    let stalled_days = filter
        .stalled_days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=365).contains(d))
        .unwrap_or(DEFAULT_STALLED_DAYS);
    let group_id = chosen_group(&st, user, &filter.group).await?;
    filter.group = group_id.to_string();
    filter.status = "open".into();
    filter.months = months.to_string();
    filter.stalled_days = stalled_days.to_string();
    let cx = FilterContext::load(&st, ENTITY, DICTS, &raw).await?;
    let narrowing = Narrowing { filter: &filter, cx: &cx };
    let core = |q: &mut QueryBuilder<'_, Postgres>| narrowing.push_from_where(q, &scope, user);
    let mut conn = st.db.acquire().await?;
    let group_stages = stages::of_group(&mut conn, group_id).await?;
    drop(conn);

    let today = Utc::now().with_timezone(&st.config.timezone).date_naive();
    let table = table(&st, &core, &group_stages, (today, months), &ctx).await?;
    let (stalled, stalled_total) = stalled(&st, &core, stalled_days).await?;
    let names = StageNames::load(&st.db).await?;
    let page = ForecastPage {
        options: FilterOptions::load(&st, &scope, &cx, &names, ctx.lang).await?,
        names,
        query: list::without_paging(&raw),
        stages: group_stages,
        group_id,
        months,
        stalled_days,
        rows: table.rows,
        totals: table.totals,
        grand: table.grand,
        stalled,
        stalled_total,
        filter,
        ctx,
    };
    render(page).await
}

/// The month × stage table: rows for the overdue ones, each month from this one on, and the
/// undated ones; a cell per stage of the group, a total per row, per stage and overall.
struct Table {
    rows: Vec<MonthRow>,
    totals: Vec<Cell>,
    grand: Cell,
}

async fn table(
    st: &AppState,
    core: &impl Fn(&mut QueryBuilder<'_, Postgres>),
    stages: &[Stage],
    (today, months): (NaiveDate, u32),
    ctx: &PageCtx,
) -> AppResult<Table> {
    let first = month_start(today);
    // The overdue ones are keyed by a date before any month shown; undated ones by NULL.
    let overdue = NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or(first);
    let mut q = QueryBuilder::new("SELECT CASE WHEN o.expected_close IS NULL THEN NULL WHEN o.expected_close < ");
    q.push_bind(first).push(" THEN ").push_bind(overdue);
    q.push(
        " ELSE date_trunc('month', o.expected_close)::date END AS m, o.stage_id, count(*), coalesce(sum(o.amount), 0) ",
    );
    core(&mut q);
    q.push(" AND (o.expected_close IS NULL OR o.expected_close < ").push_bind(add_months(first, months));
    q.push(") GROUP BY 1, 2");
    let sums: Vec<(Option<NaiveDate>, i64, i64, Decimal)> = q.build_query_as().fetch_all(&st.db).await?;

    let mut keys = vec![(Some(overdue), ctx.t("opportunity.forecast.overdue").to_string())];
    keys.extend((0..months).map(|i| {
        let m = add_months(first, i);
        let label =
            ctx.tf("opportunity.forecast.month", &[("y", &m.year().to_string()), ("m", &m.month().to_string())]);
        (Some(m), label)
    }));
    keys.push((None, ctx.t("opportunity.forecast.no_date").to_string()));
    let mut totals = vec![Cell::default(); stages.len()];
    let mut grand = Cell::default();
    let rows = keys
        .into_iter()
        .map(|(key, label)| {
            let mut row = MonthRow { label, cells: vec![Cell::default(); stages.len()], total: Cell::default() };
            for (_, stage, n, amount) in sums.iter().filter(|c| c.0 == key) {
                let Some(i) = stages.iter().position(|s| s.id == *stage) else { continue };
                let rate = stages[i].win_rate;
                for cell in [&mut row.cells[i], &mut row.total, &mut totals[i], &mut grand] {
                    cell.add(*n, *amount, rate);
                }
            }
            row
        })
        .collect();
    Ok(Table { rows, totals, grand })
}

/// Open opportunities with neither a stage change nor a follow-up for `days` days: how many, and
/// the longest-waiting of them.
async fn stalled(
    st: &AppState,
    core: &impl Fn(&mut QueryBuilder<'_, Postgres>),
    days: i64,
) -> AppResult<(Vec<Opportunity>, i64)> {
    let since = Utc::now() - Duration::days(days);
    let push_stalled = |q: &mut QueryBuilder<'_, Postgres>| {
        core(q);
        q.push(" AND o.stage_changed_at < ").push_bind(since);
        q.push(" AND (o.last_followup_at IS NULL OR o.last_followup_at < ").push_bind(since).push(")");
    };
    let mut count = QueryBuilder::new("SELECT count(*) ");
    push_stalled(&mut count);
    let total: i64 = count.build_query_scalar().fetch_one(&st.db).await?;
    let mut q = QueryBuilder::new("SELECT o.id ");
    push_stalled(&mut q);
    q.push(" ORDER BY greatest(o.stage_changed_at, coalesce(o.last_followup_at, o.stage_changed_at)), o.id LIMIT ")
        .push_bind(STALLED_SHOWN);
    let ids: Vec<i64> = q.build_query_scalar().fetch_all(&st.db).await?;
    Ok((repo::rows_for(&st.db, &ids).await?, total))
}
