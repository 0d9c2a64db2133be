use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use crate::audit::Entry;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldDef, FieldInput, Kind};
use crate::org::users;
use crate::state::AppState;
use crate::web::flash::Kind as Flash;
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, render};

#[derive(Deserialize, Default)]
pub struct EntityParam {
    #[serde(default)]
    entity: String,
}

impl EntityParam {
    fn entity(&self) -> &str {
        if fields::is_entity(&self.entity) { &self.entity } else { "customer" }
    }
}

fn entity_tabs(ctx: &PageCtx, current: &str) -> Vec<(String, String, bool)> {
    fields::entities()
        .into_iter()
        .map(|(e, _)| (e.to_string(), ctx.t(&format!("fields.entity.{e}")).to_string(), e == current))
        .collect()
}

#[derive(Template)]
#[template(path = "admin/fields/index.html")]
struct IndexPage {
    ctx: PageCtx,
    entity: String,
    tabs: Vec<(String, String, bool)>,
    defs: Vec<FieldDef>,
}

crate::page!(IndexPage);

impl IndexPage {
    fn kind_label(&self, d: &FieldDef) -> &'static str {
        self.ctx.t(&format!("fields.kind.{}", d.kind))
    }
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<EntityParam>) -> AppResult<Html<String>> {
    let entity = q.entity().to_string();
    let defs = fields::all_defs(&st.db, &entity).await?;
    render(IndexPage { tabs: entity_tabs(&ctx, &entity), ctx, entity, defs }).await
}

#[derive(Deserialize, Default, Clone)]
pub struct DefForm {
    #[serde(default)]
    entity: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    label_zh: String,
    #[serde(default)]
    label_en: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    options: String,
    #[serde(default)]
    required: Option<String>,
    #[serde(default)]
    is_unique: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/fields/form.html")]
struct FormPage {
    ctx: PageCtx,
    id: Option<i64>,
    form: DefForm,
    errors: FormErrors,
    kinds: Vec<SelectOpt>,
}

crate::page!(FormPage);

impl FormPage {
    fn entity_label(&self) -> &'static str {
        self.ctx.t(&format!("fields.entity.{}", self.form.entity))
    }
    fn kind_label(&self) -> &'static str {
        self.ctx.t(&format!("fields.kind.{}", self.form.kind))
    }
}

fn form_page(ctx: PageCtx, id: Option<i64>, form: DefForm, errors: FormErrors) -> FormPage {
    let kinds =
        Kind::ALL.iter().map(|k| SelectOpt::new(k.code(), ctx.t(&format!("fields.kind.{}", k.code())))).collect();
    FormPage { ctx, id, form, errors, kinds }
}

pub async fn new(ctx: PageCtx, Query(q): Query<EntityParam>) -> AppResult<Html<String>> {
    let form = DefForm { entity: q.entity().to_string(), kind: "text".into(), ..Default::default() };
    let errors = FormErrors::new(ctx.lang);
    render(form_page(ctx, None, form, errors)).await
}

/// Validated values of the form.
struct Checked {
    options: Vec<fields::Choice>,
    required: bool,
    is_unique: bool,
}

