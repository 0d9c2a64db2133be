//! Payment and plan SQL. A payment is seen by whoever sees its contract
//! (`DataScope::push_visible_child`); plans are read through their contract.

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{ENTITY, Payment, PaymentInput, Plan, PlanInput};
use crate::access::DataScope;
use crate::access::scope::Child;
use crate::list::keyword::KeywordSql;

pub const CHILD: Child = Child {
    entity: ENTITY,
    table: "payments",
    parent_column: "contract_id",
    parent_entity: "contract",
    parent_table: "contracts",
};

pub const SELECT: &str = "SELECT p.id, p.number, p.contract_id, k.number AS contract_number, k.name AS contract_name,
       p.customer_id, cu.name AS customer_name, p.plan_id, pl.term AS plan_term, p.amount, p.paid_on, p.method_id,
       p.notes, p.status, p.approved_at, p.custom, p.owner_id, ow.name AS owner_name, od.name AS owner_dept,
       cb.name AS created_by_name, p.created_at, p.updated_at";

pub const FROM: &str = "FROM payments p
       JOIN contracts k ON k.id = p.contract_id
       JOIN customers cu ON cu.id = p.customer_id
       LEFT JOIN payment_plans pl ON pl.id = p.plan_id
       LEFT JOIN users ow ON ow.id = p.owner_id
       LEFT JOIN departments od ON od.id = ow.dept_id
       LEFT JOIN users cb ON cb.id = p.created_by";

/// The keyword on the payment's number.
pub const KEYWORD: KeywordSql =
    KeywordSql { search: "p.search", bigrams: "name_bigrams(p.number)", names: &["p.number"] };

pub const LIVE: &str = "p.deleted_at IS NULL";

pub fn push_visible(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    scope.push_visible_child(q, "p", &CHILD);
}

pub async fn find_visible(db: &PgPool, scope: &DataScope, id: i64) -> sqlx::Result<Option<Payment>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE p.id = ").push_bind(id).push(" AND ").push(LIVE).push(" AND ");
    push_visible(&mut q, scope);
    q.build_query_as().fetch_optional(db).await
}

/// A contract's live payments, newest first.
pub async fn of_contract(db: &PgPool, contract_id: i64) -> sqlx::Result<Vec<Payment>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE p.contract_id = ").push_bind(contract_id);
    q.push(" AND p.deleted_at IS NULL ORDER BY p.paid_on DESC, p.id DESC");
    q.build_query_as().fetch_all(db).await
}

/// Lock a payment for a change: (status, contract, amount, plan).
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<Option<(String, i64, Decimal, Option<i64>)>> {
    sqlx::query_as(
        "SELECT status, contract_id, amount, plan_id FROM payments WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(tx)
    .await
}

pub async fn set_status(tx: &mut PgConnection, id: i64, status: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE payments SET status = $2 WHERE id = $1").bind(id).bind(status).execute(tx).await?;
    Ok(())
}

/// An approved contract's figures for a payment, its row locked for the transaction (so two
/// payments submitted at once are checked one after the other): (status, amount, received,
/// waiting, customer).
pub async fn lock_contract(
    tx: &mut PgConnection,
    contract_id: i64,
) -> sqlx::Result<Option<(String, Decimal, Decimal, Decimal, i64)>> {
    sqlx::query_as(
        "SELECT k.status, k.amount, k.received,
                coalesce((SELECT sum(p.amount) FROM payments p
                           WHERE p.contract_id = k.id AND p.status = 'pending' AND p.deleted_at IS NULL), 0),
                k.customer_id
           FROM contracts k WHERE k.id = $1 AND k.deleted_at IS NULL FOR UPDATE OF k",
    )
    .bind(contract_id)
    .fetch_optional(tx)
    .await
}

pub async fn insert(
    tx: &mut PgConnection,
    number: &str,
    (contract_id, customer_id): (i64, i64),
    input: &PaymentInput,
    user: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO payments (number, contract_id, customer_id, plan_id, amount, paid_on, method_id, notes, custom,
                               owner_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(number)
    .bind(contract_id)
    .bind(customer_id)
    .bind(input.plan_id)
    .bind(input.amount)
    .bind(input.paid_on)
    .bind(input.method_id)
    .bind(&input.notes)
    .bind(sqlx::types::Json(&input.custom))
    .bind(user)
    .fetch_one(tx)
    .await
}

pub async fn update(tx: &mut PgConnection, id: i64, input: &PaymentInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE payments SET plan_id = $2, amount = $3, paid_on = $4, method_id = $5, notes = $6, custom = $7
          WHERE id = $1",
    )
    .bind(id)
    .bind(input.plan_id)
    .bind(input.amount)
    .bind(input.paid_on)
    .bind(input.method_id)
    .bind(&input.notes)
    .bind(sqlx::types::Json(&input.custom))
    .execute(tx)
    .await?;
    Ok(())
}

/// A payment was confirmed: its contract, plan term and customer move by its amount.
pub async fn book(tx: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    let (contract_id, customer_id, plan_id, amount): (i64, i64, Option<i64>, Decimal) = sqlx::query_as(
        "UPDATE payments SET status = 'approved', approved_at = now() WHERE id = $1
         RETURNING contract_id, customer_id, plan_id, amount",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE contracts SET received = received + $2 WHERE id = $1")
        .bind(contract_id)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
    if let Some(plan) = plan_id {
        sqlx::query("UPDATE payment_plans SET received = received + $2 WHERE id = $1")
            .bind(plan)
            .bind(amount)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE customers SET receivable = receivable - $2 WHERE id = $1")
        .bind(customer_id)
        .bind(amount)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub const PLAN_COLUMNS: &str = "id, contract_id, term, amount, received, due_date, method_id, remind_days, notes";

pub async fn plans(conn: &mut PgConnection, contract_id: i64) -> sqlx::Result<Vec<Plan>> {
    sqlx::query_as(&format!("SELECT {PLAN_COLUMNS} FROM payment_plans WHERE contract_id = $1 ORDER BY term"))
        .bind(contract_id)
        .fetch_all(conn)
        .await
}

/// Add a term (numbered after the last one).
pub async fn insert_plan(tx: &mut PgConnection, contract_id: i64, input: &PlanInput, user: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO payment_plans (contract_id, term, amount, due_date, method_id, remind_days, notes, created_by)
         VALUES ($1, (SELECT coalesce(max(term), 0) + 1 FROM payment_plans WHERE contract_id = $1),
                 $2, $3, $4, $5, $6, $7) RETURNING term",
    )
    .bind(contract_id)
    .bind(input.amount)
    .bind(input.due_date)
    .bind(input.method_id)
    .bind(input.remind_days)
    .bind(&input.notes)
    .bind(user)
    .fetch_one(tx)
    .await
    .map(|t: i32| t as i64)
}

pub async fn update_plan(tx: &mut PgConnection, id: i64, input: &PlanInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE payment_plans SET amount = $2, due_date = $3, method_id = $4, remind_days = $5, notes = $6,
                reminded_for = CASE WHEN due_date = $3 THEN reminded_for END
          WHERE id = $1",
    )
    .bind(id)
    .bind(input.amount)
    .bind(input.due_date)
    .bind(input.method_id)
    .bind(input.remind_days)
    .bind(&input.notes)
    .execute(tx)
    .await?;
    Ok(())
}
