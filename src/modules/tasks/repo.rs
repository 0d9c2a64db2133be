//! Task SQL (private to the module). Every query is on alias `t` for `tasks`; user values are
//! bound.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::RECORD;
use super::model::{Task, TaskInput, View};
use crate::access::DataScope;
use crate::records::sql;
use crate::web::pager::Pager;

pub const SELECT: &str = "SELECT t.id, t.title, t.description, t.owner_id, ow.name AS owner_name, t.created_by,
       cb.name AS creator_name, t.due_at, t.priority, t.bucket, t.done_at, dn.name AS done_by_name,
       t.remind_minutes, t.created_at, t.updated_at
  FROM tasks t LEFT JOIN users ow ON ow.id = t.owner_id LEFT JOIN users cb ON cb.id = t.created_by
       LEFT JOIN users dn ON dn.id = t.done_by";

/// "Now" and where the configured time zone's today ends, for placing tasks in views.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    pub now: DateTime<Utc>,
    /// The start of tomorrow in the configured time zone.
    pub tomorrow: DateTime<Utc>,
}

impl Clock {
    pub fn at(now: DateTime<Utc>, tz: chrono::FixedOffset) -> Clock {
        Clock { now, tomorrow: crate::todo::day_bounds(now, tz).1 }
    }
}

/// The record's `also_visible`: its creator and participants see it whatever their scope.
pub fn push_also_visible(q: &mut QueryBuilder<'_, Postgres>, scope: &DataScope) {
    q.push("(t.created_by = ")
        .push_bind(scope.user_id)
        .push(" OR EXISTS (SELECT 1 FROM task_participants p WHERE p.task_id = t.id AND p.user_id = ")
        .push_bind(scope.user_id)
        .push("))");
}

/// A live task the scope sees.
pub async fn find_visible(db: &PgPool, scope: &DataScope, id: i64) -> sqlx::Result<Option<Task>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" WHERE t.id = ").push_bind(id).push(" AND t.deleted_at IS NULL AND ");
    sql::push_visible(&mut q, &RECORD, scope);
    q.build_query_as().fetch_optional(db).await
}

/// ` AND <the view's conditions>` for user `me` (see `mod.rs` for what each view holds).
fn push_view(q: &mut QueryBuilder<'_, Postgres>, view: View, me: i64, scope: &DataScope, clock: Clock) {
    let mine_open = |q: &mut QueryBuilder<'_, Postgres>| {
        q.push(" AND t.owner_id = ").push_bind(me).push(" AND t.done_at IS NULL");
    };
    // Not placed in today by its due time.
    let not_due_today = |q: &mut QueryBuilder<'_, Postgres>| {
        q.push(" AND (t.due_at IS NULL OR t.due_at >= ").push_bind(clock.tomorrow).push(")");
    };
    match view {
        View::Inbox | View::Next | View::Later => {
            mine_open(q);
            q.push(" AND t.bucket = ").push_bind(view.code());
            not_due_today(q);
        }
        View::Today => {
            mine_open(q);
            q.push(" AND (t.bucket = 'today' OR t.due_at < ").push_bind(clock.tomorrow).push(")");
        }
        View::Overdue => {
            mine_open(q);
            q.push(" AND t.due_at < ").push_bind(clock.now);
        }
        View::Done => {
            q.push(" AND t.owner_id = ").push_bind(me).push(" AND t.done_at IS NOT NULL");
        }
        View::Assigned => {
            q.push(" AND t.created_by = ").push_bind(me).push(" AND t.owner_id <> ").push_bind(me);
        }
        View::Involved => {
            q.push(" AND t.id IN (SELECT p.task_id FROM task_participants p WHERE p.user_id = ")
                .push_bind(me)
                .push(")");
        }
        View::Team => {
            q.push(" AND t.done_at IS NULL AND t.owner_id <> ").push_bind(me);
            if let Some(owners) = &scope.owners {
                q.push(" AND t.owner_id = ANY(").push_bind(owners.clone()).push(")");
            }
        }
    }
}

