//! My tags (`/tasks/tags`): each user's own labels for tasks, with a colour; add, rename,
//! recolour, delete (deleting a tag takes it off every task).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::repo::{self, Tag};
use crate::error::{AppError, AppResult, ResultExt};
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, render};

pub const COLORS: &[&str] = &["gray", "blue", "green", "amber", "red", "purple"];

#[derive(Template)]
#[template(path = "tasks/tags.html")]
struct TagsPage {
    ctx: PageCtx,
    tags: Vec<Tag>,
    colors: &'static [&'static str],
    /// The new tag's form, as typed when refused.
    form: FormData,
    errors: FormErrors,
}

crate::page!(TagsPage);

impl TagsPage {
    fn color_key(&self, c: &str) -> String {
        format!("task.color.{c}")
    }
}

async fn render_page(
    st: &AppState,
    ctx: PageCtx,
    user_id: i64,
    form: FormData,
    errors: FormErrors,
) -> AppResult<Response> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = TagsPage { tags: repo::my_tags(&st.db, user_id).await?, colors: COLORS, ctx, form, errors };
    Ok((status, render(page).await?).into_response())
}

pub async fn page(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    let user = req.user()?;
    let mut form = FormData::default();
    form.set("color", "blue");
    let errors = FormErrors::new(ctx.lang);
    render_page(&st, ctx, user.id, form, errors).await
}

/// (name, colour) checked; errors under the new tag's fields.
fn check(form: &FormData, errors: &mut FormErrors) -> (String, String) {
    let name = form.get("name").trim().to_string();
    if name.is_empty() {
        errors.add("name", "task.error.tag_required");
    } else if name.chars().count() > 30 {
        errors.add("name", "task.error.tag_long");
    }
    let color = form.get("color");
    let color = if COLORS.contains(&color) { color.to_string() } else { "blue".to_string() };
    (name, color)
}

pub async fn add(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let (name, color) = check(&form, &mut errors);
    if errors.is_empty() {
        let added =
            repo::add_tag(&st.db, user.id, &name, &color).await.on_constraint("task_tags_user_id_name_key", || ())?;
        if added.is_err() {
            errors.add("name", "task.error.tag_taken");
        }
    }
    if !errors.is_empty() {
        return render_page(&st, ctx, user.id, form, errors).await;
    }
    ctx.flash(crate::web::flash::Kind::Success, "task.tags.saved").await;
    Ok(axum::response::Redirect::to("/tasks/tags").into_response())
}

/// POST /tasks/tags/{tag}: rename / recolour one of mine.
pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(tag): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let (name, color) = check(&form, &mut errors);
    if let Some(e) = errors.get("name") {
        ctx.flash_text(crate::web::flash::Kind::Error, e.to_string()).await;
        return Ok(axum::response::Redirect::to("/tasks/tags").into_response());
    }
    let saved = repo::update_tag(&st.db, user.id, tag, &name, &color)
        .await
        .on_constraint("task_tags_user_id_name_key", || ())?;
    match saved {
        Ok(true) => ctx.flash(crate::web::flash::Kind::Success, "task.tags.saved").await,
        Ok(false) => return Err(AppError::NotFound),
        Err(()) => ctx.flash(crate::web::flash::Kind::Error, "task.error.tag_taken").await,
    }
    Ok(axum::response::Redirect::to("/tasks/tags").into_response())
}

pub async fn delete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(tag): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    if !repo::delete_tag(&st.db, user.id, tag).await? {
        return Err(AppError::NotFound);
    }
    ctx.flash(crate::web::flash::Kind::Success, "task.tags.deleted").await;
    Ok(axum::response::Redirect::to("/tasks/tags").into_response())
}