fn check(form: &DefForm, kind: Option<Kind>, errors: &mut FormErrors) -> Checked {
    errors.require("label_zh", &form.label_zh);
    errors.require("label_en", &form.label_en);
    let options = match kind {
        Some(k) if k.has_options() => match fields::parse_options(&form.options) {
            Ok(o) if o.is_empty() => {
                errors.add("options", "fields.error.options_needed");
                o
            }
            Ok(o) => o,
            Err(key) => {
                errors.add("options", key);
                Vec::new()
            }
        },
        _ => Vec::new(),
    };
    // A yes/no field cannot be unique: only two values exist.
    let is_unique = form.is_unique.is_some() && !matches!(kind, Some(Kind::Boolean) | Some(Kind::MultiSelect));
    Checked { options, required: form.required.is_some(), is_unique }
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    axum::Form(form): axum::Form<DefForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    if !fields::is_entity(&form.entity) {
        return Err(AppError::BadRequest("form.invalid"));
    }
    let key = form.key.trim().to_string();
    let key_ok = key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !key_ok {
        errors.add("key", "fields.error.key");
    }
    let kind = Kind::from_code(&form.kind);
    if kind.is_none() {
        errors.add("kind", "fields.error.kind");
    }
    let c = check(&form, kind, &mut errors);
    let mut tx = st.db.begin().await?;
    let taken: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM field_defs WHERE entity = $1 AND key = $2)")
        .bind(&form.entity)
        .bind(&key)
        .fetch_one(&mut *tx)
        .await?;
    if taken {
        errors.add("key", "fields.error.key_taken");
    }
    if !errors.is_empty() {
        drop(tx);
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, render(form_page(ctx, None, form, errors)).await?).into_response()
        );
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO field_defs (entity, key, label_zh, label_en, kind, options, required, is_unique, position, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                 (SELECT COALESCE(max(position), 0) + 1 FROM field_defs WHERE entity = $1), $9)
         RETURNING id",
    )
    .bind(&form.entity)
    .bind(&key)
    .bind(form.label_zh.trim())
    .bind(form.label_en.trim())
    .bind(&form.kind)
    .bind(sqlx::types::Json(&c.options))
    .bind(c.required)
    .bind(c.is_unique)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    Entry::new("field_def", id, "create")
        .note(format!("{}.{} ({})", form.entity, key, form.kind))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    ctx.flash_text(Flash::Success, ctx.tf1("fields.created", "name", form.label_zh.trim())).await;
    Ok(Redirect::to(&format!("/admin/fields?entity={}", form.entity)).into_response())
}

pub async fn edit(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Html<String>> {
    let mut conn = st.db.acquire().await?;
    let d = fields::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let form = DefForm {
        entity: d.entity.clone(),
        key: d.key.clone(),
        label_zh: d.label_zh.clone(),
        label_en: d.label_en.clone(),
        kind: d.kind.clone(),
        options: fields::options_text(&d.options),
        required: d.required.then(|| "1".into()),
        is_unique: d.is_unique.then(|| "1".into()),
    };
    let errors = FormErrors::new(ctx.lang);
    render(form_page(ctx, Some(id), form, errors)).await
}

/// Key and type stay as created; labels, options and flags change.
pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
    axum::Form(mut form): axum::Form<DefForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let old = fields::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    form.entity = old.entity.clone();
    form.key = old.key.clone();
    form.kind = old.kind.clone();
    let mut errors = FormErrors::new(ctx.lang);
    let c = check(&form, Some(old.kind()), &mut errors);
    if c.is_unique && !old.is_unique {
        if let Some(v) = fields::first_repeat(&mut tx, &old.entity, &old.key).await? {
            let shown = fields::display(&old, Some(&v), ctx.lang, st.config.timezone, &Default::default());
            let shown = if shown.is_empty() { v.to_string() } else { shown };
            errors.add_text("is_unique", ctx.tf1("fields.error.unique_repeats", "value", &shown));
        }
    }
    if !errors.is_empty() {
        drop(tx);
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, render(form_page(ctx, Some(id), form, errors)).await?).into_response()
        );
    }
    sqlx::query(
        "UPDATE field_defs SET label_zh = $2, label_en = $3, options = $4, required = $5, is_unique = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(form.label_zh.trim())
    .bind(form.label_en.trim())
    .bind(sqlx::types::Json(&c.options))
    .bind(c.required)
    .bind(c.is_unique)
    .execute(&mut *tx)
    .await?;
    let entry = Entry::new("field_def", id, "update")
        .change("label_zh", old.label_zh.clone(), form.label_zh.trim())
        .change("label_en", old.label_en.clone(), form.label_en.trim())
        .change("options", fields::options_text(&old.options), fields::options_text(&c.options))
        .change("required", old.required, c.required)
        .change("is_unique", old.is_unique, c.is_unique);
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    tx.commit().await?;
    ctx.flash(Flash::Success, "fields.saved").await;
    Ok(Redirect::to(&format!("/admin/fields?entity={}", old.entity)).into_response())
}

#[derive(Deserialize)]
pub struct MoveForm {
    dir: String,
}

