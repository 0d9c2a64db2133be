//! Numbering rule pages: the list with the next number of each kind, and the rule form.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::model::{self, RuleForm};
use super::repo::{self, RuleRow};
use crate::audit::Entry;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::numbering::{self, Rule};
use crate::state::AppState;
use crate::web::{FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

/// One line of the rule list.
struct RuleLine {
    row: RuleRow,
    label: String,
    date_label: &'static str,
    reset_label: &'static str,
    next: String,
}

#[derive(Template)]
#[template(path = "admin/numbering/index.html")]
struct IndexPage {
    ctx: PageCtx,
    rules: Vec<RuleLine>,
}

crate::page!(IndexPage);

pub async fn index(State(st): State<AppState>, ctx: PageCtx) -> AppResult<Response> {
    let now = Utc::now();
    let mut rules = Vec::new();
    for row in repo::all(&st.db).await? {
        let rule = row.rule().ok_or_else(|| anyhow::anyhow!("number rule {} has unknown codes", row.kind))?;
        rules.push(RuleLine {
            label: model::kind_label(ctx.lang, &row.kind),
            date_label: ctx.t(rule.date_part.label_key()),
            reset_label: ctx.t(rule.reset.label_key()),
            next: numbering::preview(&st.db, &row.kind, now, st.config.timezone).await?,
            row,
        });
    }
    Ok(render(IndexPage { ctx, rules }).await?.into_response())
}

#[derive(Template)]
#[template(path = "admin/numbering/edit.html")]
struct EditPage {
    ctx: PageCtx,
    kind: String,
    label: String,
    form: RuleForm,
    errors: FormErrors,
    date_options: Vec<SelectOpt>,
    reset_options: Vec<SelectOpt>,
    /// The saved rule applied to today with counter 1.
    example: String,
    /// The next number under the saved rule.
    next: String,
    /// The rule as typed (when it is valid), applied to today with counter 1, and the next number
    /// it would give: shown after "preview" and next to errors, before anything is saved.
    typed: Option<(String, String)>,
    updated_at: Option<chrono::DateTime<Utc>>,
    updated_by: Option<String>,
}

crate::page!(EditPage);

async fn edit_page(
    st: &AppState,
    ctx: PageCtx,
    row: &RuleRow,
    form: RuleForm,
    errors: FormErrors,
    typed: Option<&Rule>,
) -> AppResult<EditPage> {
    let saved = stored_rule(row)?;
    let now = Utc::now();
    let today = now.with_timezone(&st.config.timezone).date_naive();
    let typed = match typed {
        Some(r) => Some((r.format(today, 1), numbering::preview_rule(&st.db, r, now, st.config.timezone).await?)),
        None => None,
    };
    Ok(EditPage {
        typed,
        kind: row.kind.clone(),
        label: model::kind_label(ctx.lang, &row.kind),
        date_options: model::date_options(ctx.lang),
        reset_options: model::reset_options(ctx.lang),
        example: saved.format(today, 1),
        next: numbering::preview(&st.db, &row.kind, now, st.config.timezone).await?,
        updated_at: row.updated_at,
        updated_by: row.updated_by_name.clone(),
        ctx,
        form,
        errors,
    })
}

fn stored_rule(row: &RuleRow) -> AppResult<Rule> {
    Ok(row.rule().ok_or_else(|| anyhow::anyhow!("number rule {} has unknown codes", row.kind))?)
}

pub async fn edit(State(st): State<AppState>, ctx: PageCtx, Path(kind): Path<String>) -> AppResult<Response> {
    let row = repo::find(&st.db, &kind).await?.ok_or(AppError::NotFound)?;
    let form = RuleForm::from_rule(&stored_rule(&row)?);
    let errors = FormErrors::new(ctx.lang);
    Ok(render(edit_page(&st, ctx, &row, form, errors, None).await?).await?.into_response())
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    mut tx: Tx,
    Path(kind): Path<String>,
    Form(form): Form<RuleForm>,
) -> AppResult<Response> {
    let user = req.user()?;
    let old_row = repo::find_for_update(&mut tx, &kind).await?.ok_or(AppError::NotFound)?;
    let old = stored_rule(&old_row)?;
    let mut errors = FormErrors::new(ctx.lang);
    // "Preview" (or a mistake): the form again, as typed, with what the typed rule gives.
    let new = match form.validate(&kind, &mut errors) {
        Some(rule) if form.preview.is_none() => rule,
        typed => {
            drop(tx);
            let status = if typed.is_some() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            let page = edit_page(&st, ctx, &old_row, form, errors, typed.as_ref()).await?;
            return Ok((status, render(page).await?).into_response());
        }
    };
    let entry = Entry::new("number_rule", old_row.id, "update")
        .change("prefix", old.prefix.clone(), new.prefix.clone())
        .change("date_part", old.date_part.code(), new.date_part.code())
        .change("width", old.width, new.width)
        .change("reset", old.reset.code(), new.reset.code());
    if entry.has_changes() {
        repo::update(&mut tx, &new, user.id).await?;
        entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    }
    done(tx, &ctx, ctx.tf1("numbering.saved", "kind", &model::kind_label(ctx.lang, &kind)), "/admin/numbering").await
}
