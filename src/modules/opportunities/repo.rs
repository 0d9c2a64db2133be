//! Opportunity SQL. Every read goes through `DataScope::push_visible` (an opportunity is seen by
//! the scope of its own owner, its team and its shares — not through its customer's).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{DICT_FIELDS, ENTITY, Opportunity, OpportunityInput, TEXT_FIELDS};
use crate::access::DataScope;
use crate::list::keyword::KeywordSql;

/// Columns of `Opportunity`; the FROM clause joins its customer, stage, group and people.
pub const SELECT: &str = "SELECT o.id, o.name, o.customer_id, cu.name AS customer_name, o.amount, o.discount,
       o.expected_close, o.group_id, g.name AS group_name, o.stage_id, st.win_rate, o.status, o.closed_on,
       o.close_reason_id, o.close_note, o.stage_changed_at, o.source_id, o.type_id, o.competitors, o.next_step,
       o.notes, o.custom, o.owner_id, ow.name AS owner_name, od.name AS owner_dept, o.last_followup_at,
       o.next_contact_at, cb.name AS created_by_name, o.created_at, o.updated_at";

pub const FROM: &str = "FROM opportunities o
       JOIN customers cu ON cu.id = o.customer_id
       JOIN stages st ON st.id = o.stage_id
       JOIN stage_groups g ON g.id = o.group_id
       LEFT JOIN users ow ON ow.id = o.owner_id
       LEFT JOIN departments od ON od.id = ow.dept_id
       LEFT JOIN users cb ON cb.id = o.created_by";

/// The keyword on name and competitors; two-character terms on the name's pairs.
pub const KEYWORD: KeywordSql = KeywordSql { search: "o.search", bigrams: "name_bigrams(o.name)", names: &["o.name"] };

/// Live: not in the recycle bin. (Its customer is live too: a customer with live opportunities
/// cannot be deleted, and an opportunity comes back from the bin only with its customer.)
pub const LIVE: &str = "o.deleted_at IS NULL";

/// Append the visibility predicate for alias `o`.
pub fn push_visible(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    scope.push_visible(q, "o", ENTITY);
}

pub async fn find_visible(db: &PgPool, scope: &DataScope, id: i64) -> sqlx::Result<Option<Opportunity>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE o.id = ").push_bind(id).push(" AND ").push(LIVE).push(" AND ");
    push_visible(&mut q, scope);
    q.build_query_as().fetch_optional(db).await
}

/// The rows for these ids, in their order (cards, stalled lists).
pub async fn rows_for(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<Opportunity>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE o.id = ANY(").push_bind(ids.to_vec());
    q.push(") ORDER BY array_position(").push_bind(ids.to_vec()).push(", o.id)");
    q.build_query_as().fetch_all(db).await
}

/// The top bar's search: live opportunities visible to `scope` matching `text`.
pub async fn search(
    db: &PgPool,
    scope: &DataScope,
    text: &str,
    limit: i64,
) -> sqlx::Result<crate::list::Hits<Opportunity>> {
    let page = crate::list::Page { select: SELECT, from: FROM, alias: "o" };
    crate::list::search_hits(
        db,
        page,
        |q| {
            q.push("FROM opportunities o WHERE ").push(LIVE).push(" AND ");
            push_visible(q, scope);
            KEYWORD.push(q, text);
        },
        limit,
    )
    .await
}

/// Lock the opportunity for a change; its status, or None when it is gone.
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT status FROM opportunities WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
        .bind(id)
        .fetch_optional(tx)
        .await
}

fn columns() -> String {
    let mut cols = vec!["name", "customer_id", "amount", "discount", "expected_close"];
    cols.extend(DICT_FIELDS.iter().map(|(c, _)| *c));
    cols.extend(TEXT_FIELDS.iter().map(|(c, _)| *c));
    cols.push("custom");
    cols.join(", ")
}

