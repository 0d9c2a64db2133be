//! Attachments (附件): files uploaded to records of any registered kind with
//! `features.attachments`, stored in Postgres. `records::routes::<R>()` adds `routes::<R>()`;
//! the kind's scope and read-only rule decide who sees and who changes its records, this module
//! does the rest: the size limit, names and types, storage with a checksum, forced-download serving,
//! deletion by the uploader or an editor, and an audit row on the host record for each change.
//!
//! The detail page shows the tab with `templates/partials/attachments.html`
//! (`{% call att::tab(ctx, list, base, can_edit, own_files, limit_mb) %}`); `Panel::load` gathers its values.

use askama::Template;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use crate::access::{Action, DataScope, Guard, Routes};
use crate::audit;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::records::routes::at;
use crate::records::{Record, RecordDef, sql};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::input::{is_bidi_control, strip_bidi};
use crate::web::{PageCtx, RequestCtx, done};

/// Stored when the browser names no (valid) type; downloads always use it.
pub const OCTET_STREAM: &str = "application/octet-stream";
/// Longest file name kept, in characters (the extension is preserved when shortening).
const NAME_MAX: usize = 200;

/// One attachment, without its bytes.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Attachment {
    pub id: i64,
    pub entity: String,
    pub record_id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_by: i64,
    pub uploaded_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Attachment {
    /// "512 B", "12.3 KB", "4.0 MB".
    pub fn size_display(&self) -> String {
        human_size(self.size)
    }

    /// Whether the tab shows a delete button: to editors of the record and to the uploader, unless
    /// the record takes no changes (then `own_files` is false too).
    pub fn deletable(&self, ctx: &PageCtx, can_edit: &bool, own_files: &bool) -> bool {
        *can_edit || (*own_files && ctx.user.as_deref().is_some_and(|u| u.id == self.uploaded_by))
    }
}

pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

const COLUMNS: &str = "a.id, a.entity, a.record_id, a.name, a.content_type, a.size, a.sha256, a.uploaded_by,
       u.name AS uploaded_by_name, a.created_at
  FROM attachments a LEFT JOIN users u ON u.id = a.uploaded_by";

/// The attachments of one record, newest first (without their bytes).
pub async fn list(db: &PgPool, entity: &str, record_id: i64) -> sqlx::Result<Vec<Attachment>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} WHERE a.entity = $1 AND a.record_id = $2 ORDER BY a.created_at DESC, a.id DESC"
    ))
    .bind(entity)
    .bind(record_id)
    .fetch_all(db)
    .await
}

/// One attachment of one record (without its bytes).
pub async fn find(db: &PgPool, entity: &str, record_id: i64, id: i64) -> sqlx::Result<Option<Attachment>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} WHERE a.id = $1 AND a.entity = $2 AND a.record_id = $3"))
        .bind(id)
        .bind(entity)
        .bind(record_id)
        .fetch_optional(db)
        .await
}

/// The name and bytes of one attachment of one record (for the download).
pub async fn content(db: &PgPool, entity: &str, record_id: i64, id: i64) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    sqlx::query_as("SELECT name, data FROM attachments WHERE id = $1 AND entity = $2 AND record_id = $3")
        .bind(id)
        .bind(entity)
        .bind(record_id)
        .fetch_optional(db)
        .await
}

/// Store a file on a record (size and SHA-256 computed here); returns its id. The caller checks
/// the size limit and writes the audit row in the same transaction.
pub async fn store(
    conn: &mut PgConnection,
    entity: &str,
    record_id: i64,
    name: &str,
    content_type: &str,
    data: &[u8],
    by: i64,
) -> sqlx::Result<i64> {
    let sha = hex::encode(Sha256::digest(data));
    sqlx::query_scalar(
        "INSERT INTO attachments (entity, record_id, name, content_type, size, sha256, data, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(entity)
    .bind(record_id)
    .bind(name)
    .bind(content_type)
    .bind(data.len() as i64)
    .bind(sha)
    .bind(data)
    .bind(by)
    .fetch_one(conn)
    .await
}

/// Move every attachment of one record to another (lead → customer on conversion).
pub async fn move_all(conn: &mut PgConnection, from: (&str, i64), to: (&str, i64)) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE attachments SET entity = $3, record_id = $4 WHERE entity = $1 AND record_id = $2")
        .bind(from.0)
        .bind(from.1)
        .bind(to.0)
        .bind(to.1)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// The record is visible to this user (else 404).
async fn can_view(st: &AppState, def: &'static RecordDef, user: &CurrentUser, id: i64) -> AppResult<bool> {
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    Ok(sql::is_visible(&st.db, def, &scope, id).await?)
}

/// What a user may do with a record's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rights {
    /// Upload, and delete anyone's file.
    Edit,
    /// Delete the files they uploaded themselves (they may have lost edit rights since).
    OwnFiles,
    /// Nothing: the record is read-only for everyone (frozen, converted).
    None,
}

