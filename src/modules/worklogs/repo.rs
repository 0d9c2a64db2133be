//! Work logs' SQL. Every user value is bound; visibility goes through `records::sql` (scope,
//! then the recipients through `RECORD.also_visible`).

use chrono::NaiveDate;
use serde_json::Value;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::RECORD;
use super::model::{Comment, Input, Kind, ListRow, Recipient, Worklog};
use crate::access::DataScope;
use crate::records::sql;

const SELECT: &str = "SELECT t.id, t.kind, t.period_start, t.period_end, t.done, t.plans, t.problems, t.stats,
        t.owner_id, t.created_by, u.name AS author_name, d.name AS author_dept, t.submitted_at, t.updated_at
   FROM worklogs t JOIN users u ON u.id = t.created_by JOIN departments d ON d.id = u.dept_id";

/// A live log the scope sees (its author's scope, or the user is a recipient).
pub async fn find_visible(db: &PgPool, scope: &DataScope, id: i64) -> sqlx::Result<Option<Worklog>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" WHERE t.id = ").push_bind(id).push(" AND t.deleted_at IS NULL AND ");
    sql::push_visible(&mut q, &RECORD, scope);
    q.build_query_as().fetch_optional(db).await
}

/// Insert a new log (the caller turns `worklogs_one_per_period` into the period's field error).
pub async fn insert(tx: &mut PgConnection, input: &Input, author: i64, stats: &Value) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO worklogs (kind, period_start, period_end, done, plans, problems, stats, owner_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(input.kind.code())
    .bind(input.period_start)
    .bind(input.period_end)
    .bind(&input.done)
    .bind(&input.plans)
    .bind(&input.problems)
    .bind(stats)
    .bind(author)
    .fetch_one(tx)
    .await
}

/// The author's live log of this kind for the period starting `start`, if written already.
pub async fn existing(db: &PgPool, author: i64, kind: Kind, start: NaiveDate) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM worklogs WHERE created_by = $1 AND kind = $2 AND period_start = $3 AND deleted_at IS NULL",
    )
    .bind(author)
    .bind(kind.code())
    .bind(start)
    .fetch_optional(db)
    .await
}

/// Save an edit: the texts and the numbers as they stand now (it is submitted again).
pub async fn update(tx: &mut PgConnection, id: i64, input: &Input, stats: &Value) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE worklogs SET done = $2, plans = $3, problems = $4, stats = $5, submitted_at = now()
          WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(&input.done)
    .bind(&input.plans)
    .bind(&input.problems)
    .bind(stats)
    .execute(tx)
    .await?;
    Ok(())
}

/// Lock a live log for an edit; None when it is gone.
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM worklogs WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
        .bind(id)
        .fetch_optional(tx)
        .await
}

