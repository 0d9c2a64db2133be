//! Creating and editing products: validation, the code (typed or numbered), the price history,
//! audit. Cost prices are kept out of the audit history (which every viewer of the product
//! reads) and live in the price history, shown only with the `cost` permission.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use super::RECORD;
use super::model::{self, DICTS, ENTITY, Product, ProductInput};
use super::repo;
use crate::access::{Action, Module};
use crate::audit::{self, Snapshot};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult, ResultExt};
use crate::fields::{self, FieldInput};
use crate::records::form::RecordForm;
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

#[derive(Template)]
#[template(path = "products/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Product>,
    form: FormData,
    errors: FormErrors,
    categories: Vec<SelectOpt>,
    units: Vec<SelectOpt>,
    custom: Vec<FieldInput>,
    cost_visible: bool,
}

crate::page!(FormPage);

impl FormPage {
    fn on_shelf(&self) -> bool {
        self.form.has("on_shelf")
    }
}

struct Ctx<'a> {
    shared: RecordForm<'a>,
    dicts: Dicts,
    cost_visible: bool,
}

impl<'a> Ctx<'a> {
    async fn load(st: &'a AppState, user: &'a CurrentUser) -> AppResult<Ctx<'a>> {
        Ok(Ctx {
            shared: RecordForm::load(st, user, &RECORD).await?,
            dicts: Dicts::load(&st.db, DICTS).await?,
            cost_visible: user.can(Module::Products, Action::Cost),
        })
    }

    async fn page(
        self,
        ctx: PageCtx,
        current: Option<Product>,
        form: FormData,
        errors: FormErrors,
        submitted: bool,
    ) -> AppResult<FormPage> {
        let stored = current.as_ref().map(|c| &*c.custom);
        let custom = self.shared.custom_inputs(stored, &form, submitted, &errors, ctx.lang).await?;
        let cur = |f: fn(&Product) -> Option<i64>| current.as_ref().and_then(f);
        Ok(FormPage {
            categories: self.dicts.options("product_category", ctx.lang, cur(|p| p.category_id)),
            units: self.dicts.options("product_unit", ctx.lang, cur(|p| p.unit_id)),
            cost_visible: self.cost_visible,
            ctx,
            current,
            form,
            errors,
            custom,
        })
    }
}

pub async fn new(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx) -> AppResult<Html<String>> {
    let c = Ctx::load(&st, req.user()?).await?;
    let mut form = FormData::default();
    form.set("on_shelf", "1");
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, None, form, errors, false).await?).await
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let c = Ctx::load(&st, req.user()?).await?;
    let product = repo::find(&st.db, id).await?.ok_or(AppError::NotFound)?;
    let form = product.to_form();
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, Some(product), form, errors, false).await?).await
}

pub async fn create(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let c = Ctx::load(&st, req.user()?).await?;
    save(c, ctx, &req, None, form).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let c = Ctx::load(&st, req.user()?).await?;
    let current = repo::find(&st.db, id).await?.ok_or(AppError::NotFound)?;
    save(c, ctx, &req, Some(current), form).await
}

async fn save(
    c: Ctx<'_>,
    ctx: PageCtx,
    req: &RequestCtx,
    current: Option<Product>,
    form: FormData,
) -> AppResult<Response> {
    let (st, user) = (c.shared.st, c.shared.user);
    let mut errors = FormErrors::new(ctx.lang);
    let mut input = model::check(&form, &c.dicts, current.as_ref(), c.cost_visible, &mut errors);
    input.custom = c.shared.parse_custom(&form, current.as_ref().map(|cur| &*cur.custom), &mut errors).await?;
    keep_shelf(user, current.as_ref(), &mut input);
    let mut tx = st.db.begin().await?;
    let id = current.as_ref().map(|cur| cur.id);
    if let Some(id) = id
        && !repo::lock(&mut tx, id).await?
    {
        return Err(AppError::NotFound);
    }
    fields::check_unique(&mut tx, ENTITY, &c.shared.defs, &input.custom, id, &mut errors).await?;
    let saved = if errors.is_empty() { write(&mut tx, &c, current.as_ref(), &input, req).await? } else { Err(()) };
    let Ok(saved_id) = saved else {
        drop(tx);
        if errors.is_empty() {
            errors.add("code", "product.error.code_taken");
        }
        let page = c.page(ctx, current, form, errors, true).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    };
    let key = if current.is_none() { "product.created" } else { "product.saved" };
    done(tx, &ctx, ctx.tf1(key, "name", &input.name), &format!("/products/{saved_id}")).await
}