fn push_order(q: &mut QueryBuilder<'_, Postgres>, view: View) {
    q.push(match view {
        View::Done => " ORDER BY t.done_at DESC, t.id DESC",
        View::Assigned | View::Involved => {
            " ORDER BY (t.done_at IS NOT NULL), t.due_at NULLS LAST, t.priority DESC, t.id DESC"
        }
        _ => " ORDER BY t.due_at NULLS LAST, t.priority DESC, t.id DESC",
    });
}

/// How many tasks a view holds.
pub async fn count_view(db: &PgPool, view: View, me: i64, scope: &DataScope, clock: Clock) -> sqlx::Result<i64> {
    let mut q = QueryBuilder::new("SELECT count(*) FROM tasks t WHERE t.deleted_at IS NULL");
    push_view(&mut q, view, me, scope, clock);
    q.build_query_scalar().fetch_one(db).await
}

/// One page of a view.
pub async fn view_page(
    db: &PgPool,
    view: View,
    me: i64,
    scope: &DataScope,
    clock: Clock,
    (offset, limit): (i64, i64),
) -> sqlx::Result<Vec<Task>> {
    // The page's ids first, from the bare table (an index-only top-N for the open views), then
    // the names joined to those rows alone.
    let mut q = QueryBuilder::new(SELECT);
    q.push(" WHERE t.id IN (SELECT t.id FROM tasks t WHERE t.deleted_at IS NULL");
    push_view(&mut q, view, me, scope, clock);
    push_order(&mut q, view);
    q.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset).push(")");
    push_order(&mut q, view);
    q.build_query_as().fetch_all(db).await
}

/// The ids a view holds, all of them (every page) in the list's order: the kernel's bulk actions
/// and the export.
pub async fn view_ids(db: &PgPool, view: View, me: i64, scope: &DataScope, clock: Clock) -> sqlx::Result<Vec<i64>> {
    let mut q = QueryBuilder::new("SELECT t.id FROM tasks t WHERE t.deleted_at IS NULL");
    push_view(&mut q, view, me, scope, clock);
    push_order(&mut q, view);
    q.build_query_scalar().fetch_all(db).await
}

/// A page of a view with its total.
pub async fn view(
    db: &PgPool,
    view: View,
    me: i64,
    scope: &DataScope,
    clock: Clock,
    raw: Option<&str>,
) -> sqlx::Result<(Pager, Vec<Task>)> {
    let total = count_view(db, view, me, scope, clock).await?;
    let pager = Pager::from_query(raw, total);
    let rows = view_page(db, view, me, scope, clock, (pager.offset(), pager.limit())).await?;
    Ok((pager, rows))
}

/// Live tasks by id (no scope test: the caller has narrowed the ids), newest first.
pub async fn by_ids(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<Task>> {
    let mut q = QueryBuilder::new(SELECT);
    q.push(" WHERE t.deleted_at IS NULL AND t.id = ANY(").push_bind(ids.to_vec()).push(") ORDER BY t.id DESC");
    q.build_query_as().fetch_all(db).await
}

/// Lock a live task for a change; false when it is gone.
pub async fn lock(tx: &mut PgConnection, id: i64) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM tasks WHERE id = $1 AND deleted_at IS NULL FOR UPDATE")
        .bind(id)
        .fetch_optional(tx)
        .await?;
    Ok(found.is_some())
}

pub async fn insert(tx: &mut PgConnection, input: &TaskInput, owner: i64, created_by: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO tasks (title, description, owner_id, created_by, due_at, priority, bucket, remind_minutes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(&input.title)
    .bind(&input.description)
    .bind(owner)
    .bind(created_by)
    .bind(input.due_at)
    .bind(input.priority)
    .bind(&input.bucket)
    .bind(input.remind_minutes)
    .fetch_one(tx)
    .await
}

/// Save the form's fields; a new due time or lead time is reminded again.
pub async fn update(tx: &mut PgConnection, id: i64, input: &TaskInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tasks SET title = $2, description = $3, due_at = $4, priority = $5, bucket = $6, remind_minutes = $7,
                reminded_at = CASE WHEN due_at IS NOT DISTINCT FROM $4 AND remind_minutes IS NOT DISTINCT FROM $7
                                   THEN reminded_at END
          WHERE id = $1",
    )
    .bind(id)
    .bind(&input.title)
    .bind(&input.description)
    .bind(input.due_at)
    .bind(input.priority)
    .bind(&input.bucket)
    .bind(input.remind_minutes)
    .execute(tx)
    .await?;
    Ok(())
}

