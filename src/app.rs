//! Assembly: the registry every module fills (record kinds, approval subjects, jobs), every
//! module's `Routes` merged, then the kernel layers. Only main, the CLI and tests import this.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;
use tracing::Level;

use crate::access::{Guard, RouteSpec, Routes};
use crate::error::AppError;
use crate::registry::{self, Registry};
pub use crate::state::AppState;
use crate::web;

pub const SESSION_COOKIE: &str = "crm_sid";

/// Fill the registry (once per process): every module's record kinds, approval subjects and jobs.
pub fn install() -> &'static Registry {
    registry::install(|| {
        let mut r = Registry::new();
        crate::modules::register(&mut r);
        r
    })
}

/// Every route of the application, each with its guard.
pub fn routes() -> Routes {
    install();
    Routes::new()
        .merge(health_routes())
        .merge(web::assets::routes())
        .merge(crate::auth::routes())
        .merge(crate::modules::routes())
        .merge(crate::imports::routes())
        .merge(crate::exports::routes())
}

/// The route table, for the allow-list test and docs.
pub fn route_specs() -> Vec<RouteSpec> {
    routes().into_parts().1
}

pub fn router(state: AppState) -> Router {
    layered(routes().into_parts().0, state)
}

/// The kernel layers around a set of routes (what `router` serves; tests may add routes of their
/// own, e.g. one that panics, and get exactly the production stack around them).
pub fn layered(app: Router<AppState>, state: AppState) -> Router {
    let store = PostgresStore::new(state.db.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.cookie_secure)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(state.config.session_idle_minutes)));
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = state.config.upload_limit_bytes() + 1024 * 1024;

    app.fallback(not_found)
        // Inside the context middleware, so a panic becomes a 500 page in the layout.
        .layer(CatchPanicLayer::custom(panic_response))
        // NUL refused and bidi controls dropped before any extractor reads the input.
        .layer(from_fn(web::input::guard))
        .layer(from_fn_with_state(state.clone(), web::csrf::guard))
        .layer(from_fn_with_state(state.clone(), web::context::context))
        .layer(
            ServiceBuilder::new()
                // Last resort, should the page rendering itself panic: a bare 500.
                .layer(CatchPanicLayer::new())
                .layer(compression())
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                            tracing::info_span!("request", id, method = %req.method(), path = %logged_path(req.uri().path()))
                        })
                        // One line per request at the default level, carrying the span's request id.
                        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Millis)),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(from_fn(web::headers::security_headers))
                .layer(RequestBodyLimitLayer::new(body_limit))
                .layer(sessions),
        )
        .with_state(state)
}

/// Pages, styles, scripts and icons go out gzip- or brotli-compressed when the browser takes
/// it (a customer list page of the demo company: 38.8 KB, 8.5 KB gzip). Spreadsheets and attachments are not: .xlsx is a
/// zip already, and compressing what users upload spends CPU for nothing.
fn compression() -> CompressionLayer<impl tower_http::compression::Predicate> {
    let textual = |_: StatusCode, _: axum::http::Version, h: &axum::http::HeaderMap, _: &axum::http::Extensions| {
        let kind = h.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let disposition = h.contains_key(axum::http::header::CONTENT_DISPOSITION);
        !disposition
            && (kind.starts_with("text/")
                || kind.starts_with("application/json")
                || kind.starts_with("application/javascript")
                || kind.starts_with("image/svg+xml"))
    };
    CompressionLayer::new().gzip(true).br(true).compress_when(DefaultPredicate::new().and(textual))
}

/// The request path as the log writes it: a private feed URL carries its secret in the path
/// (`.../feed/<token>.ics`), which the log must never hold.
pub fn logged_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.find("/feed/") {
        Some(i) if path.len() > i + 6 => format!("{}/feed/[redacted]", &path[..i]).into(),
        _ => path.into(),
    }
}

/// A panicking handler: logged, then answered like any internal error (a 500 page in the layout).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    AppError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

async fn not_found() -> AppError {
    AppError::NotFound
}

fn health_routes() -> Routes {
    Routes::new().get("/healthz", Guard::Public, healthz).get("/readyz", Guard::Public, readyz)
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(st): State<AppState>) -> impl IntoResponse {
    let q = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&st.db);
    match tokio::time::timeout(Duration::from_secs(2), q).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            crate::db::health::note(&e);
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            // Still waiting for a connection: the server is down or every connection is busy.
            crate::db::health::note(&sqlx::Error::PoolTimedOut);
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorPage;

    #[test]
    fn a_panic_becomes_an_internal_error_page() {
        for panic in [Box::new("boom") as Box<dyn Any + Send>, Box::new(String::from("boom")), Box::new(42)] {
            let resp = panic_response(panic);
            assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let page = resp.extensions().get::<ErrorPage>().expect("marked for the layout's error page");
            assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
        }
    }
}
