//! The job that runs a batch: read its sheet into `import_rows`, then write the rows in chunks,
//! each chunk one transaction that also records the rows' outcomes and moves the batch's
//! counters — so a crash or restart loses at most the unfinished chunk, which is written again
//! from the start (never half a row, never a row twice).
//!
//! A batch is run by whoever holds its session advisory lock: the instance that started it, or
//! after a restart any instance's `resume_imports` job (the lock of a dead process is released
//! by the server when its connection drops). Several instances can therefore share a database.

use std::sync::Arc;

use anyhow::Context;
use sqlx::pool::PoolConnection;
use sqlx::{Acquire, PgPool, Postgres};

use super::convert::{self, Lookup, Target};
use super::repo::{self, BatchRow, Options, Settled};
use super::{Batch, Outcome, Owner, Source};
use crate::access::DataScope;
use crate::auth::CurrentUser;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::i18n::Lang;

/// Rows per transaction.
pub const CHUNK: i64 = 200;

fn lock_key(id: i64) -> i64 {
    crate::jobs::lock_key(&format!("import.{id}"))
}

/// Run the batch in the background (the request that started it returns at once).
pub fn spawn(db: PgPool, config: Arc<Config>, id: i64) {
    tokio::spawn(async move {
        if let Err(e) = drive(db, config, id).await {
            tracing::warn!(batch = id, error = %format!("{e:#}"), "import batch stopped");
        }
    });
}

/// Start every open batch nobody is running (after a restart, or from the periodic job).
pub async fn resume_all(db: PgPool, config: Arc<Config>) -> anyhow::Result<String> {
    let open = repo::open_batches(&db).await?;
    for id in &open {
        spawn(db.clone(), config.clone(), *id);
    }
    let pruned = repo::prune_uploads(&db).await?;
    Ok(format!("{} open batches looked at, {pruned} old uploads dropped", open.len()))
}

/// Run a batch to its end if no one else is running it.
pub async fn drive(db: PgPool, config: Arc<Config>, id: i64) -> anyhow::Result<()> {
    let mut conn = db.acquire().await?;
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(lock_key(id)).fetch_one(&mut *conn).await?;
    if !locked {
        return Ok(());
    }
    let result = run(&mut conn, &db, config, id).await;
    if let Err(e) = &result {
        // Rows settled so far stay (they are committed); the batch says where it stopped.
        let message = format!("{e:#}");
        repo::finish(&mut conn, id, "failed", Some(&message)).await.ok();
    }
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(lock_key(id)).execute(&mut *conn).await.ok();
    result
}

async fn run(conn: &mut PoolConnection<Postgres>, db: &PgPool, config: Arc<Config>, id: i64) -> anyhow::Result<()> {
    let Some(batch) = repo::batch(conn, id).await? else { return Ok(()) };
    if !batch.is_open() {
        return Ok(());
    }
    let source = super::source_of(&batch.source).context("no import source for this batch")?;
    let batch = if batch.status == "queued" { parse(conn, batch).await? } else { batch };
    let st = AppState { db: db.clone(), config };
    let ctx = load(&st, &batch, source).await?;
    let Some(ctx) = ctx else {
        repo::finish(conn, id, "failed", Some(Lang::Zh.t("import.error.user_gone"))).await?;
        return Ok(());
    };
    let lookup = ctx.lookup();
    let mut after = batch.done_row;
    loop {
        let mut tx = conn.begin().await?;
        let rows = repo::next_rows(&mut tx, id, after, CHUNK).await?;
        let Some(last) = rows.last().map(|(n, _)| *n) else {
            finish(&mut tx, &ctx, &batch).await?;
            tx.commit().await?;
            return Ok(());
        };
        let mut settled = Settled::default();
        let outcomes = write_rows(&mut tx, &ctx, &lookup, &rows).await?;
        for ((no, _), outcome) in rows.iter().zip(outcomes) {
            let message = outcome_message(&outcome, &ctx);
            settled.push(*no, outcome.code(), outcome.record(), message);
        }
        let def = source.def;
        let note = ctx.batch.lang.tf("import.history_note", &[("id", &id.to_string()), ("file", &batch.file_name)]);
        repo::settle(&mut tx, (id, def.entity, def.table), (batch.user_id, &note), &settled).await?;
        tx.commit().await?;
        after = last;
    }
}

