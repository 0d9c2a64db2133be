//! Follow-up pages: every follow-up the user may see (回访记录查询), and customers not followed up
//! for N days, per rep, with "remind the rep" (未回访客户查询).

mod export;

use askama::Template;
use axum::extract::{Query, RawQuery, State};
use axum::response::{Html, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::{Postgres, QueryBuilder};

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::list::{self, Sort};
use crate::org::{departments as depts, users};
use crate::state::AppState;
use crate::web::{FormData, PageCtx, Pager, RequestCtx, SelectOpt, done, render};

const VIEW: Guard = Guard::Perm(Module::Followups, Action::View);

pub fn register(r: &mut crate::registry::Registry) {
    r.todo_source(STALE);
    r.export(export::source());
}

pub fn routes() -> Routes {
    Routes::new().get("/followups", VIEW, index).get("/followups/overdue", VIEW, overdue).post(
        "/followups/overdue/remind",
        VIEW,
        remind,
    )
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct Filter {
    pub from: String,
    pub to: String,
    pub dept: String,
    pub rep: String,
    pub method: String,
    pub customer: String,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Row {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub author: String,
    pub author_dept: String,
    pub method_id: Option<i64>,
    pub content: String,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub customer_id: Option<i64>,
    pub customer_name: Option<String>,
}

const FOLLOWUPS_FROM: &str =
    "FROM followups fu JOIN customers c ON c.id = fu.customer_id JOIN users a ON a.id = fu.created_by
         JOIN departments ad ON ad.id = a.dept_id";

/// `FROM ... WHERE` of follow-ups on customers the scope sees, narrowed by the filter. Only the
/// customer is joined: counting and paging need nothing else.
fn push_from_where(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope, f: &Filter, tz: chrono::FixedOffset) {
    q.push("FROM followups fu JOIN customers c ON c.id = fu.customer_id WHERE c.deleted_at IS NULL AND ");
    scope.push_visible(q, "c", "customer");
    list::filters::push_day_range(q, "fu.created_at", &f.from, &f.to, tz);
    if let Ok(rep) = f.rep.trim().parse::<i64>() {
        q.push(" AND fu.created_by = ").push_bind(rep);
    }
    if let Ok(m) = f.method.trim().parse::<i64>() {
        q.push(" AND fu.method_id = ").push_bind(m);
    }
    if let Ok(d) = f.dept.trim().parse::<i64>() {
        depts::push_user_in_subtree(q, "fu.created_by", d);
    }
    crate::modules::customers::KEYWORD.push(q, &f.customer);
}

#[derive(Template)]
#[template(path = "followups/index.html")]
struct IndexPage {
    ctx: PageCtx,
    rows: Vec<Row>,
    pager: Pager,
    filter: Filter,
    dicts: Dicts,
    methods: Vec<SelectOpt>,
    reps: Vec<SelectOpt>,
    depts: Vec<SelectOpt>,
}

crate::page!(IndexPage);

impl IndexPage {
    fn method(&self, id: &Option<i64>) -> String {
        self.dicts.label(*id, self.ctx.lang)
    }
}

async fn index(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(filter): Query<Filter>,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Followups).await?;
    let tz = st.config.timezone;
    let sort = Sort { key: "at", sql: "fu.created_at", desc: true, nullable: false };
    let (pager, rows): (Pager, Vec<Row>) = list::fetch_page(
        &st.db,
        list::Page {
            select: "SELECT fu.id, fu.created_at, a.name AS author, ad.name AS author_dept, fu.method_id, fu.content,
                            fu.next_contact_at, fu.customer_id, c.name AS customer_name",
            from: FOLLOWUPS_FROM,
            alias: "fu",
        },
        |q| push_from_where(q, &scope, &filter, tz),
        &sort,
        raw.as_deref(),
        // A department's follow-ups run to hundreds of thousands; past 1,000 the count stops
        // (the dashboard and reports give the real figures).
        list::Total::UpTo(1_000),
    )
    .await?;
    let dicts = Dicts::load(&st.db, &["followup_method"]).await?;
    let page = IndexPage {
        methods: dicts.options("followup_method", ctx.lang, None),
        // The people in the scope, not every user of a large company.
        reps: match &scope.owners {
            Some(owners) => users::options_for(&st.db, owners).await?,
            None => users::options(&st.db, false).await?,
        },
        depts: depts::options(&st.db).await?,
        ctx,
        rows,
        pager,
        filter,
        dicts,
    };
    render(page).await
}

#[derive(Deserialize, Default, Clone, Debug)]
#[serde(default)]
pub struct OverdueQuery {
    pub days: String,
    pub owner: String,
}

impl OverdueQuery {
    pub fn days(&self) -> i32 {
        self.days.trim().parse::<i32>().ok().filter(|d| (1..=3650).contains(d)).unwrap_or(30)
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct RepRow {
    pub owner_id: i64,
    pub owner: String,
    pub dept: String,
    pub customers: i64,
    pub never: i64,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct CustomerRow {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub last_followup_at: Option<DateTime<Utc>>,
}

#[derive(Template)]
#[template(path = "followups/overdue.html")]
struct OverduePage {
    ctx: PageCtx,
    days: i32,
    reps: Vec<RepRow>,
    owner: Option<(i64, String)>,
    customers: Vec<CustomerRow>,
    pager: Pager,
}

crate::page!(OverduePage);

impl OverduePage {
    fn days_ago(&self, at: &Option<DateTime<Utc>>) -> String {
        match at {
            Some(a) => self.ctx.tf1("followup.days_ago", "n", &(Utc::now() - *a).num_days().to_string()),
            None => self.ctx.t("followup.never").to_string(),
        }
    }
}

/// Live customers visible to `scope`, owned by someone, not followed up since `days` ago.
fn push_overdue(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope, days: i32) {
    q.push(" FROM customers c JOIN users o ON o.id = c.owner_id JOIN departments od ON od.id = o.dept_id
             WHERE c.deleted_at IS NULL AND (c.last_followup_at IS NULL OR c.last_followup_at < now() - make_interval(days => ");
    q.push_bind(days).push(")) AND ");
    scope.push_visible(q, "c", "customer");
}

async fn overdue(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(oq): Query<OverdueQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Followups).await?;
    let days = oq.days();
    let mut q = QueryBuilder::new(
        "SELECT c.owner_id, o.name AS owner, od.name AS dept, count(*) AS customers,
                count(*) FILTER (WHERE c.last_followup_at IS NULL) AS never",
    );
    push_overdue(&mut q, &scope, days);
    q.push(" GROUP BY c.owner_id, o.name, od.name ORDER BY count(*) DESC, o.name LIMIT 500");
    let reps: Vec<RepRow> = q.build_query_as().fetch_all(&st.db).await?;
    let owner_id = oq.owner.trim().parse::<i64>().ok();
    let (owner, customers, pager) = match owner_id.and_then(|o| reps.iter().find(|r| r.owner_id == o)) {
        Some(r) => {
            let sort = Sort { key: "followup", sql: "c.last_followup_at", desc: false, nullable: true };
            let (pager, rows) = list::fetch_page(
                &st.db,
                list::Page {
                    select: "SELECT c.id, c.name, c.code, c.last_followup_at",
                    from: "FROM customers c",
                    alias: "c",
                },
                |q| {
                    push_overdue(q, &scope, days);
                    q.push(" AND c.owner_id = ").push_bind(r.owner_id);
                },
                &sort,
                raw.as_deref(),
                list::Total::Count,
            )
            .await?;
            (Some((r.owner_id, r.owner.clone())), rows, pager)
        }
        None => (None, Vec::new(), Pager::new(None, None, None, 0)),
    };
    render(OverduePage { ctx, days, reps, owner, customers, pager }).await
}

/// "Remind the rep": a reminder for the owner about their customers not followed up.
async fn remind(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Followups).await?;
    let owner: i64 = form.get("owner_id").trim().parse().map_err(|_| AppError::BadRequest("form.invalid"))?;
    let days = OverdueQuery { days: form.get("days").to_string(), owner: String::new() }.days();
    let mut q = QueryBuilder::new("SELECT count(*)");
    push_overdue(&mut q, &scope, days);
    q.push(" AND c.owner_id = ").push_bind(owner);
    let n: i64 = q.build_query_scalar().fetch_one(&st.db).await?;
    // Only reps whose overdue customers the user can see may be reminded.
    if n == 0 {
        return Err(AppError::NotFound);
    }
    let mut tx = st.db.begin().await?;
    crate::notify::remind(
        &mut tx,
        owner,
        Utc::now(),
        "remind_followup",
        json!({ "actor": user.name, "n": n, "days": days }),
        Some(&format!("/followups/overdue?days={days}&owner={owner}")),
        Some(user.id),
    )
    .await?;
    done(tx, &ctx, "followup.reminded", &format!("/followups/overdue?days={days}")).await
}

/// The to-do centre's "not followed up for 30 days": my customers on this page's list at its
/// default of 30 days (`/followups/overdue?owner=<me>`).
const STALE: crate::todo::Source = crate::todo::Source {
    code: "stale_customers",
    label_key: "todo.stale_customers",
    icon: "customer",
    applies: |u| u.can(Module::Followups, Action::View),
    load: |db, user, cx, limit| futures_util::FutureExt::boxed(stale(db, user, cx, limit)),
};

const STALE_DAYS: i32 = 30;

async fn stale(
    db: &sqlx::PgPool,
    user: &crate::auth::CurrentUser,
    cx: crate::todo::Cx,
    limit: i64,
) -> AppResult<crate::todo::Section> {
    // My own customers: in every scope, so the page linked (its list for owner = me) shows the
    // same. With items wanted, one scan gives both them and the count (a window count).
    let scope = DataScope::own(user, "customer");
    let mut q = QueryBuilder::new(if limit > 0 {
        "SELECT c.id, c.name, c.last_followup_at, count(*) OVER ()"
    } else {
        "SELECT 0::bigint, '', NULL::timestamptz, count(*)"
    });
    push_overdue(&mut q, &scope, STALE_DAYS);
    q.push(" AND c.owner_id = ").push_bind(user.id);
    if limit > 0 {
        q.push(" ORDER BY c.last_followup_at NULLS FIRST, c.id LIMIT ").push_bind(limit);
    }
    let rows: Vec<(i64, String, Option<DateTime<Utc>>, i64)> = q.build_query_as().fetch_all(db).await?;
    let count = rows.first().map_or(0, |r| r.3);
    let items = rows
        .into_iter()
        .filter(|_| limit > 0)
        .map(|(id, name, at, _)| crate::todo::Item {
            note: if at.is_none() { cx.lang.t("todo.never_followed").to_string() } else { String::new() },
            at,
            ..crate::todo::Item::new(name, format!("/customers/{id}?tab=timeline"))
        })
        .collect();
    Ok(crate::todo::Section { count, items, href: format!("/followups/overdue?days={STALE_DAYS}&owner={}", user.id) })
}
