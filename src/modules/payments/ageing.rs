//! Receivables ageing (应收账龄): what approved contracts in the user's scope still expect, by
//! how long past its planned date each open term is — not yet due, 0–30, 31–60, 61–90 and more
//! than 90 days (dates in the company's time zone) — per customer (the 100 owing the most past
//! due; customers with nothing past due are in the totals only), per owner and per department,
//! with the grand total.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::access::{DataScope, Module};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

/// Amounts by age: [not due, 0–30, 31–60, 61–90, 90+].
#[derive(sqlx::FromRow, Default, Clone, Debug)]
pub struct Buckets {
    pub not_due: Decimal,
    pub d30: Decimal,
    pub d60: Decimal,
    pub d90: Decimal,
    pub older: Decimal,
}

impl Buckets {
    pub fn overdue(&self) -> Decimal {
        self.d30 + self.d60 + self.d90 + self.older
    }

    pub fn total(&self) -> Decimal {
        self.not_due + self.overdue()
    }

    pub fn cells(&self) -> [&Decimal; 5] {
        [&self.not_due, &self.d30, &self.d60, &self.d90, &self.older]
    }

    fn add(&mut self, o: &Buckets) {
        self.not_due += o.not_due;
        self.d30 += o.d30;
        self.d60 += o.d60;
        self.d90 += o.d90;
        self.older += o.older;
    }
}

/// The sums per bucket of the open terms (`p`, what is left and how many days past its date
/// each is on `$today`, bound by `push_sums`).
fn push_sums(q: &mut QueryBuilder<'_, Postgres>, today: NaiveDate) {
    let days = |q: &mut QueryBuilder<'_, Postgres>| {
        q.push("(").push_bind(today).push(" - p.due_date)");
    };
    let left = "coalesce(sum(p.amount - p.received) FILTER (WHERE ";
    for (cond, name) in [
        ("< 0", "not_due"),
        ("BETWEEN 0 AND 30", "d30"),
        ("BETWEEN 31 AND 60", "d60"),
        ("BETWEEN 61 AND 90", "d90"),
        ("> 90", "older"),
    ] {
        if name != "not_due" {
            q.push(", ");
        }
        q.push(left);
        days(q);
        q.push(format_args!(" {cond}), 0) AS {name}"));
    }
}

/// `FROM payment_plans p WHERE <open terms of live approved contracts in scope>`: the
/// contract's owner and state are kept on its terms (migration 0027), so one index answers.
fn push_open(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    q.push(" FROM payment_plans p WHERE p.received < p.amount AND p.live AND ");
    scope.push_visible_as(q, ("p.owner_id", "p.contract_id"), "contract");
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    customer_id: i64,
    customer_name: String,
    #[sqlx(flatten)]
    b: Buckets,
}

#[derive(sqlx::FromRow)]
struct OwnerRow {
    owner_name: Option<String>,
    dept_name: Option<String>,
    #[sqlx(flatten)]
    b: Buckets,
}

#[derive(Template)]
#[template(path = "payments/ageing.html")]
struct AgeingPage {
    ctx: PageCtx,
    customers: Vec<(i64, String, Buckets)>,
    owners: Vec<(String, String, Buckets)>,
    depts: Vec<(String, Buckets)>,
    total: Buckets,
    today: NaiveDate,
}

crate::page!(AgeingPage);

impl AgeingPage {
    fn as_of(&self) -> String {
        self.ctx.tf1("ageing.as_of", "date", &self.ctx.date(&self.today))
    }

    fn heads(&self) -> [&'static str; 5] {
        ["ageing.not_due", "ageing.d30", "ageing.d60", "ageing.d90", "ageing.older"]
    }
}

/// Every owner's open terms in scope, by age.
async fn by_owner(db: &PgPool, scope: &DataScope, today: NaiveDate) -> sqlx::Result<Vec<OwnerRow>> {
    let mut q = QueryBuilder::new("SELECT u.name AS owner_name, d.name AS dept_name, g.* FROM (SELECT p.owner_id, ");
    push_sums(&mut q, today);
    push_open(&mut q, scope);
    q.push(
        " GROUP BY p.owner_id) g LEFT JOIN users u ON u.id = g.owner_id LEFT JOIN departments d ON d.id = u.dept_id
          ORDER BY d.name, u.name",
    );
    q.build_query_as().fetch_all(db).await
}

/// The 100 customers owing the most past due, from the terms due by today (an index range),
/// then all of their terms in scope: a hundred customers summed, not every customer with a term.
async fn most_overdue(db: &PgPool, scope: &DataScope, today: NaiveDate) -> sqlx::Result<Vec<CustomerRow>> {
    let mut q = QueryBuilder::new("SELECT p.customer_id");
    push_open(&mut q, scope);
    q.push(" AND p.due_date <= ").push_bind(today);
    q.push(" GROUP BY p.customer_id ORDER BY sum(p.amount - p.received) DESC, p.customer_id LIMIT 100");
    let most: Vec<i64> = q.build_query_scalar().fetch_all(db).await?;
    let mut q = QueryBuilder::new("SELECT c.name AS customer_name, a.* FROM (SELECT p.customer_id, ");
    push_sums(&mut q, today);
    push_open(&mut q, scope);
    q.push(" AND p.customer_id = ANY(").push_bind(most).push(
        ") GROUP BY p.customer_id) a JOIN customers c ON c.id = a.customer_id
          ORDER BY a.d30 + a.d60 + a.d90 + a.older DESC, a.customer_id",
    );
    q.build_query_as().fetch_all(db).await
}

/// GET /payments/ageing
pub async fn ageing(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?.with_extras(&st.db, "contract").await?;
    let today = chrono::Utc::now().with_timezone(&st.config.timezone).date_naive();

    // The two halves read different rows: on two connections at once, the page waits for the
    // slower one only.
    let (owner_rows, customer_rows) =
        tokio::try_join!(by_owner(&st.db, &scope, today), most_overdue(&st.db, &scope, today))?;

    let mut total = Buckets::default();
    let mut depts: BTreeMap<String, Buckets> = BTreeMap::new();
    for r in &owner_rows {
        total.add(&r.b);
        depts.entry(r.dept_name.clone().unwrap_or_default()).or_default().add(&r.b);
    }
    render(AgeingPage {
        customers: customer_rows.into_iter().map(|r| (r.customer_id, r.customer_name, r.b)).collect(),
        owners: owner_rows
            .into_iter()
            .map(|r| (r.owner_name.unwrap_or_default(), r.dept_name.unwrap_or_default(), r.b))
            .collect(),
        depts: depts.into_iter().collect(),
        total,
        today,
        ctx,
    })
    .await
}