pub async fn recipients(db: &PgPool, id: i64) -> sqlx::Result<Vec<Recipient>> {
    sqlx::query_as(
        "SELECT r.user_id, u.name, r.read_at FROM worklog_recipients r JOIN users u ON u.id = r.user_id
          WHERE r.worklog_id = $1 ORDER BY u.name, u.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Make the recipients exactly `users`; those already there keep their read time. Returns the
/// users added (who are notified).
pub async fn set_recipients(tx: &mut PgConnection, id: i64, users: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query("DELETE FROM worklog_recipients WHERE worklog_id = $1 AND NOT (user_id = ANY($2))")
        .bind(id)
        .bind(users)
        .execute(&mut *tx)
        .await?;
    sqlx::query_scalar(
        "INSERT INTO worklog_recipients (worklog_id, user_id) SELECT $1, u FROM unnest($2::bigint[]) u
         ON CONFLICT DO NOTHING RETURNING user_id",
    )
    .bind(id)
    .bind(users)
    .fetch_all(&mut *tx)
    .await
}

/// The user's superior, when there is one still active.
pub async fn active_superior(db: &PgPool, user: i64) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as(
        "SELECT s.id, s.name FROM users u JOIN users s ON s.id = u.superior_id
          WHERE u.id = $1 AND s.status = 'active'",
    )
    .bind(user)
    .fetch_optional(db)
    .await
}

/// Of `ids`, the active users (a disabled colleague chosen in an old tab is dropped).
pub async fn active_among(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND status = 'active' ORDER BY id")
        .bind(ids)
        .fetch_all(db)
        .await
}

/// The names of these users, by name.
pub async fn names(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM users WHERE id = ANY($1) ORDER BY name, id").bind(ids).fetch_all(db).await
}

/// A recipient opens the log: first reading is kept.
pub async fn mark_read(db: &PgPool, id: i64, user: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE worklog_recipients SET read_at = now() WHERE worklog_id = $1 AND user_id = $2 AND read_at IS NULL",
    )
    .bind(id)
    .bind(user)
    .execute(db)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn mark_unread(tx: &mut PgConnection, id: i64, user: i64) -> sqlx::Result<bool> {
    let r = sqlx::query("UPDATE worklog_recipients SET read_at = NULL WHERE worklog_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user)
        .execute(tx)
        .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn comments(db: &PgPool, id: i64) -> sqlx::Result<Vec<Comment>> {
    sqlx::query_as(
        "SELECT c.id, u.name AS author_name, c.body, c.created_at FROM worklog_comments c
           JOIN users u ON u.id = c.author_id WHERE c.worklog_id = $1 ORDER BY c.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn add_comment(tx: &mut PgConnection, id: i64, author: i64, body: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO worklog_comments (worklog_id, author_id, body) VALUES ($1, $2, $3) RETURNING id")
        .bind(id)
        .bind(author)
        .bind(body)
        .fetch_one(tx)
        .await
}

/// The list's three tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// 我的日志: the user's own.
    Mine,
    /// 发给我的: sent to the user, unread first.
    Received,
    /// 下属日志: others' in the user's scope.
    Team,
}

/// The list's narrowing, already parsed.
pub struct Narrow<'a> {
    pub tab: Tab,
    pub me: i64,
    pub scope: &'a DataScope,
    pub kind: Option<Kind>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub unread: bool,
    pub owner: Option<i64>,
}

/// `FROM ... WHERE ...` of a tab with its filters.
fn push_core(q: &mut QueryBuilder<'_, Postgres>, n: &Narrow<'_>) {
    match n.tab {
        Tab::Received => {
            q.push("FROM worklogs t JOIN worklog_recipients r ON r.worklog_id = t.id AND r.user_id = ");
            q.push_bind(n.me).push(" WHERE t.deleted_at IS NULL");
            if n.unread {
                q.push(" AND r.read_at IS NULL");
            }
        }
        Tab::Mine => {
            q.push("FROM worklogs t WHERE t.deleted_at IS NULL AND t.owner_id = ").push_bind(n.me);
        }
        Tab::Team => {
            q.push("FROM worklogs t WHERE t.deleted_at IS NULL AND t.owner_id <> ").push_bind(n.me).push(" AND ");
            n.scope.push_visible(q, "t", RECORD.entity);
        }
    }
    if let Some(k) = n.kind {
        q.push(" AND t.kind = ").push_bind(k.code());
    }
    // Periods that reach into the dates chosen.
    if let Some(d) = n.from {
        q.push(" AND t.period_end >= ").push_bind(d);
    }
    if let Some(d) = n.to {
        q.push(" AND t.period_start <= ").push_bind(d);
    }
    if let Some(o) = n.owner {
        q.push(" AND t.owner_id = ").push_bind(o);
    }
}

/// Where the count stops ("10,000+"): nobody pages further, and a company-wide scope would
/// otherwise count 200,000 rows on every page.
pub const COUNT_CAP: i64 = 10_000;

/// How many rows the tab has (up to `COUNT_CAP + 1`).
pub async fn count(db: &PgPool, n: &Narrow<'_>) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 ");
    push_core(&mut q, n);
    q.push(" LIMIT ").push_bind(COUNT_CAP + 1).push(") x");
    q.build_query_scalar().fetch_one(db).await
}

/// One page of the tab: "sent to me" unread first, then newest period first.
pub async fn page(db: &PgPool, n: &Narrow<'_>, offset: i64, limit: i64) -> sqlx::Result<Vec<ListRow>> {
    let mut q = QueryBuilder::new(
        "SELECT t.id, t.kind, t.period_start, t.period_end, t.done,
                (SELECT u.name FROM users u WHERE u.id = t.created_by) AS author_name, t.submitted_at,
                EXISTS (SELECT 1 FROM worklog_recipients x WHERE x.worklog_id = t.id AND x.read_at IS NULL
                           AND x.user_id = ",
    );
    q.push_bind(n.me)
        .push(") AS unread, (SELECT count(*) FROM worklog_comments c WHERE c.worklog_id = t.id) AS comments ");
    push_core(&mut q, n);
    push_order(&mut q, n);
    q.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    q.build_query_as().fetch_all(db).await
}

/// The tab's order: "sent to me" unread first, then newest period first.
fn push_order(q: &mut QueryBuilder<'_, Postgres>, n: &Narrow<'_>) {
    q.push(match n.tab {
        Tab::Received => " ORDER BY (r.read_at IS NULL) DESC, t.period_start DESC, t.id DESC",
        _ => " ORDER BY t.period_start DESC, t.id DESC",
    });
}

/// The ids of every row the tab matches, in its order: the kernel's bulk actions and the
/// export (which must not stop where the pager's count does, at `COUNT_CAP`).
pub async fn ids(db: &PgPool, n: &Narrow<'_>) -> sqlx::Result<Vec<i64>> {
    let mut q = QueryBuilder::new("SELECT t.id ");
    push_core(&mut q, n);
    push_order(&mut q, n);
    q.build_query_scalar().fetch_all(db).await
}

/// Logs sent to the user that they have not opened (the "sent to me" tab's badge, the to-do
/// centre's count; `/worklogs?tab=received&unread=1` lists the same rows).
pub async fn unread_count(db: &PgPool, user: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM worklog_recipients r JOIN worklogs t ON t.id = r.worklog_id
          WHERE r.user_id = $1 AND r.read_at IS NULL AND t.deleted_at IS NULL",
    )
    .bind(user)
    .fetch_one(db)
    .await
}

/// Active users in the scope (everyone active for a scope of all) without a live log of this
/// kind for the period starting `start`: (id, name, department).
pub async fn missing(
    db: &PgPool,
    scope: &DataScope,
    kind: Kind,
    start: NaiveDate,
) -> sqlx::Result<Vec<(i64, String, String)>> {
    let mut q = QueryBuilder::new(
        "SELECT u.id, u.name, d.name FROM users u JOIN departments d ON d.id = u.dept_id WHERE u.status = 'active'",
    );
    if let Some(owners) = &scope.owners {
        q.push(" AND u.id = ANY(").push_bind(owners.clone()).push(")");
    }
    q.push(" AND NOT EXISTS (SELECT 1 FROM worklogs w WHERE w.owner_id = u.id AND w.deleted_at IS NULL AND w.kind = ");
    q.push_bind(kind.code()).push(" AND w.period_start = ").push_bind(start).push(") ORDER BY d.name, u.name, u.id");
    q.build_query_as().fetch_all(db).await
}

/// Logs by id, for the timeline and the to-do centre: (id, kind, start, end, done, author,
/// submitted at).
pub type Brief = (i64, String, NaiveDate, NaiveDate, String, String, chrono::DateTime<chrono::Utc>);

pub async fn briefs(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<Brief>> {
    sqlx::query_as(
        "SELECT t.id, t.kind, t.period_start, t.period_end, t.done, u.name, t.submitted_at
           FROM worklogs t JOIN users u ON u.id = t.created_by
          WHERE t.id = ANY($1) AND t.deleted_at IS NULL ORDER BY t.submitted_at DESC, t.id DESC",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// The first unread logs sent to the user, newest first.
pub async fn unread_ids(db: &PgPool, user: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT t.id FROM worklog_recipients r JOIN worklogs t ON t.id = r.worklog_id
          WHERE r.user_id = $1 AND r.read_at IS NULL AND t.deleted_at IS NULL
          ORDER BY t.period_start DESC, t.id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The related records go with a log deleted for good.
pub async fn purge_links(tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM work_links WHERE kind = 'worklog' AND item_id = ANY($1)").bind(ids).execute(tx).await?;
    Ok(())
}
