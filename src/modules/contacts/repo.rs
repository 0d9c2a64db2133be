//! Contact SQL. Every read of contacts goes through `DataScope::push_visible_child` (a contact is
//! visible through its owner, its customer's owner, its own team and shares, or its customer's
//! team and shares).

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{Contact, ContactInput, ENTITY, TEXT_FIELDS};
use crate::access::DataScope;
use crate::access::scope::Child;
use crate::list::keyword::KeywordSql;

/// Columns of `Contact`; the FROM clause joins the customer and the names the row shows.
pub const SELECT: &str = "SELECT ct.id, ct.customer_id, cu.name AS customer_name, cu.code AS customer_code,
       cu.owner_id AS customer_owner_id, cu.frozen AS customer_frozen, ct.name, ct.salutation_id, ct.gender,
       ct.position, ct.department, ct.phone, ct.mobile, ct.email, ct.wechat, ct.address, ct.birthday,
       ct.decision_maker, ct.is_primary, ct.notes, ct.custom, ct.owner_id, o.name AS owner_name,
       od.name AS owner_dept, ct.owner_locked, ct.last_followup_at, ct.next_contact_at, cb.name AS created_by_name,
       ct.created_at, ct.updated_at, ct.deleted_at, db.name AS deleted_by_name";

pub const FROM: &str = "FROM contacts ct
       JOIN customers cu ON cu.id = ct.customer_id
       LEFT JOIN users o ON o.id = ct.owner_id
       LEFT JOIN departments od ON od.id = o.dept_id
       LEFT JOIN users cb ON cb.id = ct.created_by
       LEFT JOIN users db ON db.id = ct.deleted_by";

/// Live contacts: not deleted, and their customer not in the recycle bin either.
pub const LIVE: &str = "ct.deleted_at IS NULL AND cu.deleted_at IS NULL";

/// Contacts hang under customers: visibility follows the customer's scope, team and shares.
const CHILD: Child = Child {
    entity: ENTITY,
    table: "contacts",
    parent_column: "customer_id",
    parent_entity: "customer",
    parent_table: "customers",
};

/// Append the visibility predicate for alias `ct`.
pub fn push_visible(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    scope.push_visible_child(q, "ct", &CHILD);
}

/// The keyword on name, phones, e-mail or WeChat (`search`); two-character terms on the name's character
/// pairs (migration 0021).
pub const KEYWORD: KeywordSql =
    KeywordSql { search: "ct.search", bigrams: "name_bigrams(ct.name)", names: &["ct.name"] };

/// The top bar's search: live contacts visible to `scope` matching `text` (as the list's keyword
/// filter).
pub async fn search(
    db: &PgPool,
    scope: &DataScope,
    text: &str,
    limit: i64,
) -> sqlx::Result<crate::list::Hits<Contact>> {
    let page = crate::list::Page { select: SELECT, from: FROM, alias: "ct" };
    crate::list::search_hits(
        db,
        page,
        |q| {
            q.push("FROM contacts ct JOIN customers cu ON cu.id = ct.customer_id WHERE ").push(LIVE).push(" AND ");
            push_visible(q, scope);
            KEYWORD.push(q, text);
        },
        limit,
    )
    .await
}

