//! Creating and editing contracts (drafts, and rejected or withdrawn ones): the number (typed or
//! from the numbering rule), the customer (one the user sees, not in the pool, not frozen), an
//! optional opportunity of that customer whose lines and amount are copied in (and stay
//! editable), product lines, the amount (from the lines less the discount, or typed), dates,
//! the customer's signer (one of its contacts) and the company's signer, custom fields, audit.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::model::{self, Contract, ContractInput, DICT_FIELDS, DICTS, ENTITY, Status};
use super::repo;
use super::{LINES, RECORD};
use crate::access::{DataScope, Module};
use crate::audit::{self, Snapshot};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult, ResultExt};
use crate::fields::{self, FieldInput};
use crate::modules::customers::{self, Customer};
use crate::modules::opportunities::{self, Opportunity};
use crate::modules::products::lines::{self, Editor, Line, LineForm};
use crate::org::users;
use crate::records::form::RecordForm;
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

#[derive(Template)]
#[template(path = "contracts/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Contract>,
    form: FormData,
    errors: FormErrors,
    dicts: Dicts,
    custom: Vec<FieldInput>,
    owner_options: Vec<SelectOpt>,
    /// The chosen customer's opportunities the user sees.
    opportunities: Vec<SelectOpt>,
    /// The chosen customer's contacts (signer).
    contacts: Vec<SelectOpt>,
    users: Vec<SelectOpt>,
    editor: Editor,
}

crate::page!(FormPage);

impl FormPage {
    fn type_options(&self) -> Vec<SelectOpt> {
        self.dicts.options("contract_type", self.ctx.lang, self.current.as_ref().and_then(|c| c.type_id))
    }

    /// Where "cancel" goes: the contract, else where it was started from, else the list.
    fn back(&self) -> String {
        match (
            &self.current,
            self.form.get("opportunity_id").parse::<i64>(),
            self.form.get("customer_id").parse::<i64>(),
        ) {
            (Some(k), _, _) => format!("/contracts/{}", k.id),
            (None, Ok(oid), _) => format!("/opportunities/{oid}"),
            (None, _, Ok(cid)) => format!("/customers/{cid}?tab=contracts"),
            _ => "/contracts".to_string(),
        }
    }
}

/// The form's shared parts, the user's customer scope (which customers may be picked) and the
/// contract dictionaries.
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
        current: Option<Contract>,
        form: FormData,
        errors: FormErrors,
        submitted: bool,
    ) -> AppResult<FormPage> {
        let st = self.shared.st;
        let stored = current.as_ref().map(|c| &*c.custom);
        let custom = self.shared.custom_inputs(stored, &form, submitted, &errors, ctx.lang).await?;
        let owner_options = self.shared.owner_options(current.is_none()).await?;
        let (opportunities, contacts) = match form.get("customer_id").parse::<i64>() {
            Ok(cid) => {
                let opps = customer_opportunities(st, self.shared.user, cid).await?;
                let mut conn = st.db.acquire().await?;
                let contacts = repo::customer_contacts(&mut conn, cid).await?;
                (
                    opps.iter()
                        .map(|o| SelectOpt::new(o.id, format!("{} · {}", o.name, ctx.money(&o.amount))))
                        .collect(),
                    contacts
                        .into_iter()
                        .map(|(id, name, pos)| {
                            SelectOpt::new(id, pos.map_or(name.clone(), |p| format!("{name}（{p}）")))
                        })
                        .collect(),
                )
            }
            Err(_) => (Vec::new(), Vec::new()),
        };
        let stored_lines = match &current {
            Some(k) if !submitted => lines::stored(&st.db, &LINES, k.id).await?,
            _ => Vec::new(),
        };
        let editor = Editor::load(&st.db, LineForm::all(&form), &stored_lines, &errors, &self.dicts, ctx.lang).await?;
        Ok(FormPage {
            users: users::options(&st.db, true).await?,
            dicts: self.dicts,
            ctx,
            current,
            form,
            errors,
            custom,
            owner_options,
            opportunities,
            contacts,
            editor,
        })
    }
}

