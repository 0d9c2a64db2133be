//! "Customers about to enter the pool" (即将进入公海): the owner's customers that a rule of their
//! pool will recycle soon, with the days left — the same computation the warnings use.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use chrono::{DateTime, Utc};

use super::repo::Pool;
use super::rules::{self, Due};
use crate::error::AppResult;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, render};

#[derive(Template)]
#[template(path = "pool/upcoming.html")]
struct UpcomingPage {
    ctx: PageCtx,
    pool: Option<Pool>,
    rows: Vec<Due>,
    now: DateTime<Utc>,
}

crate::page!(UpcomingPage);

impl UpcomingPage {
    fn days_left(&self, d: &Due) -> String {
        self.ctx.tf1("pool.days_left", "n", &d.days_left(self.now).to_string())
    }

    fn rule(&self, d: &Due) -> String {
        self.ctx.lang.tf("pool.rule_line", &[("rule", self.ctx.t(d.kind().label_key())), ("days", &d.days.to_string())])
    }

    fn urgent(&self, d: &Due) -> bool {
        d.days_left(self.now) <= 3
    }

    fn window(&self) -> String {
        let days = self.pool.as_ref().map(|p| p.remind_days_before.max(7)).unwrap_or(7);
        self.ctx.tf1("pool.upcoming_hint", "n", &days.to_string())
    }
}

/// GET /pool/upcoming
pub async fn page(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let user = req.user()?;
    let now = Utc::now();
    let (pool, rows) = rules::upcoming_for(&st.db, user.id, now).await?;
    render(UpcomingPage { ctx, pool, rows, now }).await
}
