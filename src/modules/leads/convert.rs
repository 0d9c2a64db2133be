//! Converting a lead into a customer (转化为客户), single and bulk.
//!
//! A new customer is made from the lead (name, phone, mobile, e-mail, level, industry, region,
//! notes → description, last / next contact times; the lead source maps to the customer source
//! with the same code, else the same Chinese label; custom fields map by key when the customer has
//! a field with the same key and type), with a primary contact (the lead's contact person, else the
//! lead's name) and the address. The customer duplicate rules run first (`customers::dup::find`):
//! a blocking match refuses, a warning needs confirming, and the page offers to attach the lead to
//! a matching customer the user may change instead. The owner's ownership cap applies
//! (`customers::caps::check_owned`). Follow-ups written on the lead are carried over (they keep
//! their place on the lead's timeline and get `customer_id`, so the customer's timeline and the
//! follow-up pages show them); attachments move to the customer. The lead is then converted:
//! read-only, `leads.customer_id` → the customer, `customers.lead_id` → the lead. Converting twice
//! is refused (the lead row is locked and re-checked in the converting transaction).
//! A custom value another customer already holds in a unique field stays behind, and the user is
//! told which fields. A lead at level 7 gives a level-7 customer, which asks for the next status
//! at once (`customers::status::after_create`, as an edit reaching level 7 does).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Map, Value, json};
use sqlx::PgConnection;

use super::form::writable;
use super::model::{DICTS, ENTITY, Lead};
use super::repo;
use crate::access::{Action, DataScope, Module};
use crate::audit::Entry;
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldDef};
use crate::list::Selection;
use crate::modules::customers::{self, Address, CustomerInput, caps, dup};
use crate::records::sql::{self, Bin};
use crate::state::AppState;
use crate::web::flash::Kind;
use crate::web::i18n::Lang;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, render};

/// Why a conversion did not happen.
#[derive(Clone, Debug)]
pub enum Refusal {
    /// Converted already.
    Converted,
    /// Customers matching the duplicate rules; `blocked` when a rule refuses outright.
    Duplicates { hits: Vec<dup::DupHit>, blocked: bool },
    /// The owner's ownership cap (the sentence).
    Cap(String),
    /// The customer status dictionary has no enabled item.
    NoStatus,
}

impl Refusal {
    pub fn message(&self, lang: Lang, lead: &str) -> String {
        match self {
            Refusal::Converted => lang.tf("lead.error.already_converted", &[("name", lead)]),
            Refusal::Duplicates { hits, blocked } => {
                let detail: Vec<String> = hits.iter().map(|h| h.message(lang)).collect();
                let key = if *blocked { "lead.error.dup_blocked" } else { "lead.error.dup_warn" };
                lang.tf(key, &[("name", lead), ("detail", &detail.join("；"))])
            }
            Refusal::Cap(msg) => msg.clone(),
            Refusal::NoStatus => lang.t("customer.error.no_status").to_string(),
        }
    }
}

/// A conversion that happened: the new customer, and the labels (in the actor's language) of
/// custom fields whose values stayed behind because another customer holds them (unique fields).
#[derive(Clone, Debug)]
pub struct Converted {
    pub id: i64,
    pub dropped: Vec<String>,
}

impl Converted {
    /// The sentence about values left behind, if any.
    pub fn dropped_message(&self, lang: Lang, lead: &str) -> Option<String> {
        let sep = if lang == Lang::En { ", " } else { "、" };
        (!self.dropped.is_empty())
            .then(|| lang.tf("lead.convert_dropped", &[("name", lead), ("fields", &self.dropped.join(sep))]))
    }
}

/// What the conversion maps with: the dictionaries and both entities' custom fields.
pub struct Mapping {
    pub dicts: Dicts,
    pub lead_defs: Vec<FieldDef>,
    pub customer_defs: Vec<FieldDef>,
    pub tz: FixedOffset,
}