/// Read the batch's sheet from its upload into rows, in one transaction.
async fn parse(conn: &mut PoolConnection<Postgres>, batch: BatchRow) -> anyhow::Result<BatchRow> {
    let upload = batch.upload_id.context("the uploaded file is gone")?;
    let bytes = repo::upload_bytes(conn, upload).await?.context("the uploaded file is gone")?;
    let (file, sheet) = (batch.file_name.clone(), batch.sheet.clone());
    let rows = tokio::task::spawn_blocking(move || super::read::sheet(&file, &bytes, &sheet))
        .await?
        .map_err(|e| anyhow::anyhow!(Lang::Zh.t(e.0).to_string()))?;
    let mut rows = rows.into_iter();
    let header = rows.next().map(|(_, h)| h).unwrap_or_default();
    let rows: Vec<_> = rows.collect();
    let mut tx = conn.begin().await?;
    repo::store_rows(&mut tx, batch.id, &header, &rows).await?;
    tx.commit().await?;
    repo::batch(conn, batch.id).await?.context("batch vanished")
}

/// A running batch's shared state.
struct Ctx {
    source: &'static Source,
    batch: Batch,
    targets: Vec<Target>,
    /// Per column, the index of its target.
    mapping: Vec<Option<usize>>,
    owner: String,
    owners: Vec<i64>,
    /// (id, name, login) of active users, for user columns.
    users: Vec<(i64, String, String)>,
}

impl Ctx {
    fn lookup(&self) -> Lookup<'_> {
        Lookup { dicts: &self.batch.dicts, defs: &self.batch.defs, users: &self.users, lang: self.batch.lang }
    }
}

async fn load(st: &AppState, b: &BatchRow, source: &'static Source) -> anyhow::Result<Option<Ctx>> {
    let Some((user, true)) = crate::auth::fetch_user(&st.db, b.user_id).await? else { return Ok(None) };
    Ok(Some(context(st, user, source, &b.options, &b.header, b.id).await?))
}

/// The shared state of rows written as `user` with `options`; `header` maps the columns when
/// the options map them by header text (the other sheets of a workbook).
async fn context(
    st: &AppState,
    user: CurrentUser,
    source: &'static Source,
    options: &Options,
    header: &[String],
    id: i64,
) -> sqlx::Result<Ctx> {
    let scope = DataScope::resolve(&st.db, &user, source.module()).await?;
    let defs = crate::fields::defs(&st.db, source.def.entity).await?;
    let targets = convert::targets(source, &defs);
    let keys = if options.mapping.is_empty() {
        convert::auto_map(header, &targets, &options.by_header)
    } else {
        options.mapping.clone()
    };
    let mapping = keys.iter().map(|k| k.as_ref().and_then(|k| targets.iter().position(|t| &t.key == k))).collect();
    let users = active_users_named(&st.db).await?;
    let batch = Batch {
        id,
        st: st.clone(),
        dicts: crate::dicts::Dicts::load(&st.db, &source.dict_codes()).await?,
        user,
        scope,
        lang: Lang::from_code(&options.lang).unwrap_or(Lang::Zh),
        defs,
        active_users: users.iter().map(|(id, _, _)| *id).collect(),
        dup: options.dup,
        memo: Default::default(),
    };
    Ok(Ctx { source, batch, targets, mapping, owner: options.owner.clone(), owners: options.owners.clone(), users })
}

