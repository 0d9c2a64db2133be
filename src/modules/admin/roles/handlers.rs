//! Role admin pages: list, new/edit form with the permission matrix, copy, delete.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::Form;

use super::model::{MatrixGroup, RoleHead, RoleInput, RoleRow};
use super::repo;
use crate::audit;
use crate::db::Tx;
use crate::error::{AppError, AppResult, ResultExt};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormErrors, PageCtx, RequestCtx, done, render};

/// Every field of the role form; `perm` repeats and `scope_<module>` keys vary with the catalog.
type Fields = Vec<(String, String)>;

#[derive(Template)]
#[template(path = "admin/roles/index.html")]
struct IndexPage {
    ctx: PageCtx,
    roles: Vec<RoleRow>,
}

crate::page!(IndexPage);

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Html<String>> {
    let roles = repo::list(&st.db).await?;
    render(IndexPage { ctx, roles }).await
}

#[derive(Template)]
#[template(path = "admin/roles/form.html")]
struct FormPage {
    ctx: PageCtx,
    title: String,
    action: String,
    input: RoleInput,
    groups: Vec<MatrixGroup>,
    errors: FormErrors,
}

crate::page!(FormPage);

/// The form, for a new role (`head` None) or an existing one.
async fn form_page(
    ctx: PageCtx,
    head: Option<&RoleHead>,
    input: RoleInput,
    errors: FormErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let (title, action) = match head {
        None => (ctx.t("roles.new_title").to_string(), "/admin/roles".into()),
        Some(h) => (ctx.tf1("roles.edit_title", "name", &h.name), format!("/admin/roles/{}", h.id)),
    };
    let groups = input.matrix();
    let page = render(FormPage { ctx, title, action, input, groups, errors }).await?;
    Ok((status, page).into_response())
}

pub async fn new_form(ctx: PageCtx) -> AppResult<Response> {
    let errors = FormErrors::new(ctx.lang);
    form_page(ctx, None, RoleInput::default(), errors, StatusCode::OK).await
}

