//! What every request's typed input goes through once, before any extractor reads it (the
//! query string, an url-encoded form body, the path):
//!
//! - a NUL character (U+0000) is refused with a 422 page saying so: Postgres keeps no NUL in
//!   text, so it could only ever end as a database error (a 500) somewhere further in;
//! - bidirectional control characters (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)
//!   are dropped from single-line values (those without a line break): in a name they make
//!   `invoice\u{202E}fdp.exe` read as `invoiceexe.pdf`. Text with line breaks (a description)
//!   keeps them, where they only reorder their own paragraph.
//!
//! Multipart bodies (uploads) are left to their readers: `attachments::clean_name` cleans file
//! names the same way.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

/// Largest url-encoded form read here (the CSRF guard reads the same, so it is in memory anyway).
const FORM_LIMIT: usize = 4 * 1024 * 1024;

/// A bidirectional formatting character: embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069), and the implicit marks (LRM, RLM, ALM).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// `s` without bidirectional formatting characters.
pub fn strip_bidi(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(is_bidi_control) { s.chars().filter(|c| !is_bidi_control(*c)).collect() } else { s.into() }
}

/// What an url-encoded string needs: refused (a NUL), rewritten (bidi controls dropped from
/// single-line values), or nothing.
enum Verdict {
    Fine,
    Nul,
    Rewrite(String),
}

fn examine(encoded: &[u8]) -> Verdict {
    let mut bidi = false;
    for (k, v) in form_urlencoded::parse(encoded) {
        if k.contains('\0') || v.contains('\0') {
            return Verdict::Nul;
        }
        bidi |= !v.contains(['\n', '\r']) && v.chars().any(is_bidi_control);
    }
    if !bidi {
        return Verdict::Fine;
    }
    let pairs = form_urlencoded::parse(encoded).map(|(k, v)| {
        let v = if v.contains(['\n', '\r']) { v } else { strip_bidi(&v).into_owned().into() };
        (k, v)
    });
    Verdict::Rewrite(form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

fn refuse() -> Response {
    AppError::Unprocessable("error.nul").into_response()
}

/// The layer: see the module's comment.
pub async fn guard(req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    // The path: a `{code}` or `{token}` parameter reaches SQL as text too.
    let path = parts.uri.path();
    if path.contains("%00") && percent_decoded(path).contains(&0) {
        return refuse();
    }
    if let Some(query) = parts.uri.query() {
        match examine(query.as_bytes()) {
            Verdict::Fine => {}
            Verdict::Nul => return refuse(),
            Verdict::Rewrite(q) => {
                let path_and_query = if q.is_empty() { path.to_string() } else { format!("{path}?{q}") };
                let mut uri = parts.uri.clone().into_parts();
                uri.path_and_query = path_and_query.parse().ok();
                if let Ok(u) = Uri::from_parts(uri) {
                    parts.uri = u;
                }
            }
        }
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return AppError::BadRequest("error.too_large").into_response();
    };
    let body = match examine(&bytes) {
        Verdict::Fine => Body::from(bytes),
        Verdict::Nul => return refuse(),
        Verdict::Rewrite(b) => {
            parts.headers.remove(header::CONTENT_LENGTH);
            Body::from(b)
        }
    };
    next.run(Request::from_parts(parts, body)).await
}

fn percent_decoded(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let hex = |i: usize| b.get(i).and_then(|c| (*c as char).to_digit(16));
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match (b[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_refused_wherever_it_sits() {
        assert!(matches!(examine(b"q=%00"), Verdict::Nul));
        assert!(matches!(examine(b"a=1&name=x%00y"), Verdict::Nul));
        assert!(matches!(examine(b"%00=1"), Verdict::Nul));
        assert!(matches!(examine(b"q=abc&n=%E5%AE%A2"), Verdict::Fine));
        assert_eq!(percent_decoded("/admin/dicts/%00x"), b"/admin/dicts/\0x");
        assert_eq!(percent_decoded("/a%2"), b"/a%2");
    }

    #[test]
    fn bidi_controls_leave_single_line_values_only() {
        let Verdict::Rewrite(q) = examine("name=invoice\u{202E}fdp.exe&d=a\u{202E}b%0Ac".as_bytes()) else {
            panic!("rewritten")
        };
        let pairs: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        assert_eq!(pairs[0], ("name".into(), "invoicefdp.exe".into()));
        assert_eq!(pairs[1], ("d".into(), "a\u{202E}b\nc".into()));
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}',
            '\u{061C}',
        ] {
            assert_eq!(strip_bidi(&format!("a{c}b")), "ab", "{:04X}", c as u32);
        }
        assert_eq!(strip_bidi("上海\u{200B}科技"), "上海\u{200B}科技", "not a bidi control");
    }
}
