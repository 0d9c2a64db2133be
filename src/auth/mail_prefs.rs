//! The user's own mail notification choices (`/account/mail`): which notification topics also
//! come by mail (`crate::mail::prefs`).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::Form;
use serde::Deserialize;

use crate::access::{Guard, Routes};
use crate::audit::Entry;
use crate::db::Tx;
use crate::error::AppResult;
use crate::mail::prefs;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, done, render};

pub fn routes() -> Routes {
    Routes::new().get("/account/mail", Guard::Login, page).post("/account/mail", Guard::Login, save)
}

struct TopicLine {
    code: &'static str,
    label_key: &'static str,
    on: bool,
}

#[derive(Template)]
#[template(path = "auth/mail_prefs.html")]
struct MailPrefsPage {
    ctx: PageCtx,
    topics: Vec<TopicLine>,
    email: Option<String>,
}

crate::page!(MailPrefsPage);

async fn page(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    let user = req.user()?;
    let topics = prefs::of(&st.db, user.id)
        .await?
        .into_iter()
        .map(|(t, on)| TopicLine { code: t.code, label_key: t.label_key, on })
        .collect();
    let email: Option<String> = sqlx::query_scalar("SELECT NULLIF(btrim(email), '') FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(&st.db)
        .await?;
    Ok(render(MailPrefsPage { ctx, topics, email }).await?.into_response())
}

#[derive(Deserialize, Default)]
struct PrefsForm {
    #[serde(default)]
    topic: Vec<String>,
}

async fn save(ctx: PageCtx, req: RequestCtx, mut tx: Tx, Form(form): Form<PrefsForm>) -> AppResult<Response> {
    let user = req.user()?;
    let before: Vec<(String, bool)> = sqlx::query_as("SELECT topic, enabled FROM mail_prefs WHERE user_id = $1")
        .bind(user.id)
        .fetch_all(&mut *tx)
        .await?;
    let mut entry = Entry::new("user", user.id, "mail_prefs");
    for t in prefs::TOPICS {
        let old = before.iter().find(|(c, _)| c == t.code).map_or(t.default_on, |(_, on)| *on);
        entry = entry.change(&format!("mail_{}", t.code), old, form.topic.iter().any(|c| c == t.code));
    }
    prefs::save(&mut tx, user.id, &form.topic).await?;
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "mail.prefs_saved", "/account/mail").await
}
