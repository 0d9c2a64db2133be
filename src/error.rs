//! The one error type handlers return. Pages for 403/404/500 are rendered inside the app layout
//! by `web::context` (it knows the user and language); here we only mark the response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("unauthenticated")]
    Unauthenticated,
    /// A write without a valid CSRF token or from another origin.
    #[error("csrf check failed")]
    CsrfRejected,
    /// A request the user can correct; the string is an i18n key.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The record changed state under the user (e.g. already claimed); the string is an i18n key.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Input no form may hold (a NUL character); the string is an i18n key.
    #[error("unprocessable: {0}")]
    Unprocessable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            other => {
                crate::db::health::note(&other);
                AppError::Internal(other.into())
            }
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(e.into())
    }
}

/// Marker left on an error response; the context middleware swaps the body for a full page.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub status: StatusCode,
    /// i18n key of a specific message, if any.
    pub message: Option<&'static str>,
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::BadRequest(k) | AppError::Conflict(k) | AppError::Unprocessable(k) => Some(*k),
            AppError::CsrfRejected => Some("error.csrf"),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                None
            }
            _ => None,
        };
        let mut resp = (status, status.canonical_reason().unwrap_or("error")).into_response();
        resp.extensions_mut().insert(ErrorPage { status, message });
        resp
    }
}

/// A database constraint an error broke, for turning it into what the user should read. Named
/// constraints (unique indexes, checks) are matched by name; `FOREIGN_KEY` matches any foreign
/// key (a row still referenced elsewhere).
pub const FOREIGN_KEY: &str = "(foreign key)";

/// Whether `e` is the violation of `constraint` (a name, or `FOREIGN_KEY`).
pub fn broke(e: &sqlx::Error, constraint: &str) -> bool {
    match e {
        sqlx::Error::Database(d) if constraint == FOREIGN_KEY => d.is_foreign_key_violation(),
        sqlx::Error::Database(d) => d.constraint() == Some(constraint),
        _ => false,
    }
}

/// `on_constraint`: a named database constraint becomes a field error or a page error in one line
/// (after realworld-axum-sqlx's `ResultExt`). Checks done before writing say the same thing
/// earlier; the constraint catches what a concurrent request slipped in between.
pub trait ResultExt<T> {
    /// The violation of `constraint` becomes `Ok(Err(refusal()))`; any other error stays an error.
    fn on_constraint<R>(self, constraint: &str, refusal: impl FnOnce() -> R) -> Result<Result<T, R>, sqlx::Error>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn on_constraint<R>(self, constraint: &str, refusal: impl FnOnce() -> R) -> Result<Result<T, R>, sqlx::Error> {
        match self {
            Ok(v) => Ok(Ok(v)),
            Err(e) if broke(&e, constraint) => Ok(Err(refusal())),
            Err(e) => Err(e),
        }
    }
}