async fn rights(st: &AppState, def: &'static RecordDef, user: &CurrentUser, id: i64) -> AppResult<Rights> {
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    match sql::check_writable(&st.db, def, &scope, id).await {
        Ok(()) => Ok(Rights::Edit),
        Err(AppError::Forbidden) => Ok(Rights::OwnFiles),
        Err(AppError::Conflict(_) | AppError::NotFound) => Ok(Rights::None),
        Err(e) => Err(e),
    }
}

/// What the Attachments tab of a record shows, for a host's detail page:
/// `{% call att::tab(ctx, p.list, p.base, p.can_edit, p.own_files, p.limit_mb) %}`.
/// (`Default`: the empty panel of a page showing another tab.)
#[derive(Clone, Debug, Default)]
pub struct Panel {
    pub list: Vec<Attachment>,
    /// The record's path, e.g. "/customers/7".
    pub base: String,
    pub can_edit: bool,
    /// The uploader may delete their own files (false while the record takes no changes).
    pub own_files: bool,
    pub limit_mb: usize,
}

impl Panel {
    /// Load the tab of a record the caller has already found visible.
    pub async fn load(st: &AppState, def: &'static RecordDef, user: &CurrentUser, id: i64) -> AppResult<Panel> {
        let rights = rights(st, def, user, id).await?;
        Ok(Panel {
            list: list(&st.db, def.entity, id).await?,
            base: def.url(id),
            can_edit: rights == Rights::Edit,
            own_files: rights != Rights::None,
            limit_mb: st.config.upload_limit_mb,
        })
    }
}

/// POST {PATH}/{id}/attachments (multipart, field "file", several files allowed) → back to
/// `{PATH}/{id}?tab=attachments`; GET {PATH}/{id}/attachments/{aid} (download);
/// POST {PATH}/{id}/attachments/{aid}/delete.
pub fn routes<R: Record>() -> Routes {
    let view = Guard::Perm(R::DEF.module, Action::View);
    let edit = Guard::Perm(R::DEF.module, Action::Edit);
    // The upload reads its body itself, stopping at the configured limit; the router's global
    // limit (upload limit + 1 MB) still bounds the request, so axum's 2 MB default is lifted.
    Routes::new()
        .post(at(R::DEF, "/{id}/attachments"), edit, upload::<R>.layer(DefaultBodyLimit::disable()))
        .get(at(R::DEF, "/{id}/attachments/{aid}"), view, download::<R>)
        .post(at(R::DEF, "/{id}/attachments/{aid}/delete"), edit, delete::<R>)
}

fn back(def: &'static RecordDef, id: i64) -> String {
    format!("{}?tab=attachments", def.url(id))
}

/// A file read from the upload, within the limit.
struct Upload {
    name: String,
    content_type: String,
    data: Vec<u8>,
}

/// Why an upload stored nothing (each names the file where there is one).
#[derive(Debug, PartialEq)]
enum Refusal {
    TooLarge(String),
    Empty(String),
}

/// What an upload request held.
#[derive(Default)]
struct Received {
    files: Vec<Upload>,
    refused: Vec<Refusal>,
    /// The body ended early or was malformed (e.g. cut off at the router's global limit).
    broken: bool,
}

/// Read every "file" part, keeping at most `limit` bytes of each. Over-limit and empty files are
/// refused; the rest of an over-limit file is drained (not kept), so the browser has sent its
/// request when the answer comes.
async fn read_files(mut mp: Multipart, limit: usize) -> Received {
    let mut got = Received::default();
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                got.broken = true;
                break;
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = clean_name(field.file_name().unwrap_or_default());
        let content_type = clean_type(field.content_type());
        let mut data = Vec::new();
        let mut too_large = false;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) if too_large || data.len() + chunk.len() > limit => {
                    too_large = true;
                    data = Vec::new();
                }
                Ok(Some(chunk)) => data.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(_) => {
                    got.broken = true;
                    break;
                }
            }
        }
        if too_large {
            got.refused.push(Refusal::TooLarge(display_name(&name)));
        } else if got.broken {
            // A part cut short is never stored.
        } else if data.is_empty() {
            // An empty, unnamed part is a file input left empty.
            if !name.is_empty() {
                got.refused.push(Refusal::Empty(name));
            }
        } else {
            got.files.push(Upload { name: display_name(&name), content_type, data });
        }
        if got.broken {
            break;
        }
    }
    got
}

