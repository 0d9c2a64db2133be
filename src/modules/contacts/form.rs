//! Creating and editing contacts: validation, the customer they belong to, primary flag, audit.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};

use super::RECORD;
use super::model::{self, Contact, ContactInput, DICTS, ENTITY};
use super::repo;
use crate::access::{DataScope, Module};
use crate::audit::{self, Entry, Snapshot};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldInput};
use crate::modules::customers;
use crate::modules::customers::Customer;
use crate::org::users;
use crate::records::form::RecordForm;
use crate::records::sql;
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, render};

#[derive(Template)]
#[template(path = "contacts/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// The contact being edited; None when creating.
    current: Option<Contact>,
    form: FormData,
    errors: FormErrors,
    /// Possible duplicates under a warning rule, until the user confirms.
    warnings: Vec<String>,
    salutations: Vec<SelectOpt>,
    custom: Vec<FieldInput>,
}

crate::page!(FormPage);

impl FormPage {
    fn genders(&self) -> Vec<SelectOpt> {
        vec![
            SelectOpt::new("male", self.ctx.t("user.gender.male")),
            SelectOpt::new("female", self.ctx.t("user.gender.female")),
        ]
    }

    fn is_checked(&self, name: &str) -> bool {
        matches!(self.form.get(name), "1" | "on" | "true" | "yes")
    }

    fn is_primary(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.is_primary)
    }

    /// Where "cancel" goes: the contact, else the customer it was started from, else the list.
    fn back(&self) -> String {
        match (&self.current, self.form.get("customer_id").parse::<i64>()) {
            (Some(c), _) => format!("/contacts/{}", c.id),
            (None, Ok(cid)) => format!("/customers/{cid}?tab=contacts"),
            _ => "/contacts".to_string(),
        }
    }
}

/// The form's shared parts (contact scope, custom fields), the user's customer scope (which
/// customers may be picked) and the contact dictionaries.
struct Ctx<'a> {
    shared: RecordForm<'a>,
    customer_scope: DataScope,
    dicts: Dicts,
}

impl<'a> Ctx<'a> {
    async fn load(st: &'a AppState, user: &'a CurrentUser) -> AppResult<Ctx<'a>> {
        Ok(Ctx {
            shared: RecordForm::load(st, user, &RECORD).await?,
            customer_scope: DataScope::resolve(&st.db, user, Module::Customers).await?,
            dicts: Dicts::load(&st.db, DICTS).await?,
        })
    }

    async fn page(
        self,
        ctx: PageCtx,
        current: Option<Contact>,
        form: FormData,
        errors: FormErrors,
        warnings: Vec<String>,
        submitted: bool,
    ) -> AppResult<FormPage> {
        let stored = current.as_ref().map(|c| &*c.custom);
        let custom = self.shared.custom_inputs(stored, &form, submitted, &errors, ctx.lang).await?;
        let salutations = self.dicts.options("salutation", ctx.lang, current.as_ref().and_then(|c| c.salutation_id));
        Ok(FormPage { ctx, current, form, errors, warnings, salutations, custom })
    }
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    customer_id: String,
}

pub async fn new(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<NewQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let mut form = FormData::default();
    if let Ok(cid) = q.customer_id.trim().parse::<i64>() {
        // Prefill only a customer the user may add contacts to; anything else starts blank.
        if let Ok(customer) = customer_for_write(&st.db, &c.customer_scope, cid).await? {
            form.set("customer_id", customer.id.to_string());
            form.set("customer_q", customer.name);
        }
    }
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
    let contact = writable(&st, &c.shared.scope, id).await?;
    let form = contact.to_form();
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, Some(contact), form, errors, Vec::new(), false).await?).await
}

/// A live contact the user may change: visible (else 404), owner in scope or a read-write team
/// place on it or its customer (else 403), and its customer not frozen (409).
pub async fn writable(st: &AppState, scope: &DataScope, id: i64) -> AppResult<Contact> {
    sql::check_writable(&st.db, &RECORD, scope, id).await?;
    repo::find_visible(&st.db, scope, id, false).await?.ok_or(AppError::NotFound)
}

/// The customer `id` if this user may add contacts to it (`customer_scope`: their customers
/// scope); else why not, as the form error's i18n key.
async fn customer_for_write(
    db: &PgPool,
    customer_scope: &DataScope,
    id: i64,
) -> AppResult<Result<Customer, &'static str>> {
    let Some(customer) = customers::find_visible(db, customer_scope, id, false).await? else {
        return Ok(Err(CUSTOMER_UNKNOWN));
    };
    if !sql::may_write(db, &customers::RECORD, customer_scope, id, customer.owner_id).await? {
        return Ok(Err("contact.error.customer_readonly"));
    }
    if customer.frozen {
        return Ok(Err("contact.error.customer_frozen"));
    }
    Ok(Ok(customer))
}

/// The error key of a customer the form names that the user cannot see.
pub(super) const CUSTOMER_UNKNOWN: &str = "contact.error.customer_unknown";

