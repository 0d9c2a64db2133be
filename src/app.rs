//! Application state and the router: every module's `Routes` merged, then the kernel layers.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;
use tracing::Level;

use crate::access::{Guard, RouteSpec, Routes};
use crate::config::Config;
use crate::error::AppError;
use crate::web;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(db: PgPool, config: Config) -> Self {
        // Startup, not the first login, pays for the dummy hash unknown logins are checked against.
        crate::auth::password::warm_up();
        AppState { db, config: Arc::new(config) }
    }
}

pub const SESSION_COOKIE: &str = "crm_sid";

/// Every route of the application, each with its guard.
pub fn routes() -> Routes {
    Routes::new()
        .merge(health_routes())
        .merge(web::assets::routes())
        .merge(crate::auth::routes())
        .merge(crate::modules::routes())
}

/// The route table, for the allow-list test and docs.
pub fn route_specs() -> Vec<RouteSpec> {
    routes().into_parts().1
}

pub fn router(state: AppState) -> Router {
    let (app, _) = routes().into_parts();
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
        .layer(from_fn(web::csrf::guard))
        .layer(from_fn_with_state(state.clone(), web::context::context))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                            tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
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
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable"),
    }
}