/// The customer's opportunities the user sees (open or won: a lost one sells nothing).
async fn customer_opportunities(st: &AppState, user: &CurrentUser, customer_id: i64) -> AppResult<Vec<Opportunity>> {
    let mut rows = opportunities::for_customer(&st.db, user, customer_id).await?.rows;
    rows.retain(|o| matches!(o.status.as_str(), "open" | "won"));
    Ok(rows)
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    opportunity_id: String,
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
    form.set("order_date", today(&st).to_string());
    form.set("company_signer_id", user.id.to_string());
    let mut customer_id = q.customer_id.trim().parse::<i64>().ok();
    // From an opportunity: its customer, lines, discount and amount.
    if let Ok(oid) = q.opportunity_id.trim().parse::<i64>()
        && let Some(o) = opportunities::find_visible(&st.db, user, oid).await?
    {
        customer_id = Some(o.customer_id);
        form.set("opportunity_id", o.id.to_string());
        form.set("name", &o.name);
        form.set("discount", o.discount.normalize().to_string());
        form.set("amount", crate::money::plain(&o.amount));
        LineForm::fill(&mut form, &lines::stored(&st.db, &opportunities::LINES, o.id).await?, true);
    }
    if let Some(cid) = customer_id
        && let Ok(customer) = customer_for_contract(&c, cid).await?
    {
        form.set("customer_id", customer.id.to_string());
        form.set("customer_q", &customer.name);
        if form.get("name").is_empty() {
            form.set("name", ctx.tf1("contract.default_name", "customer", &customer.name));
        }
    }
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, None, form, errors, false).await?).await
}

fn today(st: &AppState) -> NaiveDate {
    chrono::Utc::now().with_timezone(&st.config.timezone).date_naive()
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let (user, k) = super::approval::changeable(&st, &req, id, EDITABLE).await?;
    let c = Ctx::load(&st, user).await?;
    let form = to_form(&k);
    let errors = FormErrors::new(ctx.lang);
    render(c.page(ctx, Some(k), form, errors, false).await?).await
}

const EDITABLE: &[Status] = &[Status::Draft, Status::Rejected, Status::Withdrawn];

fn to_form(k: &Contract) -> FormData {
    let mut f = FormData::default();
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    f.set("number", &k.number);
    f.set("name", &k.name);
    f.set("customer_id", k.customer_id.to_string());
    f.set("customer_q", &k.customer_name);
    f.set("opportunity_id", opt(k.opportunity_id));
    f.set("amount", crate::money::plain(&k.amount));
    f.set("discount", k.discount.normalize().to_string());
    f.set("order_date", k.order_date.to_string());
    f.set("start_date", date(k.start_date));
    f.set("end_date", date(k.end_date));
    f.set("customer_signer_id", opt(k.customer_signer_id));
    f.set("company_signer_id", opt(k.company_signer_id));
    for (col, _) in DICT_FIELDS {
        f.set(col, opt(k.dict_value(col)));
    }
    for (col, _) in model::TEXT_FIELDS {
        f.set(col, k.text_value(col).unwrap_or_default());
    }
    f
}

/// Why a customer cannot take a contract from this user, as the form error's i18n key.
async fn customer_for_contract(c: &Ctx<'_>, id: i64) -> AppResult<Result<Customer, &'static str>> {
    let db = &c.shared.st.db;
    let Some(customer) = customers::find_visible(db, &c.customer_scope, id, false).await? else {
        return Ok(Err("contract.error.customer_unknown"));
    };
    if customer.owner_id.is_none() {
        return Ok(Err("contract.error.customer_in_pool"));
    }
    if customer.frozen {
        return Ok(Err("contract.error.customer_frozen"));
    }
    Ok(Ok(customer))
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
    let (user, current) = super::approval::changeable(&st, &req, id, EDITABLE).await?;
    let c = Ctx::load(&st, user).await?;
    save(c, ctx, &req, Some(current), form).await
}

async fn save(
    c: Ctx<'_>,
    ctx: PageCtx,
    req: &RequestCtx,
    current: Option<Contract>,
    mut form: FormData,
) -> AppResult<Response> {
    let st = c.shared.st;
    let mut errors = FormErrors::new(ctx.lang);
    // Read before the transaction: it holds the contract's row lock (see `write`).
    let stored = match &current {
        Some(cur) => lines::stored(&st.db, &LINES, cur.id).await?,
        None => Vec::new(),
    };
    let input = check(&c, &mut form, current.as_ref().map(|cur| (cur, stored.as_slice())), &mut errors).await?;
    let mut tx = st.db.begin().await?;
    if let Some(cur) = &current {
        let h = repo::lock(&mut tx, cur.id).await?.ok_or(AppError::NotFound)?;
        if !Status::from_code(&h.status).is_some_and(Status::is_editable) {
            return Err(AppError::Conflict("contract.error.state"));
        }
    }
    let id = current.as_ref().map(|cur| cur.id);
    fields::check_unique(&mut tx, ENTITY, &c.shared.defs, &input.custom, id, &mut errors).await?;
    if errors.is_empty() {
        match write(&mut tx, &c, current.as_ref().map(|cur| (cur, stored.as_slice())), &input, req).await? {
            Ok(saved_id) => {
                let key = if current.is_none() { "contract.created" } else { "contract.saved" };
                return done(tx, &ctx, ctx.tf1(key, "name", &input.name), &format!("/contracts/{saved_id}")).await;
            }
            Err(()) => errors.add("number", "contract.error.number_taken"),
        }
    }
    drop(tx);
    let page = c.page(ctx, current, form, errors, true).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response())
}

