//! The customer rules page: the duplicate rules form, the caps table with its add form, and the
//! cap edit page. Every change is audited ("customer_rule" per kind and field — customers 1–4,
//! contacts 12–14, leads 21–24 —, "customer_cap").

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::model::{self, CapForm, RuleTable, RulesForm, Target};
use super::repo::{self, CapRow};
use crate::audit::{self, Entry};
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::modules::customers::dup;
use crate::org::departments as depts;
use crate::org::users;
use crate::state::AppState;
use crate::web::page::Page;
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

const HOME: &str = "/admin/customer-rules";

#[derive(Template)]
#[template(path = "admin/customer_rules/index.html")]
struct IndexPage {
    ctx: PageCtx,
    rule_tables: Vec<RuleTable>,
    scope_options: Vec<SelectOpt>,
    effect_options: Vec<SelectOpt>,
    caps: Vec<CapRow>,
    cap_form: CapForm,
    cap_errors: FormErrors,
    user_options: Vec<SelectOpt>,
    dept_options: Vec<SelectOpt>,
}

crate::page!(IndexPage);

#[derive(Template)]
#[template(path = "admin/customer_rules/cap_edit.html")]
struct EditPage {
    ctx: PageCtx,
    cap: CapRow,
    form: CapForm,
    errors: FormErrors,
}

crate::page!(EditPage);

async fn index_page(
    st: &AppState,
    ctx: PageCtx,
    rules_form: Option<(RulesForm, FormErrors)>,
    cap_form: CapForm,
    cap_errors: FormErrors,
) -> AppResult<IndexPage> {
    let (rules_form, rules_errors) = match rules_form {
        Some(f) => f,
        None => {
            let mut conn = st.db.acquire().await?;
            let mut rules = Vec::new();
            for kind in model::kinds() {
                rules.extend(dup::rules_of(&mut conn, kind).await?);
            }
            (RulesForm::from_rules(&rules), FormErrors::new(ctx.lang))
        }
    };
    Ok(IndexPage {
        rule_tables: rules_form.tables(ctx.lang, &rules_errors),
        scope_options: model::scope_options(ctx.lang),
        effect_options: model::effect_options(ctx.lang),
        caps: repo::all(&st.db).await?,
        user_options: users::options(&st.db, true).await?,
        dept_options: depts::options(&st.db).await?,
        ctx,
        cap_form,
        cap_errors,
    })
}

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let errors = FormErrors::new(ctx.lang);
    Ok(render(index_page(&st, ctx, None, CapForm::blank(), errors).await?).await?.into_response())
}

async fn invalid(page: impl Page) -> AppResult<Response> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response())
}

pub async fn save_rules(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<RulesForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let Some(new) = form.validate(&mut errors) else {
        let cap_errors = FormErrors::new(ctx.lang);
        return invalid(index_page(&st, ctx, Some((form, errors)), CapForm::blank(), cap_errors).await?).await;
    };
    let mut tx = st.db.begin().await?;
    sqlx::query("LOCK TABLE dup_rules IN SHARE ROW EXCLUSIVE MODE").execute(&mut *tx).await?;
    let mut old = Vec::new();
    for kind in model::kinds() {
        old.extend(dup::rules_of(&mut tx, kind).await?);
    }
    for n in &new {
        let Some(o) = old.iter().find(|o| o.kind.entity() == n.kind.entity() && o.field == n.field) else { continue };
        let f = n.field;
        // Customer rules keep their field names in the history; the others name their kind.
        let f = if n.kind.entity() == "customer" { f.to_string() } else { format!("{}_{f}", n.kind.entity()) };
        let entry = Entry::new("customer_rule", n.audit_id(), "update")
            .change(&format!("{f}_enabled"), o.enabled, n.enabled)
            .change(&format!("{f}_scope"), o.scope.code(), n.scope.code())
            .change(&format!("{f}_effect"), o.effect.code(), n.effect.code());
        if entry.has_changes() {
            dup::save_rule(&mut tx, n).await?;
            entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
        }
    }
    done(tx, &ctx, "crules.dup.saved", HOME).await
}

