//! CSRF guard for every unsafe method: the request must come from our own origin (Origin, or
//! Sec-Fetch-Site when Origin is absent) and carry the session's token, in the `_csrf` form field,
//! the `_csrf` query parameter (multipart uploads) or the `X-CSRF-Token` header.
//!
//! Our origin is scheme, host and port: the host and port the request was sent to (Host), and
//! the scheme the site is served over — https when a trusted proxy says so (X-Forwarded-Proto)
//! or the cookies are marked Secure (`CRM_COOKIE_SECURE`, set when served over TLS), else http.
//! `https://host` writing to the http site on the same host is another origin.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::error::AppError;
use crate::state::AppState;

const KEY: &str = "csrf";
pub const FIELD: &str = "_csrf";
/// Largest url-encoded form we buffer to read the token from.
const FORM_LIMIT: usize = 4 * 1024 * 1024;

/// The session's token, created on first use.
pub async fn token(session: &Session) -> anyhow::Result<String> {
    if let Some(t) = session.get::<String>(KEY).await? {
        return Ok(t);
    }
    let t = new_token();
    session.insert(KEY, &t).await?;
    Ok(t)
}

/// A fresh token, e.g. after login (the session id changes too).
pub async fn renew(session: &Session) -> anyhow::Result<()> {
    session.insert(KEY, new_token()).await?;
    Ok(())
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

pub async fn guard(State(st): State<AppState>, session: Session, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let scheme = site_scheme(req.headers(), st.config.trust_proxy, st.config.cookie_secure);
    if !same_origin(req.headers(), scheme) {
        tracing::warn!(path = %req.uri().path(), "cross-origin write refused");
        return refuse();
    }
    let expected = match session.get::<String>(KEY).await {
        Ok(Some(t)) => t,
        _ => return refuse(),
    };
    let (req, presented) = match presented_token(req).await {
        Ok(pair) => pair,
        Err(resp) => return resp,
    };
    match presented {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => next.run(req).await,
        _ => refuse(),
    }
}

fn refuse() -> Response {
    AppError::CsrfRejected.into_response()
}

/// The scheme this site is served over, as the browser sees it.
fn site_scheme(h: &HeaderMap, trust_proxy: bool, tls: bool) -> &'static str {
    let forwarded = trust_proxy
        .then(|| h.get("x-forwarded-proto").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match forwarded.as_deref() {
        Some("https") => "https",
        Some("http") => "http",
        _ if tls => "https",
        _ => "http",
    }
}

fn same_origin(h: &HeaderMap, scheme: &str) -> bool {
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let Some((origin_scheme, authority)) = origin.split_once("://") else { return false };
        let origin_scheme = origin_scheme.to_ascii_lowercase();
        if origin_scheme != scheme {
            return false;
        }
        return match (host_port(authority, &origin_scheme), host_port(host, scheme)) {
            (Some(a), Some(b)) => a.0.eq_ignore_ascii_case(&b.0) && a.1 == b.1,
            _ => false,
        };
    }
    matches!(h.get("sec-fetch-site").and_then(|v| v.to_str().ok()), Some("same-origin") | Some("none"))
}

/// `host[:port]` (or `[v6]:port`) with the scheme's default port filled in; None when malformed.
fn host_port(authority: &str, scheme: &str) -> Option<(String, u16)> {
    if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
        return None;
    }
    let default = if scheme == "https" { 443 } else { 80 };
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let port = match port {
        None => default,
        Some(p) => p.parse().ok()?,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

async fn presented_token(req: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(t) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        let t = t.to_string();
        return Ok((req, Some(t)));
    }
    if let Some(t) = req.uri().query().and_then(|q| find_field(q.as_bytes())) {
        return Ok((req, Some(t)));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    let bytes =
        to_bytes(body, FORM_LIMIT).await.map_err(|_| AppError::BadRequest("error.too_large").into_response())?;
    let token = find_field(&bytes);
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

fn find_field(encoded: &[u8]) -> Option<String> {
    form_urlencoded::parse(encoded).find(|(k, _)| k == FIELD).map(|(_, v)| v.into_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(host: &str, origin: &str, scheme: &str) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        h.insert(header::ORIGIN, origin.parse().unwrap());
        same_origin(&h, scheme)
    }

    #[test]
    fn the_origin_must_match_scheme_host_and_port() {
        assert!(check("localhost:8080", "http://localhost:8080", "http"));
        assert!(check("LocalHost", "http://localhost", "http"));
        assert!(check("localhost", "http://localhost:80", "http"));
        assert!(check("crm.example", "https://crm.example", "https"));
        assert!(check("[::1]:8080", "http://[::1]:8080", "http"));
        assert!(!check("localhost:8080", "https://localhost:8080", "http"), "scheme");
        assert!(!check("crm.example", "http://crm.example", "https"), "scheme");
        assert!(!check("localhost:8080", "http://localhost:8081", "http"), "port");
        assert!(!check("localhost:8080", "http://localhost", "http"), "port");
        assert!(!check("localhost", "http://evil.example", "http"), "host");
        assert!(!check("localhost", "null", "http"));
        assert!(!check("localhost", "http://user@localhost", "http"));
    }

    #[test]
    fn the_scheme_comes_from_a_trusted_proxy_or_the_tls_setting() {
        let mut h = HeaderMap::new();
        assert_eq!(site_scheme(&h, false, false), "http");
        assert_eq!(site_scheme(&h, false, true), "https");
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(site_scheme(&h, false, false), "http", "an untrusted header is ignored");
        assert_eq!(site_scheme(&h, true, false), "https");
        h.insert("x-forwarded-proto", "http".parse().unwrap());
        assert_eq!(site_scheme(&h, true, true), "http");
    }
}
