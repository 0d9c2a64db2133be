//! `PageCtx`: everything the layout needs (user, language, CSRF token, flash, nav), carried by
//! every page template as its `ctx` field.
//!
//! Extracting it costs no query: the layout's "chrome" — the flash messages queued for this
//! page and the bell's unread count — is read by `render`, so a POST that only redirects neither
//! counts notifications nor takes the flash meant for the page it redirects to.

use std::sync::Arc;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::Html;
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sqlx::PgPool;
use tokio::sync::OnceCell;
use tower_sessions::Session;

use super::context::RequestCtx;
use super::flash::{self, Flash};
use super::i18n::Lang;
use super::nav::{self, NavItem};
use super::{csrf, format};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Clone)]
pub struct PageCtx {
    pub user: Option<Arc<CurrentUser>>,
    pub lang: Lang,
    pub csrf: String,
    pub path: String,
    /// Path and query of this page: where the language switch comes back to.
    pub here: String,
    pub nav: Vec<NavItem>,
    pub admin_nav: Vec<NavItem>,
    pub tz: FixedOffset,
    pub session: Session,
    db: PgPool,
    /// Loaded once, by `load_chrome`, when a full page renders.
    chrome: Arc<OnceCell<Chrome>>,
}

/// What only a rendered page needs: the flash messages for it, the unread count and the to-do
/// count.
#[derive(Default)]
struct Chrome {
    flash: Vec<Flash>,
    unread: i64,
    todo: i64,
}

/// The top bar's to-do count is kept in the session this long: it walks every to-do source
/// (a dozen small queries), too much for every page. The to-do page itself is always fresh and
/// refreshes it; a change the user makes (`done`) drops it, so their own work shows at once and
/// others' (an approval assigned to them) within the minute.
const TODO_COUNT_TTL_SECS: i64 = 60;
pub const TODO_COUNT_KEY: &str = "todo_count";

impl PageCtx {
    pub async fn build(st: &AppState, req: &RequestCtx, session: &Session, uri: &Uri) -> PageCtx {
        let path = uri.path();
        let csrf = csrf::token(session).await.unwrap_or_default();
        let (nav, admin_nav) = nav::for_user(req, path);
        PageCtx {
            user: req.user.clone(),
            lang: req.lang,
            csrf,
            path: path.to_string(),
            here: uri.path_and_query().map_or(path, |p| p.as_str()).to_string(),
            nav,
            admin_nav,
            tz: st.config.timezone,
            session: session.clone(),
            db: st.db.clone(),
            chrome: Arc::default(),
        }
    }

    /// Take the flash messages queued for this page and count the unread notifications (once).
    pub async fn load_chrome(&self) {
        self.chrome
            .get_or_init(|| async {
                let flash = flash::take(&self.session).await;
                let (unread, todo) = match &self.user {
                    Some(u) => {
                        (crate::notify::unread_count(&self.db, u.id).await.unwrap_or(0), self.todo_count(u).await)
                    }
                    None => (0, 0),
                };
                Chrome { flash, unread, todo }
            })
            .await;
    }

    /// What waits in the user's to-do centre, as counted at most a minute ago.
    async fn todo_count(&self, user: &CurrentUser) -> i64 {
        let now = Utc::now();
        let cached: Option<(i64, i64)> = self.session.get(TODO_COUNT_KEY).await.ok().flatten();
        if let Some((n, _)) = cached.filter(|(_, at)| now.timestamp() - at < TODO_COUNT_TTL_SECS) {
            return n;
        }
        let cx = crate::todo::Cx { now, tz: self.tz, lang: self.lang };
        let n = crate::todo::total(&self.db, user, cx).await.unwrap_or(0);
        let _ = self.session.insert(TODO_COUNT_KEY, (n, now.timestamp())).await;
        n
    }

    /// Items waiting in the to-do centre (the top bar).
    pub fn todo(&self) -> i64 {
        self.chrome.get().map_or(0, |c| c.todo)
    }

    /// The flash messages shown on this page.
    pub fn flashes(&self) -> &[Flash] {
        self.chrome.get().map(|c| c.flash.as_slice()).unwrap_or_default()
    }

    /// Unread notifications of the logged-in user (the bell).
    pub fn unread(&self) -> i64 {
        self.chrome.get().map_or(0, |c| c.unread)
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.tf(key, args)
    }

    /// `tf` with one placeholder, convenient in templates.
    pub fn tf1(&self, key: &str, name: &str, value: &str) -> String {
        self.lang.tf(key, &[(name, value)])
    }

    pub fn user(&self) -> AppResult<&CurrentUser> {
        self.user.as_deref().ok_or(AppError::Unauthenticated)
    }