fn display_name(name: &str) -> String {
    if name.is_empty() { "file".to_string() } else { name.to_string() }
}

/// The file's own name: no path part (browsers may send `C:\fakepath\x.pdf`), no control
/// characters, no bidirectional controls (`invoice\u{202E}fdp.exe` would show as
/// `invoiceexe.pdf`), at most `NAME_MAX` characters (keeping the extension). Any script is kept.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base.chars().filter(|c| !c.is_control() && !is_bidi_control(*c)).collect();
    let name = name.trim();
    if name == "." || name == ".." {
        return String::new();
    }
    if name.chars().count() <= NAME_MAX {
        return name.to_string();
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).filter(|e| !e.is_empty() && e.chars().count() <= 16);
    match ext {
        Some(ext) => {
            let keep = NAME_MAX - ext.chars().count() - 1;
            format!("{}.{ext}", name.chars().take(keep).collect::<String>().trim_end())
        }
        None => name.chars().take(NAME_MAX).collect::<String>().trim_end().to_string(),
    }
}

/// The type the browser named, reduced to `type/subtype`; anything odd becomes octet-stream.
pub fn clean_type(raw: Option<&str>) -> String {
    let essence = raw.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty() && s.len() <= 100 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    match essence.split_once('/') {
        Some((t, s)) if token(t) && token(s) => essence,
        _ => OCTET_STREAM.to_string(),
    }
}

async fn upload<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    mp: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    let user = req.user()?;
    if !can_view(&st, R::DEF, user, id).await? {
        return Err(AppError::NotFound);
    }
    if rights(&st, R::DEF, user, id).await? != Rights::Edit {
        return Err(AppError::Forbidden);
    }
    let mp = mp.map_err(|_| AppError::BadRequest("attachments.error.broken"))?;
    let limit_mb = st.config.upload_limit_mb.to_string();
    let back = back(R::DEF, id);
    let Received { files, refused, broken } = read_files(mp, st.config.upload_limit_bytes()).await;
    if !refused.is_empty() {
        // Every upload stores all of its files or none.
        for r in &refused {
            let text = match r {
                Refusal::TooLarge(name) => {
                    ctx.tf("attachments.error.too_large", &[("name", name), ("limit", &limit_mb)])
                }
                Refusal::Empty(name) => ctx.tf1("attachments.error.empty", "name", name),
            };
            ctx.flash_text(Kind::Error, text).await;
        }
        if !files.is_empty() {
            ctx.flash(Kind::Warning, "attachments.error.none_stored").await;
        }
        return Ok(Redirect::to(&back).into_response());
    }
    if broken {
        ctx.flash(Kind::Error, "attachments.error.broken").await;
        return Ok(Redirect::to(&back).into_response());
    }
    if files.is_empty() {
        ctx.flash(Kind::Error, "attachments.error.no_file").await;
        return Ok(Redirect::to(&back).into_response());
    }
    let mut tx = st.db.begin().await?;
    for f in &files {
        store(&mut tx, R::DEF.entity, id, &f.name, &f.content_type, &f.data, user.id).await?;
        audit::Entry::new(R::DEF.entity, id, "attach")
            .note(f.name.clone())
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    tx.commit().await?;
    let text = if let [only] = files.as_slice() {
        ctx.tf1("attachments.uploaded_one", "name", &only.name)
    } else {
        ctx.tf1("attachments.uploaded_many", "n", &files.len().to_string())
    };
    ctx.flash_text(Kind::Success, text).await;
    Ok(Redirect::to(&back).into_response())
}

async fn download<R: Record>(
    State(st): State<AppState>,
    req: RequestCtx,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    if !can_view(&st, R::DEF, user, id).await? {
        return Err(AppError::NotFound);
    }
    let (name, data) = content(&st.db, R::DEF.entity, id, aid).await?.ok_or(AppError::NotFound)?;
    let mut resp = (StatusCode::OK, data).into_response();
    // Whatever was stored, the browser gets opaque bytes to save, never a page to render.
    as_download(&mut resp, &name, OCTET_STREAM);
    Ok(resp)
}