/// The total of the unfiltered contact list without counting a million joined rows: the
/// per-owner counters (migration 0013) for the owners in scope, less their live contacts under
/// customers in the recycle bin (few, found from those customers), plus the contacts reached
/// through their customer's owner, or their own or their customer's team and shares, whose owner is
/// out of scope.
pub async fn unfiltered_total(db: &PgPool, scope: &DataScope) -> sqlx::Result<i64> {
    let owners = &scope.owners; // None: every owner, and contacts without one
    let counted: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(n), 0)::bigint FROM owner_counts
          WHERE entity = 'contact' AND ($1::bigint[] IS NULL OR owner_id = ANY($1))",
    )
    .bind(owners)
    .fetch_one(db)
    .await?;
    let hidden: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM contacts ct
          WHERE ct.customer_id = ANY(ARRAY(SELECT id FROM customers WHERE deleted_at IS NOT NULL))
            AND ct.deleted_at IS NULL AND ($1::bigint[] IS NULL OR ct.owner_id = ANY($1))",
    )
    .bind(owners)
    .fetch_one(db)
    .await?;
    let Some(owners) = owners else {
        return Ok(counted - hidden);
    };
    let mut q =
        QueryBuilder::new("SELECT count(*) FROM contacts ct JOIN customers cu ON cu.id = ct.customer_id WHERE ");
    q.push(LIVE).push(" AND (ct.id = ANY(ARRAY(");
    scope.push_child_extra_ids(&mut q, &CHILD);
    q.push(")) OR ct.customer_id = ANY(ARRAY(");
    scope.push_extra_ids(&mut q, "customer");
    q.push("))) AND (ct.owner_id IS NULL OR NOT ct.owner_id = ANY(").push_bind(owners.clone()).push("))");
    let reached: i64 = q.build_query_scalar().fetch_one(db).await?;
    Ok(counted - hidden + reached)
}

/// A contact the scope may see; `deleted` picks the recycle bin instead of live records. `db`:
/// the pool, or a transaction that may hold contacts it created (an import's).
pub async fn find_visible<'e>(
    db: impl sqlx::PgExecutor<'e>,
    scope: &DataScope,
    id: i64,
    deleted: bool,
) -> sqlx::Result<Option<Contact>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE ct.id = ").push_bind(id);
    if deleted {
        q.push(" AND ct.deleted_at IS NOT NULL AND ");
    } else {
        q.push(" AND ").push(LIVE).push(" AND ");
    }
    push_visible(&mut q, scope);
    q.build_query_as().fetch_optional(db).await
}

/// Live contacts of one customer, primary first (the customer's Contacts tab; the caller knows
/// the customer is visible).
pub async fn for_customer(db: &PgPool, customer_id: i64) -> sqlx::Result<Vec<Contact>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE ct.customer_id = ").push_bind(customer_id);
    q.push(" AND ct.deleted_at IS NULL ORDER BY ct.is_primary DESC, ct.name, ct.id LIMIT 500");
    q.build_query_as().fetch_all(db).await
}

/// (id, name, mobile) of one customer's live contacts, oldest first (an import's duplicate
/// check; a customer has few).
pub async fn names_of_customer(
    conn: &mut PgConnection,
    customer_id: i64,
) -> sqlx::Result<Vec<(i64, String, Option<String>)>> {
    sqlx::query_as("SELECT id, name, mobile FROM contacts WHERE customer_id = $1 AND deleted_at IS NULL ORDER BY id")
        .bind(customer_id)
        .fetch_all(conn)
        .await
}

/// Lock the customer row while its contacts' primary flag changes (one change at a time).
pub async fn lock_customer(tx: &mut PgConnection, customer_id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT 1 FROM customers WHERE id = $1 FOR NO KEY UPDATE").bind(customer_id).execute(tx).await?;
    Ok(())
}

/// Lock the contact row for a write in this transaction.
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT 1 FROM contacts WHERE id = $1 FOR UPDATE").bind(id).execute(tx).await?;
    Ok(())
}

fn columns() -> String {
    let mut cols = vec!["name", "customer_id", "salutation_id", "gender"];
    cols.extend(TEXT_FIELDS.iter().map(|(c, _)| *c));
    cols.extend(["birthday", "decision_maker", "custom"]);
    cols.join(", ")
}

fn push_values(q: &mut QueryBuilder<'_, Postgres>, input: &ContactInput, customer_id: i64) {
    let mut s = q.separated(", ");
    s.push_bind(input.name.clone());
    s.push_bind(customer_id);
    s.push_bind(input.salutation_id);
    s.push_bind(input.gender.clone());
    for (col, _) in TEXT_FIELDS {
        s.push_bind(input.text(col).map(str::to_string));
    }
    s.push_bind(input.birthday);
    s.push_bind(input.decision_maker);
    s.push_bind(sqlx::types::Json(input.custom.clone()));
}