/// A preview row: its number, each mapped column's value as it would be stored, and what would
/// become of it.
pub struct PreviewRow {
    pub no: i32,
    pub cells: Vec<String>,
    /// "created", "updated", "skipped" or "failed".
    pub outcome: &'static str,
    pub message: String,
}

/// The first rows written as the batch would write them, in a transaction rolled back.
pub async fn preview(
    st: &AppState,
    user: &CurrentUser,
    source: &'static Source,
    options: &Options,
    rows: &[(i32, Vec<String>)],
) -> AppResult<Vec<PreviewRow>> {
    let ctx = context(st, user.clone(), source, options, &[], 0).await?;
    let lookup = ctx.lookup();
    let mut tx = st.db.begin().await?;
    let mut out = Vec::new();
    for (no, cells) in rows {
        let outcome = write_row(&mut tx, &ctx, &lookup, *no, cells).await.map_err(AppError::Internal)?;
        let shown = convert::shown(cells, &ctx.mapping, &ctx.targets, &lookup);
        let message = outcome_message(&outcome, &ctx).unwrap_or_default();
        out.push(PreviewRow { no: *no, cells: shown, outcome: outcome.code(), message });
    }
    drop(tx);
    Ok(out)
}

async fn active_users_named(db: &PgPool) -> sqlx::Result<Vec<(i64, String, String)>> {
    sqlx::query_as("SELECT id, name, login FROM users WHERE status = 'active' ORDER BY id").fetch_all(db).await
}

/// The owner of row `no`: the rule chosen (round-robin by row number, so a resumed batch deals
/// the same way).
fn owner_of(ctx: &Ctx, no: i32) -> Owner {
    match ctx.owner.as_str() {
        "pool" => Owner::Pool,
        "user" => Owner::User(ctx.owners.first().copied().unwrap_or(ctx.batch.user.id)),
        "round_robin" if !ctx.owners.is_empty() => Owner::User(ctx.owners[no as usize % ctx.owners.len()]),
        _ => Owner::User(ctx.batch.user.id),
    }
}

/// A chunk's rows, in order: set-wise where the source can (`Source::write_chunk`, in a
/// savepoint), the rows it leaves one by one in file order after it.
async fn write_rows(
    tx: &mut sqlx::PgConnection,
    ctx: &Ctx,
    lookup: &Lookup<'_>,
    rows: &[(i32, Vec<String>)],
) -> anyhow::Result<Vec<Outcome>> {
    let forms: Vec<_> =
        rows.iter().map(|(_, cells)| convert::to_form(cells, &ctx.mapping, &ctx.targets, lookup)).collect();
    let mut answers: Vec<Option<Outcome>> =
        forms.iter().map(|f| f.as_ref().err().map(|messages| Outcome::Failed(messages.join("；")))).collect();
    if let Some(write_chunk) = ctx.source.write_chunk {
        let (at, chunk): (Vec<usize>, Vec<super::Row<'_>>) = forms
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().ok().map(|form| (i, row(ctx, rows[i].0, form))))
            .unzip();
        let mut sp = tx.begin().await?;
        match write_chunk(&mut sp, &ctx.batch, &chunk).await {
            Ok(set) if set.len() == chunk.len() => {
                sp.commit().await?;
                for (i, answer) in at.into_iter().zip(set) {
                    answers[i] = answer;
                }
            }
            other => {
                // Row by row is always right, only slower.
                sp.rollback().await?;
                let error = other.err().map(|e| e.to_string()).unwrap_or_else(|| "answers miscounted".into());
                tracing::warn!(batch = ctx.batch.id, error, "import chunk written row by row");
            }
        }
    }
    let mut out = Vec::with_capacity(rows.len());
    for ((answer, form), (no, _)) in answers.into_iter().zip(&forms).zip(rows) {
        out.push(match (answer, form) {
            (Some(done), _) => done,
            (None, Ok(form)) => write_form(tx, ctx, row(ctx, *no, form)).await?,
            (None, Err(_)) => unreachable!("rows that do not convert are answered above"),
        });
    }
    Ok(out)
}