/// Only holders of the shelf permission put products on or off the shelf: for anyone else a new
/// product goes on the shelf and an edited one stays as it was.
pub(super) fn keep_shelf(user: &CurrentUser, current: Option<&Product>, input: &mut ProductInput) {
    if !user.can(Module::Products, Action::Shelf) {
        input.on_shelf = current.is_none_or(|cur| cur.on_shelf);
    }
}

/// Insert or update, with the price history and the audit row; Err(()) when the code is taken.
async fn write(
    tx: &mut sqlx::PgConnection,
    c: &Ctx<'_>,
    current: Option<&Product>,
    input: &ProductInput,
    req: &RequestCtx,
) -> AppResult<Result<i64, ()>> {
    let (st, user) = (c.shared.st, c.shared.user);
    let who = (user.id, req.ip.as_deref());
    let Ok((id, code)) = store(tx, current, input, user.id, st.config.timezone).await? else { return Ok(Err(())) };
    let before = current.map(|cur| snapshot(c, &cur.to_input(), &cur.code));
    let after = snapshot(c, input, &code);
    after.write_save(tx, (ENTITY, id), before.as_ref(), None, who).await?;
    Ok(Ok(id))
}

/// Insert (`current` None) or update a checked product: its code (typed, else the numbering
/// rule's next) and a line in the price history when the prices changed; no audit row (the
/// caller writes the one it wants). (id, code), or Err(()) when the code is taken — the
/// transaction is then aborted up to its last savepoint. The form and the import save here.
pub(super) async fn store(
    tx: &mut sqlx::PgConnection,
    current: Option<&Product>,
    input: &ProductInput,
    actor: i64,
    tz: chrono::FixedOffset,
) -> AppResult<Result<(i64, String), ()>> {
    let code = match &input.code {
        Some(code) => code.clone(),
        None => crate::numbering::next(tx, ENTITY, chrono::Utc::now(), tz).await?,
    };
    let written = match current {
        None => repo::insert(tx, input, &code, actor).await,
        Some(cur) => repo::update(tx, cur.id, input, &code).await.map(|_| cur.id),
    };
    let Ok(id) = written.on_constraint("products_code_key", || ())? else { return Ok(Err(())) };
    let price_changed = current.is_none_or(|cur| cur.price != input.price || cur.cost_price != input.cost_price);
    if price_changed {
        repo::record_price(tx, id, input.price, input.cost_price, actor).await?;
    }
    Ok(Ok((id, code)))
}

/// The product's fields as the history keeps them (no cost price: see the module comment).
fn snapshot(c: &Ctx<'_>, input: &ProductInput, code: &str) -> Snapshot {
    let mut snap = Snapshot::new();
    snap.push("code", json!(code))
        .push("name", json!(input.name))
        .push("category", c.dicts.audit_value(input.category_id))
        .push("unit", c.dicts.audit_value(input.unit_id))
        .push("price", json!(crate::web::format::money(&input.price)));
    for (col, v) in &input.texts {
        snap.push(*col, audit::opt(v.clone()));
    }
    snap.push("on_shelf", json!(input.on_shelf));
    snap.extend(fields::snapshot(&c.shared.defs, &input.custom, c.shared.st.config.timezone));
    snap
}
