//! Who may see and who may change records of a registered kind, as SQL on alias `t` — the
//! predicates every shared record action (stars, recycle bin, team, transfer, attachments,
//! follow-ups) goes through. Visibility is `DataScope`'s one predicate; writing adds the owner or
//! a read-write team place (on the record, or on its parent for child records) and the kind's
//! read-only condition.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::def::RecordDef;
use crate::access::DataScope;
use crate::access::scope::Child;
use crate::error::{AppError, AppResult};

/// Which side of the recycle bin a query looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bin {
    /// Live records (for children: their parent is live too).
    Live,
    /// Records in the recycle bin.
    Binned,
}

fn child_of(def: &'static RecordDef) -> Option<Child> {
    def.parent.as_ref().filter(|p| p.follows_scope).map(|p| Child {
        entity: def.entity,
        table: def.table,
        parent_column: p.column,
        parent_entity: p.entity,
        parent_table: p.table,
    })
}

/// ` t.deleted_at IS [NOT] NULL`, and for a live child a live parent.
pub fn push_bin(q: &mut QueryBuilder<'_, Postgres>, def: &'static RecordDef, bin: Bin) {
    match bin {
        Bin::Binned => {
            q.push(" t.deleted_at IS NOT NULL");
        }
        Bin::Live => {
            q.push(" t.deleted_at IS NULL");
            if let Some(p) = &def.parent {
                q.push(format_args!(
                    " AND NOT EXISTS (SELECT 1 FROM {} p WHERE p.id = t.{} AND p.deleted_at IS NOT NULL)",
                    p.table, p.column
                ));
            }
        }
    }
}

/// `(t is visible to scope)`.
pub fn push_visible(q: &mut QueryBuilder<'_, Postgres>, def: &'static RecordDef, scope: &DataScope) {
    if !def.owned {
        q.push(" TRUE ");
        return;
    }
    let also = def.also_visible.filter(|_| !scope.is_all());
    if also.is_some() {
        q.push(" (");
    }
    match child_of(def) {
        Some(child) => scope.push_visible_child(q, "t", &child),
        None => scope.push_visible(q, "t", def.entity),
    }
    if let Some(also) = also {
        q.push(" OR ");
        also(q, scope);
        q.push(") ");
    }
}

/// `(t may be changed by the scope's user)`, visibility aside: the owner is in scope or the user
/// holds a live read-write team place — on the record, or for a child on its parent (or the
/// parent's owner is in scope).
pub fn push_writable(q: &mut QueryBuilder<'_, Postgres>, def: &'static RecordDef, scope: &DataScope) {
    if !def.owned {
        q.push(" TRUE ");
        return;
    }
    let parent = def.parent.as_ref().filter(|p| p.follows_scope).map(|p| (p.column, p.entity, p.table));
    scope.push_writable(q, "t", def.entity, parent);
}

/// `(t may be given away by the scope's user)`: its owner is in their scope, or for a child that
/// follows its parent's scope, its parent's owner is. A team place — even read-write — lets one
/// edit a record, never give it to someone else.
pub fn push_transferable(q: &mut QueryBuilder<'_, Postgres>, def: &'static RecordDef, scope: &DataScope) {
    let Some(owners) = scope.owners.as_ref().filter(|_| def.owned) else {
        q.push(" TRUE ");
        return;
    };
    q.push(" (t.owner_id = ANY(").push_bind(owners.clone()).push(")");
    if let Some(p) = def.parent.as_ref().filter(|p| p.follows_scope) {
        q.push(format_args!(
            " OR EXISTS (SELECT 1 FROM {} p WHERE p.id = t.{} AND p.owner_id = ANY(",
            p.table, p.column
        ))
        .push_bind(owners.clone())
        .push("))");
    }
    q.push(") ");
}