fn row<'a>(ctx: &Ctx, no: i32, form: &'a crate::web::FormData) -> super::Row<'a> {
    super::Row { no, form, owner: owner_of(ctx, no) }
}

/// Turn and write one row (the preview's).
async fn write_row(
    tx: &mut sqlx::PgConnection,
    ctx: &Ctx,
    lookup: &Lookup<'_>,
    no: i32,
    cells: &[String],
) -> anyhow::Result<Outcome> {
    match convert::to_form(cells, &ctx.mapping, &ctx.targets, lookup) {
        Ok(form) => write_form(tx, ctx, row(ctx, no, &form)).await,
        Err(messages) => Ok(Outcome::Failed(messages.join("；"))),
    }
}

/// Write one row inside a savepoint: anything but Created / Updated leaves no trace.
async fn write_form(tx: &mut sqlx::PgConnection, ctx: &Ctx, row: super::Row<'_>) -> anyhow::Result<Outcome> {
    let no = row.no;
    let mut sp = tx.begin().await?;
    let result = (ctx.source.write)(&mut sp, &ctx.batch, row).await;
    match result {
        Ok(o @ (Outcome::Created(_) | Outcome::Updated(_))) => {
            sp.commit().await?;
            Ok(o)
        }
        Ok(other) => {
            sp.rollback().await?;
            Ok(other)
        }
        Err(AppError::BadRequest(key) | AppError::Conflict(key)) => {
            sp.rollback().await?;
            Ok(Outcome::Failed(ctx.batch.lang.t(key).to_string()))
        }
        Err(AppError::NotFound | AppError::Forbidden) => {
            sp.rollback().await?;
            Ok(Outcome::Failed(ctx.batch.lang.t("import.error.not_allowed").to_string()))
        }
        Err(e) => {
            sp.rollback().await?;
            tracing::warn!(batch = ctx.batch.id, row = no, error = %e, "import row failed");
            Ok(Outcome::Failed(ctx.batch.lang.t("import.error.internal").to_string()))
        }
    }
}

/// The row's message for the batch page and the error report: field errors name their column.
fn outcome_message(o: &Outcome, ctx: &Ctx) -> Option<String> {
    let lang = ctx.batch.lang;
    match o {
        Outcome::Created(_) | Outcome::Updated(_) => None,
        Outcome::Skipped(m) | Outcome::Failed(m) => Some(m.clone()),
        Outcome::Invalid(errors) => Some(
            errors
                .iter()
                .map(|(field, text)| {
                    let label = ctx.targets.iter().find(|t| t.key == field).map(|t| t.label(lang).to_string());
                    match label {
                        Some(l) => format!("{l}：{text}"),
                        None => text.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("；"),
        ),
    }
}

/// The batch is done: its status, the importer's notice, one line in the operation log.
async fn finish(tx: &mut sqlx::PgConnection, ctx: &Ctx, b: &BatchRow) -> anyhow::Result<()> {
    repo::finish(tx, b.id, "done", None).await?;
    let now = repo::batch(tx, b.id).await?.context("batch vanished")?;
    let counts = serde_json::json!({
        "id": b.id, "file": b.file_name, "created": now.created, "updated": now.updated,
        "skipped": now.skipped, "failed": now.failed,
    });
    crate::notify::send(tx, b.user_id, "import_done", counts, Some(&format!("/imports/{}", b.id)), None).await?;
    let note = ctx.batch.lang.tf(
        "import.log_note",
        &[
            ("file", &b.file_name),
            ("created", &now.created.to_string()),
            ("updated", &now.updated.to_string()),
            ("skipped", &now.skipped.to_string()),
            ("failed", &now.failed.to_string()),
        ],
    );
    crate::audit::Entry::new("import_batch", b.id, "import_run").note(note).write(tx, Some(b.user_id), None).await?;
    Ok(())
}
