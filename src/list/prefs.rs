//! Per-user list preferences, the same for every list: saved scenes (save, rename, delete, make
//! default) and the column chooser. A module plugs in with `ListModule` and `routes::<M>()`.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::Deserialize;

use super::columns::{self, Column, ColumnChoice};
use super::scenes::{self, SavedScene};
use crate::access::{Action, Guard, Module, Routes};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::records::Record;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{PageCtx, RequestCtx, render};

pub trait ListModule: Send + Sync + 'static {
    /// The list's path, e.g. "/customers".
    fn path() -> &'static str;
    /// The permission module whose `view` guards these pages; its code keys the user's saved
    /// scenes and columns, and `nav.<code>` is the list's title.
    fn perm() -> Module;

    fn columns(
        st: &AppState,
        user: &CurrentUser,
        lang: Lang,
    ) -> impl std::future::Future<Output = AppResult<Vec<Column>>> + Send;
}

/// Every record kind's list has the shared scene and column pages.
impl<R: Record> ListModule for R {
    fn path() -> &'static str {
        R::DEF.path
    }

    fn perm() -> Module {
        R::DEF.module
    }

    async fn columns(st: &AppState, user: &CurrentUser, lang: Lang) -> AppResult<Vec<Column>> {
        <R as Record>::columns(st, user, lang).await
    }
}

fn title<M: ListModule>() -> String {
    format!("nav.{}", M::perm().code())
}

fn path<M: ListModule>(suffix: &str) -> &'static str {
    // Built once per module at start-up; leaking keeps Routes' `&'static str` contract simple.
    Box::leak(format!("{}{suffix}", M::path()).into_boxed_str())
}

pub fn routes<M: ListModule>() -> Routes {
    let g = Guard::Perm(M::perm(), Action::View);
    Routes::new()
        .get(path::<M>("/scenes"), g, scenes_page::<M>)
        .post(path::<M>("/scenes"), g, save_scene::<M>)
        .post(path::<M>("/scenes/{id}/rename"), g, rename_scene::<M>)
        .post(path::<M>("/scenes/{id}/delete"), g, delete_scene::<M>)
        .post(path::<M>("/scenes/{id}/default"), g, default_scene::<M>)
        .get(path::<M>("/columns"), g, columns_page::<M>)
        .post(path::<M>("/columns"), g, save_columns::<M>)
        .post(path::<M>("/columns/reset"), g, reset_columns::<M>)
}

#[derive(Template)]
#[template(path = "list/scenes.html")]
struct ScenesPage {
    ctx: PageCtx,
    path: &'static str,
    title: &'static str,
    scenes: Vec<SavedScene>,
}

crate::page!(ScenesPage);

async fn scenes_page<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let scenes = scenes::saved(&st.db, user.id, M::perm().code()).await?;
    render(ScenesPage { title: ctx.t(&title::<M>()), ctx, path: M::path(), scenes }).await
}

#[derive(Deserialize, Default)]
pub struct SceneForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

async fn save_scene<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(f): Form<SceneForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let name = f.name.trim();
    if name.is_empty() || name.chars().count() > 30 {
        ctx.flash(Kind::Error, "list.scene_name_invalid").await;
        return Ok(Redirect::to(&back::<M>(&f.query)).into_response());
    }
    scenes::save(&st.db, user.id, M::perm().code(), name, &f.query).await?;
    ctx.flash_text(Kind::Success, ctx.tf1("list.scene_saved", "name", name)).await;
    Ok(Redirect::to(&back::<M>(&f.query)).into_response())
}

fn back<M: ListModule>(query: &str) -> String {
    let q = scenes::strip_paging(query);
    if q.is_empty() { format!("{}?scene=all", M::path()) } else { format!("{}?{q}", M::path()) }
}

