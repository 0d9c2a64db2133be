//! The landing page after login. The dashboard module will fill it with briefings and charts.

use askama::Template;
use axum::response::Html;

use crate::access::{Guard, Routes};
use crate::error::AppResult;
use crate::web::{PageCtx, render};

pub fn routes() -> Routes {
    Routes::new().get("/", Guard::Login, index)
}

#[derive(Template)]
#[template(path = "home/index.html")]
struct HomePage {
    ctx: PageCtx,
}

crate::page!(HomePage);

async fn index(ctx: PageCtx) -> AppResult<Html<String>> {
    render(HomePage { ctx }).await
}
