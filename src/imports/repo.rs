//! The import tables: uploads, batches, their rows, remembered mappings.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use super::DupMode;

/// How a batch was set up on the mapping page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Options {
    /// Per column, the target key it fills (None: ignored).
    pub mapping: Vec<Option<String>>,
    /// Header text → target key, for sheets mapped by their headers (the other sheets of a
    /// workbook imported together): used when `mapping` is empty.
    #[serde(default)]
    pub by_header: HashMap<String, String>,
    pub dup: DupMode,
    /// "me", "user", "round_robin" or "pool".
    pub owner: String,
    /// The chosen user(s) for "user" and "round_robin".
    #[serde(default)]
    pub owners: Vec<i64>,
    /// The importer's language: row messages are written in it.
    pub lang: String,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct BatchRow {
    pub id: i64,
    pub source: String,
    pub user_id: i64,
    pub user_name: String,
    pub upload_id: Option<i64>,
    pub file_name: String,
    pub sheet: String,
    pub options: sqlx::types::Json<Options>,
    pub status: String,
    pub header: Vec<String>,
    pub total: i32,
    pub done: i32,
    pub done_row: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub failed: i32,
    pub message: Option<String>,
    pub merged_into: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl BatchRow {
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "running")
    }

    /// "nav.customers": the list it fills.
    pub fn source_key(&self) -> String {
        format!("nav.{}", self.source)
    }

    /// "import.status.running"
    pub fn status_key(&self) -> String {
        format!("import.status.{}", self.status)
    }

    /// The badge class of its status.
    pub fn status_class(&self) -> &'static str {
        match self.status.as_str() {
            "done" => "badge badge-green",
            "failed" => "badge badge-red",
            "running" | "queued" => "badge badge-blue",
            _ => "badge",
        }
    }

    /// Done rows out of the total, in percent (0 before the rows are read).
    pub fn percent(&self) -> i32 {
        if self.total == 0 { 0 } else { (i64::from(self.done) * 100 / i64::from(self.total)) as i32 }
    }
}

const BATCH: &str = "SELECT b.id, b.source, b.user_id, u.name AS user_name, b.upload_id, b.file_name, b.sheet,
    b.options, b.status, b.header, b.total, b.done, b.done_row, b.created, b.updated, b.skipped, b.failed,
    b.message, b.merged_into, b.created_at, b.finished_at
  FROM import_batches b JOIN users u ON u.id = b.user_id";

