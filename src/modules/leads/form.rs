//! Creating and editing leads: validation, custom fields, owner, audit.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;
use sqlx::PgConnection;

use super::RECORD;
use super::model::{self, DICT_FIELDS, DICTS, ENTITY, Lead, LeadInput, TEXT_FIELDS};
use super::repo;
use crate::access::DataScope;
use crate::audit::{self, Snapshot};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldInput};
use crate::modules::customers::dup;
use crate::org::users;
use crate::records::form::RecordForm;
use crate::records::sql;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, render};

#[derive(Template)]
#[template(path = "leads/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Lead>,
    form: FormData,
    errors: FormErrors,
    /// Possible duplicates under a warning rule, until the user confirms.
    warnings: Vec<String>,
    dicts: Dicts,
    custom: Vec<FieldInput>,
    owner_options: Vec<SelectOpt>,
}

crate::page!(FormPage);

impl FormPage {
    fn options(&self, dict: &str, field: &str) -> Vec<SelectOpt> {
        let current = self.current.as_ref().and_then(|c| c.dict_value(field));
        self.dicts.options(dict, self.ctx.lang, current)
    }

    fn dict_fields(&self) -> &'static [(&'static str, &'static str)] {
        DICT_FIELDS
    }

    fn field_label(&self, field: &str) -> &'static str {
        self.ctx.t(&format!("lead.{}", field.trim_end_matches("_id")))
    }
}

/// A live lead the user may change: visible (else 404), owner in scope or a read-write team
/// member (else 403), and not converted (a converted lead is read-only: 409).
pub async fn writable(st: &AppState, scope: &DataScope, id: i64) -> AppResult<Lead> {
    sql::check_writable(&st.db, &RECORD, scope, id).await?;
    repo::find_visible(&st.db, scope, id, false).await?.ok_or(AppError::NotFound)
}

/// The form's shared parts (scope, custom fields, owner) and the lead dictionaries.
struct Ctx<'a> {
    shared: RecordForm<'a>,
    dicts: Dicts,
}

impl<'a> Ctx<'a> {
    async fn load(st: &'a AppState, user: &'a CurrentUser) -> AppResult<Ctx<'a>> {
        Ok(Ctx { shared: RecordForm::load(st, user, &RECORD).await?, dicts: Dicts::load(&st.db, DICTS).await? })
    }

    async fn page(
        self,
        ctx: PageCtx,
        current: Option<Lead>,
        form: FormData,
        errors: FormErrors,
        warnings: Vec<String>,
        submitted: bool,
    ) -> AppResult<FormPage> {
        let stored = current.as_ref().map(|c| &*c.custom);
        let custom = self.shared.custom_inputs(stored, &form, submitted, &errors, ctx.lang).await?;
        let owner_options = self.shared.owner_options(current.is_none()).await?;
        Ok(FormPage { ctx, current, form, errors, warnings, dicts: self.dicts, custom, owner_options })
    }
}

pub async fn new(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let mut form = FormData::default();
    form.set("level", "1");
    form.set("owner_id", user.id.to_string());
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, None, form, errors, Vec::new(), false).await?).await
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let lead = writable(&st, &c.shared.scope, id).await?;
    let form = lead.to_form(st.config.timezone);
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, Some(lead), form, errors, Vec::new(), false).await?).await
}

pub async fn create(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    save(c, ctx, &req, None, form).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let current = writable(&st, &c.shared.scope, id).await?;
    save(c, ctx, &req, Some(current), form).await
}

