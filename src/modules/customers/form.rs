//! Creating and editing customers: validation, duplicate checks, caps, numbering, audit.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::model::{self, Address, Customer, CustomerInput, DICT_FIELDS, DICTS, ENTITY, TEXT_FIELDS};
use super::{RECORD, caps, dup, repo};
use crate::access::{Action, DataScope, Module};
use crate::audit::{self, Snapshot};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldInput};
use crate::org::users;
use crate::records::form::RecordForm;
use crate::records::sql;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, render};

/// The error key shown at the top of the form, for refusals no visible field explains.
const FORM_ERROR: &str = "_form";

#[derive(Template)]
#[template(path = "customers/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// The customer being edited; None when creating.
    current: Option<Customer>,
    form: FormData,
    errors: FormErrors,
    warnings: Vec<String>,
    dicts: Dicts,
    custom: Vec<FieldInput>,
    owner_options: Vec<SelectOpt>,
    can_set_status: bool,
}

crate::page!(FormPage);

impl FormPage {
    fn options(&self, dict: &str, field: &str) -> Vec<SelectOpt> {
        let current = self.current.as_ref().and_then(|c| match field {
            "status_id" => Some(c.status_id),
            f => c.dict_value(f),
        });
        self.dicts.options(dict, self.ctx.lang, current)
    }

    fn dict_fields(&self) -> &'static [(&'static str, &'static str)] {
        DICT_FIELDS
    }

    fn field_label(&self, field: &str) -> &'static str {
        self.ctx.t(&format!("customer.{}", field.trim_end_matches("_id")))
    }

    /// Address rows to show: those typed or stored, plus one blank row to add another.
    fn address_rows(&self) -> Vec<(String, String, String, String)> {
        let f = &self.form;
        let (t, r, d, p) = (f.all("addr_type"), f.all("addr_region"), f.all("addr_detail"), f.all("addr_postcode"));
        let mut rows: Vec<(String, String, String, String)> = (0..t.len().max(d.len()))
            .map(|i| {
                let g = |v: &Vec<&str>| v.get(i).map(|s| s.to_string()).unwrap_or_default();
                (g(&t), g(&r), g(&d), g(&p))
            })
            .filter(|row| !row.1.is_empty() || !row.2.is_empty())
            .collect();
        rows.push(Default::default());
        rows
    }

    fn genders(&self) -> Vec<SelectOpt> {
        vec![
            SelectOpt::new("male", self.ctx.t("user.gender.male")),
            SelectOpt::new("female", self.ctx.t("user.gender.female")),
        ]
    }

    fn credit_hint(&self) -> String {
        model::credit_hint(&self.dicts, self.form.get("credit_level_id").parse().ok(), self.ctx.lang)
    }
}

/// Users the actor may make owner: everyone in their scope (active only).
/// The form's shared parts (scope, custom fields, owner) and the customer dictionaries.
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
        current: Option<Customer>,
        form: FormData,
        errors: FormErrors,
        warnings: Vec<String>,
        submitted: bool,
    ) -> AppResult<FormPage> {
        let stored = current.as_ref().map(|c| &*c.custom);
        let custom = self.shared.custom_inputs(stored, &form, submitted, &errors, ctx.lang).await?;
        let owner_options = self.shared.owner_options(current.is_none()).await?;
        Ok(FormPage {
            can_set_status: self.shared.user.is_super && current.is_some(),
            ctx,
            current,
            form,
            errors,
            warnings,
            dicts: self.dicts,
            custom,
            owner_options,
        })
    }
}

pub async fn new(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let mut form = FormData::default();
    form.set("kind", "enterprise");
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
    let customer = writable(&st, &c.shared.scope, id).await?;
    let addresses = repo::addresses(&st.db, id).await?;
    let form = customer.to_form(&addresses);
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, Some(customer), form, errors, Vec::new(), false).await?).await
}

