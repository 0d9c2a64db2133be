//! Creating and editing opportunities: the customer (one the user sees, not in the pool, not
//! frozen), contacts from that customer, product lines (Decimal, half-up cents), the amount
//! (from the lines less the discount, or typed), the stage group of the owner's department and
//! the stage a new one starts at, custom fields, audit. Stages move on the detail page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::model::{self, DICT_FIELDS, DICTS, ENTITY, Opportunity, OpportunityInput};
use super::repo;
use super::stages::{self, Stage};
use super::{LINES, RECORD};
use crate::access::{DataScope, Module};
use crate::audit::{self, Snapshot};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldInput};
use crate::modules::customers::{self, Customer};
use crate::modules::products::lines::{self, Editor, Line, LineForm};
use crate::org::users;
use crate::records::form::RecordForm;
use crate::records::sql;
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

#[derive(Template)]
#[template(path = "opportunities/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Opportunity>,
    form: FormData,
    errors: FormErrors,
    dicts: Dicts,
    custom: Vec<FieldInput>,
    owner_options: Vec<SelectOpt>,
    /// The stages a new opportunity may start at (its owner's group).
    stages: Vec<Stage>,
    /// The chosen customer's contacts: (id, name, position).
    contacts: Vec<(i64, String, Option<String>)>,
    editor: Editor,
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
        self.ctx.t(&format!("opportunity.{}", field.trim_end_matches("_id")))
    }

    fn stage_options(&self) -> Vec<SelectOpt> {
        self.stages
            .iter()
            .map(|s| SelectOpt::new(s.id, format!("{} · {}%", s.name(self.ctx.lang), s.win_rate)))
            .collect()
    }

    fn contact_checked(&self, id: &i64) -> bool {
        self.form.all("contact_ids").contains(&id.to_string().as_str())
    }

    /// Where "cancel" goes: the opportunity, else the customer it was started from, else the list.
    fn back(&self) -> String {
        match (&self.current, self.form.get("customer_id").parse::<i64>()) {
            (Some(o), _) => format!("/opportunities/{}", o.id),
            (None, Ok(cid)) => format!("/customers/{cid}?tab=opportunities"),
            _ => "/opportunities".to_string(),
        }
    }
}

/// The form's shared parts, the user's customer scope (which customers may be picked) and the
/// opportunity dictionaries (with the product units for the picker).
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
        current: Option<Opportunity>,
        form: FormData,
        errors: FormErrors,
        submitted: bool,
    ) -> AppResult<FormPage> {
        let db = &self.shared.st.db;
        let stored = current.as_ref().map(|c| &*c.custom);
        let custom = self.shared.custom_inputs(stored, &form, submitted, &errors, ctx.lang).await?;
        let owner_options = self.shared.owner_options(current.is_none()).await?;
        let mut conn = db.acquire().await?;
        let stages = match &current {
            Some(_) => Vec::new(),
            None => {
                let owner = form.get("owner_id").parse().unwrap_or(self.shared.user.id);
                let group = stages::group_for_owner(&mut conn, owner).await?;
                stages::of_group(&mut conn, group).await?
            }
        };
        let contacts = match form.get("customer_id").parse::<i64>() {
            Ok(cid) => repo::customer_contacts(&mut conn, cid).await?,
            Err(_) => Vec::new(),
        };
        drop(conn);
        let stored_lines = match &current {
            Some(o) if !submitted => lines::stored(db, &LINES, o.id).await?,
            _ => Vec::new(),
        };
        let editor = Editor::load(db, LineForm::all(&form), &stored_lines, &errors, &self.dicts, ctx.lang).await?;
        Ok(FormPage { editor, dicts: self.dicts, ctx, current, form, errors, custom, owner_options, stages, contacts })
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
    form.set("owner_id", user.id.to_string());
    if let Ok(cid) = q.customer_id.trim().parse::<i64>()
        && let Ok(customer) = customer_for_opportunity(&c, cid).await?
    {
        form.set("customer_id", customer.id.to_string());
        form.set("customer_q", &customer.name);
        form.set("name", ctx.tf1("opportunity.default_name", "customer", &customer.name));
    }
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, None, form, errors, false).await?).await
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let c = Ctx::load(&st, user).await?;
    let o = writable(&st, &c.shared.scope, id).await?;
    let form = to_form(&o, &repo::contacts(&st.db, id).await?);
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, Some(o), form, errors, false).await?).await
}

/// A live opportunity the user may change: visible (else 404), owner in scope or a read-write
/// team place (else 403).
pub async fn writable(st: &AppState, scope: &DataScope, id: i64) -> AppResult<Opportunity> {
    sql::check_writable(&st.db, &RECORD, scope, id).await?;
    repo::find_visible(&st.db, scope, id).await?.ok_or(AppError::NotFound)
}

