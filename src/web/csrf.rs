//! CSRF guard for every unsafe method: the request must come from our own origin (Origin, or
//! Sec-Fetch-Site when Origin is absent) and carry the session's token, in the `_csrf` form field,
//! the `_csrf` query parameter (multipart uploads) or the `X-CSRF-Token` header.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_sessions::Session;

use crate::error::AppError;

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

pub async fn guard(session: Session, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    if !same_origin(req.headers()) {
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

fn same_origin(h: &HeaderMap) -> bool {
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
        return !host.is_empty() && origin_host.eq_ignore_ascii_case(host);
    }
    matches!(h.get("sec-fetch-site").and_then(|v| v.to_str().ok()), Some("same-origin") | Some("none"))
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