impl Mapping {
    pub async fn load(st: &AppState) -> sqlx::Result<Mapping> {
        Ok(Mapping {
            dicts: Dicts::load(&st.db, DICTS).await?,
            lead_defs: fields::defs(&st.db, ENTITY).await?,
            customer_defs: fields::defs(&st.db, "customer").await?,
            tz: st.config.timezone,
        })
    }

    /// The customer source for a lead source: same code, else same Chinese label (enabled items).
    pub fn source(&self, lead_source: Option<i64>) -> Option<i64> {
        let item = self.dicts.get(lead_source?)?;
        let by_code = item.code.as_deref().and_then(|c| self.dicts.by_code("customer_source", c));
        let found = by_code
            .or_else(|| self.dicts.items("customer_source").into_iter().find(|i| i.label_zh == item.label_zh))?;
        self.dicts.is_active(found.id).then_some(found.id)
    }

    /// Custom values of the lead that the customer has a field for: same key, same type, and for
    /// choices a value the customer field offers.
    pub fn custom(&self, lead: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for cdef in &self.customer_defs {
            let Some(ldef) = self.lead_defs.iter().find(|d| d.key == cdef.key) else { continue };
            let Some(v) = lead.get(&cdef.key) else { continue };
            if ldef.kind != cdef.kind {
                continue;
            }
            let fits = match (cdef.kind(), v) {
                (fields::Kind::Select, Value::String(s)) => cdef.choice(s).is_some(),
                (fields::Kind::MultiSelect, Value::Array(items)) => {
                    items.iter().all(|i| i.as_str().is_some_and(|s| cdef.choice(s).is_some()))
                }
                _ => true,
            };
            if fits {
                out.insert(cdef.key.clone(), v.clone());
            }
        }
        out
    }
}

/// The new customer's columns, as mapped from the lead.
struct NewCustomer {
    name: String,
    level: i16,
    source_id: Option<i64>,
    industry_id: Option<i64>,
    region_id: Option<i64>,
    phone: Option<String>,
    mobile: Option<String>,
    email: Option<String>,
    description: Option<String>,
    last_followup_at: Option<DateTime<Utc>>,
    next_contact_at: Option<DateTime<Utc>>,
    custom: Map<String, Value>,
}

impl NewCustomer {
    /// The customer's input for `customers::create`: an enterprise owned by `owner`, the lead's
    /// address as its first address.
    fn input(&self, owner: i64, address: Option<&str>) -> CustomerInput {
        let addresses = address
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| Address { type_id: None, region_id: self.region_id, detail: a.to_string(), postcode: None })
            .into_iter()
            .collect();
        CustomerInput {
            name: self.name.clone(),
            kind: "enterprise".into(),
            level: self.level,
            status_id: None,
            parent_id: None,
            dicts: vec![
                ("source_id", self.source_id),
                ("industry_id", self.industry_id),
                ("region_id", self.region_id),
            ],
            texts: vec![
                ("phone", self.phone.clone()),
                ("mobile", self.mobile.clone()),
                ("email", self.email.clone()),
                ("description", self.description.clone()),
            ],
            gender: None,
            birth_date: None,
            credit_limit: None,
            owner_id: Some(owner),
            addresses,
            custom: self.custom.clone(),
        }
    }
}

fn mapped(lead: &Lead, m: &Mapping) -> NewCustomer {
    NewCustomer {
        name: lead.name.clone(),
        level: lead.level,
        source_id: m.source(lead.source_id),
        industry_id: lead.industry_id,
        region_id: lead.region_id,
        phone: lead.phone.clone(),
        mobile: lead.mobile.clone(),
        email: lead.email.clone(),
        description: lead.notes.clone(),
        last_followup_at: lead.last_followup_at,
        next_contact_at: lead.next_contact_at,
        custom: m.custom(&lead.custom.0),
    }
}

/// Lock the lead and re-check it can still be converted; the lead as it now is.
async fn lock_open(tx: &mut PgConnection, lead_id: i64) -> AppResult<Result<Lead, Refusal>> {
    match repo::lock(&mut *tx, lead_id).await? {
        None => Err(AppError::NotFound),
        Some(true) => Ok(Err(Refusal::Converted)),
        Some(false) => Ok(Ok(repo::get(tx, lead_id).await?)),
    }
}

