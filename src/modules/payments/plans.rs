//! Payment plans (回款计划): numbered terms (第1期, 第2期…) of an approved contract, each with its
//! planned amount and date, method, a reminder N days before (to the contract's owner, through
//! the notification centre) and notes. The terms together may not exceed the contract's amount.
//! Each shows what was received on it, what remains, and whether it is overdue (its date has
//! passed, in the company's time zone, and it is not fully received). A term nothing was received
//! on can be removed. The due list shows the open terms of the contracts in the user's scope.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::model::{self, DICTS, Plan, PlanInput};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::audit::{self, Entry};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::jobs::JobCtx;
use crate::modules::contracts::{self, Contract};
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

fn today(st: &AppState) -> NaiveDate {
    chrono::Utc::now().with_timezone(&st.config.timezone).date_naive()
}

#[derive(Template)]
#[template(path = "payments/plan_form.html")]
struct PlanPage {
    ctx: PageCtx,
    contract: Contract,
    current: Option<Plan>,
    /// What the other terms already plan.
    planned: Decimal,
    form: FormData,
    errors: FormErrors,
    methods: Vec<SelectOpt>,
}

crate::page!(PlanPage);

impl PlanPage {
    /// "合同金额 …，尚可安排 …"
    fn left(&self) -> String {
        let left = (self.contract.amount - self.planned).max(Decimal::ZERO);
        self.ctx.tf(
            "payment.plan_left",
            &[("amount", &self.ctx.money(&self.contract.amount)), ("left", &self.ctx.money(&left))],
        )
    }
}

async fn plan_page(
    st: &AppState,
    ctx: PageCtx,
    contract: Contract,
    current: Option<Plan>,
    form: FormData,
    errors: FormErrors,
) -> AppResult<PlanPage> {
    let mut conn = st.db.acquire().await?;
    let planned = others_total(&mut conn, contract.id, current.as_ref().map(|p| p.id)).await?;
    let dicts = Dicts::load(&st.db, DICTS).await?;
    Ok(PlanPage {
        methods: dicts.options("payment_method", ctx.lang, current.as_ref().and_then(|p| p.method_id)),
        ctx,
        contract,
        current,
        planned,
        form,
        errors,
    })
}

/// What the contract's terms other than `except` plan.
async fn others_total(conn: &mut PgConnection, contract_id: i64, except: Option<i64>) -> sqlx::Result<Decimal> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(amount), 0) FROM payment_plans WHERE contract_id = $1 AND id IS DISTINCT FROM $2",
    )
    .bind(contract_id)
    .bind(except)
    .fetch_one(conn)
    .await
}

async fn find_plan(st: &AppState, contract_id: i64, id: i64) -> AppResult<Plan> {
    let mut conn = st.db.acquire().await?;
    repo::plans(&mut conn, contract_id).await?.into_iter().find(|p| p.id == id).ok_or(AppError::NotFound)
}

/// GET /contracts/{id}/plans/new
pub async fn new(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let contract = contracts::for_payment(&st, req.user()?, id).await?;
    let mut form = FormData::default();
    form.set("remind_days", "3");
    let errors = FormErrors::new(ctx.lang);
    render(plan_page(&st, ctx, contract, None, form, errors).await?).await
}

/// GET /contracts/{id}/plans/{plan}/edit
pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, plan_id)): Path<(i64, i64)>,
) -> AppResult<Html<String>> {
    let contract = contracts::for_payment(&st, req.user()?, id).await?;
    let p = find_plan(&st, id, plan_id).await?;
    let mut form = FormData::default();
    form.set("amount", crate::money::plain(&p.amount));
    form.set("due_date", p.due_date.to_string());
    form.set("method_id", p.method_id.map(|m| m.to_string()).unwrap_or_default());
    form.set("remind_days", p.remind_days.to_string());
    form.set("notes", p.notes.clone().unwrap_or_default());
    let errors = FormErrors::new(ctx.lang);
    render(plan_page(&st, ctx, contract, Some(p), form, errors).await?).await
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    save(st, ctx, req, id, None, form).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, plan_id)): Path<(i64, i64)>,
    form: FormData,
) -> AppResult<Response> {
    save(st, ctx, req, id, Some(plan_id), form).await
}

