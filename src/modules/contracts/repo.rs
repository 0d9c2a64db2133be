//! Contract SQL. Every read goes through `DataScope::push_visible` (a contract is seen by the
//! scope of its own owner, its team and its shares).

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{Contract, ContractInput, DICT_FIELDS, ENTITY, TEXT_FIELDS};
use crate::access::DataScope;
use crate::list::keyword::KeywordSql;

/// Columns of `Contract`; the FROM clause joins its customer, opportunity, signers and people.
pub const SELECT: &str = "SELECT k.id, k.number, k.name, k.customer_id, cu.name AS customer_name, k.opportunity_id,
       op.name AS opportunity_name, k.amount, k.discount, k.received, k.order_date, k.start_date, k.end_date,
       k.type_id, k.customer_signer_id, cs.name AS customer_signer_name, k.company_signer_id,
       us.name AS company_signer_name, k.payment_terms, k.notes, k.status, k.approved_at, k.credit_warning,
       k.void_reason, k.voided_at, k.custom, k.owner_id, ow.name AS owner_name, od.name AS owner_dept,
       k.last_followup_at, k.next_contact_at, cb.name AS created_by_name, k.created_at, k.updated_at";

pub const FROM: &str = "FROM contracts k
       JOIN customers cu ON cu.id = k.customer_id
       LEFT JOIN opportunities op ON op.id = k.opportunity_id
       LEFT JOIN contacts cs ON cs.id = k.customer_signer_id
       LEFT JOIN users us ON us.id = k.company_signer_id
       LEFT JOIN users ow ON ow.id = k.owner_id
       LEFT JOIN departments od ON od.id = ow.dept_id
       LEFT JOIN users cb ON cb.id = k.created_by";

/// The keyword on number and name; two-character terms on the name's pairs.
pub const KEYWORD: KeywordSql =
    KeywordSql { search: "k.search", bigrams: "name_bigrams(k.name)", names: &["k.name", "k.number"] };

pub const LIVE: &str = "k.deleted_at IS NULL";

/// Append the visibility predicate for alias `k`.
pub fn push_visible(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    scope.push_visible(q, "k", ENTITY);
}

pub async fn find_visible(db: &PgPool, scope: &DataScope, id: i64) -> sqlx::Result<Option<Contract>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE k.id = ").push_bind(id).push(" AND ").push(LIVE).push(" AND ");
    push_visible(&mut q, scope);
    q.build_query_as().fetch_optional(db).await
}

/// The top bar's search: live contracts visible to `scope` matching `text`.
pub async fn search(
    db: &PgPool,
    scope: &DataScope,
    text: &str,
    limit: i64,
) -> sqlx::Result<crate::list::Hits<Contract>> {
    let page = crate::list::Page { select: SELECT, from: FROM, alias: "k" };
    crate::list::search_hits(
        db,
        page,
        |q| {
            q.push("FROM contracts k WHERE ").push(LIVE).push(" AND ");
            push_visible(q, scope);
            KEYWORD.push(q, text);
        },
        limit,
    )
    .await
}

/// The few columns a state change needs, locked for the rest of the transaction.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Head {
    pub id: i64,
    pub name: String,
    pub number: String,
    pub status: String,
    pub amount: Decimal,
    pub received: Decimal,
    pub customer_id: i64,
}

pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<Option<Head>> {
    sqlx::query_as(
        "SELECT id, name, number, status, amount, received, customer_id
           FROM contracts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(tx)
    .await
}

pub async fn set_status(tx: &mut PgConnection, id: i64, status: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE contracts SET status = $2 WHERE id = $1").bind(id).bind(status).execute(tx).await?;
    Ok(())
}

fn columns() -> String {
    let mut cols = vec![
        "number",
        "name",
        "customer_id",
        "opportunity_id",
        "amount",
        "discount",
        "order_date",
        "start_date",
        "end_date",
        "customer_signer_id",
        "company_signer_id",
    ];
    cols.extend(DICT_FIELDS.iter().map(|(c, _)| *c));
    cols.extend(TEXT_FIELDS.iter().map(|(c, _)| *c));
    cols.push("custom");
    cols.join(", ")
}

fn push_values(q: &mut QueryBuilder<'_, Postgres>, input: &ContractInput, number: &str) {
    let mut s = q.separated(", ");
    s.push_bind(number.to_string());
    s.push_bind(input.name.clone());
    s.push_bind(input.customer_id);
    s.push_bind(input.opportunity_id);
    s.push_bind(input.amount);
    s.push_bind(input.discount);
    s.push_bind(input.order_date);
    s.push_bind(input.start_date);
    s.push_bind(input.end_date);
    s.push_bind(input.customer_signer_id);
    s.push_bind(input.company_signer_id);
    for (col, _) in DICT_FIELDS {
        s.push_bind(input.dict(col));
    }
    for (col, _) in TEXT_FIELDS {
        s.push_bind(input.text(col).map(str::to_string));
    }
    s.push_bind(sqlx::types::Json(input.custom.clone()));
}

pub async fn insert(
    tx: &mut PgConnection,
    input: &ContractInput,
    number: &str,
    owner_id: i64,
    created_by: i64,
) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(format!("INSERT INTO contracts ({}, owner_id, created_by) VALUES (", columns()));
    push_values(&mut q, input, number);
    q.push(", ").push_bind(owner_id).push(", ").push_bind(created_by).push(") RETURNING id");
    q.build_query_scalar().fetch_one(tx).await
}

pub async fn update(tx: &mut PgConnection, id: i64, input: &ContractInput, number: &str) -> sqlx::Result<()> {
    let mut q = QueryBuilder::new(format!("UPDATE contracts SET ({}) = ROW(", columns()));
    push_values(&mut q, input, number);
    q.push(") WHERE id = ").push_bind(id);
    q.build().execute(tx).await?;
    Ok(())
}

/// Live contracts of a customer visible to `scope`, newest first, and how many others the
/// customer has that the scope does not see. `by` picks the column: "customer_id" or
/// "opportunity_id" (code constants).
pub async fn for_parent(
    db: &PgPool,
    scope: &DataScope,
    by: &'static str,
    id: i64,
) -> sqlx::Result<(Vec<Contract>, i64)> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(format_args!(" WHERE k.{by} = ")).push_bind(id);
    q.push(" AND k.deleted_at IS NULL AND ");
    push_visible(&mut q, scope);
    q.push(" ORDER BY k.order_date DESC, k.id DESC LIMIT 200");
    let rows: Vec<Contract> = q.build_query_as().fetch_all(db).await?;
    let all: i64 =
        sqlx::query_scalar(&format!("SELECT count(*) FROM contracts WHERE {by} = $1 AND deleted_at IS NULL"))
            .bind(id)
            .fetch_one(db)
            .await?;
    let shown = rows.len() as i64;
    Ok((rows, (all - shown).max(0)))
}

/// The contacts of a customer a signer may be picked from: (id, name, position).
pub async fn customer_contacts(
    conn: &mut PgConnection,
    customer_id: i64,
) -> sqlx::Result<Vec<(i64, String, Option<String>)>> {
    sqlx::query_as(
        "SELECT id, name, position FROM contacts WHERE customer_id = $1 AND deleted_at IS NULL ORDER BY name, id LIMIT 500",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await
}

/// Payments of the contract that count or may count: (confirmed, waiting) sums.
pub async fn payment_sums(conn: &mut PgConnection, id: i64) -> sqlx::Result<(Decimal, Decimal)> {
    sqlx::query_as(
        "SELECT coalesce(sum(amount) FILTER (WHERE status = 'approved'), 0),
                coalesce(sum(amount) FILTER (WHERE status = 'pending'), 0)
           FROM payments WHERE contract_id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}