/// Carry the lead's follow-ups and attachments to the customer, and mark the lead converted.
async fn carry_over(tx: &mut PgConnection, lead: &Lead, customer_id: i64, actor: i64) -> sqlx::Result<(u64, u64)> {
    let followups = sqlx::query("UPDATE followups SET customer_id = $2 WHERE entity = 'lead' AND entity_id = $1")
        .bind(lead.id)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    let files = crate::attachments::move_all(&mut *tx, (ENTITY, lead.id), ("customer", customer_id)).await?;
    sqlx::query("UPDATE leads SET converted_at = now(), converted_by = $2, customer_id = $3 WHERE id = $1")
        .bind(lead.id)
        .bind(actor)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    Ok((followups, files))
}

/// Add the lead's contact person to the customer as a contact; primary when it has none.
async fn add_contact(
    tx: &mut PgConnection,
    lead: &Lead,
    customer_id: i64,
    owner: Option<i64>,
    actor: i64,
) -> sqlx::Result<i64> {
    let name = lead.contact_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| lead.name.clone());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (customer_id, name, phone, mobile, email, address, is_primary, owner_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6,
                 NOT EXISTS (SELECT 1 FROM contacts WHERE customer_id = $1 AND is_primary AND deleted_at IS NULL),
                 $7, $8)
         RETURNING id",
    )
    .bind(customer_id)
    .bind(&name)
    .bind(&lead.phone)
    .bind(&lead.mobile)
    .bind(&lead.email)
    .bind(&lead.address)
    .bind(owner)
    .bind(actor)
    .fetch_one(&mut *tx)
    .await?;
    Entry::new("contact", id, "create").change("name", Value::Null, name).write(tx, Some(actor), None).await?;
    Ok(id)
}

/// Convert the lead into a new customer, in the caller's transaction. `viewer` is the actor's
/// customer scope (what duplicate messages may reveal); `confirmed`: warnings were confirmed.
#[allow(clippy::too_many_arguments)]
pub async fn to_new_customer(
    tx: &mut PgConnection,
    lead_id: i64,
    actor: &CurrentUser,
    viewer: &DataScope,
    confirmed: bool,
    m: &Mapping,
    lang: Lang,
    ip: Option<&str>,
) -> AppResult<Result<Converted, Refusal>> {
    let lead = match lock_open(&mut *tx, lead_id).await? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    let owner = lead.owner_id.unwrap_or(actor.id);
    if let Err(r) = may_become_customer(tx, &lead, owner, viewer, confirmed, m, lang).await? {
        return Ok(Err(r));
    }
    let c = mapped(&lead, m);
    let mut input = c.input(owner, lead.address.as_deref());
    let dropped = drop_taken_unique(tx, &mut input, m, lang).await?;
    let made = customers::create_customer(&mut *tx, &input, actor.id, &m.dicts, m.tz).await?;
    customers::set_lead_origin(&mut *tx, made.id, lead.id, c.last_followup_at, c.next_contact_at).await?;
    add_contact(&mut *tx, &lead, made.id, Some(owner), actor.id).await?;
    let (followups, files) = carry_over(&mut *tx, &lead, made.id, actor.id).await?;
    record_conversion(tx, &lead, &c, &made, owner, actor, m, ip).await?;
    carried(Entry::new(ENTITY, lead.id, "convert"), followups, files)
        .change("customer", Value::Null, format!("{}（{}）", c.name, made.code))
        .write(&mut *tx, Some(actor.id), ip)
        .await?;
    // Level 7 asks for the next status, as reaching it on the customer does.
    customers::status::after_create(&mut *tx, &m.dicts, made.id, Some(owner), c.level, made.status, actor.id, ip)
        .await?;
    Ok(Ok(Converted { id: made.id, dropped }))
}

