//! Customer SQL. Every read of customers goes through `DataScope::push_visible`.

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{Address, Customer, CustomerInput, ENTITY};
use crate::access::DataScope;
use crate::list::keyword::KeywordSql;

/// Columns of `Customer`; the FROM clause joins what the row shows by name.
pub const SELECT: &str = "SELECT c.id, c.code, c.name, c.short_name, c.kind, c.parent_id, p.name AS parent_name,
       c.category_id, c.status_id, c.level, c.source_id, c.industry_id, c.region_id, c.size_id, c.value_rating_id,
       c.credit_level_id, c.importance_id, c.relationship_id, c.stage_id, c.group_id, c.phone, c.mobile, c.fax,
       c.email, c.website, c.description, c.birth_date, c.id_number, c.native_place, c.ethnicity, c.gender,
       c.owner_id, o.name AS owner_name, od.name AS owner_dept, c.locked, c.frozen, c.deal_status, c.credit_limit, c.receivable,
       c.last_followup_at, c.next_contact_at, c.custom, cb.name AS created_by_name, c.created_at, c.updated_at,
       c.deleted_at, db.name AS deleted_by_name, c.lead_id";

pub const FROM: &str = "FROM customers c
       LEFT JOIN customers p ON p.id = c.parent_id
       LEFT JOIN users o ON o.id = c.owner_id
       LEFT JOIN departments od ON od.id = o.dept_id
       LEFT JOIN users cb ON cb.id = c.created_by
       LEFT JOIN users db ON db.id = c.deleted_by";

/// A customer the scope may see; `deleted` picks the recycle bin instead of live records.
/// Customers sitting in a pool (no owner) are also visible to that pool's members and admins
/// (`RECORD.also_visible`), so they can open them before claiming.
pub async fn find_visible<'e>(
    db: impl sqlx::PgExecutor<'e>,
    scope: &DataScope,
    id: i64,
    deleted: bool,
) -> sqlx::Result<Option<Customer>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE c.id = ").push_bind(id);
    q.push(if deleted { " AND c.deleted_at IS NOT NULL AND (" } else { " AND c.deleted_at IS NULL AND (" });
    scope.push_visible(&mut q, "c", ENTITY);
    if !scope.is_all() {
        q.push(" OR ");
        crate::modules::pool::push_in_member_pool(&mut q, "c", scope);
    }
    q.push(")");
    q.build_query_as().fetch_optional(db).await
}

/// Mark a customer made from a lead: linked to it, with the lead's last and next contact times.
pub async fn set_lead_origin(
    tx: &mut PgConnection,
    id: i64,
    lead_id: i64,
    last_followup_at: Option<chrono::DateTime<chrono::Utc>>,
    next_contact_at: Option<chrono::DateTime<chrono::Utc>>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE customers SET lead_id = $2, last_followup_at = $3, next_contact_at = $4 WHERE id = $1")
        .bind(id)
        .bind(lead_id)
        .bind(last_followup_at)
        .bind(next_contact_at)
        .execute(tx)
        .await?;
    Ok(())
}

/// Lock the row for a write in this transaction.
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT 1 FROM customers WHERE id = $1 FOR UPDATE").bind(id).execute(tx).await?;
    Ok(())
}

fn push_values(q: &mut QueryBuilder<'_, Postgres>, input: &CustomerInput) {
    push_values_into(&mut q.separated(", "), input);
}

fn push_values_into<'q>(s: &mut sqlx::query_builder::Separated<'_, 'q, Postgres, &'static str>, input: &CustomerInput) {
    s.push_bind(input.name.clone());
    s.push_bind(input.name_norm());
    s.push_bind(input.kind.clone());
    s.push_bind(input.parent_id);
    s.push_bind(input.level);
    for (_, v) in &input.dicts {
        s.push_bind(*v);
    }
    for (_, v) in &input.texts {
        s.push_bind(v.clone());
    }
    s.push_bind(input.gender.clone());
    s.push_bind(input.birth_date);
    s.push_bind(input.credit_limit);
    s.push_bind(sqlx::types::Json(input.custom.clone()));
}

fn columns(input: &CustomerInput) -> String {
    let mut cols = vec!["name", "name_norm", "kind", "parent_id", "level"];
    cols.extend(input.dicts.iter().map(|(c, _)| *c));
    cols.extend(input.texts.iter().map(|(c, _)| *c));
    cols.extend(["gender", "birth_date", "credit_limit", "custom"]);
    cols.join(", ")
}

