//! The ground floor: what every layer may import. `AppState` is what handlers get from axum;
//! `src/app.rs` builds it and assembles the routes, and nothing but main/cli/tests imports that.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;

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