/// The customer rules a new customer passes: no blocking duplicate (and warnings confirmed), the
/// owner's ownership cap, a customer status to start at.
async fn may_become_customer(
    tx: &mut PgConnection,
    lead: &Lead,
    owner: i64,
    viewer: &DataScope,
    confirmed: bool,
    m: &Mapping,
    lang: Lang,
) -> AppResult<Result<(), Refusal>> {
    let candidate = dup::Candidate {
        exclude_id: None,
        name: &lead.name,
        phone: lead.phone.as_deref(),
        mobile: lead.mobile.as_deref(),
        email: lead.email.as_deref(),
        owner_id: Some(owner),
    };
    let hits = dup::find(&mut *tx, &candidate, viewer).await?;
    let blocked = dup::any_block(&hits);
    if blocked || (!hits.is_empty() && !confirmed) {
        return Ok(Err(Refusal::Duplicates { hits, blocked }));
    }
    if let Err(over) = caps::check_owned(&mut *tx, owner, 1).await? {
        let owner_name = crate::org::users::name_of(&mut *tx, Some(owner)).await?.unwrap_or_default();
        return Ok(Err(Refusal::Cap(over.message(lang, &owner_name, false))));
    }
    if m.dicts.first("customer_status").is_none() {
        return Ok(Err(Refusal::NoStatus));
    }
    Ok(Ok(()))
}

/// Unique custom fields: a value another customer holds stays behind. Returns the labels (in
/// the actor's language) of the fields left behind, to tell the user.
async fn drop_taken_unique(
    tx: &mut PgConnection,
    input: &mut CustomerInput,
    m: &Mapping,
    lang: Lang,
) -> AppResult<Vec<String>> {
    let mut clash = FormErrors::new(lang);
    fields::check_unique(&mut *tx, "customer", &m.customer_defs, &input.custom, None, &mut clash).await?;
    let dropped = m
        .customer_defs
        .iter()
        .filter(|d| input.custom.contains_key(&d.key) && clash.has(&format!("cf_{}", d.key)))
        .map(|d| d.label(lang).to_string())
        .collect();
    input.custom.retain(|k, _| !clash.has(&format!("cf_{k}")));
    Ok(dropped)
}

/// The new customer's history row (converted from the lead) and the owner's notification.
#[allow(clippy::too_many_arguments)]
async fn record_conversion(
    tx: &mut PgConnection,
    lead: &Lead,
    c: &NewCustomer,
    made: &customers::Created,
    owner: i64,
    actor: &CurrentUser,
    m: &Mapping,
    ip: Option<&str>,
) -> AppResult<()> {
    let owner_name = crate::org::users::name_of(&mut *tx, Some(owner)).await?;
    let dict = |v: Option<i64>| m.dicts.audit_value(v);
    Entry::new("customer", made.id, "convert_from_lead")
        .change("name", Value::Null, c.name.clone())
        .change("lead", Value::Null, lead.name.clone())
        .change("owner", Value::Null, crate::audit::opt(owner_name))
        .change("level", Value::Null, json!(c.level))
        .change("source", Value::Null, dict(c.source_id))
        .change("industry", Value::Null, dict(c.industry_id))
        .change("region", Value::Null, dict(c.region_id))
        .note(made.code.clone())
        .write(&mut *tx, Some(actor.id), ip)
        .await?;
    let link = format!("/customers/{}", made.id);
    let params = json!({ "name": lead.name, "actor": actor.name });
    crate::notify::send(&mut *tx, owner, "lead_converted", params, Some(&link), Some(actor.id)).await?;
    Ok(())
}

/// The follow-ups and attachments carried over, as lines of the lead's history.
fn carried(mut entry: Entry, followups: u64, files: u64) -> Entry {
    if followups > 0 {
        entry = entry.change("followups", Value::Null, json!(followups));
    }
    if files > 0 {
        entry = entry.change("attachments", Value::Null, json!(files));
    }
    entry
}

