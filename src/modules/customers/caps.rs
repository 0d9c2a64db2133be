//! Ownership and lock caps: the most customers a user may own (optionally leaving dealt customers
//! out of the count) and the most they may lock. Set by the admin per user or per department
//! (`customer_caps`); creating and converting call `check_owned`, transferring, claiming and
//! assigning `check_receiving`, restoring from the recycle bin `check_restoring`, locking
//! `check_locked`, before the change.
//!
//! Which row applies: the user's own row if there is one, else the row of the nearest department
//! up the tree from the user's department; the whole row applies (an empty limit on the user's
//! row means unlimited even when the department has a limit). No row: unlimited.

use sqlx::PgConnection;

use crate::error::AppResult;
use crate::web::i18n::Lang;

/// The limits that apply to one user. `None` = unlimited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cap {
    pub max_owned: Option<i64>,
    /// Whether customers with `deal_status = 'dealt'` count toward `max_owned`.
    pub count_dealt: bool,
    pub max_locked: Option<i64>,
    /// Where the cap comes from: the user's own row, or a department's (its id).
    pub from_dept: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct CapExceeded {
    pub limit: i64,
    pub current: i64,
}

impl CapExceeded {
    /// E.g. "张三 名下客户已达上限（200 个），不能再增加。"; when the user is below the cap but
    /// the addition would pass it: "张三 名下已有 198 个客户，上限 200 个，不能再增加这么多。"
    pub fn message(&self, lang: Lang, user_name: &str, locked: bool) -> String {
        let key = match (locked, self.current >= self.limit) {
            (false, true) => "crules.cap.owned_full",
            (false, false) => "crules.cap.owned_over",
            (true, true) => "crules.cap.locked_full",
            (true, false) => "crules.cap.locked_over",
        };
        lang.tf(key, &[("name", user_name), ("limit", &self.limit.to_string()), ("current", &self.current.to_string())])
    }
}

#[derive(sqlx::FromRow)]
struct CapRow {
    max_owned: Option<i32>,
    count_dealt: bool,
    max_locked: Option<i32>,
    from_dept: Option<i64>,
}

/// The cap that applies to `user_id`, if any.
pub async fn effective(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Option<Cap>> {
    let row: Option<CapRow> = sqlx::query_as(
        "WITH RECURSIVE up AS (
           SELECT d.id, d.parent_id, 1 AS depth FROM departments d JOIN users u ON u.dept_id = d.id WHERE u.id = $1
           UNION ALL
           SELECT p.id, p.parent_id, up.depth + 1 FROM departments p JOIN up ON p.id = up.parent_id
             WHERE up.depth < 64)
         SELECT max_owned, count_dealt, max_locked, from_dept FROM (
           SELECT c.max_owned, c.count_dealt, c.max_locked, NULL::bigint AS from_dept, 0 AS depth
             FROM customer_caps c WHERE c.user_id = $1
           UNION ALL
           SELECT c.max_owned, c.count_dealt, c.max_locked, c.dept_id, up.depth
             FROM up JOIN customer_caps c ON c.dept_id = up.id
         ) caps ORDER BY depth LIMIT 1",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Cap {
        max_owned: r.max_owned.map(i64::from),
        count_dealt: r.count_dealt,
        max_locked: r.max_locked.map(i64::from),
        from_dept: r.from_dept,
    }))
}

/// Serialise cap checks for one user until the caller's transaction ends, so two concurrent
/// creations cannot both take the last place.
async fn lock_user(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('customer_cap', $1))")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Live customers `user_id` owns, as the cap counts them.
pub async fn owned_count(conn: &mut PgConnection, user_id: i64, count_dealt: bool) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM customers WHERE owner_id = $1 AND deleted_at IS NULL
           AND ($2 OR deal_status <> 'dealt')",
    )
    .bind(user_id)
    .bind(count_dealt)
    .fetch_one(conn)
    .await
}

/// Live customers `user_id` owns and has locked.
pub async fn locked_count(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM customers WHERE owner_id = $1 AND deleted_at IS NULL AND locked")
        .bind(user_id)
        .fetch_one(conn)
        .await
}

/// Would `user_id` owning `adding` more customers exceed their cap? (User row beats department
/// row; the department cap is the nearest one up the tree; no cap = unlimited; `count_dealt =
/// false` leaves deal_status='dealt' customers out — the caller passes in `adding` only the
/// customers that count.) Call it inside the transaction that makes the change.
pub async fn check_owned(conn: &mut PgConnection, user_id: i64, adding: i64) -> sqlx::Result<Result<(), CapExceeded>> {
    if adding <= 0 {
        return Ok(Ok(()));
    }
    let cap = effective(&mut *conn, user_id).await?;
    check_owned_under(conn, user_id, adding, cap.as_ref()).await
}