/// A live customer the user may change: visible (else 404), owner in scope or a read-write team
/// member (else 403), and not frozen (409).
pub async fn writable(st: &AppState, scope: &DataScope, id: i64) -> AppResult<Customer> {
    sql::check_writable(&st.db, &RECORD, scope, id).await?;
    repo::find_visible(&st.db, scope, id, false).await?.ok_or(AppError::NotFound)
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
    current: Option<Customer>,
    form: FormData,
) -> AppResult<Response> {
    let (st, user) = (c.shared.st, c.shared.user);
    let mut errors = FormErrors::new(ctx.lang);
    let mut input = model::check(&form, &c.dicts, current.as_ref(), ctx.lang, &mut errors);
    input.custom = c.shared.parse_custom(&form, current.as_ref().map(|cur| &*cur.custom), &mut errors).await?;
    if !user.is_super || current.is_none() {
        input.status_id = None;
    }
    if current.is_none() {
        // New customers start at the first status, level 1.
        input.level = 1;
    }
    input.owner_id = match &current {
        Some(cur) => cur.owner_id,
        None => Some(c.shared.new_owner(input.owner_id, &mut errors).await?),
    };
    input.parent_id = resolve_parent(&c, &form, current.as_ref(), &mut errors).await?;

    let mut tx = st.db.begin().await?;
    let id = current.as_ref().map(|cur| cur.id);
    if let Some(id) = id {
        repo::lock(&mut tx, id).await?;
    }
    fields::check_unique(&mut tx, ENTITY, &c.shared.defs, &input.custom, id, &mut errors).await?;
    let warnings = duplicates(&mut tx, &c, &input, current.as_ref(), &form, &mut errors, &ctx).await?;
    if current.is_none() && errors.is_empty() {
        if let Some(owner) = input.owner_id {
            if let Err(over) = caps::check_owned(&mut tx, owner, 1).await? {
                let name = users::name_of(&mut tx, Some(owner)).await?.unwrap_or_default();
                // At the top of the form, where everyone sees it (the owner field is only there
                // for those who may give the customer to someone else), and next to that field.
                let text = over.message(ctx.lang, &name, false);
                if user.can(Module::Customers, Action::Transfer) {
                    errors.add_text("owner_id", text.clone());
                }
                errors.add_text(FORM_ERROR, text);
            }
        }
    }
    if !errors.is_empty() || !warnings.is_empty() {
        drop(tx);
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        let page = c.page(ctx, current, form, errors, warnings, true).await?;
        return Ok((status, render(page).await?).into_response());
    }

    let saved_id = match &current {
        None => insert(&mut tx, &c, &input, req).await?,
        Some(cur) => {
            update_existing(&mut tx, &c, cur, &input, req).await?;
            let status = input.status_id.unwrap_or(cur.status_id);
            super::status::after_save(&mut tx, &c.dicts, cur, input.level, status, user, req.ip.as_deref()).await?;
            cur.id
        }
    };
    tx.commit().await?;
    ctx.flash_text(
        Kind::Success,
        ctx.tf1(if current.is_none() { "customer.created" } else { "customer.saved" }, "name", &input.name),
    )
    .await;
    Ok(Redirect::to(&format!("/customers/{saved_id}")).into_response())
}

/// The parent from the hidden id (picked from suggestions) or the typed code / name.
async fn resolve_parent(
    c: &Ctx<'_>,
    form: &FormData,
    current: Option<&Customer>,
    errors: &mut FormErrors,
) -> AppResult<Option<i64>> {
    let typed = form.get("parent_q").trim();
    if typed.is_empty() {
        return Ok(None);
    }
    // An unchanged parent stays, even one the editor cannot see (another team's group company):
    // it was checked when it was set, and the editor is not choosing it now.
    if let Some(cur) = current.filter(|c| c.parent_id.is_some() && c.parent_name.as_deref() == Some(typed)) {
        let posted = form.get("parent_id").trim();
        if posted.is_empty() || posted.parse::<i64>().ok() == cur.parent_id {
            return Ok(cur.parent_id);
        }
    }
    let by_id = match form.get("parent_id").trim().parse::<i64>().ok() {
        Some(pid) => repo::find_visible(&c.shared.st.db, &c.shared.scope, pid, false)
            .await?
            .filter(|p| p.name == typed)
            .map(|p| p.id),
        None => None,
    };
    let parent = match by_id {
        Some(p) => Some(p),
        None => repo::find_by_code_or_name(&c.shared.st.db, &c.shared.scope, typed).await?,
    };
    let Some(parent) = parent else {
        errors.add("parent_q", "customer.error.parent_unknown");
        return Ok(None);
    };
    if let Some(cur) = current {
        let mut conn = c.shared.st.db.acquire().await?;
        if repo::parent_would_cycle(&mut conn, cur.id, parent).await? {
            errors.add("parent_q", "customer.error.parent_cycle");
            return Ok(None);
        }
    }
    Ok(Some(parent))
}