/// Attach the lead to an existing customer (the duplicate path), in the caller's transaction.
/// The caller has checked the user may change that customer.
pub async fn attach(
    tx: &mut PgConnection,
    lead_id: i64,
    customer_id: i64,
    actor: &CurrentUser,
    ip: Option<&str>,
) -> AppResult<Result<(), Refusal>> {
    let lead = match lock_open(&mut *tx, lead_id).await? {
        Ok(l) => l,
        Err(r) => return Ok(Err(r)),
    };
    let customer: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT name, owner_id FROM customers WHERE id = $1 AND deleted_at IS NULL AND NOT frozen FOR UPDATE",
    )
    .bind(customer_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (customer_name, owner) = customer.ok_or(AppError::NotFound)?;
    let contact = lead.contact_name.clone().filter(|n| !n.trim().is_empty());
    if let Some(name) = &contact {
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM contacts WHERE customer_id = $1 AND name = $2 AND deleted_at IS NULL)",
        )
        .bind(customer_id)
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        if !exists {
            add_contact(&mut *tx, &lead, customer_id, owner, actor.id).await?;
        }
    }
    let (followups, files) = carry_over(&mut *tx, &lead, customer_id, actor.id).await?;
    sqlx::query(
        "UPDATE customers SET lead_id = coalesce(lead_id, $2),
           last_followup_at = greatest(last_followup_at, $3) WHERE id = $1",
    )
    .bind(customer_id)
    .bind(lead.id)
    .bind(lead.last_followup_at)
    .execute(&mut *tx)
    .await?;
    Entry::new("customer", customer_id, "lead_attached")
        .change("lead", Value::Null, lead.name.clone())
        .write(&mut *tx, Some(actor.id), ip)
        .await?;
    carried(Entry::new(ENTITY, lead.id, "attach_to_customer"), followups, files)
        .change("customer", Value::Null, customer_name)
        .write(&mut *tx, Some(actor.id), ip)
        .await?;
    Ok(Ok(()))
}

// ---------- pages ----------

/// A matching customer on the conversion page.
pub struct HitLine {
    pub message: String,
    pub customer_id: i64,
    pub blocks: bool,
    /// The user may see and change it: offer to attach the lead to it.
    pub can_attach: bool,
}