/// Mark done (`done` true) or open again; false when it already was.
pub async fn set_done(tx: &mut PgConnection, id: i64, done: bool, by: i64) -> sqlx::Result<bool> {
    let q = if done {
        sqlx::query("UPDATE tasks SET done_at = now(), done_by = $2 WHERE id = $1 AND done_at IS NULL")
            .bind(id)
            .bind(by)
    } else {
        sqlx::query("UPDATE tasks SET done_at = NULL, done_by = NULL WHERE id = $1 AND done_at IS NOT NULL").bind(id)
    };
    Ok(q.execute(tx).await?.rows_affected() == 1)
}

pub async fn set_bucket(tx: &mut PgConnection, id: i64, bucket: &str) -> sqlx::Result<bool> {
    let n = sqlx::query("UPDATE tasks SET bucket = $2 WHERE id = $1 AND bucket <> $2")
        .bind(id)
        .bind(bucket)
        .execute(tx)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// (id, name) of a task's participants, by name.
pub async fn participants(db: &PgPool, id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "SELECT u.id, u.name FROM task_participants p JOIN users u ON u.id = p.user_id
          WHERE p.task_id = $1 ORDER BY u.name, u.id",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// The participants' names as the history keeps them (in the save's transaction).
pub async fn participant_names(tx: &mut PgConnection, id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT u.name FROM task_participants p JOIN users u ON u.id = p.user_id
          WHERE p.task_id = $1 ORDER BY u.name, u.id",
    )
    .bind(id)
    .fetch_all(tx)
    .await
}

pub async fn is_participant(db: &PgPool, id: i64, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM task_participants WHERE task_id = $1 AND user_id = $2)")
        .bind(id)
        .bind(user_id)
        .fetch_one(db)
        .await
}

/// Replace the participants; returns those added.
pub async fn replace_participants(tx: &mut PgConnection, id: i64, users: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query("DELETE FROM task_participants WHERE task_id = $1 AND user_id <> ALL($2)")
        .bind(id)
        .bind(users)
        .execute(&mut *tx)
        .await?;
    sqlx::query_scalar(
        "INSERT INTO task_participants (task_id, user_id) SELECT $1, u FROM unnest($2::bigint[]) u
         ON CONFLICT DO NOTHING RETURNING user_id",
    )
    .bind(id)
    .bind(users)
    .fetch_all(tx)
    .await
}

/// Of these users, the active ones (the rest cannot take part).
pub async fn active_users(db: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1) AND status = 'active' ORDER BY id")
        .bind(ids)
        .fetch_all(db)
        .await
}

/// A user's tag.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub color: String,
}

pub async fn my_tags(db: &PgPool, user_id: i64) -> sqlx::Result<Vec<Tag>> {
    sqlx::query_as("SELECT id, name, color FROM task_tags WHERE user_id = $1 ORDER BY name, id")
        .bind(user_id)
        .fetch_all(db)
        .await
}

/// The user's own tags on these tasks, by task.
pub async fn tags_on(db: &PgPool, user_id: i64, task_ids: &[i64]) -> sqlx::Result<HashMap<i64, Vec<Tag>>> {
    let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
        "SELECT l.task_id, g.id, g.name, g.color FROM task_tag_links l JOIN task_tags g ON g.id = l.tag_id
          WHERE g.user_id = $1 AND l.task_id = ANY($2) ORDER BY g.name, g.id",
    )
    .bind(user_id)
    .bind(task_ids)
    .fetch_all(db)
    .await?;
    let mut out: HashMap<i64, Vec<Tag>> = HashMap::new();
    for (task, id, name, color) in rows {
        out.entry(task).or_default().push(Tag { id, name, color });
    }
    Ok(out)
}

