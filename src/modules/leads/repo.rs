//! Lead SQL. Every read of leads goes through `push_visible` (`DataScope::push_visible`, module
//! "leads").

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::model::{ENTITY, Lead, LeadInput};
use crate::access::DataScope;
use crate::list::keyword::KeywordSql;

/// Columns of `Lead`; the FROM clause joins what the row shows by name.
pub const SELECT: &str = "SELECT l.id, l.name, l.contact_name, l.phone, l.mobile, l.email, l.address, l.source_id,
       l.industry_id, l.region_id, l.level, l.notes, l.owner_id, o.name AS owner_name, od.name AS owner_dept,
       l.last_followup_at, l.next_contact_at, l.custom, l.converted_at, cv.name AS converted_by_name, l.customer_id,
       cu.name AS customer_name, cb.name AS created_by_name, l.created_at, l.updated_at, l.deleted_at,
       db.name AS deleted_by_name";

pub const FROM: &str = "FROM leads l
       LEFT JOIN users o ON o.id = l.owner_id
       LEFT JOIN departments od ON od.id = o.dept_id
       LEFT JOIN users cv ON cv.id = l.converted_by
       LEFT JOIN customers cu ON cu.id = l.customer_id
       LEFT JOIN users cb ON cb.id = l.created_by
       LEFT JOIN users db ON db.id = l.deleted_by";

/// Append the visibility predicate for alias `l`.
pub fn push_visible(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    scope.push_visible(q, "l", ENTITY);
}

/// The keyword on name, contact, phones or e-mail (`search`); two-character terms on the name and
/// contact's character pairs (migration 0021).
pub const KEYWORD: KeywordSql = KeywordSql {
    search: "l.search",
    bigrams: "name_bigrams(l.name || ' ' || coalesce(l.contact_name, ''))",
    names: &["l.name", "l.contact_name"],
};

/// The top bar's search: live leads (converted ones included, as on the list) visible to `scope`
/// matching `text` (as the list's keyword filter).
pub async fn search(db: &PgPool, scope: &DataScope, text: &str, limit: i64) -> sqlx::Result<crate::list::Hits<Lead>> {
    let page = crate::list::Page { select: SELECT, from: FROM, alias: "l" };
    crate::list::search_hits(
        db,
        page,
        |q| {
            q.push("FROM leads l WHERE l.deleted_at IS NULL AND ");
            push_visible(q, scope);
            KEYWORD.push(q, text);
        },
        limit,
    )
    .await
}

/// A lead the scope may see; `deleted` picks the recycle bin instead of live records.
pub async fn find_visible(db: &PgPool, scope: &DataScope, id: i64, deleted: bool) -> sqlx::Result<Option<Lead>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE l.id = ").push_bind(id);
    q.push(if deleted { " AND l.deleted_at IS NOT NULL AND " } else { " AND l.deleted_at IS NULL AND " });
    push_visible(&mut q, scope);
    q.build_query_as().fetch_optional(db).await
}

/// One lead by id, whoever may see it (inside a write that has checked access).
pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Lead> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" ").push(FROM).push(" WHERE l.id = ").push_bind(id);
    q.build_query_as().fetch_one(conn).await
}

/// A live lead with this name, case aside (open ones first, then converted): (id, its owner's
/// name). An import's duplicate check, in its transaction; the keyword index finds the
/// candidates.
pub async fn same_name(conn: &mut PgConnection, name: &str) -> sqlx::Result<Option<(i64, Option<String>)>> {
    let mut q = QueryBuilder::new(SAME);
    // One character is too short for the index: such names are compared row by row.
    if name.chars().count() >= crate::list::keyword::MIN_CHARS {
        KEYWORD.push(&mut q, name);
    }
    q.push(" AND lower(l.name) = lower(").push_bind(name.to_string()).push(")");
    q.push(SAME_ORDER);
    q.build_query_as().fetch_optional(conn).await
}

/// A live lead with this mobile number, digits compared (see `same_name`). The search index
/// finds the candidates holding the number as written or as bare digits, so one stored in
/// another layout ("138 0013 8000" when the file says "13800138000") is not found.
pub async fn same_mobile(conn: &mut PgConnection, mobile: &str) -> sqlx::Result<Option<(i64, Option<String>)>> {
    let digits: String = mobile.chars().filter(char::is_ascii_digit).collect();
    let like = |s: &str| format!("%{}%", crate::fields::escape_like(s));
    let mut q = QueryBuilder::new(SAME);
    q.push(" AND (l.search LIKE ").push_bind(like(mobile)).push(" OR l.search LIKE ").push_bind(like(&digits));
    q.push(") AND regexp_replace(l.mobile, '[^0-9]', '', 'g') = ").push_bind(digits);
    q.push(SAME_ORDER);
    q.build_query_as().fetch_optional(conn).await
}

const SAME: &str = "SELECT l.id, o.name FROM leads l LEFT JOIN users o ON o.id = l.owner_id WHERE l.deleted_at IS NULL";
const SAME_ORDER: &str = " ORDER BY l.converted_at IS NOT NULL, l.id LIMIT 1";

/// Lock the row for a write in this transaction; whether it is converted (None: gone).
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar("SELECT converted_at IS NOT NULL FROM leads WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
        .bind(id)
        .fetch_optional(tx)
        .await
}

fn columns(input: &LeadInput) -> String {
    let mut cols = vec!["name", "name_norm", "level"];
    cols.extend(input.dicts.iter().map(|(c, _)| *c));
    cols.extend(input.texts.iter().map(|(c, _)| *c));
    cols.extend(["next_contact_at", "custom"]);
    cols.join(", ")
}

fn push_values(q: &mut QueryBuilder<'_, Postgres>, input: &LeadInput) {
    let mut s = q.separated(", ");
    s.push_bind(input.name.clone());
    // The duplicate rules' comparison key, computed in Rust only (`records::normalize`).
    s.push_bind(crate::records::normalize::name(&input.name));
    s.push_bind(input.level);
    for (_, v) in &input.dicts {
        s.push_bind(*v);
    }
    for (_, v) in &input.texts {
        s.push_bind(v.clone());
    }
    s.push_bind(input.next_contact_at);
    s.push_bind(sqlx::types::Json(input.custom.clone()));
}

pub async fn insert(tx: &mut PgConnection, input: &LeadInput, owner_id: i64, created_by: i64) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new(format!("INSERT INTO leads ({}, owner_id, created_by) VALUES (", columns(input)));
    push_values(&mut q, input);
    q.push(", ").push_bind(owner_id);
    q.push(", ").push_bind(created_by);
    q.push(") RETURNING id");
    q.build_query_scalar().fetch_one(tx).await
}

pub async fn update(tx: &mut PgConnection, id: i64, input: &LeadInput) -> sqlx::Result<()> {
    let mut q = QueryBuilder::new(format!("UPDATE leads SET ({}) = ROW(", columns(input)));
    push_values(&mut q, input);
    q.push(") WHERE id = ").push_bind(id);
    q.build().execute(tx).await?;
    Ok(())
}

/// Follow-ups written on leads about to be purged, unless carried to a customer (those stay
/// with it).
pub async fn purge_followups(tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM followups WHERE entity = 'lead' AND entity_id = ANY($1) AND customer_id IS NULL")
        .bind(ids)
        .execute(tx)
        .await?;
    Ok(())
}