#[derive(Template)]
#[template(path = "leads/convert.html")]
struct ConvertPage {
    ctx: PageCtx,
    l: Lead,
    hits: Vec<HitLine>,
    blocked: bool,
    error: Option<String>,
    preview: Vec<(&'static str, String)>,
    custom_keys: Vec<String>,
    followups: i64,
    attachments: i64,
}

crate::page!(ConvertPage);

impl ConvertPage {
    fn carry_text(&self) -> String {
        self.ctx.lang.tf(
            "lead.convert_carry",
            &[("followups", &self.followups.to_string()), ("attachments", &self.attachments.to_string())],
        )
    }
}

async fn hit_lines(st: &AppState, viewer: &DataScope, hits: &[dup::DupHit], lang: Lang) -> AppResult<Vec<HitLine>> {
    let mut out: Vec<HitLine> = Vec::new();
    for h in hits {
        if out.iter().any(|o| o.customer_id == h.customer_id) {
            continue;
        }
        let can_attach = match h.customer_name {
            Some(_) => {
                let row: Option<(Option<i64>, bool)> =
                    sqlx::query_as("SELECT owner_id, frozen FROM customers WHERE id = $1")
                        .bind(h.customer_id)
                        .fetch_optional(&st.db)
                        .await?;
                match row {
                    Some((owner, false)) => {
                        sql::may_write(&st.db, &customers::RECORD, viewer, h.customer_id, owner).await?
                    }
                    _ => false,
                }
            }
            None => false,
        };
        out.push(HitLine { message: h.message(lang), customer_id: h.customer_id, blocks: h.blocks(), can_attach });
    }
    Ok(out)
}

async fn convert_page(
    st: &AppState,
    ctx: PageCtx,
    l: Lead,
    viewer: &DataScope,
    hits: Vec<dup::DupHit>,
    error: Option<String>,
) -> AppResult<ConvertPage> {
    let m = Mapping::load(st).await?;
    let c = mapped(&l, &m);
    let lang = ctx.lang;
    let owner = l.owner_name.clone().unwrap_or_default();
    let preview = vec![
        ("customer.name", c.name.clone()),
        ("customer.owner", owner),
        ("customer.level", format!("L{}", c.level)),
        ("customer.source", m.dicts.label(c.source_id, lang)),
        ("customer.industry", m.dicts.label(c.industry_id, lang)),
        ("customer.region", m.dicts.path_label(c.region_id, lang)),
        ("customer.phone", c.phone.clone().unwrap_or_default()),
        ("customer.mobile", c.mobile.clone().unwrap_or_default()),
        ("customer.email", c.email.clone().unwrap_or_default()),
        ("lead.primary_contact", l.contact_name.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| l.name.clone())),
    ];
    let custom_keys =
        m.customer_defs.iter().filter(|d| c.custom.contains_key(&d.key)).map(|d| d.label(lang).to_string()).collect();
    let followups: i64 = sqlx::query_scalar("SELECT count(*) FROM followups WHERE entity = 'lead' AND entity_id = $1")
        .bind(l.id)
        .fetch_one(&st.db)
        .await?;
    let attachments: i64 =
        sqlx::query_scalar("SELECT count(*) FROM attachments WHERE entity = 'lead' AND record_id = $1")
            .bind(l.id)
            .fetch_one(&st.db)
            .await?;
    Ok(ConvertPage {
        hits: hit_lines(st, viewer, &hits, lang).await?,
        blocked: dup::any_block(&hits),
        ctx,
        l,
        error,
        preview,
        custom_keys,
        followups,
        attachments,
    })
}

/// The lead, writable and unconverted, plus the actor's customer scope.
async fn convertible(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<(Lead, DataScope)> {
    if !user.can(Module::Customers, Action::Create) {
        return Err(AppError::Forbidden);
    }
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let lead = writable(st, &scope, id).await?;
    Ok((lead, DataScope::resolve(&st.db, user, Module::Customers).await?))
}

/// GET /leads/{id}/convert — what the customer will look like, and matching customers.
pub async fn page(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let (lead, viewer) = convertible(&st, user, id).await?;
    let candidate = dup::Candidate {
        exclude_id: None,
        name: &lead.name,
        phone: lead.phone.as_deref(),
        mobile: lead.mobile.as_deref(),
        email: lead.email.as_deref(),
        owner_id: lead.owner_id,
    };
    let hits = {
        let mut conn = st.db.acquire().await?;
        dup::find(&mut conn, &candidate, &viewer).await?
    };
    render(convert_page(&st, ctx, lead, &viewer, hits, None).await?).await
}

/// POST /leads/{id}/convert — `mode=attach&customer_id=…` or a new customer (`confirm_dup` to
/// go ahead despite warnings).
pub async fn submit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let (lead, viewer) = convertible(&st, user, id).await?;
    if form.get("mode") == "attach" {
        let cid = form.get("customer_id").trim().parse::<i64>().map_err(|_| AppError::BadRequest("form.invalid"))?;
        let c = customers::find_visible(&st.db, &viewer, cid, false).await?.ok_or(AppError::NotFound)?;
        if c.frozen || !sql::may_write(&st.db, &customers::RECORD, &viewer, cid, c.owner_id).await? {
            return Err(AppError::Forbidden);
        }
        let mut tx = st.db.begin().await?;
        return match attach(&mut tx, id, cid, user, req.ip.as_deref()).await? {
            Ok(()) => {
                tx.commit().await?;
                ctx.flash_text(
                    Kind::Success,
                    ctx.lang.tf("lead.attached", &[("name", &lead.name), ("customer", &c.name)]),
                )
                .await;
                Ok(Redirect::to(&format!("/customers/{cid}")).into_response())
            }
            Err(r) => {
                drop(tx);
                refused(&st, ctx, lead, &viewer, r).await
            }
        };
    }
    let m = Mapping::load(&st).await?;
    let mut tx = st.db.begin().await?;
    match to_new_customer(&mut tx, id, user, &viewer, form.has("confirm_dup"), &m, ctx.lang, req.ip.as_deref()).await? {
        Ok(done) => {
            tx.commit().await?;
            ctx.flash_text(Kind::Success, ctx.tf1("lead.converted", "name", &lead.name)).await;
            if let Some(msg) = done.dropped_message(ctx.lang, &lead.name) {
                ctx.flash_text(Kind::Warning, msg).await;
            }
            Ok(Redirect::to(&format!("/customers/{}", done.id)).into_response())
        }
        Err(r) => {
            drop(tx);
            refused(&st, ctx, lead, &viewer, r).await
        }
    }
}