fn push_values(q: &mut QueryBuilder<'_, Postgres>, input: &OpportunityInput) {
    let mut s = q.separated(", ");
    s.push_bind(input.name.clone());
    s.push_bind(input.customer_id);
    s.push_bind(input.amount);
    s.push_bind(input.discount);
    s.push_bind(input.expected_close);
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
    input: &OpportunityInput,
    (group_id, stage_id): (i64, i64),
    owner_id: i64,
    created_by: i64,
) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO opportunities ({}, group_id, stage_id, owner_id, created_by) VALUES (",
        columns()
    ));
    push_values(&mut q, input);
    q.push(", ").push_bind(group_id).push(", ").push_bind(stage_id);
    q.push(", ").push_bind(owner_id).push(", ").push_bind(created_by).push(") RETURNING id");
    q.build_query_scalar().fetch_one(tx).await
}

pub async fn update(tx: &mut PgConnection, id: i64, input: &OpportunityInput) -> sqlx::Result<()> {
    let mut q = QueryBuilder::new(format!("UPDATE opportunities SET ({}) = ROW(", columns()));
    push_values(&mut q, input);
    q.push(") WHERE id = ").push_bind(id);
    q.build().execute(tx).await?;
    Ok(())
}

/// A customer got a new opportunity: the pool's "no new opportunity for N days" counts from now.
pub async fn touch_customer(tx: &mut PgConnection, customer_id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE customers SET last_opportunity_at = now() WHERE id = $1").bind(customer_id).execute(tx).await?;
    Ok(())
}

