//! Two watch lists: approved contracts ending within N days (默认 30, `?days=`), and customers
//! owing more than their credit limit — both within the user's scope.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};

use super::model::{Contract, ENTITY};
use super::repo;
use crate::access::{DataScope, Module};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

#[derive(Deserialize, Default)]
pub struct ExpiringQuery {
    #[serde(default)]
    days: String,
    /// "1": only my contracts (the to-do centre's "contracts ending").
    #[serde(default)]
    mine: String,
}

#[derive(Template)]
#[template(path = "contracts/expiring.html")]
struct ExpiringPage {
    ctx: PageCtx,
    rows: Vec<Contract>,
    days: i64,
    mine: bool,
    today: NaiveDate,
}

crate::page!(ExpiringPage);

impl ExpiringPage {
    fn left(&self, k: &Contract) -> i64 {
        k.end_date.map_or(0, |e| (e - self.today).num_days())
    }
}

/// GET /contracts/expiring?days=30[&mine=1]
pub async fn expiring(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<ExpiringQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?.with_extras(&st.db, ENTITY).await?;
    let days: i64 = q.days.trim().parse().ok().filter(|d| (1..=365).contains(d)).unwrap_or(30);
    let today = chrono::Utc::now().with_timezone(&st.config.timezone).date_naive();
    let mine = (q.mine == "1").then_some(user.id);
    let mut qb = QueryBuilder::new(repo::SELECT);
    push_expiring(&mut qb, &scope, (today, days), mine);
    qb.push(" ORDER BY k.end_date, k.id LIMIT 500");
    let rows = qb.build_query_as().fetch_all(&st.db).await?;
    render(ExpiringPage { ctx, rows, days, mine: mine.is_some(), today }).await
}

/// ` FROM ... WHERE` approved contracts the scope sees ending within `days` of `today` (of
/// `owner` only, when given).
fn push_expiring(
    qb: &mut QueryBuilder<'_, Postgres>,
    scope: &DataScope,
    (today, days): (NaiveDate, i64),
    owner: Option<i64>,
) {
    qb.push(" ").push(repo::FROM).push(" WHERE k.status = 'approved' AND k.deleted_at IS NULL AND k.end_date >= ");
    qb.push_bind(today).push(" AND k.end_date <= ").push_bind(today + chrono::Days::new(days as u64)).push(" AND ");
    repo::push_visible(qb, scope);
    if let Some(owner) = owner {
        qb.push(" AND k.owner_id = ").push_bind(owner);
    }
}

const TODO_DAYS: i64 = 30;

/// The to-do centre's "contracts ending within 30 days": my approved contracts — the expiring
/// list with `mine=1`.
pub const TODO_EXPIRING: crate::todo::Source = crate::todo::Source {
    code: "contracts_expiring",
    label_key: "todo.contracts_expiring",
    icon: "contract",
    applies: |u| u.can(Module::Contracts, crate::access::Action::View),
    load: |db, user, cx, limit| futures_util::FutureExt::boxed(todo_expiring(db, user, cx, limit)),
};

async fn todo_expiring(
    db: &sqlx::PgPool,
    user: &crate::auth::CurrentUser,
    cx: crate::todo::Cx,
    limit: i64,
) -> AppResult<crate::todo::Section> {
    // My own contracts: in every scope, so the linked list (mine=1) shows the same.
    let scope = DataScope::own(user, ENTITY);
    let today = cx.today();
    let mut qb = QueryBuilder::new("SELECT count(*)");
    push_expiring(&mut qb, &scope, (today, TODO_DAYS), Some(user.id));
    let count: i64 = qb.build_query_scalar().fetch_one(db).await?;
    let mut items = Vec::new();
    if limit > 0 && count > 0 {
        let mut qb = QueryBuilder::new(repo::SELECT);
        push_expiring(&mut qb, &scope, (today, TODO_DAYS), Some(user.id));
        qb.push(" ORDER BY k.end_date, k.id LIMIT ").push_bind(limit);
        let rows: Vec<Contract> = qb.build_query_as().fetch_all(db).await?;
        items = rows
            .into_iter()
            .map(|k| crate::todo::Item {
                day: k.end_date,
                note: k.customer_name.clone(),
                ..crate::todo::Item::new(k.name.clone(), format!("/contracts/{}", k.id))
            })
            .collect();
    }
    Ok(crate::todo::Section { count, items, href: format!("/contracts/expiring?days={TODO_DAYS}&mine=1") })
}

#[derive(sqlx::FromRow)]
pub struct OverRow {
    pub id: i64,
    pub name: String,
    pub credit_limit: Decimal,
    pub receivable: Decimal,
    pub owner_name: Option<String>,
}

#[derive(Template)]
#[template(path = "contracts/over_credit.html")]
struct OverCreditPage {
    ctx: PageCtx,
    rows: Vec<OverRow>,
}

crate::page!(OverCreditPage);

impl OverCreditPage {
    fn excess(&self, r: &OverRow) -> String {
        self.ctx.money(&(r.receivable - r.credit_limit))
    }
}

/// GET /contracts/over-credit — customers (in the user's customer scope) owing more than their
/// limit, the largest excess first.
pub async fn over_credit(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let mut qb = QueryBuilder::new(
        "SELECT c.id, c.name, c.credit_limit, c.receivable, u.name AS owner_name
           FROM customers c LEFT JOIN users u ON u.id = c.owner_id
          WHERE c.deleted_at IS NULL AND c.credit_limit IS NOT NULL AND c.receivable > c.credit_limit AND ",
    );
    scope.push_visible(&mut qb, "c", "customer");
    qb.push(" ORDER BY c.receivable - c.credit_limit DESC, c.id LIMIT 500");
    let rows = qb.build_query_as().fetch_all(&st.db).await?;
    render(OverCreditPage { ctx, rows }).await
}