pub async fn batch(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<BatchRow>> {
    sqlx::query_as(&format!("{BATCH} WHERE b.id = $1")).bind(id).fetch_optional(conn).await
}

/// Batches of the given sources, newest first: the user's own, or everyone's (`all`).
pub async fn batches(
    db: &PgPool,
    sources: &[&str],
    user_id: i64,
    all: bool,
    limit: i64,
) -> sqlx::Result<Vec<BatchRow>> {
    sqlx::query_as(&format!("{BATCH} WHERE b.source = ANY($1) AND ($3 OR b.user_id = $2) ORDER BY b.id DESC LIMIT $4"))
        .bind(sources)
        .bind(user_id)
        .bind(all)
        .bind(limit)
        .fetch_all(db)
        .await
}

pub async fn insert_upload(
    db: &PgPool,
    user_id: i64,
    source: &str,
    file_name: &str,
    bytes: &[u8],
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO import_uploads (user_id, source, file_name, bytes) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(source)
    .bind(file_name)
    .bind(bytes)
    .fetch_one(db)
    .await
}

/// An upload of `user_id`'s: (source, file name, bytes).
pub async fn upload(db: &PgPool, id: i64, user_id: i64) -> sqlx::Result<Option<(String, String, Vec<u8>)>> {
    sqlx::query_as("SELECT source, file_name, bytes FROM import_uploads WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id)
        .fetch_optional(db)
        .await
}

pub async fn upload_bytes(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT bytes FROM import_uploads WHERE id = $1").bind(id).fetch_optional(conn).await
}

pub async fn insert_batch(
    conn: &mut PgConnection,
    (source, user_id, upload_id): (&str, i64, i64),
    (file_name, sheet): (&str, &str),
    options: &Options,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO import_batches (source, user_id, upload_id, file_name, sheet, options)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(source)
    .bind(user_id)
    .bind(upload_id)
    .bind(file_name)
    .bind(sheet)
    .bind(sqlx::types::Json(options))
    .fetch_one(conn)
    .await
}

/// Store a batch's parsed rows (replacing any from an interrupted parse) and start it.
pub async fn store_rows(
    conn: &mut PgConnection,
    id: i64,
    header: &[String],
    rows: &[(i32, Vec<String>)],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM import_rows WHERE batch_id = $1").bind(id).execute(&mut *conn).await?;
    for chunk in rows.chunks(2000) {
        let nos: Vec<i32> = chunk.iter().map(|(n, _)| *n).collect();
        let cells: Vec<sqlx::types::Json<&Vec<String>>> = chunk.iter().map(|(_, c)| sqlx::types::Json(c)).collect();
        sqlx::query(
            "INSERT INTO import_rows (batch_id, row_no, cells)
             SELECT $1, r.n, ARRAY(SELECT jsonb_array_elements_text(r.c))
               FROM unnest($2::int[], $3::jsonb[]) AS r(n, c)",
        )
        .bind(id)
        .bind(&nos)
        .bind(&cells)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE import_batches SET status = 'running', header = $2, total = $3, started_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(header)
    .bind(rows.len() as i32)
    .execute(conn)
    .await?;
    Ok(())
}

/// The next rows to write after `after`.
pub async fn next_rows(
    conn: &mut PgConnection,
    id: i64,
    after: i32,
    limit: i64,
) -> sqlx::Result<Vec<(i32, Vec<String>)>> {
    sqlx::query_as("SELECT row_no, cells FROM import_rows WHERE batch_id = $1 AND row_no > $2 ORDER BY row_no LIMIT $3")
        .bind(id)
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// What became of a chunk's rows.
#[derive(Default)]
pub struct Settled {
    pub nos: Vec<i32>,
    pub outcomes: Vec<&'static str>,
    pub records: Vec<Option<i64>>,
    pub messages: Vec<Option<String>>,
}

impl Settled {
    pub fn push(&mut self, no: i32, outcome: &'static str, record: Option<i64>, message: Option<String>) {
        self.nos.push(no);
        self.outcomes.push(outcome);
        self.records.push(record);
        self.messages.push(message);
    }

    fn count(&self, outcome: &str) -> i32 {
        self.outcomes.iter().filter(|o| **o == outcome).count() as i32
    }

    fn ids(&self, outcome: &str) -> Vec<i64> {
        self.outcomes.iter().zip(&self.records).filter(|(o, _)| **o == outcome).filter_map(|(_, r)| *r).collect()
    }
}

/// Record a chunk in the batch's transaction: each row's outcome, the batch on the records it
/// created, one history entry per record naming the batch, and the counters.
pub async fn settle(
    tx: &mut PgConnection,
    (id, entity, table): (i64, &str, &str),
    (actor, note): (i64, &str),
    s: &Settled,
) -> sqlx::Result<()> {
    // The range keeps the join to the chunk's rows: without it the plan reads (and hashes)
    // every row of the batch for each chunk — 25 ms a chunk at 100,000 rows, a third of the run.
    let (first, last) = (s.nos.iter().min().copied().unwrap_or(0), s.nos.iter().max().copied().unwrap_or(0));
    sqlx::query(
        "UPDATE import_rows r SET outcome = x.o, record_id = x.rid, message = x.m
           FROM unnest($2::int[], $3::text[], $4::bigint[], $5::text[]) AS x(n, o, rid, m)
          WHERE r.batch_id = $1 AND r.row_no = x.n AND r.row_no BETWEEN $6 AND $7",
    )
    .bind(id)
    .bind(&s.nos)
    .bind(&s.outcomes)
    .bind(&s.records)
    .bind(&s.messages)
    .bind(first)
    .bind(last)
    .execute(&mut *tx)
    .await?;
    let created = s.ids("created");
    // A kind that writes its chunk set-wise gives its records their batch as it inserts them.
    sqlx::query(&format!(
        "UPDATE {table} SET import_batch_id = $1 WHERE id = ANY($2) AND import_batch_id IS DISTINCT FROM $1"
    ))
    .bind(id)
    .bind(&created)
    .execute(&mut *tx)
    .await?;
    for (action, ids) in [("import", created), ("import_update", s.ids("updated"))] {
        if ids.is_empty() {
            continue;
        }
        sqlx::query(
            "INSERT INTO operation_logs (entity, entity_id, actor_id, action, note)
             SELECT $1, rid, $2, $3, $4 FROM unnest($5::bigint[]) AS rid",
        )
        .bind(entity)
        .bind(actor)
        .bind(action)
        .bind(note)
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "UPDATE import_batches SET done = done + $2, done_row = GREATEST(done_row, $3), created = created + $4,
           updated = updated + $5, skipped = skipped + $6, failed = failed + $7 WHERE id = $1",
    )
    .bind(id)
    .bind(s.nos.len() as i32)
    .bind(s.nos.iter().copied().max().unwrap_or(0))
    .bind(s.count("created"))
    .bind(s.count("updated"))
    .bind(s.count("skipped"))
    .bind(s.count("failed"))
    .execute(tx)
    .await?;
    Ok(())
}

pub async fn finish(conn: &mut PgConnection, id: i64, status: &str, message: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("UPDATE import_batches SET status = $2, message = $3, finished_at = now() WHERE id = $1")
        .bind(id)
        .bind(status)
        .bind(message)
        .execute(conn)
        .await?;
    Ok(())
}

/// Batches left queued or running (their runner may have stopped).
pub async fn open_batches(db: &PgPool) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT id FROM import_batches WHERE status IN ('queued', 'running') ORDER BY id")
        .fetch_all(db)
        .await
}

/// Failed and skipped rows (with their cells and reason), for the error report.
pub async fn problem_rows(db: &PgPool, id: i64) -> sqlx::Result<Vec<(i32, Vec<String>, String, String)>> {
    sqlx::query_as(
        "SELECT row_no, cells, outcome, coalesce(message, '') FROM import_rows
          WHERE batch_id = $1 AND outcome IN ('failed', 'skipped') ORDER BY row_no",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// Rows settled so far with a problem, newest first, for the batch page.
pub async fn recent_problems(db: &PgPool, id: i64, limit: i64) -> sqlx::Result<Vec<(i32, String, String)>> {
    sqlx::query_as(
        "SELECT row_no, outcome, coalesce(message, '') FROM import_rows
          WHERE batch_id = $1 AND outcome IN ('failed', 'skipped') ORDER BY row_no LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(db)
    .await
}

pub async fn mapping(db: &PgPool, user_id: i64, source: &str) -> sqlx::Result<HashMap<String, String>> {
    let m: Option<sqlx::types::Json<HashMap<String, String>>> =
        sqlx::query_scalar("SELECT mapping FROM import_mappings WHERE user_id = $1 AND source = $2")
            .bind(user_id)
            .bind(source)
            .fetch_optional(db)
            .await?;
    Ok(m.map(|j| j.0).unwrap_or_default())
}

/// Remember header → target choices (merged into what was remembered before).
pub async fn remember_mapping(
    conn: &mut PgConnection,
    user_id: i64,
    source: &str,
    m: &HashMap<String, String>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO import_mappings (user_id, source, mapping) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, source) DO UPDATE SET mapping = import_mappings.mapping || EXCLUDED.mapping",
    )
    .bind(user_id)
    .bind(source)
    .bind(sqlx::types::Json(m))
    .execute(conn)
    .await?;
    Ok(())
}

/// Mark a batch undone.
pub async fn mark_undone(conn: &mut PgConnection, id: i64, by: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE import_batches SET status = 'undone', undone_at = now(), undone_by = $2 WHERE id = $1")
        .bind(id)
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
}

/// Merge `from` into `into`: its records carry `into` from now on, its counts add to it.
pub async fn merge(conn: &mut PgConnection, table: &str, into: i64, from: i64) -> sqlx::Result<()> {
    sqlx::query(&format!("UPDATE {table} SET import_batch_id = $1 WHERE import_batch_id = $2"))
        .bind(into)
        .bind(from)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE import_batches i SET total = i.total + f.total, done = i.done + f.done,
           created = i.created + f.created, updated = i.updated + f.updated,
           skipped = i.skipped + f.skipped, failed = i.failed + f.failed
          FROM import_batches f WHERE i.id = $1 AND f.id = $2",
    )
    .bind(into)
    .bind(from)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE import_batches SET merged_into = $1 WHERE id = $2 OR merged_into = $2")
        .bind(into)
        .bind(from)
        .execute(conn)
        .await?;
    Ok(())
}

/// Live records a batch created (and those of batches merged into it).
pub async fn live_records(conn: &mut PgConnection, table: &str, id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE import_batch_id = $1 AND deleted_at IS NULL ORDER BY id"))
        .bind(id)
        .fetch_all(conn)
        .await
}

/// Drop uploads no open batch needs that are older than a week.
pub async fn prune_uploads(db: &PgPool) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM import_uploads u WHERE u.created_at < now() - interval '7 days'
            AND NOT EXISTS (SELECT 1 FROM import_batches b WHERE b.upload_id = u.id AND b.status IN ('queued', 'running'))",
    )
    .execute(db)
    .await?
    .rows_affected())
}