/// ` AND NOT (<read-only condition>)` when the kind has one.
fn push_not_read_only(q: &mut QueryBuilder<'_, Postgres>, def: &'static RecordDef) {
    if let Some(ro) = &def.read_only {
        q.push(format_args!(" AND NOT ({})", ro.when));
    }
}

/// `SELECT t.id FROM <table> t WHERE t.id = ANY(ids) AND <bin> AND <visible>`
fn select_ids(def: &'static RecordDef, scope: &DataScope, ids: &[i64], bin: Bin) -> QueryBuilder<'static, Postgres> {
    let mut q = QueryBuilder::new(format!("SELECT t.id FROM {} t WHERE t.id = ANY(", def.table));
    q.push_bind(ids.to_vec()).push(") AND");
    push_bin(&mut q, def, bin);
    q.push(" AND ");
    push_visible(&mut q, def, scope);
    q
}

/// Of `ids`, those the scope sees (in id order).
pub async fn visible_ids(
    db: &PgPool,
    def: &'static RecordDef,
    scope: &DataScope,
    ids: &[i64],
    bin: Bin,
) -> sqlx::Result<Vec<i64>> {
    ids_where(db, def, scope, ids, bin, false).await
}

/// Of `ids`, those the scope's user may change now (visible, writable, not read-only), in id order.
pub async fn writable_ids(
    db: &PgPool,
    def: &'static RecordDef,
    scope: &DataScope,
    ids: &[i64],
    bin: Bin,
) -> sqlx::Result<Vec<i64>> {
    ids_where(db, def, scope, ids, bin, true).await
}

async fn ids_where(
    db: &PgPool,
    def: &'static RecordDef,
    scope: &DataScope,
    ids: &[i64],
    bin: Bin,
    writable: bool,
) -> sqlx::Result<Vec<i64>> {
    let mut q = select_ids(def, scope, ids, bin);
    if writable {
        q.push(" AND ");
        push_writable(&mut q, def, scope);
        push_not_read_only(&mut q, def);
    }
    q.push(" ORDER BY t.id");
    q.build_query_scalar().fetch_all(db).await
}

/// Of `ids`, those the scope's user may give away now (visible, owner in their scope — see
/// `push_transferable` —, not read-only), in id order.
pub async fn transferable_ids(
    db: &PgPool,
    def: &'static RecordDef,
    scope: &DataScope,
    ids: &[i64],
) -> sqlx::Result<Vec<i64>> {
    let mut q = select_ids(def, scope, ids, Bin::Live);
    q.push(" AND ");
    push_transferable(&mut q, def, scope);
    push_not_read_only(&mut q, def);
    q.push(" ORDER BY t.id");
    q.build_query_scalar().fetch_all(db).await
}

/// May the scope's user give this live record away? As `check_writable` (404 not visible, 403
/// no right, 409 read-only), and 403 when its owner is outside their scope (a team member).
pub async fn check_transferable(db: &PgPool, def: &'static RecordDef, scope: &DataScope, id: i64) -> AppResult<()> {
    check_writable(db, def, scope, id).await?;
    if transferable_ids(db, def, scope, &[id]).await?.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(())
}

/// May the scope's user give this record away (see `push_transferable`)? The caller has found it
/// visible; an owner in scope answers without a query.
pub async fn may_transfer(
    db: &PgPool,
    def: &'static RecordDef,
    scope: &DataScope,
    id: i64,
    owner: Option<i64>,
) -> sqlx::Result<bool> {
    if !def.owned || scope.owns(owner) {
        return Ok(true);
    }
    if !def.parent.as_ref().is_some_and(|p| p.follows_scope) {
        return Ok(false);
    }
    let mut q = QueryBuilder::new(format!("SELECT EXISTS (SELECT 1 FROM {} t WHERE t.id = ", def.table));
    q.push_bind(id).push(" AND ");
    push_transferable(&mut q, def, scope);
    q.push(")");
    q.build_query_scalar().fetch_one(db).await
}

/// Whether the scope sees this live record.
pub async fn is_visible(db: &PgPool, def: &'static RecordDef, scope: &DataScope, id: i64) -> sqlx::Result<bool> {
    Ok(!visible_ids(db, def, scope, &[id], Bin::Live).await?.is_empty())
}

/// May the scope's user change this live record? `NotFound` when they cannot see it (a record
/// one cannot see looks like one that does not exist), `Forbidden` without the right, and
/// `Conflict(reason)` while nobody may change it (frozen, converted). `db`: the pool, or a
/// transaction that may hold records it created itself (an import's).
pub async fn check_writable<'e>(
    db: impl sqlx::PgExecutor<'e>,
    def: &'static RecordDef,
    scope: &DataScope,
    id: i64,
) -> AppResult<()> {
    // coalesce: a record without an owner (a pool customer) makes the owner test NULL.
    let mut q = QueryBuilder::new("SELECT coalesce((");
    push_writable(&mut q, def, scope);
    let read_only = def.read_only.as_ref().map_or("false", |r| r.when);
    q.push(format_args!("), false), coalesce(({read_only}), false) FROM {} t WHERE t.id = ", def.table));
    q.push_bind(id).push(" AND");
    push_bin(&mut q, def, Bin::Live);
    q.push(" AND ");
    push_visible(&mut q, def, scope);
    let row: Option<(bool, bool)> = q.build_query_as().fetch_optional(db).await?;
    match row {
        None => Err(AppError::NotFound),
        Some((false, _)) => Err(AppError::Forbidden),
        Some((true, true)) => Err(AppError::Conflict(def.read_only.as_ref().map_or("form.invalid", |r| r.reason))),
        Some((true, false)) => Ok(()),
    }
}

