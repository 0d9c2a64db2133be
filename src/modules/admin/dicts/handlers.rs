//! Dictionary admin pages: the list of dictionaries, one dictionary's items (add, edit, reorder,
//! enable/disable, delete when unused).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;

use super::model::{DictRow, ItemForm, ItemInput, reorder};
use super::repo;
use crate::audit::{self, Entry};
use crate::db::Tx;
use crate::dicts::{self, DictItem, Dicts};
use crate::error::{AppError, AppResult, FOREIGN_KEY, ResultExt};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, render};

type Fields = Vec<(String, String)>;

#[derive(Template)]
#[template(path = "admin/dicts/index.html")]
struct IndexPage {
    ctx: PageCtx,
    dicts: Vec<DictRow>,
}

crate::page!(IndexPage);

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    let dicts = repo::list(&st.db).await?;
    render(IndexPage { ctx, dicts }).await
}

/// One line of a dictionary's item table.
pub struct ItemRow {
    pub item: DictItem,
    pub depth: usize,
    /// Enabled itself but under a disabled parent.
    pub parent_off: bool,
    pub first: bool,
    pub last: bool,
    /// The extras as shown, one per declared extra.
    pub extras: Vec<Option<String>>,
}

impl ItemRow {
    pub fn indent_class(&self) -> String {
        format!("indent-{}", self.depth.min(8))
    }

    pub fn label(&self, lang: &Lang) -> &str {
        self.item.label(*lang)
    }
}

#[derive(Template)]
#[template(path = "admin/dicts/show.html")]
struct ShowPage {
    ctx: PageCtx,
    dict: DictRow,
    rows: Vec<ItemRow>,
    parent_options: Vec<SelectOpt>,
    form: ItemForm,
    errors: FormErrors,
}

crate::page!(ShowPage);

#[derive(Template)]
#[template(path = "admin/dicts/edit.html")]
struct EditPage {
    ctx: PageCtx,
    dict: DictRow,
    id: i64,
    title: String,
    parent_options: Vec<SelectOpt>,
    form: ItemForm,
    errors: FormErrors,
}

crate::page!(EditPage);

async fn load_dict(db: &mut PgConnection, code: &str) -> AppResult<DictRow> {
    repo::find_dict(db, code).await?.ok_or(AppError::NotFound)
}

/// The item table in display order, with sibling edges for the ↑ ↓ buttons.
fn rows(dict: &DictRow, d: &Dicts, lang: Lang) -> Vec<ItemRow> {
    let items = d.items(&dict.code);
    let parent_of = |it: &DictItem| it.parent_id.filter(|p| d.get(*p).is_some());
    items
        .iter()
        .map(|it| {
            let siblings: Vec<i64> = items.iter().filter(|o| parent_of(o) == parent_of(it)).map(|o| o.id).collect();
            ItemRow {
                item: (*it).clone(),
                depth: d.depth(it.id),
                parent_off: it.enabled && !d.is_active(it.id),
                first: siblings.first() == Some(&it.id),
                last: siblings.last() == Some(&it.id),
                extras: dict.specs().iter().map(|s| s.display(lang, &it.extra)).collect(),
            }
        })
        .collect()
}

/// Parent choices: every item of the tree except `exclude` (the edited item and its subtree),
/// indented, disabled ones marked.
fn parent_options(dict: &DictRow, d: &Dicts, lang: Lang, exclude: &[i64]) -> Vec<SelectOpt> {
    if !dict.is_tree {
        return Vec::new();
    }
    d.items(&dict.code)
        .into_iter()
        .filter(|it| !exclude.contains(&it.id))
        .map(|it| {
            let label = if d.is_active(it.id) {
                it.label(lang).to_string()
            } else {
                lang.tf("dicts.disabled_label", &[("label", it.label(lang))])
            };
            SelectOpt::new(it.id, format!("{}{label}", "　".repeat(d.depth(it.id))))
        })
        .collect()
}

async fn show_page(
    st: &AppState,
    ctx: PageCtx,
    dict: DictRow,
    form: ItemForm,
    errors: FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let d = Dicts::from_items(repo::items(&mut conn, &dict.code).await?);
    drop(conn);
    let page = ShowPage {
        rows: rows(&dict, &d, ctx.lang),
        parent_options: parent_options(&dict, &d, ctx.lang, &[]),
        dict,
        form,
        errors,
        ctx,
    };
    Ok((status, render(page).await?).into_response())
}