/// The customer the form's `customer_q` names (`customers::picked`), if the user may add
/// contacts to it; else the field's error key. The form and the import check it here.
pub(super) async fn picked_customer(
    db: &PgPool,
    customer_scope: &DataScope,
    form: &FormData,
) -> AppResult<Result<Customer, &'static str>> {
    Ok(match customers::picked(db, customer_scope, form, CUSTOMER_UNKNOWN).await? {
        Ok(id) => customer_for_write(db, customer_scope, id).await?,
        Err(key) => Err(key),
    })
}

/// The customer the form names; it must be one the user may change.
async fn resolve_customer(c: &Ctx<'_>, form: &FormData, errors: &mut FormErrors) -> AppResult<Option<Customer>> {
    let checked = picked_customer(&c.shared.st.db, &c.customer_scope, form).await?;
    Ok(checked.map_err(|key| errors.add("customer_q", key)).ok())
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
    current: Option<Contact>,
    form: FormData,
) -> AppResult<Response> {
    let st = c.shared.st;
    let mut errors = FormErrors::new(ctx.lang);
    let mut input = model::check(&form, &c.dicts, current.as_ref(), &mut errors);
    input.custom = c.shared.parse_custom(&form, current.as_ref().map(|cur| &*cur.custom), &mut errors).await?;
    // The customer: a contact keeps its customer unless another one is chosen, which the user
    // must be allowed to change.
    let unchanged = current.as_ref().filter(|cur| {
        let typed = form.get("customer_q").trim();
        match form.get("customer_id").trim().parse::<i64>().ok() {
            Some(h) => h == cur.customer_id && (typed.is_empty() || typed == cur.customer_name),
            None => typed == cur.customer_name,
        }
    });
    let customer: Option<(i64, Option<i64>)> = match unchanged {
        Some(cur) => Some((cur.customer_id, cur.customer_owner_id)),
        None => resolve_customer(&c, &form, &mut errors).await?.map(|cu| (cu.id, cu.owner_id)),
    };
    input.customer_id = customer.map(|(id, _)| id);

    let mut tx = st.db.begin().await?;
    let id = current.as_ref().map(|cur| cur.id);
    if let Some(id) = id {
        repo::lock(&mut tx, id).await?;
    }
    fields::check_unique(&mut tx, ENTITY, &c.shared.defs, &input.custom, id, &mut errors).await?;
    // The owner dept-scoped rules compare with: the contact's, else its customer's.
    let owner = current.as_ref().and_then(|cur| cur.owner_id).or(customer.and_then(|(_, o)| o));
    let warnings = duplicates(&mut tx, &c, &input, current.as_ref(), owner, &form, &mut errors, ctx.lang).await?;
    let Some((customer_id, customer_owner)) = customer.filter(|_| errors.is_empty() && warnings.is_empty()) else {
        drop(tx);
        let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        let page = c.page(ctx, current, form, errors, warnings, true).await?;
        return Ok((status, render(page).await?).into_response());
    };

    let saved_id = match &current {
        None => insert(&mut tx, &c, &input, customer_id, customer_owner, req).await?,
        Some(cur) => {
            update_existing(&mut tx, &c, cur, &input, customer_id, customer_owner, req).await?;
            cur.id
        }
    };
    tx.commit().await?;
    ctx.flash_text(
        Kind::Success,
        ctx.tf1(if current.is_none() { "contact.created" } else { "contact.saved" }, "name", &input.name),
    )
    .await;
    Ok(Redirect::to(&format!("/contacts/{saved_id}")).into_response())
}

/// The contact duplicate rules (`customers::dup`, kind `DUPLICATES`: phone, mobile, e-mail), in
/// the saving transaction so a blocking rule holds against concurrent saves: blocking hits
/// become field errors, warnings are returned unless the user confirmed. On an edit only the
/// numbers whose normalised value changed are checked.
#[allow(clippy::too_many_arguments)]
async fn duplicates(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    input: &ContactInput,
    current: Option<&Contact>,
    owner: Option<i64>,
    form: &FormData,
    errors: &mut FormErrors,
    lang: crate::web::i18n::Lang,
) -> AppResult<Vec<String>> {
    use crate::modules::customers::dup;
    use crate::records::normalize;
    let changed = |col: &str, norm: fn(&str) -> String| -> bool {
        current.is_none_or(|cur| {
            input.text(col).map(norm).unwrap_or_default() != cur.text_value(col).map(norm).unwrap_or_default()
        })
    };
    let candidate = dup::Candidate {
        exclude_id: current.map(|cur| cur.id),
        name: "",
        phone: input.text("phone").filter(|_| changed("phone", normalize::phone)),
        mobile: input.text("mobile").filter(|_| changed("mobile", normalize::phone)),
        email: input.text("email").filter(|_| changed("email", normalize::email)),
        owner_id: owner,
    };
    let hits = dup::find_of(tx, &super::DUPLICATES, &candidate, &c.shared.scope).await?;
    Ok(dup::sort_hits(hits, form.has("confirm_dup"), lang, errors))
}