/// May the scope's user change this record (owner in scope, a read-write team place, or for a
/// child its parent's), its read-only state aside? The caller has found it visible; an owner in
/// scope answers without a query.
pub async fn may_write(
    db: &PgPool,
    def: &'static RecordDef,
    scope: &DataScope,
    id: i64,
    owner: Option<i64>,
) -> sqlx::Result<bool> {
    if !def.owned || scope.owns(owner) {
        return Ok(true);
    }
    let mut q = QueryBuilder::new(format!("SELECT EXISTS (SELECT 1 FROM {} t WHERE t.id = ", def.table));
    q.push_bind(id).push(" AND ");
    push_writable(&mut q, def, scope);
    q.push(")");
    q.build_query_scalar().fetch_one(db).await
}

/// `t.owner_id`, or NULL for a kind without owners.
pub fn owner_column(def: &'static RecordDef) -> &'static str {
    if def.owned { "t.owner_id" } else { "NULL::bigint" }
}

/// (id, name, owner) of these records, in id order, for actions that name them (transfer,
/// team): no scope check — the caller has narrowed `ids` to what the user may change.
pub async fn titles(
    conn: &mut sqlx::PgConnection,
    def: &'static RecordDef,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, String, Option<i64>)>> {
    sqlx::query_as(&format!(
        "SELECT t.id, {}, {} FROM {} t WHERE t.id = ANY($1) ORDER BY t.id",
        def.title,
        owner_column(def),
        def.table
    ))
    .bind(ids)
    .fetch_all(conn)
    .await
}

/// Lock these records' rows (in id order, so two bulk actions cannot deadlock) and return their
/// (id, name, owner) as they are now: live ones that are not read-only (converted meanwhile).
pub async fn lock_live(
    conn: &mut sqlx::PgConnection,
    def: &'static RecordDef,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, String, Option<i64>)>> {
    let read_only = def.read_only.as_ref().map_or("false", |r| r.when);
    let ids: Vec<i64> = sqlx::query_scalar(&format!(
        "SELECT t.id FROM {} t WHERE t.id = ANY($1) AND t.deleted_at IS NULL AND NOT ({read_only})
          ORDER BY t.id FOR UPDATE OF t",
        def.table
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    titles(conn, def, &ids).await
}
