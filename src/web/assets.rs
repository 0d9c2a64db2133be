//! Static files, compiled into the binary (no CDN: users' networks may be closed). URLs carry a
//! content hash so browsers may cache them for a year.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::access::{Guard, Routes};

struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "app.css", mime: "text/css; charset=utf-8", body: include_bytes!("../../static/app.css") },
    Asset { name: "app.js", mime: "text/javascript; charset=utf-8", body: include_bytes!("../../static/app.js") },
    Asset { name: "icons.svg", mime: "image/svg+xml", body: include_bytes!("../../static/icons.svg") },
    Asset { name: "favicon.svg", mime: "image/svg+xml", body: include_bytes!("../../static/favicon.svg") },
];

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let h = ASSETS
        .iter()
        .flat_map(|a| a.body.iter())
        .fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3));
    format!("{:08x}", h as u32)
});

pub fn url(name: &str) -> String {
    format!("/static/{name}?v={}", *VERSION)
}

pub fn routes() -> Routes {
    Routes::new().get("/static/{name}", Guard::Public, serve)
}

async fn serve(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => {
            let mut resp = a.body.into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
            resp
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