/// Make `resp` a file the browser saves and never renders: its type, `attachment` with its
/// name, not sniffed, not cached, sandboxed. Attachments, exports and import reports are
/// customer data: every download goes through here.
pub fn as_download(resp: &mut Response, name: &str, content_type: &'static str) {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = content_disposition(name);
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
}

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded name>` (RFC 6266).
/// Bidirectional controls are left out (names stored before they were cleaned on upload).
pub fn content_disposition(name: &str) -> String {
    let name = &*strip_bidi(name);
    format!("attachment; filename=\"{}\"; filename*=UTF-8''{}", ascii_fallback(name), percent_encode(name))
}

/// The name for clients that ignore `filename*`: printable ASCII only (no quote, backslash or
/// percent sign); runs of other characters become one `_`. A name with no ASCII letters or
/// digits left becomes `attachment.<ext>`.
fn ascii_fallback(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let ok = (c.is_ascii_graphic() || c == ' ') && !matches!(c, '"' | '\\' | '%');
        if ok {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let (stem, ext) = match out.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), Some(e.to_string())),
        _ => (out.clone(), None),
    };
    if stem.chars().any(|c| c.is_ascii_alphanumeric()) {
        return out;
    }
    match ext.filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric())) {
        Some(e) => format!("attachment.{e}"),
        None => "attachment".to_string(),
    }
}

/// RFC 8187 `value-chars`: attr-chars as they are, every other UTF-8 byte as `%XX`.
fn percent_encode(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn delete<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((id, aid)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    if !can_view(&st, R::DEF, user, id).await? {
        return Err(AppError::NotFound);
    }
    let a = find(&st.db, R::DEF.entity, id, aid).await?.ok_or(AppError::NotFound)?;
    let allowed = match rights(&st, R::DEF, user, id).await? {
        Rights::Edit => true,
        Rights::OwnFiles => a.uploaded_by == user.id,
        Rights::None => false,
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let mut tx = st.db.begin().await?;
    let gone = sqlx::query("DELETE FROM attachments WHERE id = $1 AND entity = $2 AND record_id = $3")
        .bind(aid)
        .bind(R::DEF.entity)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(AppError::NotFound);
    }
    audit::Entry::new(R::DEF.entity, id, "detach")
        .note(a.name.clone())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("attachments.deleted", "name", &a.name), &back(R::DEF, id)).await
}

/// The tab on its own. Mainly it compiles the macro against concrete types, so a mistake in the
/// partial fails the build here rather than in the first host page that uses it.
#[derive(Template)]
#[template(
    source = r#"{% import "partials/attachments.html" as att %}{% call att::tab(ctx, p.list, p.base, p.can_edit, p.own_files, p.limit_mb) %}"#,
    ext = "html"
)]
pub struct TabView {
    pub ctx: PageCtx,
    pub p: Panel,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_path_and_keep_their_script() {
        assert_eq!(clean_name("C:\\fakepath\\合同扫描件.pdf"), "合同扫描件.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name(" a\u{0}b.txt "), "ab.txt");
        assert_eq!(clean_name(".."), "");
        assert_eq!(clean_name("invoice\u{202E}fdp.exe"), "invoicefdp.exe");
        assert_eq!(clean_name("\u{2067}a\u{2069}\u{200F}b\u{061C}.pdf"), "ab.pdf");
        let long = format!("{}.docx", "长".repeat(300));
        let cut = clean_name(&long);
        assert_eq!(cut.chars().count(), NAME_MAX);
        assert!(cut.ends_with(".docx"));
    }

    #[test]
    fn types_are_reduced_or_replaced() {
        assert_eq!(clean_type(Some("text/html; charset=utf-8")), "text/html");
        assert_eq!(clean_type(Some("Application/PDF")), "application/pdf");
        assert_eq!(clean_type(Some("nonsense")), OCTET_STREAM);
        assert_eq!(clean_type(Some("a/b\"c")), OCTET_STREAM);
        assert_eq!(clean_type(None), OCTET_STREAM);
    }

    #[test]
    fn disposition_has_an_ascii_fallback_and_the_utf8_name() {
        assert_eq!(
            content_disposition("合同扫描件.pdf"),
            "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''%E5%90%88%E5%90%8C%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf"
        );
        assert_eq!(
            content_disposition("Q3 报价 \"final\".xlsx"),
            "attachment; filename=\"Q3 _ _final_.xlsx\"; filename*=UTF-8''Q3%20%E6%8A%A5%E4%BB%B7%20%22final%22.xlsx"
        );
        assert_eq!(ascii_fallback("报告"), "attachment");
        // A stored name with a right-to-left override: the header names the file as stored.
        assert_eq!(
            content_disposition("invoice\u{202E}fdp.exe"),
            "attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe"
        );
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(12_595), "12.3 KB");
        assert_eq!(human_size(20 * 1024 * 1024), "20.0 MB");
    }
}