async fn rename_scene<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(f): Form<SceneForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    own_scene::<M>(&st, user.id, id).await?;
    let name = f.name.trim();
    let ok = !name.is_empty() && name.chars().count() <= 30 && scenes::rename(&st.db, user.id, id, name).await?;
    ctx.flash(
        if ok { Kind::Success } else { Kind::Error },
        if ok { "list.scene_renamed" } else { "list.scene_name_invalid" },
    )
    .await;
    Ok(Redirect::to(path::<M>("/scenes")).into_response())
}

async fn delete_scene<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    own_scene::<M>(&st, user.id, id).await?;
    scenes::delete(&st.db, user.id, id).await?;
    ctx.flash(Kind::Success, "list.scene_deleted").await;
    Ok(Redirect::to(path::<M>("/scenes")).into_response())
}

/// Make the scene the default, or clear it when it already is.
async fn default_scene<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let s = own_scene::<M>(&st, user.id, id).await?;
    scenes::set_default(&st.db, user.id, M::perm().code(), (!s.is_default).then_some(id)).await?;
    ctx.flash(Kind::Success, if s.is_default { "list.default_cleared" } else { "list.default_set" }).await;
    Ok(Redirect::to(path::<M>("/scenes")).into_response())
}

/// The user's own scene of this list; another's (or another list's, or none) is a 404.
async fn own_scene<M: ListModule>(st: &AppState, user: i64, id: i64) -> AppResult<SavedScene> {
    let saved = scenes::saved(&st.db, user, M::perm().code()).await?;
    saved.into_iter().find(|s| s.id == id).ok_or(AppError::NotFound)
}

#[derive(Template)]
#[template(path = "list/columns.html")]
struct ColumnsPage {
    ctx: PageCtx,
    path: &'static str,
    title: &'static str,
    choice: ColumnChoice,
}

crate::page!(ColumnsPage);

impl ColumnsPage {
    fn label(&self, c: &Column) -> String {
        if c.label_is_text { c.label.clone() } else { self.ctx.t(&c.label).to_string() }
    }
    /// Visible columns first in their order, then the hidden ones.
    fn ordered(&self) -> Vec<Column> {
        let mut cols = self.choice.columns();
        cols.extend(self.choice.available.iter().filter(|c| !self.choice.is_visible(&c.key)).cloned());
        cols
    }
}

async fn columns_page<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let choice = ColumnChoice::load(&st.db, user.id, M::perm().code(), M::columns(&st, user, ctx.lang).await?).await?;
    render(ColumnsPage { title: ctx.t(&title::<M>()), ctx, path: M::path(), choice }).await
}

#[derive(Deserialize, Default)]
pub struct ColumnsForm {
    /// Every column key, in the order shown.
    #[serde(default)]
    key: Vec<String>,
    /// The order number typed for each key (same positions as `key`).
    #[serde(default)]
    order: Vec<String>,
    /// Keys ticked as visible.
    #[serde(default)]
    show: Vec<String>,
}

async fn save_columns<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(f): Form<ColumnsForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let available = M::columns(&st, user, ctx.lang).await?;
    let mut ranked: Vec<(f64, usize, String)> = f
        .key
        .iter()
        .enumerate()
        .filter(|(_, k)| f.show.contains(k))
        .map(|(i, k)| (f.order.get(i).and_then(|o| o.trim().parse().ok()).unwrap_or(i as f64 + 1.0), i, k.clone()))
        .collect();
    ranked.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
    let keys: Vec<String> = ranked.into_iter().map(|(_, _, k)| k).collect();
    columns::save(&st.db, user.id, M::perm().code(), &available, &keys).await?;
    ctx.flash(Kind::Success, "list.columns_saved").await;
    Ok(Redirect::to(M::path()).into_response())
}

async fn reset_columns<M: ListModule>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
) -> AppResult<Response> {
    let user = req.user()?;
    columns::reset(&st.db, user.id, M::perm().code()).await?;
    ctx.flash(Kind::Success, "list.columns_reset").await;
    Ok(Redirect::to(M::path()).into_response())
}