/// A new contact belongs to its customer's owner; the customer's first contact becomes primary.
async fn insert(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    input: &ContactInput,
    customer_id: i64,
    owner: Option<i64>,
    req: &RequestCtx,
) -> AppResult<i64> {
    let id = create_contact(tx, input, customer_id, owner, c.shared.user.id).await?;
    let is_primary: bool =
        sqlx::query_scalar("SELECT is_primary FROM contacts WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    let after = snapshot(tx, c, input, customer_id, owner, is_primary).await?;
    after.write_save(tx, (ENTITY, id), None, None, (c.shared.user.id, req.ip.as_deref())).await?;
    Ok(id)
}

/// Create a checked contact of `customer_id` owned by `owner` (its customer's owner), primary
/// if asked or if it is the customer's first; no audit row (the caller writes the one it
/// wants). The form and the import create contacts here.
pub(super) async fn create_contact(
    tx: &mut PgConnection,
    input: &ContactInput,
    customer_id: i64,
    owner: Option<i64>,
    actor: i64,
) -> AppResult<i64> {
    repo::lock_customer(tx, customer_id).await?;
    let id = repo::insert(tx, input, customer_id, owner, actor).await?;
    if input.make_primary {
        repo::set_primary(tx, id, customer_id).await?;
    } else {
        repo::ensure_primary(tx, &[customer_id]).await?;
    }
    Ok(id)
}

async fn update_existing(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    cur: &Contact,
    input: &ContactInput,
    customer_id: i64,
    customer_owner: Option<i64>,
    req: &RequestCtx,
) -> AppResult<()> {
    let before = snapshot(tx, c, &cur.to_input(), cur.customer_id, cur.owner_id, cur.is_primary).await?;
    let (owner, entries) = save_contact(tx, cur, input, customer_id, customer_owner).await?;
    let is_primary: bool =
        sqlx::query_scalar("SELECT is_primary FROM contacts WHERE id = $1").bind(cur.id).fetch_one(&mut *tx).await?;
    let after = snapshot(tx, c, input, customer_id, owner, is_primary).await?;
    let who = (c.shared.user.id, req.ip.as_deref());
    after.write_save(tx, (ENTITY, cur.id), Some(&before), None, who).await?;
    for e in entries {
        e.write(tx, Some(who.0), who.1).await?;
    }
    Ok(())
}

/// Save a checked edit of `cur` (now of `customer_id`, owned by `customer_owner`), with its
/// customers locked and their primary contacts kept right. Returns the contact's owner and the
/// audit rows of the customer's previous primary contact, when this one took its place; the
/// contact's own audit row is the caller's. The form and the import save edits here.
pub(super) async fn save_contact(
    tx: &mut PgConnection,
    cur: &Contact,
    input: &ContactInput,
    customer_id: i64,
    customer_owner: Option<i64>,
) -> AppResult<(Option<i64>, Vec<Entry>)> {
    let moved = customer_id != cur.customer_id;
    // Moved to another customer: it follows the new customer's owner unless transferred on its own.
    let owner = if moved && !cur.owner_locked { customer_owner } else { cur.owner_id };
    let mut locked = vec![cur.customer_id, customer_id];
    locked.sort_unstable();
    locked.dedup();
    for cid in &locked {
        repo::lock_customer(tx, *cid).await?;
    }
    repo::update(tx, cur.id, input, customer_id, owner, moved).await?;
    let mut entries = Vec::new();
    if input.make_primary && (moved || !cur.is_primary) {
        if let Some((prev, _)) = repo::set_primary(tx, cur.id, customer_id).await? {
            entries.push(Entry::new(ENTITY, prev, "update").change("primary", true, false));
        }
    }
    // The old customer may have lost its primary, the new one may have none yet.
    repo::ensure_primary(tx, &locked).await?;
    Ok((owner, entries))
}

/// The contact's fields as the history keeps them.
async fn snapshot(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    input: &ContactInput,
    customer_id: i64,
    owner: Option<i64>,
    is_primary: bool,
) -> AppResult<Snapshot> {
    let customer: Option<String> = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(&mut *tx)
        .await?;
    let mut snap = Snapshot::new();
    snap.push("name", json!(input.name))
        .push("customer", audit::opt(customer))
        .push("salutation", c.dicts.audit_value(input.salutation_id))
        .push("gender", input.gender.as_deref().map_or(Value::Null, |g| audit::bilingual(&format!("user.gender.{g}"))));
    for (col, v) in &input.texts {
        snap.push(*col, audit::opt(v.clone()));
    }
    snap.push("birthday", audit::opt(input.birthday.map(|d| d.to_string())))
        .push("decision_maker", json!(input.decision_maker))
        .push("primary", json!(is_primary))
        .push("owner", audit::opt(users::name_of(tx, owner).await?));
    snap.extend(fields::snapshot(&c.shared.defs, &input.custom, c.shared.st.config.timezone));
    Ok(snap)
}