pub async fn create_cap(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Form(form): Form<CapForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let target = form.target(&mut errors);
    let (max_owned, count_dealt, max_locked) = form.limits(&mut errors);
    let mut tx = st.db.begin().await?;
    let (picker, taken_key) = if form.is_user() {
        ("user_id", "crules.caps.duplicate_user")
    } else {
        ("dept_id", "crules.caps.duplicate_dept")
    };
    let mut name = String::new();
    if let Some(t) = target {
        match repo::target_name(&mut tx, t).await? {
            None => errors.add(picker, "form.invalid"),
            Some(n) => {
                if repo::target_taken(&mut tx, t).await? {
                    errors.add(picker, taken_key);
                }
                name = n;
            }
        }
    }
    let inserted = match target {
        Some(t) if errors.is_empty() => repo::insert(&mut tx, t, max_owned, count_dealt, max_locked).await?,
        _ => None,
    };
    let Some(id) = inserted else {
        if errors.is_empty() {
            // A concurrent request added the same target first.
            errors.add(picker, taken_key);
        }
        drop(tx);
        return invalid(index_page(&st, ctx, None, form, errors).await?).await;
    };
    let field = match target {
        Some(Target::Dept(_)) => "dept",
        _ => "user",
    };
    Entry::new("customer_cap", id, "create")
        .change(field, audit::opt::<String>(None), name.clone())
        .change("max_owned", audit::opt::<i32>(None), audit::opt(max_owned))
        .change("count_dealt", audit::opt::<bool>(None), count_dealt)
        .change("max_locked", audit::opt::<i32>(None), audit::opt(max_locked))
        .write(&mut tx, Some(user.id), req.ip.as_deref())
        .await?;
    done(tx, &ctx, ctx.tf1("crules.caps.created", "name", &name), HOME).await
}

fn form_of(cap: &CapRow) -> CapForm {
    CapForm {
        target_type: if cap.is_user() { "user" } else { "dept" }.into(),
        user_id: cap.user_id.map(|i| i.to_string()).unwrap_or_default(),
        dept_id: cap.dept_id.map(|i| i.to_string()).unwrap_or_default(),
        max_owned: cap.max_owned.map(|n| n.to_string()).unwrap_or_default(),
        count_dealt: cap.count_dealt.then(|| "1".to_string()),
        max_locked: cap.max_locked.map(|n| n.to_string()).unwrap_or_default(),
    }
}

pub async fn edit_cap(State(st): State<AppState>, ctx: PageCtx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut conn = st.db.acquire().await?;
    let cap = repo::find(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let form = form_of(&cap);
    let errors = FormErrors::new(ctx.lang);
    Ok(render(EditPage { ctx, cap, form, errors }).await?.into_response())
}

pub async fn update_cap(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
    Form(form): Form<CapForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let cap = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut errors = FormErrors::new(ctx.lang);
    let (max_owned, count_dealt, max_locked) = form.limits(&mut errors);
    if !errors.is_empty() {
        drop(tx);
        // The target cannot change on edit; keep showing the stored one.
        let form = CapForm { target_type: form_of(&cap).target_type, ..form };
        return invalid(EditPage { ctx, cap, form, errors }).await;
    }
    let entry = Entry::new("customer_cap", id, "update")
        .change("max_owned", audit::opt(cap.max_owned), audit::opt(max_owned))
        .change("count_dealt", cap.count_dealt, count_dealt)
        .change("max_locked", audit::opt(cap.max_locked), audit::opt(max_locked));
    if entry.has_changes() {
        repo::update(&mut tx, id, max_owned, count_dealt, max_locked).await?;
        entry.note(cap.label()).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, ctx.tf1("crules.caps.saved", "name", &cap.label()), HOME).await
}

pub async fn delete_cap(
    State(_st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let cap = repo::find(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    repo::delete(&mut tx, id).await?;
    Entry::new("customer_cap", id, "delete").note(cap.label()).write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("crules.caps.deleted", "name", &cap.label()), HOME).await
}