pub async fn insert(
    tx: &mut PgConnection,
    input: &ContactInput,
    customer_id: i64,
    owner_id: Option<i64>,
    created_by: i64,
) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(format!("INSERT INTO contacts ({}, owner_id, created_by) VALUES (", columns()));
    push_values(&mut q, input, customer_id);
    q.push(", ").push_bind(owner_id);
    q.push(", ").push_bind(created_by);
    q.push(") RETURNING id");
    q.build_query_scalar().fetch_one(tx).await
}

/// Save an edit; a contact moved to another customer leaves its primary place behind.
pub async fn update(
    tx: &mut PgConnection,
    id: i64,
    input: &ContactInput,
    customer_id: i64,
    owner_id: Option<i64>,
    moved: bool,
) -> sqlx::Result<()> {
    let mut q = QueryBuilder::new(format!("UPDATE contacts SET ({}, owner_id) = ROW(", columns()));
    push_values(&mut q, input, customer_id);
    q.push(", ").push_bind(owner_id).push(")");
    if moved {
        q.push(", is_primary = false");
    }
    q.push(" WHERE id = ").push_bind(id);
    q.build().execute(tx).await?;
    Ok(())
}

/// The live primary contact of a customer, if any.
pub async fn primary_of(tx: &mut PgConnection, customer_id: i64) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as("SELECT id, name FROM contacts WHERE customer_id = $1 AND is_primary AND deleted_at IS NULL")
        .bind(customer_id)
        .fetch_optional(tx)
        .await
}

/// Make `id` the primary contact of its customer; the previous one stops being primary first, so
/// the one-primary index never trips. Returns the previous primary (id, name). Call with the
/// customer locked (`lock_customer`).
pub async fn set_primary(tx: &mut PgConnection, id: i64, customer_id: i64) -> sqlx::Result<Option<(i64, String)>> {
    let previous = primary_of(&mut *tx, customer_id).await?.filter(|(p, _)| *p != id);
    sqlx::query("UPDATE contacts SET is_primary = false WHERE customer_id = $1 AND is_primary AND deleted_at IS NULL AND id <> $2")
        .bind(customer_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE contacts SET is_primary = true WHERE id = $1 AND NOT is_primary")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(previous)
}

/// Customers among `customer_ids` with live contacts but no primary get their earliest live
/// contact as primary (a customer's first contact; after the primary was deleted or moved).
pub async fn ensure_primary(tx: &mut PgConnection, customer_ids: &[i64]) -> sqlx::Result<()> {
    if customer_ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE contacts SET is_primary = true WHERE id IN (
           SELECT DISTINCT ON (c.customer_id) c.id FROM contacts c
           WHERE c.customer_id = ANY($1) AND c.deleted_at IS NULL
             AND NOT EXISTS (SELECT 1 FROM contacts p
                             WHERE p.customer_id = c.customer_id AND p.is_primary AND p.deleted_at IS NULL)
           ORDER BY c.customer_id, c.created_at, c.id)",
    )
    .bind(customer_ids)
    .execute(tx)
    .await?;
    Ok(())
}

/// Contacts going to or coming from the recycle bin stop being primary; every customer of
/// theirs that lost its primary contact gets its earliest remaining one. Customers are locked
/// first, as for every change of the primary flag.
pub async fn unset_primary(tx: &mut PgConnection, contact_ids: &[i64]) -> sqlx::Result<()> {
    let customers: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT customer_id FROM contacts WHERE id = ANY($1) ORDER BY customer_id")
            .bind(contact_ids)
            .fetch_all(&mut *tx)
            .await?;
    for c in &customers {
        lock_customer(&mut *tx, *c).await?;
    }
    sqlx::query("UPDATE contacts SET is_primary = false WHERE id = ANY($1) AND is_primary")
        .bind(contact_ids)
        .execute(&mut *tx)
        .await?;
    ensure_primary(tx, &customers).await
}