/// `check_owned` with the user's cap already read (an import reads each owner's once).
pub async fn check_owned_under(
    conn: &mut PgConnection,
    user_id: i64,
    adding: i64,
    cap: Option<&Cap>,
) -> sqlx::Result<Result<(), CapExceeded>> {
    let Some(&Cap { max_owned: Some(limit), count_dealt, .. }) = cap else {
        return Ok(Ok(()));
    };
    lock_user(&mut *conn, user_id).await?;
    let current = owned_count(conn, user_id, count_dealt).await?;
    Ok(if current + adding > limit { Err(CapExceeded { limit, current }) } else { Ok(()) })
}

/// Would `user_id` locking `adding` more of their customers exceed their lock cap?
pub async fn check_locked(conn: &mut PgConnection, user_id: i64, adding: i64) -> sqlx::Result<Result<(), CapExceeded>> {
    if adding <= 0 {
        return Ok(Ok(()));
    }
    let Some(Cap { max_locked: Some(limit), .. }) = effective(&mut *conn, user_id).await? else {
        return Ok(Ok(()));
    };
    lock_user(&mut *conn, user_id).await?;
    let current = locked_count(conn, user_id).await?;
    Ok(if current + adding > limit { Err(CapExceeded { limit, current }) } else { Ok(()) })
}

/// Would `user_id` receiving the customers `ids` (a transfer) pass a cap? The ownership cap
/// counts only those that count (dealt ones only with `count_dealt`); the lock cap counts those
/// that arrive locked. The error says which (`true`: the lock cap).
pub async fn check_receiving(
    conn: &mut PgConnection,
    user_id: i64,
    ids: &[i64],
) -> sqlx::Result<Result<(), (CapExceeded, bool)>> {
    check_arriving(conn, user_id, ids, true).await
}

/// Would bringing `user_id`'s customers `ids` back from the recycle bin pass a cap? Binned
/// customers do not count while deleted; restored they count as `check_receiving` counts them.
pub async fn check_restoring(
    conn: &mut PgConnection,
    user_id: i64,
    ids: &[i64],
) -> sqlx::Result<Result<(), (CapExceeded, bool)>> {
    check_arriving(conn, user_id, ids, false).await
}

/// `ids` about to count for `user_id`; with `new_owner` only those someone else owns now.
async fn check_arriving(
    conn: &mut PgConnection,
    user_id: i64,
    ids: &[i64],
    new_owner: bool,
) -> sqlx::Result<Result<(), (CapExceeded, bool)>> {
    let Some(cap) = effective(&mut *conn, user_id).await? else {
        return Ok(Ok(()));
    };
    let (counting, locked): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE $3 OR deal_status <> 'dealt'), count(*) FILTER (WHERE locked)
           FROM customers WHERE id = ANY($1) AND (NOT $4 OR owner_id IS DISTINCT FROM $2)",
    )
    .bind(ids)
    .bind(user_id)
    .bind(cap.count_dealt)
    .bind(new_owner)
    .fetch_one(&mut *conn)
    .await?;
    if let Err(over) = check_owned(&mut *conn, user_id, counting).await? {
        return Ok(Err((over, false)));
    }
    Ok(check_locked(conn, user_id, locked).await?.map_err(|over| (over, true)))
}

/// Of the binned `ids` (locked here), those whose owner's caps allow them back, and the reason
/// for each owner refused: an owner's customers come back together or not at all.
pub async fn within_caps(tx: &mut PgConnection, ids: &[i64], lang: Lang) -> AppResult<(Vec<i64>, Vec<String>)> {
    let rows: Vec<(i64, Option<i64>)> =
        sqlx::query_as("SELECT id, owner_id FROM customers WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
    let mut by_owner: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    let mut ok = Vec::new();
    for (id, owner) in rows {
        match owner {
            Some(o) => by_owner.entry(o).or_default().push(id),
            // Pool customers have no owner and no cap.
            None => ok.push(id),
        }
    }
    let mut refused = Vec::new();
    for (owner, theirs) in by_owner {
        match check_restoring(&mut *tx, owner, &theirs).await? {
            Ok(()) => ok.extend(theirs),
            Err((over, locked)) => {
                let name = crate::org::users::name_of(&mut *tx, Some(owner)).await?.unwrap_or_default();
                refused.push(over.message(lang, &name, locked));
            }
        }
    }
    Ok((ok, refused))
}