    /// The import page of a module's records ("customers" → "/customers/import"), when the user
    /// may import them.
    pub fn import_href(&self, module: &str) -> Option<String> {
        let user = self.user.as_deref()?;
        let source = crate::imports::source_of(module)?;
        user.can(source.module(), crate::access::Action::Import).then(|| format!("{}/import", source.def.path))
    }

    pub fn user_name(&self) -> &str {
        self.user.as_deref().map(|u| u.name.as_str()).unwrap_or("")
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn langs(&self) -> &'static [Lang] {
        Lang::ALL
    }

    pub fn asset(&self, name: &str) -> String {
        super::assets::url(name)
    }

    /// Queue a flash message for the next page.
    pub async fn flash(&self, kind: flash::Kind, key: &str) {
        flash::push(&self.session, kind, self.t(key).to_string()).await;
    }

    pub async fn flash_text(&self, kind: flash::Kind, text: String) {
        flash::push(&self.session, kind, text).await;
    }

    pub fn datetime(&self, at: &DateTime<Utc>) -> String {
        format::datetime(at, self.tz)
    }

    pub fn opt_datetime(&self, at: &Option<DateTime<Utc>>) -> String {
        at.as_ref().map(|a| self.datetime(a)).unwrap_or_default()
    }

    /// 1234567.5 → "1,234,567.50".
    pub fn money(&self, d: &rust_decimal::Decimal) -> String {
        format::money(d)
    }

    pub fn date(&self, d: &NaiveDate) -> String {
        d.format("%Y-%m-%d").to_string()
    }
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, AppError> {
        let req = parts.extensions.get::<RequestCtx>().cloned().unwrap_or_default();
        let session = Session::from_request_parts(parts, st)
            .await
            .map_err(|_| AppError::Internal(anyhow::anyhow!("session layer missing")))?;
        Ok(PageCtx::build(st, &req, &session, &parts.uri).await)
    }
}

/// A full page: a template carrying the `PageCtx` its layout reads. Declare it with
/// `crate::page!(MyPage)` after the struct.
pub trait Page: Template {
    fn page_ctx(&self) -> &PageCtx;
}

/// `impl Page` for page templates whose context is their `ctx` field.
#[macro_export]
macro_rules! page {
    ($($t:ty),+ $(,)?) => {
        $(impl $crate::web::page::Page for $t {
            fn page_ctx(&self) -> &$crate::web::PageCtx {
                &self.ctx
            }
        })+
    };
}

/// Render a full page (its layout's flash and bell loaded first).
pub async fn render<P: Page>(page: P) -> AppResult<Html<String>> {
    page.page_ctx().load_chrome().await;
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorInLayout<'a> {
    ctx: &'a PageCtx,
    code: u16,
    title: &'static str,
    message: &'static str,
}

#[derive(Template)]
#[template(path = "errors/public.html")]
struct ErrorPublic<'a> {
    ctx: &'a PageCtx,
    code: u16,
    title: &'static str,
    message: &'static str,
}

pub fn render_error(ctx: &PageCtx, status: StatusCode, message: Option<&'static str>) -> Html<String> {
    let (title, default_msg) = match status.as_u16() {
        403 => ("error.403.title", "error.403.text"),
        404 => ("error.404.title", "error.404.text"),
        400 | 405 | 409 | 413 | 415 | 422 => ("error.400.title", "error.400.text"),
        _ => ("error.500.title", "error.500.text"),
    };
    let code = status.as_u16();
    let title = ctx.t(title);
    let message = ctx.t(message.unwrap_or(default_msg));
    let html = if ctx.user.is_some() {
        ErrorInLayout { ctx, code, title, message }.render()
    } else {
        ErrorPublic { ctx, code, title, message }.render()
    };
    Html(html.unwrap_or_else(|e| {
        tracing::error!(error = ?e, "error page failed to render");
        format!("<h1>{code}</h1>")
    }))
}

/// A flash message: a catalog key, or a sentence already made (with its values filled in).
pub enum Message {
    Key(&'static str),
    Text(String),
}

impl From<&'static str> for Message {
    fn from(key: &'static str) -> Message {
        Message::Key(key)
    }
}

impl From<String> for Message {
    fn from(text: String) -> Message {
        Message::Text(text)
    }
}

/// The end of a successful write: commit the request's transaction (the change and its audit
/// row), queue `message` for the next page, and send the browser to `to` (303).
pub async fn done(
    tx: impl Into<crate::db::Tx>,
    ctx: &PageCtx,
    message: impl Into<Message>,
    to: &str,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    tx.into().commit().await?;
    // The user's own change may have settled (or added) a to-do item: the next page counts anew.
    let _ = ctx.session.remove::<(i64, i64)>(TODO_COUNT_KEY).await;
    match message.into() {
        Message::Key(key) => ctx.flash(flash::Kind::Success, key).await,
        Message::Text(text) => ctx.flash_text(flash::Kind::Success, text).await,
    }
    Ok(axum::response::Redirect::to(to).into_response())
}