pub async fn insert(
    tx: &mut PgConnection,
    input: &CustomerInput,
    code: &str,
    status_id: i64,
    owner_id: i64,
    created_by: i64,
) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO customers ({}, code, status_id, owner_id, created_by) VALUES (",
        columns(input)
    ));
    push_values(&mut q, input);
    q.push(", ").push_bind(code.to_string());
    q.push(", ").push_bind(status_id);
    q.push(", ").push_bind(owner_id);
    q.push(", ").push_bind(created_by);
    q.push(") RETURNING id");
    q.build_query_scalar().fetch_one(tx).await
}

/// An import chunk's new customers in one statement: each with its number and owner, all with
/// the same status, creator and import batch (set here rather than by a later update, which
/// would write every index of the table a second time). Returns their ids in the order given.
pub async fn insert_many(
    tx: &mut PgConnection,
    rows: &[(&CustomerInput, String, i64)],
    status_id: i64,
    (created_by, import_batch): (i64, i64),
) -> sqlx::Result<Vec<i64>> {
    let Some((first, _, _)) = rows.first() else { return Ok(Vec::new()) };
    let cols = columns(first);
    debug_assert!(rows.iter().all(|(input, _, _)| columns(input) == cols), "every input has the same columns");
    let mut q = QueryBuilder::new(format!(
        "INSERT INTO customers ({cols}, code, status_id, owner_id, created_by, import_batch_id) "
    ));
    q.push_values(rows, |mut b, (input, code, owner)| {
        push_values_into(&mut b, input);
        b.push_bind(code.clone()).push_bind(status_id).push_bind(*owner).push_bind(created_by).push_bind(import_batch);
    });
    q.push(" RETURNING id, code");
    let made: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
    // RETURNING's order is not promised: match by number, which is unique.
    let by_code: std::collections::HashMap<String, i64> = made.into_iter().map(|(id, code)| (code, id)).collect();
    Ok(rows.iter().map(|(_, code, _)| by_code[code]).collect())
}

/// The addresses of many new customers at once: (customer, its addresses).
pub async fn insert_addresses(tx: &mut PgConnection, rows: &[(i64, &[Address])]) -> sqlx::Result<()> {
    let all: Vec<(i64, usize, &Address)> =
        rows.iter().flat_map(|(id, list)| list.iter().enumerate().map(move |(i, a)| (*id, i, a))).collect();
    if all.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::new(
        "INSERT INTO customer_addresses (customer_id, type_id, region_id, detail, postcode, position) ",
    );
    q.push_values(all, |mut b, (id, i, a)| {
        b.push_bind(id)
            .push_bind(a.type_id)
            .push_bind(a.region_id)
            .push_bind(a.detail.clone())
            .push_bind(a.postcode.clone())
            .push_bind(i as i32);
    });
    q.build().execute(tx).await?;
    Ok(())
}

pub async fn update(tx: &mut PgConnection, id: i64, input: &CustomerInput) -> sqlx::Result<()> {
    let mut q = QueryBuilder::new(format!("UPDATE customers SET ({}) = ROW(", columns(input)));
    push_values(&mut q, input);
    q.push(")");
    if let Some(status) = input.status_id {
        q.push(", status_id = ").push_bind(status);
    }
    q.push(" WHERE id = ").push_bind(id);
    q.build().execute(tx).await?;
    Ok(())
}

