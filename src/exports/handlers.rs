//! `GET /export/<code>`: the options page; `POST /export/<code>`: the options page for ticked
//! rows (no `format` yet), or the file.

use std::collections::HashSet;
use std::path::PathBuf;

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use tokio::io::AsyncReadExt;

use super::rows::{self, Reader};
use super::{CHUNK, Rows, Source, XLSX_MAX_ROWS, csv, xlsx};
use crate::access::DataScope;
use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::list::{Selection, scenes::strip_paging};
use crate::records::sql::{self, Bin};
use crate::state::AppState;
use crate::web::{FormData, PageCtx, RequestCtx, render};

#[derive(Template)]
#[template(path = "exports/options.html")]
struct OptionsPage {
    ctx: PageCtx,
    code: &'static str,
    list_name: String,
    /// The list with its filter.
    back: String,
    /// The list's query string (without paging).
    filter: String,
    /// Rows ticked on the list that the user sees.
    ids: Vec<i64>,
    /// Rows the filter matches.
    matching: usize,
    /// "All matching" was ticked on the list.
    all_ticked: bool,
    visible_columns: usize,
    all_columns: usize,
}

crate::page!(OptionsPage);

impl OptionsPage {
    fn count(&self, key: &str, n: impl std::borrow::Borrow<usize>) -> String {
        self.ctx.tf1(key, "n", &crate::web::format::thousands(*n.borrow() as i64))
    }
}

/// The source a request's path names (`/export/<code>`; the route exists only for sources).
fn source_of(uri: &Uri) -> AppResult<&'static Source> {
    uri.path().strip_prefix("/export/").and_then(super::source).ok_or(AppError::NotFound)
}

/// GET /export/<code>?<list query> — choose format, columns and rows.
pub async fn options(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    uri: Uri,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let source = source_of(&uri)?;
    let filter = strip_paging(raw.as_deref().unwrap_or_default());
    page(&st, ctx, req.user()?, source, filter, Vec::new(), false).await
}

async fn page(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    source: &'static Source,
    filter: String,
    ids: Vec<i64>,
    all_ticked: bool,
) -> AppResult<Response> {
    let matching = matching(st, user, source, &filter).await?.len();
    let visible_columns = rows::columns(&st.db, source, user, ctx.lang, false).await?.len();
    let all_columns = rows::columns(&st.db, source, user, ctx.lang, true).await?.len();
    let back = if filter.is_empty() { source.list_path.to_string() } else { format!("{}?{filter}", source.list_path) };
    let page = OptionsPage {
        code: source.code,
        list_name: ctx.t(source.title).to_string(),
        back,
        filter,
        ids,
        matching,
        all_ticked,
        visible_columns,
        all_columns,
        ctx,
    };
    Ok(render(page).await?.into_response())
}

/// Ids of every row the list's filter matches for the user.
async fn matching(st: &AppState, user: &CurrentUser, source: &Source, filter: &str) -> AppResult<Vec<i64>> {
    let ids = match source.rows {
        Rows::Record(_, ids) | Rows::Own(ids) => ids,
    };
    ids(st, user, filter).await
}

