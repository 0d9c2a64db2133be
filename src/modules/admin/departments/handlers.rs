use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::repo::{self, Dept, DeptNode};
use crate::app::AppState;
use crate::audit::{self, Entry};
use crate::error::{AppError, AppResult};
use crate::modules::admin::users::repo as users;
use crate::web::flash::Kind;
use crate::web::forms::{opt_id, opt_text};
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, render};

#[derive(Deserialize, Default, Clone)]
pub struct DeptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    head_id: String,
}

#[derive(Template)]
#[template(path = "admin/departments/index.html")]
struct IndexPage {
    ctx: PageCtx,
    nodes: Vec<DeptNode>,
    dept_options: Vec<SelectOpt>,
    user_options: Vec<SelectOpt>,
    form: DeptForm,
    errors: FormErrors,
}

#[derive(Template)]
#[template(path = "admin/departments/edit.html")]
struct EditPage {
    ctx: PageCtx,
    id: i64,
    is_root: bool,
    parent_options: Vec<SelectOpt>,
    user_options: Vec<SelectOpt>,
    form: DeptForm,
    errors: FormErrors,
}

async fn index_page(st: &AppState, ctx: PageCtx, form: DeptForm, errors: FormErrors) -> AppResult<IndexPage> {
    Ok(IndexPage {
        nodes: repo::tree(repo::all(&st.db).await?),
        dept_options: repo::options(&st.db).await?,
        user_options: users::options(&st.db, true).await?,
        ctx,
        form,
        errors,
    })
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let errors = FormErrors::new(ctx.lang);
    let form = DeptForm::default();
    Ok(render(index_page(&st, ctx, form, errors).await?)?.into_response())
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<DeptForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    errors.require("name", &form.name);
    let parent = opt_id(&mut errors, "parent_id", &form.parent_id);
    if parent.is_none() {
        errors.add("parent_id", "form.required");
    }
    let head = opt_id(&mut errors, "head_id", &form.head_id);
    if !errors.is_empty() {
        let page = index_page(&st, ctx, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page)?).into_response());
    }
    let name = form.name.trim().to_string();
    let mut tx = st.db.begin().await?;
    let parent_name = repo::name_of(&mut tx, parent).await?.ok_or(AppError::BadRequest("form.invalid"))?;
    let id = repo::insert(&mut tx, &name, parent.unwrap_or_default(), head, user.id).await?;
    let head_name = users::name_of(&mut tx, head).await?;
    Entry::new("department", id, "create")
        .change("name", audit::opt::<String>(None), name.clone())
        .change("parent", audit::opt::<String>(None), parent_name)
        .change("head", audit::opt::<String>(None), audit::opt(head_name))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("dept.created", "name", &name)).await;
    Ok(Redirect::to("/admin/departments").into_response())
}

pub async fn edit(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let d = repo::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    let form = DeptForm {
        name: d.name.clone(),
        parent_id: d.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        head_id: d.head_id.map(|h| h.to_string()).unwrap_or_default(),
    };
    let errors = FormErrors::new(ctx.lang);
    Ok(render(edit_page(&st, ctx, &d, form, errors).await?)?.into_response())
}

async fn edit_page(st: &AppState, ctx: PageCtx, d: &Dept, form: DeptForm, errors: FormErrors) -> AppResult<EditPage> {
    // A department cannot move under itself or anything below it.
    let mut conn = st.db.acquire().await?;
    let below = repo::subtree_ids(&mut conn, d.id).await?;
    let parent_options = repo::options(&st.db)
        .await?
        .into_iter()
        .filter(|o| o.value.parse::<i64>().map(|v| !below.contains(&v)).unwrap_or(true))
        .collect();
    Ok(EditPage {
        id: d.id,
        is_root: d.parent_id.is_none(),
        parent_options,
        user_options: users::options(&st.db, true).await?,
        ctx,
        form,
        errors,
    })
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    Form(form): Form<DeptForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut tx = st.db.begin().await?;
    let old = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::new(ctx.lang);
    errors.require("name", &form.name);
    let head = opt_id(&mut errors, "head_id", &form.head_id);
    let parent = if old.parent_id.is_none() {
        None // the root stays the root
    } else {
        let p = opt_id(&mut errors, "parent_id", &form.parent_id);
        match p {
            None => errors.add("parent_id", "form.required"),
            Some(p) if repo::subtree_ids(&mut tx, id).await?.contains(&p) => errors.add("parent_id", "dept.cycle"),
            Some(_) => {}
        }
        p
    };
    if !errors.is_empty() {
        drop(tx);
        let page = edit_page(&st, ctx, &old, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page)?).into_response());
    }
    let new = Dept { id, parent_id: parent, name: opt_text(&form.name).unwrap_or_default(), head_id: head };
    repo::update(&mut tx, &new).await?;
    let entry = Entry::new("department", id, "update")
        .change("name", old.name.clone(), new.name.clone())
        .change(
            "parent",
            audit::opt(repo::name_of(&mut tx, old.parent_id).await?),
            audit::opt(repo::name_of(&mut tx, new.parent_id).await?),
        )
        .change(
            "head",
            audit::opt(users::name_of(&mut tx, old.head_id).await?),
            audit::opt(users::name_of(&mut tx, new.head_id).await?),
        );
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    tx.commit().await?;
    ctx.flash(Kind::Success, "dept.saved").await;
    Ok(Redirect::to("/admin/departments").into_response())
}

pub async fn delete(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut tx = st.db.begin().await?;
    let d = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let (members, children) = repo::occupancy(&mut tx, id).await?;
    let refusal = if d.parent_id.is_none() {
        Some(ctx.t("dept.delete_root").to_string())
    } else if members > 0 || children > 0 {
        Some(ctx.lang.tf(
            "dept.delete_refused",
            &[("name", &d.name), ("users", &members.to_string()), ("children", &children.to_string())],
        ))
    } else {
        None
    };
    if let Some(text) = refusal {
        ctx.flash_text(Kind::Error, text).await;
        return Ok(Redirect::to("/admin/departments").into_response());
    }
    repo::delete(&mut tx, id).await?;
    Entry::new("department", id, "delete")
        .note(d.name.clone())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    tx.commit().await?;
    ctx.flash_text(Kind::Success, ctx.tf1("dept.deleted", "name", &d.name)).await;
    Ok(Redirect::to("/admin/departments").into_response())
}
