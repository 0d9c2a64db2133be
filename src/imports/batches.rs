//! Import batches (导入批次): the list, one batch's progress and result, its error report,
//! undo, and merging two batches into one.
//!
//! A batch is seen by the user who ran it and by super admins; anyone else gets 404, as for a
//! batch that does not exist.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderName;
use axum::response::{IntoResponse, Response};

use super::repo::{self, BatchRow};
use super::{Source, sheets, source_of};
use crate::access::Action;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormData, PageCtx, RequestCtx, SelectOpt, done, render};

/// A batch page reloads itself this often while the batch runs.
const REFRESH_SECS: &str = "2";
/// Refused rows listed on the batch page (the report has them all).
const PROBLEMS_SHOWN: i64 = 50;

/// The sources `user` may import into.
fn sources_of(user: &CurrentUser) -> Vec<&'static Source> {
    crate::registry::get().imports().iter().copied().filter(|s| user.can(s.module(), Action::Import)).collect()
}

/// The batch, if `user` may see it (theirs, or a super admin), with its source.
async fn visible(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<(BatchRow, &'static Source)> {
    let batch = repo::batch(&mut *st.db.acquire().await?, id).await?.ok_or(AppError::NotFound)?;
    let source = source_of(&batch.source).ok_or(AppError::NotFound)?;
    if !(user.is_super || batch.user_id == user.id) || !user.can(source.module(), Action::Import) {
        return Err(AppError::NotFound);
    }
    Ok((batch, source))
}

#[derive(Template)]
#[template(path = "imports/index.html")]
struct IndexPage {
    ctx: PageCtx,
    batches: Vec<BatchRow>,
    /// (import href, title) of each source the user may import into.
    starts: Vec<(String, String)>,
    merge_options: Vec<SelectOpt>,
}

crate::page!(IndexPage);

/// GET /imports
pub async fn index(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    let user = req.user()?;
    let sources = sources_of(user);
    let codes: Vec<&str> = sources.iter().map(|s| s.code()).collect();
    let batches = repo::batches(&st.db, &codes, user.id, user.is_super, 200).await?;
    let merge_options = batches
        .iter()
        .filter(|b| b.status == "done" && b.merged_into.is_none())
        .map(|b| SelectOpt::new(b.id, format!("#{} {} · {}", b.id, b.file_name, b.sheet)))
        .collect();
    let starts = sources
        .iter()
        .map(|s| (format!("{}/import", s.def.path), ctx.tf("import.title", &[("what", ctx.t(&s.def.label_key()))])))
        .collect();
    Ok(render(IndexPage { ctx, batches, starts, merge_options }).await?.into_response())
}

#[derive(Template)]
#[template(path = "imports/batch.html")]
struct BatchPage {
    ctx: PageCtx,
    batch: BatchRow,
    title: String,
    list_href: String,
    problems: Vec<(i32, String, String)>,
    may_undo: bool,
}

crate::page!(BatchPage);

impl BatchPage {
    fn progress(&self) -> String {
        let b = &self.batch;
        self.ctx.tf(
            "import.progress",
            &[("done", &b.done.to_string()), ("total", &b.total.to_string()), ("failed", &b.failed.to_string())],
        )
    }

    fn outcome_key(&self, outcome: &str) -> String {
        format!("import.outcome.{outcome}")
    }
}

/// GET /imports/{id} — progress while running (the page reloads itself), then the result.
pub async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let (batch, source) = visible(&st, user, id).await?;
    let problems = repo::recent_problems(&st.db, id, PROBLEMS_SHOWN).await?;
    let open = batch.is_open();
    let page = BatchPage {
        title: ctx.tf("import.batch_title", &[("id", &id.to_string())]),
        list_href: format!("{}?batch={id}", source.def.path),
        may_undo: batch.status == "done" && batch.created > 0 && batch.merged_into.is_none(),
        problems,
        batch,
        ctx,
    };
    let html = render(page).await?;
    Ok(if open {
        ([(HeaderName::from_static("refresh"), REFRESH_SECS)], html).into_response()
    } else {
        html.into_response()
    })
}

/// GET /imports/{id}/errors.xlsx — refused and skipped rows as they were, with the reason.
pub async fn errors(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let (batch, _) = visible(&st, user, id).await?;
    let rows = repo::problem_rows(&st.db, id).await?;
    let bytes = sheets::error_report(&batch.header, &rows, ctx.lang).map_err(|e| AppError::Internal(e.into()))?;
    let name = ctx.tf("import.report.file", &[("id", &id.to_string())]);
    Ok(super::pages::xlsx(bytes, &format!("{name}.xlsx")))
}

/// POST /imports/{id}/undo — the batch's created records go to the recycle bin (updated ones
/// stay as they are); records that may not go there now (a customer with opportunities) stay,
/// and the page says so.
pub async fn undo(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let (batch, source) = visible(&st, user, id).await?;
    if batch.status != "done" || batch.merged_into.is_some() {
        return Err(AppError::Conflict("import.error.not_undoable"));
    }
    let mut tx = st.db.begin().await?;
    let ids = repo::live_records(&mut tx, source.def.table, id).await?;
    let (binned, refused) = (source.bin)(&mut tx, &ids, user.id, ctx.lang).await?;
    repo::mark_undone(&mut tx, id, user.id).await?;
    let note = ctx.tf("import.undo_note", &[("n", &binned.len().to_string()), ("updated", &batch.updated.to_string())]);
    crate::audit::Entry::new("import_batch", id, "import_undo")
        .note(note.clone())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    for reason in refused.iter().take(5) {
        ctx.flash_text(Kind::Warning, reason.clone()).await;
    }
    done(tx, &ctx, note, &format!("/imports/{id}")).await
}

/// POST /imports/merge (`into`, `from`) — two finished batches of one source become one for
/// reporting: `from`'s records carry `into` and its counts add to it.
pub async fn merge(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let (Ok(into), Ok(from)) = (form.get("into").parse::<i64>(), form.get("from").parse::<i64>()) else {
        return Err(AppError::BadRequest("import.error.merge_pick"));
    };
    let (a, source) = visible(&st, user, into).await?;
    let (b, _) = visible(&st, user, from).await?;
    let mergeable = |x: &BatchRow| x.status == "done" && x.merged_into.is_none();
    if into == from || a.source != b.source || !mergeable(&a) || !mergeable(&b) {
        return Err(AppError::BadRequest("import.error.merge_pick"));
    }
    let mut tx = st.db.begin().await?;
    repo::merge(&mut tx, source.def.table, into, from).await?;
    let note = ctx.tf("import.merged", &[("from", &from.to_string()), ("into", &into.to_string())]);
    crate::audit::Entry::new("import_batch", into, "import_merge")
        .note(note.clone())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, note, &format!("/imports/{into}")).await
}
