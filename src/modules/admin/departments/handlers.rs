use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sqlx::PgConnection;

use super::repo::{self, Dept, DeptNode};
use crate::audit::{self, Entry};
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::org::users;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::forms::{opt_id, opt_text};
use crate::web::i18n::Lang;
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

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

crate::page!(IndexPage);

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

crate::page!(EditPage);

async fn index_page(st: &AppState, ctx: PageCtx, form: DeptForm, errors: FormErrors) -> AppResult<IndexPage> {
    Ok(IndexPage {
        nodes: repo::tree(repo::all(&st.db).await?),
        dept_options: crate::org::departments::options(&st.db).await?,
        user_options: users::options(&st.db, true).await?,
        ctx,
        form,
        errors,
    })
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let errors = FormErrors::new(ctx.lang);
    let form = DeptForm::default();
    Ok(render(index_page(&st, ctx, form, errors).await?).await?.into_response())
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<DeptForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let mut tx = st.db.begin().await?;
    let (parent, head) = check(&mut tx, &form, None, &mut errors).await?;
    if !errors.is_empty() {
        drop(tx);
        let page = index_page(&st, ctx, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let name = form.name.trim().to_string();
    let parent_name = crate::org::departments::name_of(&mut tx, parent).await?;
    let id = repo::insert(&mut tx, &name, parent.unwrap_or_default(), head, user.id).await?;
    let head_name = users::name_of(&mut tx, head).await?;
    Entry::new("department", id, "create")
        .change("name", audit::opt::<String>(None), name.clone())
        .change("parent", audit::opt::<String>(None), audit::opt(parent_name))
        .change("head", audit::opt::<String>(None), audit::opt(head_name))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("dept.created", "name", &name), "/admin/departments").await
}

/// The form's checks for a new department (`old` None) or an existing one: a name; a parent
/// that exists and, when moving, lies outside the department's own subtree (the caller holds the
/// tree lock); a head who is an active user.
/// Returns (parent, head); the root keeps no parent.
async fn check(
    tx: &mut PgConnection,
    form: &DeptForm,
    old: Option<&Dept>,
    errors: &mut FormErrors,
) -> AppResult<(Option<i64>, Option<i64>)> {
    errors.require("name", &form.name);
    let head = opt_id(errors, "head_id", &form.head_id);
    match head {
        Some(h) => match repo::is_active_user(tx, h).await? {
            None => errors.add("head_id", "form.invalid"),
            Some(false) => errors.add("head_id", "dept.head_disabled"),
            Some(true) => {}
        },
        None => {}
    }
    if old.is_some_and(|d| d.parent_id.is_none()) {
        return Ok((None, head));
    }
    let parent = opt_id(errors, "parent_id", &form.parent_id);
    match (parent, old) {
        (None, _) if !errors.has("parent_id") => errors.add("parent_id", "form.required"),
        (None, _) => {}
        (Some(p), _) if crate::org::departments::name_of(tx, Some(p)).await?.is_none() => {
            errors.add("parent_id", "form.invalid")
        }
        (Some(p), Some(d))
            if d.parent_id != Some(p) && crate::org::departments::subtree_ids(tx, d.id).await?.contains(&p) =>
        {
            errors.add("parent_id", "dept.cycle")
        }
        (Some(_), _) => {}
    }
    Ok((parent, head))
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
    Ok(render(edit_page(&st, ctx, &d, form, errors).await?).await?.into_response())
}

async fn edit_page(st: &AppState, ctx: PageCtx, d: &Dept, form: DeptForm, errors: FormErrors) -> AppResult<EditPage> {
    // A department cannot move under itself or anything below it.
    let mut conn = st.db.acquire().await?;
    let below = crate::org::departments::subtree_ids(&mut conn, d.id).await?;
    let parent_options = crate::org::departments::options(&st.db)
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
    mut tx: Tx,
    Path(id): Path<i64>,
    Form(form): Form<DeptForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    // Serialise changes to the tree before anything else is locked: two moves checked for
    // cycles at the same time could each pass and together close a loop. (Taken after the row
    // lock, it would deadlock with the parent's foreign-key lock of the other move.)
    crate::db::lock_tree(&mut tx, crate::db::Tree::Departments).await?;
    let old = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::new(ctx.lang);
    let (parent, head) = check(&mut tx, &form, Some(&old), &mut errors).await?;
    if !errors.is_empty() {
        drop(tx);
        let page = edit_page(&st, ctx, &old, form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let new = Dept { id, parent_id: parent, name: opt_text(&form.name).unwrap_or_default(), head_id: head };
    repo::update(&mut tx, &new).await?;
    let entry = Entry::new("department", id, "update")
        .change("name", old.name.clone(), new.name.clone())
        .change(
            "parent",
            audit::opt(crate::org::departments::name_of(&mut tx, old.parent_id).await?),
            audit::opt(crate::org::departments::name_of(&mut tx, new.parent_id).await?),
        )
        .change(
            "head",
            audit::opt(users::name_of(&mut tx, old.head_id).await?),
            audit::opt(users::name_of(&mut tx, new.head_id).await?),
        );
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "dept.saved", "/admin/departments").await
}

pub async fn delete(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let d = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let usage = repo::usage(&mut tx, id).await?;
    let refusal = if d.parent_id.is_none() {
        Some(ctx.t("dept.delete_root").to_string())
    } else if !usage.is_free() {
        Some(ctx.lang.tf("dept.delete_refused", &[("name", &d.name), ("reasons", &in_use_reasons(&ctx, &usage))]))
    } else {
        None
    };
    if let Some(text) = refusal {
        ctx.flash_text(Kind::Error, text).await;
        return Ok(Redirect::to("/admin/departments").into_response());
    }
    let shares = repo::delete(&mut tx, id).await?;
    let mut entry = Entry::new("department", id, "delete").note(d.name.clone());
    if shares > 0 {
        entry = entry.change("shares", shares, 0);
    }
    entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("dept.deleted", "name", &d.name), "/admin/departments").await
}

/// Why a department is still in use, one clause per kind of reference, in the user's language.
fn in_use_reasons(ctx: &PageCtx, u: &repo::Usage) -> String {
    let n = |v: i64| v.to_string();
    let mut parts = Vec::new();
    if u.active_users + u.disabled_users > 0 {
        let (active, disabled) = (n(u.active_users), n(u.disabled_users));
        parts.push(ctx.tf("dept.in_use.users", &[("active", &active), ("disabled", &disabled)]));
    }
    for (count, key) in [
        (u.children, "dept.in_use.children"),
        (u.caps, "dept.in_use.caps"),
        (u.pools, "dept.in_use.pools"),
        (u.flow_steps, "dept.in_use.flows"),
    ] {
        if count > 0 {
            parts.push(ctx.tf1(key, "n", &n(count)));
        }
    }
    parts.join(match ctx.lang {
        Lang::Zh => "；",
        Lang::En => "; ",
    })
}