/// Blocking duplicates become field errors; warnings are returned unless the user confirmed.
/// On an edit only the fields whose normalised value changed are checked: a record that already
/// duplicates another (imported, or saved before the rule existed) can still be edited.
async fn duplicates(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    input: &CustomerInput,
    current: Option<&Customer>,
    form: &FormData,
    errors: &mut FormErrors,
    ctx: &PageCtx,
) -> AppResult<Vec<String>> {
    use crate::records::normalize;
    let changed = |col: &str, norm: fn(&str) -> String| -> bool {
        match current {
            None => true,
            Some(cur) => {
                input.text(col).map(norm).unwrap_or_default() != cur.text_value(col).map(norm).unwrap_or_default()
            }
        }
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
    let confirmed = form.has("confirm_dup");
    let mut warnings = Vec::new();
    for hit in dup::find(tx, &candidate, &c.shared.scope).await? {
        let text = hit.message(ctx.lang);
        match hit.effect {
            dup::Effect::Block => errors.add_text(hit.field, text),
            dup::Effect::Warn if !confirmed => warnings.push(text),
            dup::Effect::Warn => {}
        }
    }
    Ok(warnings)
}

async fn insert(tx: &mut PgConnection, c: &Ctx<'_>, input: &CustomerInput, req: &RequestCtx) -> AppResult<i64> {
    let actor = c.shared.user.id;
    let made = create_customer(tx, input, actor, &c.dicts, c.shared.st.config.timezone).await?;
    let after = snapshot(tx, c, input, Some(made.status), input.owner_id.or(Some(actor))).await?;
    after.write_save(tx, (ENTITY, made.id), None, Some(made.code), (actor, req.ip.as_deref())).await?;
    Ok(made.id)
}

/// A customer just made by `create_customer`.
pub struct Created {
    pub id: i64,
    pub code: String,
    pub status: i64,
}

/// Create a customer, in the caller's transaction: the first status, the next number, the row
/// (owned by `input.owner_id`, else by `actor`) and its addresses. Every path that makes
/// customers comes through here — the form, lead conversion; the caller has checked the input
/// (caps, duplicates, unique fields) and writes the audit row it wants.
pub async fn create_customer(
    tx: &mut PgConnection,
    input: &CustomerInput,
    actor: i64,
    dicts: &Dicts,
    tz: chrono::FixedOffset,
) -> AppResult<Created> {
    let status = dicts.first("customer_status").map(|s| s.id).ok_or(AppError::Conflict("customer.error.no_status"))?;
    let code = crate::numbering::next(tx, "customer", chrono::Utc::now(), tz).await?;
    let id = repo::insert(tx, input, &code, status, input.owner_id.unwrap_or(actor), actor).await?;
    if !input.addresses.is_empty() {
        repo::replace_addresses(tx, id, &input.addresses).await?;
    }
    Ok(Created { id, code, status })
}

async fn update_existing(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    cur: &Customer,
    input: &CustomerInput,
    req: &RequestCtx,
) -> AppResult<()> {
    let old_addresses = repo::addresses(&c.shared.st.db, cur.id).await?;
    let before_input = input_of(cur, old_addresses);
    let before = snapshot(tx, c, &before_input, Some(cur.status_id), cur.owner_id).await?;
    repo::update(tx, cur.id, input).await?;
    repo::replace_addresses(tx, cur.id, &input.addresses).await?;
    let after = snapshot(tx, c, input, Some(input.status_id.unwrap_or(cur.status_id)), cur.owner_id).await?;
    after.write_save(tx, (ENTITY, cur.id), Some(&before), None, (c.shared.user.id, req.ip.as_deref())).await?;
    Ok(())
}

/// The customer as an input, to compare with an edit.
fn input_of(c: &Customer, addresses: Vec<Address>) -> CustomerInput {
    CustomerInput {
        name: c.name.clone(),
        kind: c.kind.clone(),
        level: c.level,
        status_id: Some(c.status_id),
        parent_id: c.parent_id,
        dicts: DICT_FIELDS.iter().map(|(col, _)| (*col, c.dict_value(col))).collect(),
        texts: TEXT_FIELDS.iter().map(|(col, _)| (*col, c.text_value(col).map(str::to_string))).collect(),
        gender: c.gender.clone(),
        birth_date: c.birth_date,
        credit_limit: c.credit_limit,
        owner_id: c.owner_id,
        addresses,
        custom: c.custom.0.clone(),
    }
}

/// The customer's fields as the history keeps them.
async fn snapshot(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    input: &CustomerInput,
    status: Option<i64>,
    owner: Option<i64>,
) -> AppResult<Snapshot> {
    let parent: Option<String> = match input.parent_id {
        Some(p) => {
            sqlx::query_scalar("SELECT name FROM customers WHERE id = $1").bind(p).fetch_optional(&mut *tx).await?
        }
        None => None,
    };
    let mut snap = Snapshot::new();
    snap.push("name", json!(input.name))
        .push("kind", audit::bilingual(&format!("customer.kind.{}", input.kind)))
        .push("status", c.dicts.audit_value(status))
        .push("level", json!(input.level))
        .push("parent", audit::opt(parent));
    for (col, v) in &input.dicts {
        snap.push(col.trim_end_matches("_id"), c.dicts.audit_value(*v));
    }
    for (col, v) in &input.texts {
        snap.push(*col, audit::opt(v.clone()));
    }
    snap.push("gender", audit::opt(input.gender.clone()))
        .push("birth_date", audit::opt(input.birth_date.map(|d| d.to_string())))
        .push("credit_limit", audit::opt(input.credit_limit.map(|d| crate::web::format::money(&d))))
        .push("owner", audit::opt(users::name_of(tx, owner).await?));
    let addresses: Vec<String> = input
        .addresses
        .iter()
        .map(|a| {
            let region = c.dicts.path_label(a.region_id, Lang::Zh);
            format!("{} {region} {}", c.dicts.label(a.type_id, Lang::Zh), a.detail).trim().to_string()
        })
        .collect();
    snap.push("addresses", if addresses.is_empty() { Value::Null } else { json!(addresses) });
    snap.extend(fields::snapshot(&c.shared.defs, &input.custom, c.shared.st.config.timezone));
    Ok(snap)
}

#[derive(Deserialize, Default)]
pub struct LookupQuery {
    #[serde(default)]
    q: String,
}

/// Suggestions for customer pickers (parent customer): visible customers matching the text.
pub async fn lookup(
    State(st): State<AppState>,
    req: RequestCtx,
    Query(q): Query<LookupQuery>,
) -> AppResult<Json<Value>> {
    let user = req.user()?;
    if q.q.trim().chars().count() < 1 {
        return Ok(Json(json!([])));
    }
    let scope = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let rows = repo::lookup(&st.db, &scope, &q.q, 15).await?;
    Ok(Json(json!(
        rows.into_iter().map(|(id, code, name)| json!({"id": id, "code": code, "name": name})).collect::<Vec<_>>()
    )))
}

/// The customer another record's form names in its `customer_q` field: the hidden
/// `customer_id` (picked from the suggestions, or prefilled) while the typed name still matches
/// it, else the code or name typed — among the customers `scope` sees. Err: the i18n key of the
/// field's error ("form.required", or `unknown`).
pub async fn picked(
    db: &sqlx::PgPool,
    scope: &DataScope,
    form: &crate::web::FormData,
    unknown: &'static str,
) -> AppResult<Result<i64, &'static str>> {
    let typed = form.get("customer_q").trim();
    let by_id = match form.get("customer_id").trim().parse::<i64>() {
        Ok(cid) => repo::find_visible(db, scope, cid, false).await?.filter(|cu| typed.is_empty() || cu.name == typed),
        Err(_) => None,
    };
    Ok(match (by_id, typed.is_empty()) {
        (Some(cu), _) => Ok(cu.id),
        (None, true) => Err("form.required"),
        (None, false) => repo::find_by_code_or_name(db, scope, typed).await?.ok_or(unknown),
    })
}