/// Of the ticked ids, those the user sees: a record kind's visible live records; on a list of
/// its own, those its filter matches.
async fn ticked(st: &AppState, user: &CurrentUser, source: &Source, sel: &Selection) -> AppResult<Vec<i64>> {
    if sel.ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match source.rows {
        Rows::Record(def, _) => {
            let scope = DataScope::resolve(&st.db, user, def.module).await?;
            sql::visible_ids(&st.db, def, &scope, &sel.ids, Bin::Live).await?
        }
        Rows::Own(ids) => {
            let asked: HashSet<i64> = sel.ids.iter().copied().collect();
            ids(st, user, &strip_paging(&sel.filter)).await?.into_iter().filter(|id| asked.contains(id)).collect()
        }
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Xlsx,
    Csv,
}

/// POST /export/<code> — from the list's bulk bar (ticked rows; no format yet): the options page;
/// from the options page: the file.
pub async fn export(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    uri: Uri,
    form: FormData,
) -> AppResult<Response> {
    let (source, user) = (source_of(&uri)?, req.user()?);
    let sel = Selection::from_form(&form);
    let filter = strip_paging(&sel.filter);
    let format = match form.get("format") {
        "xlsx" => Format::Xlsx,
        "csv" => Format::Csv,
        "" => {
            let ids = if sel.all_matching() { Vec::new() } else { ticked(&st, user, source, &sel).await? };
            return page(&st, ctx, user, source, filter, ids, sel.all_matching()).await;
        }
        _ => return Err(AppError::BadRequest("exports.error.format")),
    };
    let selected = form.get("rows") == "selected";
    let ids =
        if selected { ticked(&st, user, source, &sel).await? } else { matching(&st, user, source, &filter).await? };
    if format == Format::Xlsx && ids.len() > XLSX_MAX_ROWS {
        return Err(AppError::BadRequest("exports.error.too_many_rows"));
    }
    let ids = rows::in_order(&st.db, source, &ids).await?;
    let all_columns = form.get("columns") == "all";
    let columns = rows::columns(&st.db, source, user, ctx.lang, all_columns).await?;
    let reader = Reader::new(&st.db, source, columns, ctx.lang, ctx.tz).await?;
    let name = file_name(&ctx, source, format);
    let entry = Entry::about_all(source.entity, "export")
        .change("export_list", Json::Null, audit::bilingual(source.title))
        .change("export_format", Json::Null, if format == Format::Csv { "CSV" } else { "Excel (.xlsx)" })
        .change("export_rows", Json::Null, json!(ids.len()))
        .change(
            "export_filter",
            Json::Null,
            if selected { String::new() } else { crate::list::without_paging(&filter) },
        )
        .change("export_selected", Json::Null, selected)
        .change(
            "export_columns",
            Json::Null,
            audit::bilingual(if all_columns { "exports.columns_all" } else { "exports.columns_visible" }),
        );
    let resp = match format {
        Format::Csv => {
            write_audit(&st, user, &req, entry).await?;
            csv_body(st.clone(), reader, ids)
        }
        Format::Xlsx => {
            let body = xlsx_body(&st, reader, ids, ctx.t(source.title)).await?;
            write_audit(&st, user, &req, entry).await?;
            body
        }
    };
    let content_type = match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    let mut resp = resp.into_response();
    crate::attachments::as_download(&mut resp, &name, content_type);
    Ok(resp)
}

async fn write_audit(st: &AppState, user: &CurrentUser, req: &RequestCtx, entry: Entry) -> AppResult<()> {
    let mut tx = st.db.begin().await?;
    entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    tx.commit().await?;
    Ok(())
}

/// "客户-20261207-0930.xlsx": the list's name and the local time.
fn file_name(ctx: &PageCtx, source: &Source, format: Format) -> String {
    let at = chrono::Utc::now().with_timezone(&ctx.tz).format("%Y%m%d-%H%M");
    let ext = if format == Format::Csv { "csv" } else { "xlsx" };
    format!("{}-{at}.{ext}", ctx.t(source.title))
}

/// The CSV, made as it is sent: the header, then a chunk of rows at a time.
fn csv_body(st: AppState, reader: Reader, ids: Vec<i64>) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(csv::head(&reader.headers())))).await.is_err() {
            return;
        }
        for chunk in ids.chunks(CHUNK) {
            let part = match reader.chunk(&st.db, chunk).await {
                Ok(rows) => Ok(Bytes::from(csv::rows(&rows))),
                Err(e) => {
                    tracing::error!(error = ?e, "export: reading rows");
                    Err(std::io::Error::other(e))
                }
            };
            let failed = part.is_err();
            if tx.send(part).await.is_err() || failed {
                return;
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }))
}

/// A temp file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The .xlsx: written on a blocking thread (fed chunks of rows) to a temp file, which is then
/// streamed. The file is unlinked once open, so nothing is left behind however the download ends.
async fn xlsx_body(st: &AppState, reader: Reader, ids: Vec<i64>, sheet: &str) -> AppResult<Body> {
    let temp = TempFile(std::env::temp_dir().join(format!("crm-export-{}.xlsx", uuid::Uuid::new_v4())));
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let (path, sheet, headers, widths) = (temp.0.clone(), sheet.to_string(), reader.headers(), reader.widths());
    let writer = tokio::task::spawn_blocking(move || xlsx::write(&path, &sheet, &headers, &widths, rx));
    let mut read: AppResult<()> = Ok(());
    for chunk in ids.chunks(CHUNK) {
        match reader.chunk(&st.db, chunk).await {
            Ok(rows) => {
                if tx.send(rows).await.is_err() {
                    // The writer stopped: its error is reported below.
                    break;
                }
            }
            Err(e) => {
                read = Err(e.into());
                break;
            }
        }
    }
    drop(tx);
    let written = writer.await.map_err(anyhow::Error::from)?;
    read?;
    written.map_err(anyhow::Error::from)?;
    let file = tokio::fs::File::open(&temp.0).await.map_err(anyhow::Error::from)?;
    drop(temp);
    Ok(Body::from_stream(futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })))
}