/// Add or change a term: its amount beside the others' may not exceed the contract's, nor be
/// less than what was already received on it.
async fn save(
    st: AppState,
    ctx: PageCtx,
    req: RequestCtx,
    id: i64,
    plan_id: Option<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let contract = contracts::for_payment(&st, user, id).await?;
    let current = match plan_id {
        Some(pid) => Some(find_plan(&st, id, pid).await?),
        None => None,
    };
    let mut errors = FormErrors::new(ctx.lang);
    let input = model::check_plan(&form, &mut errors);
    let dicts = Dicts::load(&st.db, DICTS).await?;
    if let Some(m) = input.method_id
        && !dicts.allows("payment_method", m, current.as_ref().and_then(|p| p.method_id))
    {
        errors.add("method_id", "form.invalid");
    }
    let mut tx = st.db.begin().await?;
    // The contract row is the lock every change of its money takes.
    let amount: Decimal = sqlx::query_scalar("SELECT amount FROM contracts WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let others = others_total(&mut tx, id, plan_id).await?;
    if errors.is_empty() && others + input.amount > amount {
        let left = (amount - others).max(Decimal::ZERO);
        errors.add_text(
            "amount",
            ctx.tf("payment.error.plans_over", &[("amount", &ctx.money(&amount)), ("left", &ctx.money(&left))]),
        );
    }
    if let Some(p) = &current
        && input.amount < p.received
    {
        errors.add_text("amount", ctx.tf1("payment.error.plan_below_received", "received", &ctx.money(&p.received)));
    }
    if !errors.is_empty() {
        drop(tx);
        let page = plan_page(&st, ctx, contract, current, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let term = match &current {
        Some(p) => {
            repo::update_plan(&mut tx, p.id, &input).await?;
            p.term as i64
        }
        None => repo::insert_plan(&mut tx, id, &input, user.id).await?,
    };
    let before = current.as_ref().map(|p| plan_snapshot(&dicts, &input_of(p)));
    let after = plan_snapshot(&dicts, &input);
    let mut entry = Entry::new("contract", id, if current.is_some() { "plan_update" } else { "plan_add" })
        .note(ctx.tf1("payment.term", "n", &term.to_string()));
    for (field, new) in after {
        let old = before.as_ref().and_then(|b| b.iter().find(|(f, _)| *f == field)).map(|(_, v)| v.clone());
        if old.as_ref() != Some(&new) {
            entry = entry.change(field, old.unwrap_or(serde_json::Value::Null), new);
        }
    }
    entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("payment.plan_saved", "n", &term.to_string()), &format!("/contracts/{id}?tab=plans")).await
}

fn input_of(p: &Plan) -> PlanInput {
    PlanInput {
        amount: p.amount,
        due_date: p.due_date,
        method_id: p.method_id,
        remind_days: p.remind_days,
        notes: p.notes.clone(),
    }
}

fn plan_snapshot(dicts: &Dicts, p: &PlanInput) -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("plan_amount", json!(crate::web::format::money(&p.amount))),
        ("due_date", json!(p.due_date.to_string())),
        ("method", dicts.audit_value(p.method_id)),
        ("remind_days", json!(p.remind_days)),
        ("notes", audit::opt(p.notes.clone())),
    ]
}