async fn save(
    c: Ctx<'_>,
    ctx: PageCtx,
    req: &RequestCtx,
    current: Option<Lead>,
    form: FormData,
) -> AppResult<Response> {
    let (st, user) = (c.shared.st, c.shared.user);
    let mut errors = FormErrors::new(ctx.lang);
    let mut input = model::check(&form, &c.dicts, current.as_ref(), st.config.timezone, &mut errors);
    input.custom = c.shared.parse_custom(&form, current.as_ref().map(|cur| &*cur.custom), &mut errors).await?;
    input.owner_id = match &current {
        Some(cur) => cur.owner_id,
        None => Some(c.shared.new_owner(input.owner_id, &mut errors).await?),
    };
    let mut tx = st.db.begin().await?;
    let id = current.as_ref().map(|cur| cur.id);
    if let Some(id) = id
        && repo::lock(&mut tx, id).await? != Some(false)
    {
        return Err(AppError::Conflict("lead.error.converted"));
    }
    fields::check_unique(&mut tx, ENTITY, &c.shared.defs, &input.custom, id, &mut errors).await?;
    let warnings = duplicates(&mut tx, &c, &input, current.as_ref(), &form, &mut errors, ctx.lang).await?;
    if !errors.is_empty() || !warnings.is_empty() {
        drop(tx);
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        let page = c.page(ctx, current, form, errors, warnings, true).await?;
        return Ok((status, render(page).await?).into_response());
    }
    let who = (user.id, req.ip.as_deref());
    let saved_id = match &current {
        None => {
            let id = repo::insert(&mut tx, &input, input.owner_id.unwrap_or(user.id), user.id).await?;
            let after = snapshot(&mut tx, &c, &input, input.owner_id).await?;
            after.write_save(&mut tx, (ENTITY, id), None, None, who).await?;
            id
        }
        Some(cur) => {
            let before = snapshot(&mut tx, &c, &input_of(cur), cur.owner_id).await?;
            repo::update(&mut tx, cur.id, &input).await?;
            let after = snapshot(&mut tx, &c, &input, cur.owner_id).await?;
            after.write_save(&mut tx, (ENTITY, cur.id), Some(&before), None, who).await?;
            cur.id
        }
    };
    tx.commit().await?;
    let key = if current.is_none() { "lead.created" } else { "lead.saved" };
    ctx.flash_text(Kind::Success, ctx.tf1(key, "name", &input.name)).await;
    Ok(Redirect::to(&format!("/leads/{saved_id}")).into_response())
}

/// The lead duplicate rules (`customers::dup`, kind `DUPLICATES`), in the saving transaction so a
/// blocking rule holds against concurrent saves: blocking hits become field errors, warnings are
/// returned unless the user confirmed. On an edit only the fields whose normalised value changed
/// are checked, as for customers.
async fn duplicates(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    input: &LeadInput,
    current: Option<&Lead>,
    form: &FormData,
    errors: &mut FormErrors,
    lang: crate::web::i18n::Lang,
) -> AppResult<Vec<String>> {
    use crate::records::normalize;
    let changed = |col: &str, norm: fn(&str) -> String| -> bool {
        current.is_none_or(|cur| {
            input.text(col).map(norm).unwrap_or_default() != cur.text_value(col).map(norm).unwrap_or_default()
        })
    };
    let name_changed = current.is_none_or(|cur| normalize::name(&input.name) != normalize::name(&cur.name));
    let candidate = dup::Candidate {
        exclude_id: current.map(|cur| cur.id),
        name: if name_changed { &input.name } else { "" },
        phone: input.text("phone").filter(|_| changed("phone", normalize::phone)),
        mobile: input.text("mobile").filter(|_| changed("mobile", normalize::phone)),
        email: input.text("email").filter(|_| changed("email", normalize::email)),
        owner_id: input.owner_id,
    };
    let hits = dup::find_of(tx, &super::DUPLICATES, &candidate, &c.shared.scope).await?;
    Ok(dup::sort_hits(hits, form.has("confirm_dup"), lang, errors))
}

/// The lead as an input, to compare with an edit.
fn input_of(l: &Lead) -> LeadInput {
    LeadInput {
        name: l.name.clone(),
        level: l.level,
        dicts: DICT_FIELDS.iter().map(|(col, _)| (*col, l.dict_value(col))).collect(),
        texts: TEXT_FIELDS.iter().map(|(col, _)| (*col, l.text_value(col).map(str::to_string))).collect(),
        next_contact_at: l.next_contact_at,
        owner_id: l.owner_id,
        custom: l.custom.0.clone(),
    }
}

/// The lead's fields as the history keeps them.
async fn snapshot(tx: &mut PgConnection, c: &Ctx<'_>, input: &LeadInput, owner: Option<i64>) -> AppResult<Snapshot> {
    let tz = c.shared.st.config.timezone;
    let mut snap = Snapshot::new();
    snap.push("name", json!(input.name)).push("level", json!(input.level));
    for (col, v) in &input.dicts {
        snap.push(col.trim_end_matches("_id"), c.dicts.audit_value(*v));
    }
    for (col, v) in &input.texts {
        snap.push(*col, audit::opt(v.clone()));
    }
    snap.push("next_contact_at", audit::opt(input.next_contact_at.map(|d| crate::web::format::datetime(&d, tz))));
    snap.push("owner", audit::opt(users::name_of(tx, owner).await?));
    snap.extend(fields::snapshot(&c.shared.defs, &input.custom, tz));
    Ok(snap)
}
