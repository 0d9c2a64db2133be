//! The request's transaction. A handler that writes takes `Tx` as an argument: the transaction
//! is open when the handler starts and every read and write of the request goes through it
//! (`&mut tx` is a connection), so a write and its audit row stand or fall together. It ends
//! with `web::done` (commit, flash, redirect) or `Tx::commit`; dropped without either — an
//! error, a form shown again with its errors — it rolls back, and nothing half-written survives.
//!
//! Handlers that check a form against several reads before writing anything open their
//! transaction where the writing starts (`st.db.begin()`), so a refused form holds no
//! connection while it is rendered; the ending is still `web::done`.

use std::ops::{Deref, DerefMut};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sqlx::{PgConnection, Postgres, Transaction};

use crate::error::AppError;
use crate::state::AppState;

pub struct Tx(Transaction<'static, Postgres>);

impl Tx {
    pub async fn begin(db: &sqlx::PgPool) -> sqlx::Result<Tx> {
        Ok(Tx(db.begin().await?))
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        self.0.commit().await
    }
}

impl From<Transaction<'static, Postgres>> for Tx {
    fn from(tx: Transaction<'static, Postgres>) -> Tx {
        Tx(tx)
    }
}

impl Deref for Tx {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.0
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

impl FromRequestParts<AppState> for Tx {
    type Rejection = AppError;

    async fn from_request_parts(_parts: &mut Parts, st: &AppState) -> Result<Tx, AppError> {
        Ok(Tx::begin(&st.db).await?)
    }
}