/// POST /contracts/{id}/plans/{plan}/delete — only a term nothing was received or is waiting on.
pub async fn delete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, plan_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    contracts::for_payment(&st, user, id).await?;
    let p = find_plan(&st, id, plan_id).await?;
    let mut tx = st.db.begin().await?;
    sqlx::query("SELECT 1 FROM contracts WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *tx).await?;
    let used: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM payments WHERE plan_id = $1 AND deleted_at IS NULL AND status IN ('pending', 'approved'))",
    )
    .bind(plan_id)
    .fetch_one(&mut *tx)
    .await?;
    if used || p.received > Decimal::ZERO {
        return Err(AppError::Conflict("payment.error.plan_used"));
    }
    sqlx::query("DELETE FROM payment_plans WHERE id = $1").bind(plan_id).execute(&mut *tx).await?;
    Entry::new("contract", id, "plan_delete")
        .note(ctx.tf1("payment.term", "n", &p.term.to_string()))
        .change("plan_amount", json!(crate::web::format::money(&p.amount)), serde_json::Value::Null)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "payment.plan_deleted", &format!("/contracts/{id}?tab=plans")).await
}

/// One open term on the due list.
#[derive(sqlx::FromRow)]
pub struct DueRow {
    pub plan_id: i64,
    pub term: i32,
    pub amount: Decimal,
    pub received: Decimal,
    pub due_date: NaiveDate,
    pub contract_id: i64,
    pub contract_number: String,
    pub contract_name: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner_name: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct DueQuery {
    /// "overdue" (default: everything due within `days`, overdue included).
    #[serde(default)]
    pub show: String,
    #[serde(default)]
    pub days: String,
    /// "1": only my contracts' terms (the to-do centre's "payments due").
    #[serde(default)]
    pub mine: String,
}

#[derive(Template)]
#[template(path = "payments/due.html")]
struct DuePage {
    ctx: PageCtx,
    rows: Vec<DueRow>,
    show: String,
    days: i64,
    mine: bool,
    today: NaiveDate,
    total: Decimal,
}

crate::page!(DuePage);

impl DuePage {
    fn remaining(&self, r: &DueRow) -> String {
        self.ctx.money(&(r.amount - r.received))
    }

    fn overdue(&self, r: &DueRow) -> bool {
        r.due_date < self.today
    }
}

/// GET /payments/plans — open terms of approved contracts in scope, overdue first then by date.
pub async fn due(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<DueQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Contracts).await?.with_extras(&st.db, "contract").await?;
    let today = today(&st);
    let days: i64 = q.days.trim().parse().ok().filter(|d| (1..=365).contains(d)).unwrap_or(30);
    let overdue_only = q.show == "overdue";
    let until = if overdue_only { today - chrono::Days::new(1) } else { today + chrono::Days::new(days as u64) };
    let mine = (q.mine == "1").then_some(user.id);
    let mut qb = QueryBuilder::new(DUE_SELECT);
    push_due(&mut qb, &scope, until, mine);
    qb.push(" ORDER BY p.due_date, p.id LIMIT 500");
    let rows: Vec<DueRow> = qb.build_query_as().fetch_all(&st.db).await?;
    let total = rows.iter().map(|r| r.amount - r.received).sum();
    let show = if overdue_only { "overdue".into() } else { String::new() };
    render(DuePage { ctx, rows, show, days, mine: mine.is_some(), today, total }).await
}

const DUE_SELECT: &str = "SELECT p.id AS plan_id, p.term, p.amount, p.received, p.due_date, k.id AS contract_id,
        k.number AS contract_number, k.name AS contract_name, k.customer_id, cu.name AS customer_name,
        ow.name AS owner_name";

/// ` FROM ... WHERE` open terms due by `until` of approved contracts the scope sees (of
/// `owner`'s contracts only, when given).
fn push_due(qb: &mut QueryBuilder<'_, Postgres>, scope: &DataScope, until: NaiveDate, owner: Option<i64>) {
    qb.push(
        " FROM payment_plans p JOIN contracts k ON k.id = p.contract_id
           JOIN customers cu ON cu.id = k.customer_id LEFT JOIN users ow ON ow.id = k.owner_id
          WHERE p.received < p.amount AND p.live AND p.due_date <= ",
    );
    qb.push_bind(until).push(" AND k.status = 'approved' AND k.deleted_at IS NULL AND ");
    scope.push_visible(qb, "k", "contract");
    if let Some(owner) = owner {
        qb.push(" AND k.owner_id = ").push_bind(owner);
    }
}