/// Swap positions with the neighbour above or below.
pub async fn move_field(
    State(_st): State<AppState>,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<MoveForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let d = fields::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    sqlx::query("SELECT id FROM field_defs WHERE entity = $1 FOR UPDATE").bind(&d.entity).fetch_all(&mut *tx).await?;
    let (cmp, order) = if f.dir == "up" { ("<", "DESC") } else { (">", "ASC") };
    let neighbour: Option<(i64, i32)> = sqlx::query_as(&format!(
        "SELECT id, position FROM field_defs WHERE entity = $1 AND (position, id) {cmp} ($2, $3)
         ORDER BY position {order}, id {order} LIMIT 1"
    ))
    .bind(&d.entity)
    .bind(d.position)
    .bind(d.id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((nid, npos)) = neighbour {
        // Equal positions would not swap; spread them first.
        let (mine, theirs) = if npos == d.position {
            (npos + if f.dir == "up" { -1 } else { 1 }, d.position)
        } else {
            (npos, d.position)
        };
        sqlx::query("UPDATE field_defs SET position = $2 WHERE id = $1").bind(id).bind(mine).execute(&mut *tx).await?;
        sqlx::query("UPDATE field_defs SET position = $2 WHERE id = $1")
            .bind(nid)
            .bind(theirs)
            .execute(&mut *tx)
            .await?;
        Entry::new("field_def", id, "update")
            .change("position", d.position, mine)
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/fields?entity={}", d.entity)).into_response())
}

pub async fn toggle(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let d = fields::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    sqlx::query("UPDATE field_defs SET active = NOT active WHERE id = $1").bind(id).execute(&mut *tx).await?;
    Entry::new("field_def", id, "update")
        .change("active", d.active, !d.active)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    ctx.flash(Flash::Success, if d.active { "fields.deactivated" } else { "fields.activated" }).await;
    Ok(Redirect::to(&format!("/admin/fields?entity={}", d.entity)).into_response())
}

#[derive(Template)]
#[template(path = "admin/fields/preview.html")]
struct PreviewPage {
    ctx: PageCtx,
    entity: String,
    tabs: Vec<(String, String, bool)>,
    inputs: Vec<FieldInput>,
    result: Option<String>,
}

crate::page!(PreviewPage);

async fn preview_page(
    st: &AppState,
    ctx: PageCtx,
    entity: String,
    pairs: Option<Vec<(String, String)>>,
) -> AppResult<(StatusCode, PreviewPage)> {
    let defs = fields::defs(&st.db, &entity).await?;
    let user_options = users::options(&st.db, true).await?;
    let ids: Vec<i64> = user_options.iter().filter_map(|o| o.value.parse().ok()).collect();
    let mut errors = FormErrors::new(ctx.lang);
    let (status, result) = match &pairs {
        Some(p) => {
            let values = fields::parse(&defs, p, None, st.config.timezone, &ids, &mut errors);
            if errors.is_empty() {
                (StatusCode::OK, Some(serde_json::to_string_pretty(&json!(values)).unwrap_or_default()))
            } else {
                (StatusCode::UNPROCESSABLE_ENTITY, None)
            }
        }
        None => (StatusCode::OK, None),
    };
    let inputs = fields::inputs(
        &defs,
        &Default::default(),
        pairs.as_deref(),
        &errors,
        ctx.lang,
        st.config.timezone,
        &user_options,
        &Default::default(),
    );
    Ok((status, PreviewPage { tabs: entity_tabs(&ctx, &entity), ctx, entity, inputs, result }))
}

pub async fn preview(State(st): State<AppState>, ctx: PageCtx, Query(q): Query<EntityParam>) -> AppResult<Response> {
    let (status, page) = preview_page(&st, ctx, q.entity().to_string(), None).await?;
    Ok((status, render(page).await?).into_response())
}

pub async fn preview_submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(q): Query<EntityParam>,
    body: Bytes,
) -> AppResult<Response> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let (status, page) = preview_page(&st, ctx, q.entity().to_string(), Some(pairs)).await?;
    Ok((status, render(page).await?).into_response())
}