/// Put the user's ticked tags on the task (their tags only; others' tags stay).
pub async fn replace_my_tags(tx: &mut PgConnection, id: i64, user_id: i64, tags: &[i64]) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM task_tag_links l USING task_tags g
          WHERE l.task_id = $1 AND g.id = l.tag_id AND g.user_id = $2 AND l.tag_id <> ALL($3)",
    )
    .bind(id)
    .bind(user_id)
    .bind(tags)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO task_tag_links (task_id, tag_id) SELECT $1, g.id FROM task_tags g
          WHERE g.user_id = $2 AND g.id = ANY($3) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(user_id)
    .bind(tags)
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn add_tag(db: &PgPool, user_id: i64, name: &str, color: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO task_tags (user_id, name, color) VALUES ($1, $2, $3)")
        .bind(user_id)
        .bind(name)
        .bind(color)
        .execute(db)
        .await?;
    Ok(())
}

/// Rename / recolour one of the user's tags; false when it is not theirs.
pub async fn update_tag(db: &PgPool, user_id: i64, id: i64, name: &str, color: &str) -> sqlx::Result<bool> {
    let n = sqlx::query("UPDATE task_tags SET name = $3, color = $4 WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .bind(name)
        .bind(color)
        .execute(db)
        .await?
        .rows_affected();
    Ok(n == 1)
}

pub async fn delete_tag(db: &PgPool, user_id: i64, id: i64) -> sqlx::Result<bool> {
    let n = sqlx::query("DELETE FROM task_tags WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?
        .rows_affected();
    Ok(n == 1)
}

/// One item of a task's checklist.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Subtask {
    pub id: i64,
    pub title: String,
    pub done_at: Option<DateTime<Utc>>,
}

pub async fn subtasks(db: &PgPool, id: i64) -> sqlx::Result<Vec<Subtask>> {
    sqlx::query_as("SELECT id, title, done_at FROM task_subtasks WHERE task_id = $1 ORDER BY position, id")
        .bind(id)
        .fetch_all(db)
        .await
}

pub async fn add_subtask(tx: &mut PgConnection, id: i64, title: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO task_subtasks (task_id, title, position)
         SELECT $1, $2, coalesce(max(position), 0) + 1 FROM task_subtasks WHERE task_id = $1",
    )
    .bind(id)
    .bind(title)
    .execute(tx)
    .await?;
    Ok(())
}

/// Tick or untick an item of this task; its title when it changed.
pub async fn toggle_subtask(tx: &mut PgConnection, id: i64, sub: i64) -> sqlx::Result<Option<(String, bool)>> {
    sqlx::query_as(
        "UPDATE task_subtasks SET done_at = CASE WHEN done_at IS NULL THEN now() END
          WHERE id = $2 AND task_id = $1 RETURNING title, done_at IS NOT NULL",
    )
    .bind(id)
    .bind(sub)
    .fetch_optional(tx)
    .await
}

pub async fn remove_subtask(tx: &mut PgConnection, id: i64, sub: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("DELETE FROM task_subtasks WHERE id = $2 AND task_id = $1 RETURNING title")
        .bind(id)
        .bind(sub)
        .fetch_optional(tx)
        .await
}