pub async fn show(State(st): State<AppState>, ctx: PageCtx, Path(code): Path<String>) -> AppResult<Response> {
    let dict = load_dict(&mut *st.db.acquire().await?, &code).await?;
    let form = ItemForm::blank(dict.specs());
    let errors = FormErrors::new(ctx.lang);
    show_page(&st, ctx, dict, form, errors, StatusCode::OK).await
}

fn back(code: &str) -> Response {
    Redirect::to(&format!("/admin/dicts/{code}")).into_response()
}

/// The audit value of an extra (None → null).
fn extra_value(extra: &Value, key: &str) -> Value {
    extra.get(key).cloned().unwrap_or(Value::Null)
}

/// The parent must be an item of the same dictionary outside the item's own subtree.
async fn check_parent(
    db: &mut PgConnection,
    errors: &mut FormErrors,
    dict: &str,
    input: &ItemInput,
    own_subtree: &[i64],
) -> AppResult<()> {
    if let Some(p) = input.parent_id {
        if own_subtree.contains(&p) {
            errors.add("parent_id", "dicts.cycle");
        } else if repo::find_item(db, dict, p).await?.is_none() {
            errors.add("parent_id", "form.invalid");
        }
    }
    Ok(())
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(code): Path<String>,
    Form(fields): Form<Fields>,
) -> AppResult<Response> {
    let user = req.user()?;
    let dict = load_dict(&mut tx, &code).await?;
    let form = ItemForm::from_pairs(&fields, dict.specs());
    let mut errors = FormErrors::new(ctx.lang);
    let input = form.validate(&mut errors, dict.is_tree);
    if let Some(input) = &input {
        check_parent(&mut tx, &mut errors, &code, input, &[]).await?;
    }
    let Some(input) = input.filter(|_| errors.is_empty()) else {
        drop(tx);
        return show_page(&st, ctx, dict, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let extra = input.merged_extra(&Value::Object(Default::default()));
    let (id, position) = repo::insert(
        &mut tx,
        &repo::NewItem {
            dict: &code,
            parent_id: input.parent_id,
            label_zh: &input.label_zh,
            label_en: &input.label_en,
            extra: &extra,
        },
    )
    .await?;
    let mut entry = Entry::new("dict_item", id, "create")
        .change("label_zh", Value::Null, input.label_zh.clone())
        .change("label_en", Value::Null, input.label_en.clone())
        .change("parent", Value::Null, audit::opt(repo::label_of(&mut tx, input.parent_id).await?))
        .change("position", Value::Null, position);
    for s in dict.specs() {
        entry = entry.change(&format!("extra.{}", s.key), Value::Null, extra_value(&extra, &s.key));
    }
    entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("dicts.created", "name", item_name(ctx.lang, &input))).await;
    Ok(back(&code))
}

fn item_name(lang: Lang, input: &ItemInput) -> &str {
    match lang {
        Lang::Zh => &input.label_zh,
        Lang::En => &input.label_en,
    }
}

async fn edit_page(
    st: &AppState,
    ctx: PageCtx,
    dict: DictRow,
    item: &DictItem,
    form: ItemForm,
    errors: FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let d = Dicts::from_items(repo::items(&mut conn, &dict.code).await?);
    let below = if dict.is_tree { repo::subtree_ids(&mut conn, item.id).await? } else { Vec::new() };
    drop(conn);
    let page = EditPage {
        title: ctx.tf1("dicts.edit_title", "name", item.label(ctx.lang)),
        parent_options: parent_options(&dict, &d, ctx.lang, &below),
        id: item.id,
        dict,
        form,
        errors,
        ctx,
    };
    Ok((status, render(page).await?).into_response())
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path((code, id)): Path<(String, i64)>,
) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let dict = load_dict(&mut conn, &code).await?;
    let item = repo::find_item(&mut conn, &code, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let form = ItemForm::from_item(&item, dict.specs());
    let errors = FormErrors::new(ctx.lang);
    edit_page(&st, ctx, dict, &item, form, errors, StatusCode::OK).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path((code, id)): Path<(String, i64)>,
    Form(fields): Form<Fields>,
) -> AppResult<Response> {
    let user = req.user()?;
    let dict = load_dict(&mut tx, &code).await?;
    let old = repo::find_item(&mut tx, &code, id).await?.ok_or(AppError::NotFound)?;
    let form = ItemForm::from_pairs(&fields, dict.specs());
    let mut errors = FormErrors::new(ctx.lang);
    let input = form.validate(&mut errors, dict.is_tree);
    if let Some(input) = &input {
        let below = repo::subtree_ids(&mut tx, id).await?;
        check_parent(&mut tx, &mut errors, &code, input, &below).await?;
    }
    let Some(input) = input.filter(|_| errors.is_empty()) else {
        drop(tx);
        return edit_page(&st, ctx, dict, &old, form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let extra = input.merged_extra(&old.extra);
    let position = repo::update(&mut tx, &old, input.parent_id, &input.label_zh, &input.label_en, &extra).await?;
    let mut entry = Entry::new("dict_item", id, "update")
        .change("label_zh", old.label_zh.clone(), input.label_zh.clone())
        .change("label_en", old.label_en.clone(), input.label_en.clone())
        .change(
            "parent",
            audit::opt(repo::label_of(&mut tx, old.parent_id).await?),
            audit::opt(repo::label_of(&mut tx, input.parent_id).await?),
        )
        .change("position", old.position, position);
    for s in dict.specs() {
        entry = entry.change(&format!("extra.{}", s.key), extra_value(&old.extra, &s.key), extra_value(&extra, &s.key));
    }
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("dicts.saved", "name", item_name(ctx.lang, &input))).await;
    Ok(back(&code))
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    dir: String,
}

pub async fn move_item(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path((code, id)): Path<(String, i64)>,
    Form(form): Form<MoveForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let up = match form.dir.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(AppError::BadRequest("form.invalid")),
    };
    let mut tx = st.db.begin().await?;
    let item = repo::find_item(&mut tx, &code, id).await?.ok_or(AppError::NotFound)?;
    let siblings = repo::siblings(&mut tx, &code, item.parent_id).await?;
    let changes = reorder(&siblings, id, up);
    if changes.is_empty() {
        return Ok(back(&code));
    }
    for (item_id, old, new) in changes {
        repo::set_position(&mut tx, item_id, new).await?;
        Entry::new("dict_item", item_id, "update")
            .change("position", old, new)
            .write(&mut tx, Some(user.id), req.ip.as_deref())
            .await?;
    }
    tx.commit().await?;
    ctx.flash(Kind::Success, "dicts.moved").await;
    Ok(back(&code))
}

pub async fn toggle(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path((code, id)): Path<(String, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    let item = repo::find_item(&mut tx, &code, id).await?.ok_or(AppError::NotFound)?;
    let enabled = !item.enabled;
    repo::set_enabled(&mut tx, id, enabled).await?;
    Entry::new("dict_item", id, "update")
        .change("enabled", item.enabled, enabled)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    let key = if enabled { "dicts.enabled_done" } else { "dicts.disabled_done" };
    ctx.flash_text(Kind::Success, ctx.tf1(key, "name", item.label(ctx.lang))).await;
    Ok(back(&code))
}

pub async fn delete(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path((code, id)): Path<(String, i64)>,
) -> AppResult<Response> {
    let user = req.user()?;
    let item = repo::find_item(&mut tx, &code, id).await?.ok_or(AppError::NotFound)?;
    let refused = ctx.tf1("dicts.in_use", "name", item.label(ctx.lang));
    if dicts::in_use(&mut tx, id).await? {
        drop(tx);
        ctx.flash_text(Kind::Error, refused).await;
        return Ok(back(&code));
    }
    // A reference added since the check still stops the delete (foreign key violation).
    if repo::delete(&mut tx, id).await.on_constraint(FOREIGN_KEY, || ())?.is_err() {
        drop(tx);
        ctx.flash_text(Kind::Error, refused).await;
        return Ok(back(&code));
    }
    Entry::new("dict_item", id, "delete")
        .note(format!("{} / {}", item.label_zh, item.label_en))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("dicts.deleted", "name", item.label(ctx.lang))).await;
    Ok(back(&code))
}