/// The opportunity's contacts: (id, name, position).
pub async fn contacts(db: &PgPool, id: i64) -> sqlx::Result<Vec<(i64, String, Option<String>)>> {
    sqlx::query_as(
        "SELECT c.id, c.name, c.position FROM opportunity_contacts oc JOIN contacts c ON c.id = oc.contact_id
          WHERE oc.opportunity_id = $1 AND c.deleted_at IS NULL ORDER BY c.name, c.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Live contacts of a customer, to pick from: (id, name, position).
pub async fn customer_contacts(
    conn: &mut PgConnection,
    customer_id: i64,
) -> sqlx::Result<Vec<(i64, String, Option<String>)>> {
    sqlx::query_as(
        "SELECT id, name, position FROM contacts WHERE customer_id = $1 AND deleted_at IS NULL
          ORDER BY is_primary DESC, name, id LIMIT 200",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await
}

/// Replace the contacts with `ids` (the caller keeps only the customer's own).
pub async fn set_contacts(tx: &mut PgConnection, id: i64, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM opportunity_contacts WHERE opportunity_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO opportunity_contacts (opportunity_id, contact_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(ids)
    .execute(tx)
    .await?;
    Ok(())
}

/// A move on the stage bar, a close or a reopen.
pub struct Move<'a> {
    pub to_stage: i64,
    pub to_status: &'a str,
    pub reason_id: Option<i64>,
    pub note: Option<&'a str>,
    pub closed_on: Option<NaiveDate>,
}

/// Apply `m` to a locked opportunity and keep it in the stage history with how long the
/// opportunity sat where it was.
pub async fn apply_move(tx: &mut PgConnection, id: i64, m: &Move<'_>, actor: i64) -> sqlx::Result<()> {
    sqlx::query(
        "WITH before AS (SELECT stage_id, status, stage_changed_at FROM opportunities WHERE id = $1)
         INSERT INTO opportunity_stage_log
           (opportunity_id, from_stage_id, to_stage_id, from_status, to_status, reason_id, note, seconds_before, actor_id)
         SELECT $1, b.stage_id, $2, b.status, $3, $4, $5,
                greatest(0, extract(epoch FROM now() - b.stage_changed_at))::bigint, $6
           FROM before b",
    )
    .bind(id)
    .bind(m.to_stage)
    .bind(m.to_status)
    .bind(m.reason_id)
    .bind(m.note)
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE opportunities SET stage_id = $2, status = $3, close_reason_id = $4, closed_on = $5,
                close_note = CASE WHEN $3 = 'open' THEN NULL ELSE $6 END, stage_changed_at = now()
          WHERE id = $1",
    )
    .bind(id)
    .bind(m.to_stage)
    .bind(m.to_status)
    .bind(m.reason_id)
    .bind(m.closed_on)
    .bind(m.note)
    .execute(tx)
    .await?;
    Ok(())
}

/// The stage history's first entry: where a new opportunity starts.
pub async fn log_start(tx: &mut PgConnection, id: i64, stage: i64, actor: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO opportunity_stage_log (opportunity_id, to_stage_id, to_status, actor_id) VALUES ($1, $2, 'open', $3)",
    )
    .bind(id)
    .bind(stage)
    .bind(actor)
    .execute(tx)
    .await?;
    Ok(())
}

/// One entry of the stage history.
#[derive(sqlx::FromRow)]
pub struct LogRow {
    pub from_stage_id: Option<i64>,
    pub to_stage_id: Option<i64>,
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason_id: Option<i64>,
    pub note: Option<String>,
    pub seconds_before: i64,
    pub actor: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

pub async fn stage_log(db: &PgPool, id: i64) -> sqlx::Result<Vec<LogRow>> {
    sqlx::query_as(
        "SELECT l.from_stage_id, l.to_stage_id, l.from_status, l.to_status, l.reason_id, l.note, l.seconds_before,
                u.name AS actor, l.at
           FROM opportunity_stage_log l LEFT JOIN users u ON u.id = l.actor_id
          WHERE l.opportunity_id = $1 ORDER BY l.at DESC, l.id DESC LIMIT 200",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Live opportunities of a customer visible to `scope`, newest first, and how many others
/// the customer has that the scope does not see.
pub async fn for_customer(db: &PgPool, scope: &DataScope, customer_id: i64) -> sqlx::Result<(Vec<Opportunity>, i64)> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE o.customer_id = ").push_bind(customer_id);
    q.push(" AND o.deleted_at IS NULL AND ");
    push_visible(&mut q, scope);
    q.push(" ORDER BY o.updated_at DESC, o.id DESC LIMIT 200");
    let rows: Vec<Opportunity> = q.build_query_as().fetch_all(db).await?;
    let all: i64 =
        sqlx::query_scalar("SELECT count(*) FROM opportunities WHERE customer_id = $1 AND deleted_at IS NULL")
            .bind(customer_id)
            .fetch_one(db)
            .await?;
    let shown = rows.len() as i64;
    Ok((rows, (all - shown).max(0)))
}

/// One opportunity line selling a product (the product page's "sold in").
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct SoldRow {
    pub id: i64,
    pub name: String,
    pub customer_name: String,
    pub status: String,
    pub owner_name: Option<String>,
    pub quantity: Decimal,
    pub price: Decimal,
    pub subtotal: Decimal,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Live opportunities selling `product_id` that `scope` sees (most recent first), and how many
/// others sell it.
pub async fn sold_in(db: &PgPool, scope: &DataScope, product_id: i64) -> sqlx::Result<(Vec<SoldRow>, i64)> {
    let mut q = QueryBuilder::new(
        "SELECT o.id, o.name, cu.name AS customer_name, o.status, ow.name AS owner_name, l.quantity, l.price,
                l.subtotal, o.updated_at
           FROM opportunity_lines l JOIN opportunities o ON o.id = l.opportunity_id
           JOIN customers cu ON cu.id = o.customer_id LEFT JOIN users ow ON ow.id = o.owner_id
          WHERE l.product_id = ",
    );
    q.push_bind(product_id).push(" AND o.deleted_at IS NULL AND ");
    push_visible(&mut q, scope);
    q.push(" ORDER BY o.updated_at DESC, l.id LIMIT 200");
    let rows: Vec<SoldRow> = q.build_query_as().fetch_all(db).await?;
    let shown = rows.len() as i64;
    let all: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM opportunity_lines l JOIN opportunities o ON o.id = l.opportunity_id
          WHERE l.product_id = $1 AND o.deleted_at IS NULL",
    )
    .bind(product_id)
    .fetch_one(db)
    .await?;
    Ok((rows, (all - shown).max(0)))
}