/// Insert or update with lines and the audit row; Err(()) when the number is taken. `current`:
/// the contract being edited with its stored lines. Everything runs on `tx`: it holds the
/// contract's row lock, so waiting for another pool connection here could starve the pool.
async fn write(
    tx: &mut PgConnection,
    c: &Ctx<'_>,
    current: Option<(&Contract, &[Line])>,
    input: &ContractInput,
    req: &RequestCtx,
) -> AppResult<Result<i64, ()>> {
    let (st, user) = (c.shared.st, c.shared.user);
    let who = (user.id, req.ip.as_deref());
    let number = match &input.number {
        Some(n) => n.clone(),
        None => crate::numbering::next(tx, ENTITY, chrono::Utc::now(), st.config.timezone).await?,
    };
    let before = match current {
        Some((cur, stored)) => Some(snapshot(tx, c, &input_of(cur, stored), &cur.number).await?),
        None => None,
    };
    let written = match current {
        None => repo::insert(tx, input, &number, input.owner_id.unwrap_or(user.id), user.id).await,
        Some((cur, _)) => repo::update(tx, cur.id, input, &number).await.map(|_| cur.id),
    };
    let Ok(id) = written.on_constraint("contracts_number", || ())? else { return Ok(Err(())) };
    lines::replace(tx, &LINES, id, &input.lines).await?;
    let after = snapshot(tx, c, input, &number).await?;
    after.write_save(tx, (ENTITY, id), before.as_ref(), None, who).await?;
    Ok(Ok(id))
}

/// What the form says, checked against the database: the customer (an edit keeps its own unless
/// another is picked or typed), the opportunity and signer (of that customer), the lines and the
/// amount they make, and for a new one its owner. `edited`: the contract being edited with its
/// stored lines.
async fn check(
    c: &Ctx<'_>,
    form: &mut FormData,
    edited: Option<(&Contract, &[Line])>,
    errors: &mut FormErrors,
) -> AppResult<ContractInput> {
    let st = c.shared.st;
    let current = edited.map(|(cur, _)| cur);
    let mut input = model::check(form, &c.dicts, current, today(st), errors);
    input.custom = c.shared.parse_custom(form, current.map(|cur| &*cur.custom), errors).await?;
    let unchanged = current.filter(|cur| {
        let typed = form.get("customer_q").trim();
        form.get("customer_id").trim() == cur.customer_id.to_string()
            && (typed.is_empty() || typed == cur.customer_name)
    });
    let customer_id = match unchanged {
        Some(cur) => Some(cur.customer_id),
        None => {
            let picked = customers::picked(&st.db, &c.customer_scope, form, "contract.error.customer_unknown").await?;
            let checked = match picked {
                Ok(id) => customer_for_contract(c, id).await?.map(|cu| cu.id),
                Err(key) => Err(key),
            };
            checked.map_err(|key| errors.add("customer_q", key)).ok()
        }
    };
    if let Some(cid) = customer_id {
        form.set("customer_id", cid.to_string());
        input.customer_id = cid;
    }
    // The opportunity must be one of the customer's that the user sees (a kept one always is).
    let mut copied_from: Vec<Line> = Vec::new();
    if let Some(oid) = input.opportunity_id {
        let kept = current.is_some_and(|cur| cur.opportunity_id == Some(oid) && Some(cur.customer_id) == customer_id);
        let ok = match customer_id {
            Some(cid) if !kept => customer_opportunities(st, c.shared.user, cid).await?.iter().any(|o| o.id == oid),
            _ => kept,
        };
        if !ok {
            errors.add("opportunity_id", "contract.error.opportunity");
            input.opportunity_id = None;
        } else if current.is_none() {
            copied_from = lines::stored(&st.db, &opportunities::LINES, oid).await?;
        }
    }
    let mut conn = st.db.acquire().await?;
    if let (Some(signer), Some(cid)) = (input.customer_signer_id, customer_id)
        && !repo::customer_contacts(&mut conn, cid).await?.iter().any(|(id, _, _)| *id == signer)
    {
        errors.add("customer_signer_id", "contract.error.signer");
    }
    // A new contract keeps what it copied from its opportunity, even products since taken off
    // the shelf; an edit keeps its own lines.
    let existing: &[Line] = match edited {
        Some((_, stored)) => stored,
        None => &copied_from,
    };
    input.lines = lines::resolve(&mut conn, &LineForm::all(form), existing, errors).await?;
    input.settle_amount();
    if current.is_none() {
        input.owner_id = Some(c.shared.new_owner(input.owner_id, errors).await?);
    } else {
        input.owner_id = current.and_then(|cur| cur.owner_id);
    }
    Ok(input)
}

