//! The author's numbers for a log's period (新增客户, 跟进, 新增商机, 签约合同, 回款), each a link
//! to the list that shows those rows. Each count is taken exactly as that list takes it — the
//! same table, the same "live" rule, the same date column and day boundaries (the configured
//! time zone), and the viewer's own data scope in that module — so the number and the rows behind
//! the link always agree, whoever looks (the author, or a manager reading it).
//!
//! - customers: owned by the author, created in the period (`/customers?owner=&created_from=`);
//! - follow-ups: written by the author in the period (`/followups?rep=&from=`);
//! - opportunities: owned by the author, created in the period, count and amount;
//! - contracts: owned by the author, signed (order date) in the period and approved (in effect);
//! - payments: owned by the author, received in the period and approved.

use chrono::{FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Module};
use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::list::filters::day_start;
use crate::modules::{contracts, customers, opportunities, payments};
use crate::records::RecordDef;

/// One number of the report.
#[derive(Clone, Debug)]
pub struct Number {
    /// "customers": the key in the frozen `stats`.
    pub code: &'static str,
    pub label_key: &'static str,
    pub count: i64,
    /// The amount the rows add up to, for the kinds that have one.
    pub amount: Option<Decimal>,
    /// The list with exactly these rows.
    pub href: String,
}

/// The author and period the numbers are about.
#[derive(Clone, Copy)]
pub struct About {
    pub author: i64,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// The numbers `viewer` can follow: a module the viewer may not view is left out.
pub async fn compute(db: &PgPool, viewer: &CurrentUser, about: About, tz: FixedOffset) -> AppResult<Vec<Number>> {
    let About { author, start, end } = about;
    let (s, e) = (start.to_string(), end.to_string());
    let (from, to) = (day_start(&s, tz, false), day_start(&e, tz, true));
    let mut out = Vec::new();

    if viewer.can(Module::Customers, Action::View) {
        let scope = DataScope::resolve(db, viewer, Module::Customers).await?;
        let mut q = owned(&customers::RECORD, &scope, author, "count(*), NULL::numeric");
        q.push(" AND t.created_at >= ").push_bind(from).push(" AND t.created_at < ").push_bind(to);
        let href = format!("/customers?owner={author}&created_from={s}&created_to={e}");
        out.push(number(db, q, ("customers", "worklog.stats.customers"), href).await?);
    }
    if viewer.can(Module::Followups, Action::View) {
        // As the follow-up list: follow-ups on live customers the viewer's scope sees.
        let scope = DataScope::resolve(db, viewer, Module::Followups).await?;
        let mut q = QueryBuilder::new(
            "SELECT count(*), NULL::numeric FROM followups fu JOIN customers c ON c.id = fu.customer_id
              WHERE c.deleted_at IS NULL AND ",
        );
        scope.push_visible(&mut q, "c", "customer");
        q.push(" AND fu.created_by = ").push_bind(author);
        q.push(" AND fu.created_at >= ").push_bind(from).push(" AND fu.created_at < ").push_bind(to);
        let href = format!("/followups?rep={author}&from={s}&to={e}");
        out.push(number(db, q, ("followups", "worklog.stats.followups"), href).await?);
    }
    if viewer.can(Module::Opportunities, Action::View) {
        let scope = DataScope::resolve(db, viewer, Module::Opportunities).await?;
        let mut q = owned(&opportunities::RECORD, &scope, author, "count(*), coalesce(sum(t.amount), 0)");
        q.push(" AND t.created_at >= ").push_bind(from).push(" AND t.created_at < ").push_bind(to);
        let href = format!("/opportunities?owner={author}&created_from={s}&created_to={e}");
        out.push(number(db, q, ("opportunities", "worklog.stats.opportunities"), href).await?);
    }
    if viewer.can(Module::Contracts, Action::View) {
        let scope = DataScope::resolve(db, viewer, Module::Contracts).await?;
        let mut q = owned(&contracts::RECORD, &scope, author, "count(*), coalesce(sum(t.amount), 0)");
        q.push(" AND t.status = 'approved' AND t.order_date >= ").push_bind(start);
        q.push(" AND t.order_date <= ").push_bind(end);
        let href = format!("/contracts?owner={author}&order_from={s}&order_to={e}&status=approved");
        out.push(number(db, q, ("contracts", "worklog.stats.contracts"), href).await?);
    }
    if viewer.can(Module::Payments, Action::View) {
        let scope = DataScope::resolve(db, viewer, Module::Payments).await?;
        let mut q = owned(&payments::RECORD, &scope, author, "count(*), coalesce(sum(t.amount), 0)");
        q.push(" AND t.status = 'approved' AND t.paid_on >= ").push_bind(start);
        q.push(" AND t.paid_on <= ").push_bind(end);
        let href = format!("/payments?owner={author}&paid_from={s}&paid_to={e}&status=approved");
        out.push(number(db, q, ("payments", "worklog.stats.payments"), href).await?);
    }
    Ok(out)
}

/// `SELECT <what> FROM <table> t WHERE live AND owner = author AND <visible to scope>`.
fn owned(def: &'static RecordDef, scope: &DataScope, author: i64, what: &str) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new(format!("SELECT {what} FROM {} t WHERE t.deleted_at IS NULL AND ", def.table));
    crate::records::sql::push_visible(&mut q, def, scope);
    q.push(" AND t.owner_id = ").push_bind(author);
    q
}

async fn number(
    db: &PgPool,
    mut q: QueryBuilder<'_, Postgres>,
    (code, label_key): (&'static str, &'static str),
    href: String,
) -> AppResult<Number> {
    let (count, amount): (i64, Option<Decimal>) = q.build_query_as().fetch_one(db).await?;
    Ok(Number { code, label_key, count, amount, href })
}

/// The numbers as stored with the log (`worklogs.stats`).
pub fn freeze(numbers: &[Number]) -> Value {
    let mut out = serde_json::Map::new();
    for n in numbers {
        out.insert(n.code.to_string(), json!({ "count": n.count, "amount": n.amount.map(|a| a.to_string()) }));
    }
    Value::Object(out)
}

/// The count stored at submit for `code`, when it differs from the live one (shown beside it).
pub fn frozen_if_changed(stats: &Value, n: &Number) -> Option<i64> {
    let then = stats.get(n.code)?.get("count")?.as_i64()?;
    (then != n.count).then_some(then)
}