pub async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(fields): Form<Fields>,
) -> AppResult<Response> {
    let user = req.user()?;
    let input = RoleInput::from_pairs(&fields);
    let mut errors = FormErrors::new(ctx.lang);
    input.validate(&mut errors);
    let mut tx = st.db.begin().await?;
    if !errors.has("name") && repo::name_taken(&mut tx, &input.name, None).await? {
        errors.add("name", "roles.name_taken");
    }
    if !errors.is_empty() {
        return form_page(ctx, None, input, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let Ok(id) = repo::insert(&mut tx, &input, user.id).await.on_constraint(repo::NAME_KEY, || ())? else {
        errors.add("name", "roles.name_taken");
        return form_page(ctx, None, input, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    as_created(audit::Entry::new("role", id, "create"), &input)
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, "roles.created", "/admin/roles").await
}

/// A new role's fields as a diff from nothing, as `update` records them: the history (and
/// anyone auditing who could do what since when) sees the grants, not only a name.
fn as_created(entry: audit::Entry, input: &RoleInput) -> audit::Entry {
    let none = || serde_json::Value::Null;
    let listed = |v: Vec<String>| if v.is_empty() { none() } else { serde_json::json!(v) };
    entry
        .change("name", none(), input.name.clone())
        .change("description", none(), audit::opt(Some(input.description.clone()).filter(|d| !d.is_empty())))
        .change("permissions", none(), listed(input.perm_strings()))
        .change("scopes", none(), listed(input.scope_strings()))
}

/// The role, unless it is missing (404) or the super admin role, which nobody edits (403).
async fn editable(st: &AppState, id: i64) -> AppResult<RoleHead> {
    let head = repo::find(&st.db, id).await?.ok_or(AppError::NotFound)?;
    if head.is_super {
        return Err(AppError::Forbidden);
    }
    Ok(head)
}

pub async fn edit_form(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let head = editable(&st, id).await?;
    let mut conn = st.db.acquire().await?;
    let input = repo::load_input(&mut conn, &head).await?;
    let errors = FormErrors::new(ctx.lang);
    form_page(ctx, Some(&head), input, errors, StatusCode::OK).await
}

pub async fn update(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
    Form(fields): Form<Fields>,
) -> AppResult<Response> {
    let user = req.user()?;
    let head = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if head.is_super {
        return Err(AppError::Forbidden);
    }
    let input = RoleInput::from_pairs(&fields);
    let mut errors = FormErrors::new(ctx.lang);
    input.validate(&mut errors);
    if !errors.has("name") && repo::name_taken(&mut tx, &input.name, Some(id)).await? {
        errors.add("name", "roles.name_taken");
    }
    if !errors.is_empty() {
        return form_page(ctx, Some(&head), input, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let old = repo::load_input(&mut tx, &head).await?;
    if repo::update(&mut tx, id, &input).await.on_constraint(repo::NAME_KEY, || ())?.is_err() {
        errors.add("name", "roles.name_taken");
        return form_page(ctx, Some(&head), input, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let entry = audit::Entry::new("role", id, "update")
        .change("name", old.name.clone(), input.name.clone())
        .change("description", old.description.clone(), input.description.clone())
        .change("permissions", old.perm_strings(), input.perm_strings())
        .change("scopes", old.scope_strings(), input.scope_strings());
    if entry.has_changes() {
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, "roles.updated", "/admin/roles").await
}

/// A new role with the same permissions and scopes, named "<name> 副本" (then "副本 2", ...).
/// Copying the super admin role gives an ordinary role holding every permission.
pub async fn copy(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let head = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut input = if head.is_super {
        RoleInput { description: String::new(), ..RoleInput::everything(&head) }
    } else {
        repo::load_input(&mut tx, &head).await?
    };
    let base = format!("{} {}", head.name, ctx.t("roles.copy_suffix"));
    input.name = base.clone();
    let mut n = 1;
    while repo::name_taken(&mut tx, &input.name, None).await? {
        n += 1;
        input.name = format!("{base} {n}");
    }
    let new_id = repo::insert(&mut tx, &input, user.id)
        .await
        .on_constraint(repo::NAME_KEY, || AppError::Conflict("roles.copy_raced"))??;
    as_created(audit::Entry::new("role", new_id, "copy"), &input)
        .note(head.name.clone())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    let text = ctx.tf1("roles.copied", "name", &input.name);
    done(tx, &ctx, text, &format!("/admin/roles/{new_id}/edit")).await
}

/// Which roles require two-factor sign-in: the ticked `required` ids (the super admin role is one
/// of them like any other). One audit line per role that changed.
pub async fn two_factor(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Form(fields): Form<Fields>,
) -> AppResult<Response> {
    let user = req.user()?;
    let ticked: Vec<i64> = fields.iter().filter(|(k, _)| k == "required").filter_map(|(_, v)| v.parse().ok()).collect();
    for (id, name, was) in repo::lock_two_factor(&mut tx).await? {
        let now = ticked.contains(&id);
        if now != was {
            repo::set_two_factor(&mut tx, id, now).await?;
            audit::Entry::new("role", id, "update")
                .change("two_factor_required", was, now)
                .note(name)
                .write(&mut tx, Some(user.id), req.ip.as_deref())
                .await?;
        }
    }
    done(tx, &ctx, "roles.two_factor.saved", "/admin/roles").await
}

/// Delete a role nobody holds; a role still assigned stays, with a message saying how many hold it.
pub async fn delete(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let head = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if head.is_super {
        return Err(AppError::Forbidden);
    }
    let members = repo::member_count(&mut tx, id).await?;
    if members > 0 {
        drop(tx);
        let text = ctx.tf("roles.in_use", &[("name", &head.name), ("count", &members.to_string())]);
        ctx.flash_text(Kind::Error, text).await;
        return Ok(Redirect::to("/admin/roles").into_response());
    }
    repo::delete(&mut tx, id).await?;
    audit::Entry::new("role", id, "delete")
        .note(head.name.clone())
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    let text = ctx.tf1("roles.deleted", "name", &head.name);
    done(tx, &ctx, text, "/admin/roles").await
}
