//! Per-request context: who is asking, in which language, from where. Loaded once by the
//! `context` middleware for every request; error responses are turned into full pages here,
//! because only here do we know the user and language.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use super::i18n::Lang;
use super::page::{self, PageCtx};
use crate::auth::{CurrentUser, load_current_user};
use crate::error::{AppError, ErrorPage};
use crate::state::AppState;

pub const SESSION_LANG: &str = "lang";

#[derive(Clone, Default)]
pub struct RequestCtx {
    pub user: Option<Arc<CurrentUser>>,
    pub lang: Lang,
    pub ip: Option<String>,
    pub user_agent: String,
}

impl RequestCtx {
    /// The logged-in user; routes behind a guard always have one.
    pub fn user(&self) -> Result<&CurrentUser, AppError> {
        self.user.as_deref().ok_or(AppError::Unauthenticated)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestCtx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<RequestCtx>().cloned().ok_or(AppError::Unauthenticated)
    }
}

pub async fn context(State(st): State<AppState>, session: Session, mut req: Request, next: Next) -> Response {
    let user = match load_current_user(&st.db, &session).await {
        Ok(u) => u.map(Arc::new),
        Err(e) => return AppError::Internal(e).into_response(),
    };
    if user.is_some() {
        keep_alive(&session).await;
    }
    let session_lang = session.get::<String>(SESSION_LANG).await.ok().flatten();
    let lang = pick_lang(&st, user.as_deref(), session_lang.as_deref(), req.headers());
    let ctx = RequestCtx {
        user,
        lang,
        ip: client_ip(&req, st.config.trust_proxy),
        user_agent: header(req.headers(), "user-agent"),
    };
    req.extensions_mut().insert(ctx.clone());
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    match resp.extensions().get::<ErrorPage>().cloned().or_else(|| bare_error(&resp)) {
        Some(err) => {
            // A 405 says which methods would do.
            let allow = resp.headers().get(header::ALLOW).cloned();
            let mut page = error_page(&st, &ctx, &session, &uri, err).await;
            if let Some(allow) = allow {
                page.headers_mut().insert(header::ALLOW, allow);
            }
            page
        }
        None => resp,
    }
}

/// A plain-text error nobody turned into a page: axum's own rejections (a path parameter that
/// does not parse, an unreadable form or query, a wrong method) and the panic catcher. Pages,
/// downloads and health checks keep their own bodies.
fn bare_error(resp: &Response) -> Option<ErrorPage> {
    let status = resp.status();
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let mapped = matches!(status.as_u16(), 400 | 405 | 413 | 415 | 422 | 500);
    (mapped && !is_html).then_some(ErrorPage { status, message: None })
}

fn pick_lang(st: &AppState, user: Option<&CurrentUser>, session_lang: Option<&str>, h: &HeaderMap) -> Lang {
    user.and_then(|u| u.lang)
        .or_else(|| session_lang.and_then(Lang::from_code))
        .or_else(|| Lang::from_accept_language(&header(h, "accept-language")))
        .or_else(|| Lang::from_code(&st.config.default_lang))
        .unwrap_or_default()
}

fn header(h: &HeaderMap, name: &str) -> String {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
}

fn client_ip(req: &Request, trust_proxy: bool) -> Option<String> {
    if trust_proxy && let Some(ip) = forwarded_for(req.headers()) {
        return Some(ip.to_string());
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ci| ci.0.ip().to_string())
}

/// The address the trusted proxy saw: the *last* X-Forwarded-For entry, the one it appended.
/// Everything to its left came from the client and may be forged (e.g. to dodge the per-IP
/// login limit with a new made-up address per attempt).
fn forwarded_for(h: &HeaderMap) -> Option<IpAddr> {
    let last = h.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).last()?;
    last.trim().parse().ok()
}

async fn error_page(st: &AppState, ctx: &RequestCtx, session: &Session, uri: &Uri, err: ErrorPage) -> Response {
    let page = PageCtx::build(st, ctx, session, uri).await;
    page.load_chrome().await;
    let body = page::render_error(&page, err.status, err.message);
    (err.status, body).into_response()
}

const SESSION_SEEN: &str = "seen";

/// Idle expiry counts from the last write of the session, and sessions are written only when
/// changed. Touch a timestamp every few minutes so active users stay logged in, without writing
/// the session on every request.
async fn keep_alive(session: &Session) {
    let now = chrono::Utc::now().timestamp();
    let seen: Option<i64> = session.get(SESSION_SEEN).await.ok().flatten();
    if seen.is_none_or(|s| now - s > 300) {
        let _ = session.insert(SESSION_SEEN, now).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> Option<String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        forwarded_for(&h).map(|ip| ip.to_string())
    }

    #[test]
    fn the_proxy_appended_entry_is_the_client() {
        assert_eq!(xff(&["203.0.113.9"]).as_deref(), Some("203.0.113.9"));
        assert_eq!(xff(&["1.1.1.1, 203.0.113.9"]).as_deref(), Some("203.0.113.9"));
        assert_eq!(xff(&["1.1.1.1", "10.0.0.1, 203.0.113.9 "]).as_deref(), Some("203.0.113.9"));
        assert_eq!(xff(&["::1"]).as_deref(), Some("::1"));
        // Not an address: fall back to the peer.
        assert_eq!(xff(&["203.0.113.9, garbage"]), None);
        assert_eq!(xff(&[]), None);
    }
}