fn to_form(o: &Opportunity, contacts: &[(i64, String, Option<String>)]) -> FormData {
    let mut f = FormData::default();
    f.set("name", &o.name);
    f.set("customer_id", o.customer_id.to_string());
    f.set("customer_q", &o.customer_name);
    f.set("amount", crate::money::plain(&o.amount));
    f.set("discount", o.discount.normalize().to_string());
    f.set("expected_close", o.expected_close.map(|d| d.to_string()).unwrap_or_default());
    for (col, _) in DICT_FIELDS {
        f.set(col, o.dict_value(col).map(|v| v.to_string()).unwrap_or_default());
    }
    for (col, _) in model::TEXT_FIELDS {
        f.set(col, o.text_value(col).unwrap_or_default());
    }
    for (id, _, _) in contacts {
        f.push("contact_ids", id.to_string());
    }
    f
}

/// Why a customer cannot take an opportunity from this user, as the form error's i18n key.
async fn customer_for_opportunity(c: &Ctx<'_>, id: i64) -> AppResult<Result<Customer, &'static str>> {
    let db = &c.shared.st.db;
    let Some(customer) = customers::find_visible(db, &c.customer_scope, id, false).await? else {
        return Ok(Err("opportunity.error.customer_unknown"));
    };
    if customer.owner_id.is_none() {
        return Ok(Err("opportunity.error.customer_in_pool"));
    }
    if customer.frozen {
        return Ok(Err("opportunity.error.customer_frozen"));
    }
    Ok(Ok(customer))
}

/// The customer the form names (`customers::picked`), if it may take an opportunity.
async fn resolve_customer(c: &Ctx<'_>, form: &FormData, errors: &mut FormErrors) -> AppResult<Option<Customer>> {
    let db = &c.shared.st.db;
    let checked = match customers::picked(db, &c.customer_scope, form, "opportunity.error.customer_unknown").await? {
        Ok(id) => customer_for_opportunity(c, id).await?,
        Err(key) => Err(key),
    };
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
    current: Option<Opportunity>,
    mut form: FormData,
) -> AppResult<Response> {
    let st = c.shared.st;
    let mut errors = FormErrors::new(ctx.lang);
    let existing: Vec<Line> = match &current {
        Some(cur) => lines::stored(&st.db, &LINES, cur.id).await?,
        None => Vec::new(),
    };
    let (input, start) = check(&c, &mut form, current.as_ref(), &existing, &mut errors).await?;
    // Read before the transaction, which holds the opportunity's row lock: no second pool
    // connection is waited for while it is held.
    let contacts = match &current {
        Some(cur) => repo::contacts(&st.db, cur.id).await?,
        None => Vec::new(),
    };
    let mut tx = st.db.begin().await?;
    let id = current.as_ref().map(|cur| cur.id);
    if let Some(id) = id
        && repo::lock(&mut tx, id).await?.is_none()
    {
        return Err(AppError::NotFound);
    }
    fields::check_unique(&mut tx, ENTITY, &c.shared.defs, &input.custom, id, &mut errors).await?;
    if !errors.is_empty() {
        drop(tx);
        let page = c.page(ctx, current, form, errors, true).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let who = (c.shared.user.id, req.ip.as_deref());
    let saved_id = match (&current, start) {
        (Some(cur), _) => {
            let before = snapshot(&mut tx, &c, &input_of(cur, &existing, &contacts)).await?;
            repo::update(&mut tx, cur.id, &input).await?;
            write_parts(&mut tx, cur.id, &input).await?;
            let after = snapshot(&mut tx, &c, &input).await?;
            after.write_save(&mut tx, (ENTITY, cur.id), Some(&before), None, who).await?;
            cur.id
        }
        (None, Some(stage)) => {
            let owner = input.owner_id.unwrap_or(who.0);
            let id = repo::insert(&mut tx, &input, (stage.group_id, stage.id), owner, who.0).await?;
            write_parts(&mut tx, id, &input).await?;
            repo::log_start(&mut tx, id, stage.id, who.0).await?;
            repo::touch_customer(&mut tx, input.customer_id).await?;
            let after = snapshot(&mut tx, &c, &input).await?;
            after.write_save(&mut tx, (ENTITY, id), None, None, who).await?;
            id
        }
        (None, None) => return Err(AppError::NotFound),
    };
    let key = if current.is_none() { "opportunity.created" } else { "opportunity.saved" };
    done(tx, &ctx, ctx.tf1(key, "name", &input.name), &format!("/opportunities/{saved_id}")).await
}

/// What the form says, checked against the database: the customer (an edit keeps its own unless
/// another is picked or typed), the lines and the amount they make, the customer's contacts
/// among those ticked, and for a new one its owner and the stage it starts at. Problems go into
/// `errors` (the customer's hidden id is filled in `form` once it is known).
async fn check(
    c: &Ctx<'_>,
    form: &mut FormData,
    current: Option<&Opportunity>,
    existing: &[Line],
    errors: &mut FormErrors,
) -> AppResult<(OpportunityInput, Option<Stage>)> {
    let mut input = model::check(form, &c.dicts, current, errors);
    input.custom = c.shared.parse_custom(form, current.map(|cur| &*cur.custom), errors).await?;
    let unchanged = current.filter(|cur| {
        let typed = form.get("customer_q").trim();
        form.get("customer_id").trim() == cur.customer_id.to_string()
            && (typed.is_empty() || typed == cur.customer_name)
    });
    let customer_id = match unchanged {
        Some(cur) => Some(cur.customer_id),
        None => resolve_customer(c, form, errors).await?.map(|cu| cu.id),
    };
    if let Some(cid) = customer_id {
        form.set("customer_id", cid.to_string());
    }
    let mut conn = c.shared.st.db.acquire().await?;
    input.lines = lines::resolve(&mut conn, &LineForm::all(form), existing, errors).await?;
    input.settle_amount();
    if let Some(cid) = customer_id {
        let theirs: Vec<i64> =
            repo::customer_contacts(&mut conn, cid).await?.into_iter().map(|(id, _, _)| id).collect();
        input.contact_ids.retain(|id| theirs.contains(id));
        input.customer_id = cid;
    }
    let start = match current {
        Some(_) => None,
        None => {
            let owner = c.shared.new_owner(input.owner_id, errors).await?;
            input.owner_id = Some(owner);
            Some(starting_stage(&mut conn, owner, input.stage_id, errors).await?)
        }
    };
    Ok((input, start))
}

/// The lines and contacts, replaced as the form has them.
async fn write_parts(tx: &mut PgConnection, id: i64, input: &OpportunityInput) -> AppResult<()> {
    lines::replace(tx, &LINES, id, &input.lines).await?;
    repo::set_contacts(tx, id, &input.contact_ids).await?;
    Ok(())
}

/// Where a new opportunity starts: the chosen stage when it belongs to the owner's group, else
/// that group's first stage (a chosen stage of another group is an error on the field).
async fn starting_stage(
    conn: &mut PgConnection,
    owner: i64,
    chosen: Option<i64>,
    errors: &mut FormErrors,
) -> AppResult<Stage> {
    let group = stages::group_for_owner(conn, owner).await?;
    let stages = stages::of_group(conn, group).await?;
    let first = stages.first().cloned().ok_or(AppError::Conflict("opportunity.error.no_stages"))?;
    Ok(match chosen {
        None => first,
        Some(id) => match stages.into_iter().find(|s| s.id == id) {
            Some(s) => s,
            None => {
                errors.add("stage_id", "opportunity.error.stage_group");
                first
            }
        },
    })
}

/// The opportunity as an input, to compare with an edit.
fn input_of(o: &Opportunity, lines: &[Line], contacts: &[(i64, String, Option<String>)]) -> OpportunityInput {
    OpportunityInput {
        name: o.name.clone(),
        customer_id: o.customer_id,
        amount: o.amount,
        discount: o.discount,
        expected_close: o.expected_close,
        dicts: DICT_FIELDS.iter().map(|(col, _)| (*col, o.dict_value(col))).collect(),
        texts: model::TEXT_FIELDS.iter().map(|(col, _)| (*col, o.text_value(col).map(str::to_string))).collect(),
        owner_id: o.owner_id,
        custom: o.custom.0.clone(),
        lines: lines.iter().map(Line::input).collect(),
        contact_ids: contacts.iter().map(|(id, _, _)| *id).collect(),
        stage_id: Some(o.stage_id),
    }
}

/// The opportunity's fields as the history keeps them (lines and contacts as text).
async fn snapshot(tx: &mut PgConnection, c: &Ctx<'_>, input: &OpportunityInput) -> AppResult<Snapshot> {
    let customer: Option<String> = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
        .bind(input.customer_id)
        .fetch_optional(&mut *tx)
        .await?;
    let contacts: Vec<String> = sqlx::query_scalar("SELECT name FROM contacts WHERE id = ANY($1) ORDER BY name, id")
        .bind(&input.contact_ids)
        .fetch_all(&mut *tx)
        .await?;
    let tz = c.shared.st.config.timezone;
    let mut snap = Snapshot::new();
    snap.push("name", json!(input.name))
        .push("customer", audit::opt(customer))
        .push("amount", json!(crate::web::format::money(&input.amount)))
        .push("discount", json!(format!("{}%", input.discount.normalize())))
        .push("expected_close", audit::opt(input.expected_close.map(|d| d.to_string())));
    for (col, v) in &input.dicts {
        snap.push(col.trim_end_matches("_id"), c.dicts.audit_value(*v));
    }
    for (col, v) in &input.texts {
        snap.push(*col, audit::opt(v.clone()));
    }
    snap.push("lines", audit::opt(lines::describe(tx, &input.lines).await?))
        .push("contacts", audit::opt(Some(contacts.join("、")).filter(|s| !s.is_empty())))
        .push("owner", audit::opt(users::name_of(tx, input.owner_id).await?));
    snap.extend(fields::snapshot(&c.shared.defs, &input.custom, tz));
    Ok(snap)
}