/// The conversion page again, saying why not.
async fn refused(st: &AppState, ctx: PageCtx, lead: Lead, viewer: &DataScope, r: Refusal) -> AppResult<Response> {
    if let Refusal::Converted = r {
        return Err(AppError::Conflict("lead.error.converted"));
    }
    let error = Some(r.message(ctx.lang, &lead.name));
    let (hits, status) = match r {
        // Warnings only: the page asks to confirm (not an error as such).
        Refusal::Duplicates { hits, blocked: false } => (hits, StatusCode::OK),
        Refusal::Duplicates { hits, blocked: true } => (hits, StatusCode::UNPROCESSABLE_ENTITY),
        _ => (Vec::new(), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let page = convert_page(st, ctx, lead, viewer, hits, error).await?;
    Ok((status, render(page).await?).into_response())
}

/// POST /leads/bulk/convert — convert the selected leads one by one into new customers; leads
/// with possible duplicates or over the owner's cap are left for the single conversion page.
pub async fn bulk(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    if !user.can(Module::Customers, Action::Create) {
        return Err(AppError::Forbidden);
    }
    let sel = Selection::from_form(&form);
    let scope = DataScope::resolve(&st.db, user, Module::Leads).await?;
    let ids = crate::records::bin::selected::<super::Leads>(&st, user, &scope, &sel).await?;
    let ids = sql::writable_ids(&st.db, &super::RECORD, &scope, &ids, Bin::Live).await?;
    let viewer = DataScope::resolve(&st.db, user, Module::Customers).await?;
    let m = Mapping::load(&st).await?;
    let (mut done, mut refused, mut dropped) = (0, Vec::new(), Vec::new());
    for id in ids {
        let mut tx = st.db.begin().await?;
        match to_new_customer(&mut tx, id, user, &viewer, false, &m, ctx.lang, req.ip.as_deref()).await? {
            Ok(c) => {
                tx.commit().await?;
                done += 1;
                if !c.dropped.is_empty() {
                    let name: String =
                        sqlx::query_scalar("SELECT name FROM leads WHERE id = $1").bind(id).fetch_one(&st.db).await?;
                    dropped.extend(c.dropped_message(ctx.lang, &name));
                }
            }
            Err(r) => {
                drop(tx);
                let name: String =
                    sqlx::query_scalar("SELECT name FROM leads WHERE id = $1").bind(id).fetch_one(&st.db).await?;
                refused.push(r.message(ctx.lang, &name));
            }
        }
    }
    if done > 0 {
        ctx.flash_text(Kind::Success, ctx.tf1("lead.converted_n", "n", &done.to_string())).await;
    }
    for why in refused.iter().take(5) {
        ctx.flash_text(Kind::Error, why.clone()).await;
    }
    if refused.len() > 5 {
        ctx.flash_text(Kind::Error, ctx.tf1("pool.more_refused", "n", &(refused.len() - 5).to_string())).await;
    }
    for msg in dropped.iter().take(5) {
        ctx.flash_text(Kind::Warning, msg.clone()).await;
    }
    Ok(Redirect::to(&sel.back("/leads")).into_response())
}