/// (done, all) checklist items of these tasks, by task.
pub async fn subtask_counts(db: &PgPool, ids: &[i64]) -> sqlx::Result<HashMap<i64, (i64, i64)>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT task_id, count(done_at), count(*) FROM task_subtasks WHERE task_id = ANY($1) GROUP BY task_id",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(t, d, a)| (t, (d, a))).collect())
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Comment {
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub async fn comments(db: &PgPool, id: i64) -> sqlx::Result<Vec<Comment>> {
    sqlx::query_as(
        "SELECT u.name AS author_name, c.body, c.created_at FROM task_comments c LEFT JOIN users u ON u.id = c.author_id
          WHERE c.task_id = $1 ORDER BY c.id LIMIT 500",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

pub async fn add_comment(tx: &mut PgConnection, id: i64, author: i64, body: &str) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO task_comments (task_id, author_id, body) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(author)
        .bind(body)
        .execute(tx)
        .await?;
    Ok(())
}

/// The active users these @mention tokens name: a login equal to the token (any case), or the
/// longest name the token starts with ("张三你看" → 张三).
pub async fn mentioned_users(db: &PgPool, tokens: &[String]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT DISTINCT id FROM (
           SELECT DISTINCT ON (tok) u.id FROM unnest($1::text[]) tok
             JOIN users u ON u.status = 'active'
                         AND (lower(u.login) = lower(tok) OR left(tok, length(u.name)) = u.name)
            ORDER BY tok, (lower(u.login) = lower(tok)) DESC, length(u.name) DESC, u.id
         ) m ORDER BY id",
    )
    .bind(tokens)
    .fetch_all(db)
    .await
}

/// My open tasks due before the end of today or filed under today (the to-do source; the same
/// rows as `/tasks?view=today`), most urgent first: (count, first `limit`).
pub async fn today(
    db: &PgPool,
    me: i64,
    scope: &DataScope,
    clock: Clock,
    limit: i64,
) -> sqlx::Result<(i64, Vec<Task>)> {
    let count = count_view(db, View::Today, me, scope, clock).await?;
    let rows = if limit > 0 && count > 0 {
        view_page(db, View::Today, me, scope, clock, (0, limit)).await?
    } else {
        Vec::new()
    };
    Ok((count, rows))
}

/// Stamp up to `limit` open tasks whose reminder time has come (due time less the lead time);
/// returns (id, title, due time, owner) of each. Rows another runner holds are skipped.
pub async fn take_due_reminders(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String, DateTime<Utc>, Option<i64>)>> {
    // The lead time is at most a week (migration 0031), so `due_at <= now + 7 days` lets the
    // partial index narrow the rows before the exact test.
    sqlx::query_as(
        "WITH due AS (
           SELECT id FROM tasks
            WHERE reminded_at IS NULL AND done_at IS NULL AND deleted_at IS NULL AND remind_minutes IS NOT NULL
              AND due_at <= $1 + interval '7 days' AND due_at - make_interval(mins => remind_minutes) <= $1
            ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
         )
         UPDATE tasks t SET reminded_at = $1 FROM due WHERE t.id = due.id
         RETURNING t.id, t.title, t.due_at, t.owner_id",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(tx)
    .await
}

/// Participants of these tasks: (task id, user id).
pub async fn participants_of(tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as("SELECT task_id, user_id FROM task_participants WHERE task_id = ANY($1)")
        .bind(ids)
        .fetch_all(tx)
        .await
}

/// Before a purge: the task's related-record links (no foreign key holds them).
pub async fn delete_links(tx: &mut PgConnection, ids: &[i64]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM work_links WHERE kind = 'task' AND item_id = ANY($1)").bind(ids).execute(tx).await?;
    Ok(())
}

/// A task on someone's calendar.
#[derive(Debug, sqlx::FromRow)]
pub struct DueTask {
    pub id: i64,
    pub title: String,
    pub due_at: DateTime<Utc>,
    pub done: bool,
}

/// Tasks of `user` (owned or taking part) due in [from, to), open ones only when `open_only`,
/// by due time (at most 1,000): the calendar's and the feed's. Owned ones and those taken part
/// in are read each through their own index (an `OR` of the two reads every task in the range).
pub async fn due_between(
    db: &PgPool,
    user: i64,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    open_only: bool,
) -> sqlx::Result<Vec<DueTask>> {
    let open = if open_only { " AND t.done_at IS NULL" } else { "" };
    sqlx::query_as(&format!(
        "SELECT t.id, t.title, t.due_at, t.done_at IS NOT NULL AS done FROM tasks t
          WHERE t.owner_id = $1 AND t.deleted_at IS NULL AND t.due_at >= $2 AND t.due_at < $3{open}
         UNION ALL
         SELECT t.id, t.title, t.due_at, t.done_at IS NOT NULL FROM tasks t
          WHERE t.id IN (SELECT p.task_id FROM task_participants p WHERE p.user_id = $1)
            AND t.owner_id IS DISTINCT FROM $1 AND t.deleted_at IS NULL AND t.due_at >= $2 AND t.due_at < $3{open}
          ORDER BY due_at, id LIMIT 1000"
    ))
    .bind(user)
    .bind(from)
    .bind(to)
    .fetch_all(db)
    .await
}