/// Days ahead the to-do centre's "payments due" looks.
const TODO_DAYS: u64 = 7;

/// The to-do centre's "payments due within 7 days": open terms of my approved contracts due
/// within a week or overdue — the due list with `days=7&mine=1`.
pub const TODO_DUE: crate::todo::Source = crate::todo::Source {
    code: "plans_due",
    label_key: "todo.plans_due",
    icon: "coin",
    applies: |u| u.can(Module::Contracts, Action::View),
    load: |db, user, cx, limit| futures_util::FutureExt::boxed(todo_due(db, user, cx, limit)),
};

async fn todo_due(
    db: &sqlx::PgPool,
    user: &crate::auth::CurrentUser,
    cx: crate::todo::Cx,
    limit: i64,
) -> AppResult<crate::todo::Section> {
    // My own contracts' terms: in every scope, so the linked list (mine=1) shows the same.
    let scope = DataScope::own(user, "contract");
    let today = cx.today();
    let until = today + chrono::Days::new(TODO_DAYS);
    let mut qb = QueryBuilder::new("SELECT count(*)");
    push_due(&mut qb, &scope, until, Some(user.id));
    let count: i64 = qb.build_query_scalar().fetch_one(db).await?;
    let mut items = Vec::new();
    if limit > 0 && count > 0 {
        let mut qb = QueryBuilder::new(DUE_SELECT);
        push_due(&mut qb, &scope, until, Some(user.id));
        qb.push(" ORDER BY p.due_date, p.id LIMIT ").push_bind(limit);
        let rows: Vec<DueRow> = qb.build_query_as().fetch_all(db).await?;
        items = rows
            .into_iter()
            .map(|r| crate::todo::Item {
                note: format!("{} · {}", r.customer_name, crate::web::format::money(&(r.amount - r.received))),
                day: Some(r.due_date),
                overdue: r.due_date < today,
                ..crate::todo::Item::new(
                    cx.lang.tf("todo.plan_term", &[("contract", &r.contract_name), ("term", &r.term.to_string())]),
                    format!("/contracts/{}?tab=plans", r.contract_id),
                )
            })
            .collect();
    }
    Ok(crate::todo::Section { count, items, href: format!("/payments/plans?days={TODO_DAYS}&mine=1") })
}

/// The job: tell each open term's contract owner N days before its date (once per date).
pub async fn remind(ctx: JobCtx) -> anyhow::Result<String> {
    let today = ctx.now.with_timezone(&ctx.config.timezone).date_naive();
    let mut tx = ctx.db.begin().await?;
    let due: Vec<(i64, i32, Decimal, NaiveDate, i64, String, i64)> = sqlx::query_as(
        "UPDATE payment_plans p SET reminded_for = p.due_date
           FROM contracts k
          WHERE k.id = p.contract_id AND k.status = 'approved' AND k.deleted_at IS NULL AND k.owner_id IS NOT NULL
            AND p.remind_days > 0 AND p.received < p.amount AND p.live AND p.due_date >= $1
            AND p.due_date - p.remind_days <= $1 AND p.reminded_for IS DISTINCT FROM p.due_date
        RETURNING p.id, p.term, p.amount - p.received, p.due_date, k.id, k.name, k.owner_id",
    )
    .bind(today)
    .fetch_all(&mut *tx)
    .await?;
    for (_, term, left, date, contract_id, name, owner) in &due {
        let params =
            json!({ "name": name, "term": term, "date": date.to_string(), "amount": crate::web::format::money(left) });
        crate::notify::send(
            &mut tx,
            *owner,
            "payment_plan_due",
            params,
            Some(&format!("/contracts/{contract_id}?tab=plans")),
            None,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(format!("{} reminders", due.len()))
}