pub async fn addresses<'e>(db: impl sqlx::PgExecutor<'e>, id: i64) -> sqlx::Result<Vec<Address>> {
    sqlx::query_as(
        "SELECT type_id, region_id, detail, postcode FROM customer_addresses WHERE customer_id = $1 ORDER BY position, id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn replace_addresses(tx: &mut PgConnection, id: i64, list: &[Address]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM customer_addresses WHERE customer_id = $1").bind(id).execute(&mut *tx).await?;
    for (i, a) in list.iter().enumerate() {
        sqlx::query(
            "INSERT INTO customer_addresses (customer_id, type_id, region_id, detail, postcode, position)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(a.type_id)
        .bind(a.region_id)
        .bind(&a.detail)
        .bind(&a.postcode)
        .bind(i as i32)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// (id, code, name) of the live customers below `id` that the scope may see, and how many it may not.
pub async fn children(db: &PgPool, scope: &DataScope, id: i64) -> sqlx::Result<(Vec<(i64, String, String)>, i64)> {
    let mut q = QueryBuilder::new("SELECT c.id, c.code, c.name FROM customers c WHERE c.parent_id = ");
    q.push_bind(id).push(" AND c.deleted_at IS NULL AND ");
    scope.push_visible(&mut q, "c", ENTITY);
    q.push(" ORDER BY c.name LIMIT 200");
    let visible: Vec<(i64, String, String)> = q.build_query_as().fetch_all(db).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM customers WHERE parent_id = $1 AND deleted_at IS NULL")
        .bind(id)
        .fetch_one(db)
        .await?;
    Ok((visible.clone(), (total - visible.len() as i64).max(0)))
}

/// Would making `parent` the parent of `id` close a loop (parent is `id` or below it)?
pub async fn parent_would_cycle(tx: &mut PgConnection, id: i64, parent: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "WITH RECURSIVE up(id, depth) AS (
           SELECT $2::bigint, 0
           UNION SELECT c.parent_id, up.depth + 1 FROM customers c JOIN up ON c.id = up.id
           WHERE c.parent_id IS NOT NULL AND up.depth < 100)
         SELECT EXISTS (SELECT 1 FROM up WHERE id = $1)",
    )
    .bind(id)
    .bind(parent)
    .fetch_one(tx)
    .await
}

/// Find a visible live customer by code, or by exact name (for the parent field typed by hand).
pub async fn find_by_code_or_name(db: &PgPool, scope: &DataScope, text: &str) -> sqlx::Result<Option<i64>> {
    // "名称（KH2026...）" as offered by the lookup list: take the code in brackets.
    let code = text.rsplit_once(['（', '(']).map(|(_, c)| c.trim_end_matches([')', '）']).trim()).unwrap_or(text);
    let mut q = QueryBuilder::new("SELECT c.id FROM customers c WHERE c.deleted_at IS NULL AND (c.code = ");
    q.push_bind(code.to_string()).push(" OR c.name = ").push_bind(text.trim().to_string()).push(") AND ");
    scope.push_visible(&mut q, "c", ENTITY);
    q.push(" ORDER BY (c.code = ").push_bind(code.to_string()).push(") DESC LIMIT 1");
    q.build_query_scalar().fetch_optional(db).await
}

/// Visible live customers whose name, short name or code contains `text` (lookups, pickers).
pub async fn lookup(
    db: &PgPool,
    scope: &DataScope,
    text: &str,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String, String)>> {
    let mut q = QueryBuilder::new("SELECT c.id, c.code, c.name FROM customers c WHERE c.deleted_at IS NULL");
    KEYWORD.push(&mut q, text);
    q.push(" AND ");
    scope.push_visible(&mut q, "c", ENTITY);
    q.push(" ORDER BY c.updated_at DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(db).await
}

/// Subsidiaries of customers about to be purged lose their parent.
pub async fn orphan_subsidiaries(tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("UPDATE customers SET parent_id = NULL WHERE parent_id = ANY($1)").bind(ids).execute(tx).await?;
    Ok(())
}

/// The top bar's search: live, owned customers visible to `scope` whose name, short name, code,
/// phones or e-mail contain `text` (as the list's keyword filter).
pub async fn search(
    db: &PgPool,
    scope: &DataScope,
    text: &str,
    limit: i64,
) -> sqlx::Result<crate::list::Hits<Customer>> {
    let page = crate::list::Page { select: SELECT, from: FROM, alias: "c" };
    crate::list::search_hits(
        db,
        page,
        |q| {
            q.push("FROM customers c WHERE c.deleted_at IS NULL AND c.owner_id IS NOT NULL");
            KEYWORD.push(q, text);
            q.push(" AND ");
            scope.push_visible(q, "c", ENTITY);
        },
        limit,
    )
    .await
}

/// The keyword on name, short name, code, phones and e-mail (`search`); two-character terms on
/// the name and short name's character pairs (migrations 0013, 0016).
pub const KEYWORD: KeywordSql = KeywordSql {
    search: "c.search",
    bigrams: "name_bigrams(c.name || ' ' || coalesce(c.short_name, ''))",
    names: &["c.name", "c.short_name"],
};

/// ` AND <column> IN (live customers whose name, short name or code has `text`)`: other kinds'
/// "customer" filter, on the customers' own indexes (nothing for an empty text).
pub fn push_named(q: &mut QueryBuilder<'_, Postgres>, column: &str, text: &str) {
    if text.trim().is_empty() {
        return;
    }
    q.push(format_args!(" AND {column} IN (SELECT cu.id FROM customers cu WHERE cu.deleted_at IS NULL"));
    JOINED_KEYWORD.push(q, text);
    q.push(")");
}

/// The same keyword on a customer joined as `cu`: other kinds' "customer" filters (contacts,
/// opportunities), served by the customers' own indexes.
pub const JOINED_KEYWORD: KeywordSql = KeywordSql {
    search: "cu.search",
    bigrams: "name_bigrams(cu.name || ' ' || coalesce(cu.short_name, ''))",
    names: &["cu.name", "cu.short_name"],
};