/// The contract as an input, to compare with an edit.
fn input_of(k: &Contract, stored: &[Line]) -> ContractInput {
    ContractInput {
        number: Some(k.number.clone()),
        name: k.name.clone(),
        customer_id: k.customer_id,
        opportunity_id: k.opportunity_id,
        amount: k.amount,
        discount: k.discount,
        order_date: k.order_date,
        start_date: k.start_date,
        end_date: k.end_date,
        dicts: DICT_FIELDS.iter().map(|(col, _)| (*col, k.dict_value(col))).collect(),
        texts: model::TEXT_FIELDS.iter().map(|(col, _)| (*col, k.text_value(col).map(str::to_string))).collect(),
        customer_signer_id: k.customer_signer_id,
        company_signer_id: k.company_signer_id,
        owner_id: k.owner_id,
        custom: k.custom.0.clone(),
        lines: stored.iter().map(Line::input).collect(),
    }
}

/// The contract's fields as the history keeps them (lines as text, people by name).
async fn snapshot(tx: &mut PgConnection, c: &Ctx<'_>, input: &ContractInput, number: &str) -> AppResult<Snapshot> {
    let name_of = |table: &'static str| format!("SELECT name FROM {table} WHERE id = $1");
    let customer: Option<String> =
        sqlx::query_scalar(&name_of("customers")).bind(input.customer_id).fetch_optional(&mut *tx).await?;
    let opportunity: Option<String> = match input.opportunity_id {
        Some(o) => sqlx::query_scalar(&name_of("opportunities")).bind(o).fetch_optional(&mut *tx).await?,
        None => None,
    };
    let signer: Option<String> = match input.customer_signer_id {
        Some(s) => sqlx::query_scalar(&name_of("contacts")).bind(s).fetch_optional(&mut *tx).await?,
        None => None,
    };
    let date = |d: Option<NaiveDate>| audit::opt(d.map(|d| d.to_string()));
    let mut snap = Snapshot::new();
    snap.push("number", json!(number))
        .push("name", json!(input.name))
        .push("customer", audit::opt(customer))
        .push("opportunity", audit::opt(opportunity))
        .push("amount", json!(crate::web::format::money(&input.amount)))
        .push("discount", json!(format!("{}%", input.discount.normalize())))
        .push("order_date", json!(input.order_date.to_string()))
        .push("start_date", date(input.start_date))
        .push("end_date", date(input.end_date))
        .push("customer_signer", audit::opt(signer))
        .push("company_signer", audit::opt(users::name_of(tx, input.company_signer_id).await?));
    for (col, v) in &input.dicts {
        snap.push(col.trim_end_matches("_id"), c.dicts.audit_value(*v));
    }
    for (col, v) in &input.texts {
        snap.push(*col, audit::opt(v.clone()));
    }
    snap.push("lines", audit::opt(lines::describe(tx, &input.lines).await?))
        .push("owner", audit::opt(users::name_of(tx, input.owner_id).await?));
    snap.extend(fields::snapshot(&c.shared.defs, &input.custom, st_tz(c)));
    Ok(snap)
}

fn st_tz(c: &Ctx<'_>) -> chrono::FixedOffset {
    c.shared.st.config.timezone
}
