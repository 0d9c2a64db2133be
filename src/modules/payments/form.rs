//! Recording a payment (回款) against an approved contract the user may change: amount, date,
//! plan term, method, notes, custom fields, and the approvers of submitter-picks steps. Saving
//! submits it; a payment that would take what is confirmed and waiting on the contract over its
//! amount is refused with the figures, beside the amount. A rejected or withdrawn payment can be
//! edited and submitted again.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::approval::{self, Fit, subject};
use super::model::{self, DICTS, ENTITY, Payment, PaymentInput, Plan, Status};
use super::{RECORD, repo};
use crate::access::{DataScope, Module};
use crate::audit::{self, Snapshot};
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::fields::{self, FieldInput};
use crate::modules::contracts::{self, Contract};
use crate::records::form::RecordForm;
use crate::records::sql;
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};
use crate::workflow::labels::{self, Names};
use crate::workflow::{self, FlowError, StepKind, Submission};

/// A submitter-picks stage on the form.
pub struct PickView {
    pub seq: i32,
    pub label: String,
    pub options: Vec<SelectOpt>,
}

#[derive(Template)]
#[template(path = "payments/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Payment>,
    contract: Contract,
    plans: Vec<Plan>,
    form: FormData,
    errors: FormErrors,
    methods: Vec<SelectOpt>,
    custom: Vec<FieldInput>,
    picks: Vec<PickView>,
}

crate::page!(FormPage);

impl FormPage {
    fn plan_label(&self, p: &Plan) -> String {
        self.ctx.tf(
            "payment.plan_option",
            &[
                ("term", &p.term.to_string()),
                ("date", &self.ctx.date(&p.due_date)),
                ("left", &self.ctx.money(&p.remaining())),
            ],
        )
    }

    fn is_picked(&self, seq: &i32, value: &str) -> bool {
        self.form.all(&format!("picks_{seq}")).contains(&value)
    }

    /// "合同金额 …，已回款 …，未回款 …"
    fn figures(&self) -> String {
        let k = &self.contract;
        self.ctx.tf(
            "payment.contract_figures",
            &[
                ("amount", &self.ctx.money(&k.amount)),
                ("received", &self.ctx.money(&k.received)),
                ("left", &self.ctx.money(&(k.amount - k.received))),
            ],
        )
    }
}

fn today(st: &AppState) -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&st.config.timezone).date_naive()
}

async fn page(
    st: &AppState,
    ctx: PageCtx,
    user: &crate::auth::CurrentUser,
    (current, contract): (Option<Payment>, Contract),
    form: FormData,
    errors: FormErrors,
) -> AppResult<FormPage> {
    let shared = RecordForm::load(st, user, &RECORD).await?;
    let stored = current.as_ref().map(|c| &*c.custom);
    let custom = shared
        .custom_inputs(stored, &form, current.is_some() || !form.get("amount").is_empty(), &errors, ctx.lang)
        .await?;
    let dicts = Dicts::load(&st.db, DICTS).await?;
    let mut conn = st.db.acquire().await?;
    let plans = repo::plans(&mut conn, contract.id).await?;
    let picks = if current.is_none() { pick_views(&mut conn, user.id, &contract, ctx.lang).await? } else { Vec::new() };
    Ok(FormPage {
        methods: dicts.options("payment_method", ctx.lang, current.as_ref().and_then(|p| p.method_id)),
        ctx,
        current,
        contract,
        plans,
        form,
        errors,
        custom,
        picks,
    })
}

fn submission(
    user: i64,
    contract: &Contract,
    amount: &str,
    record_id: i64,
    picks: BTreeMap<i32, Vec<i64>>,
) -> Submission {
    Submission {
        subject: subject(),
        record_id,
        submitted_by: user,
        owner_id: contract.owner_id,
        payload: json!({ "amount": amount }),
        picks,
    }
}

/// The submitter-picks stages the payment flow has now, with who may be picked.
async fn pick_views(
    conn: &mut PgConnection,
    user: i64,
    contract: &Contract,
    lang: crate::web::i18n::Lang,
) -> AppResult<Vec<PickView>> {
    let stages = workflow::preview(conn, &submission(user, contract, "0", 0, BTreeMap::new())).await?;
    let names = Names::load(conn).await?;
    let mut out = Vec::new();
    for s in stages.iter().filter(|s| s.kind() == StepKind::SubmitterPicks) {
        let allowed = workflow::engine::allowed_set(conn, s, Module::Payments).await?;
        if !allowed.is_empty() {
            out.push(PickView {
                seq: s.step_seq,
                label: labels::stage_label(s, &names, lang),
                options: allowed.iter().map(|u| SelectOpt::new(u, names.user(*u))).collect(),
            });
        }
    }
    Ok(out)
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    contract_id: String,
    #[serde(default)]
    plan_id: String,
}

pub async fn new(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<NewQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let id = q.contract_id.trim().parse::<i64>().map_err(|_| AppError::NotFound)?;
    let contract = contracts::for_payment(&st, user, id).await?;
    let mut form = FormData::default();
    form.set("contract_id", id.to_string());
    form.set("paid_on", today(&st).to_string());
    form.set("plan_id", q.plan_id.trim());
    let mut conn = st.db.acquire().await?;
    if let Ok(pid) = q.plan_id.trim().parse::<i64>()
        && let Some(p) = repo::plans(&mut conn, id).await?.into_iter().find(|p| p.id == pid)
    {
        form.set("amount", crate::money::plain(&p.remaining()));
        form.set("method_id", p.method_id.map(|m| m.to_string()).unwrap_or_default());
    }
    drop(conn);
    let errors = FormErrors::new(ctx.lang);
    render(page(&st, ctx, user, (None, contract), form, errors).await?).await
}

/// The amount does not fit: say so beside it, with the figures.
fn over(
    ctx: &PageCtx,
    errors: &mut FormErrors,
    (total, received, waiting): (rust_decimal::Decimal, rust_decimal::Decimal, rust_decimal::Decimal),
) {
    let left = (total - received - waiting).max(rust_decimal::Decimal::ZERO);
    errors.add_text(
        "amount",
        ctx.tf(
            "payment.error.over_contract",
            &[
                ("amount", &ctx.money(&total)),
                ("received", &ctx.money(&received)),
                ("waiting", &ctx.money(&waiting)),
                ("left", &ctx.money(&left)),
            ],
        ),
    );
}

/// POST /payments — record and submit.
pub async fn create(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    let user = req.user()?;
    let cid = form.get("contract_id").trim().parse::<i64>().map_err(|_| AppError::NotFound)?;
    let contract = contracts::for_payment(&st, user, cid).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let parts = Parts::load(&st, user).await?;
    let input = parts.check(&contract, None, &form, &mut errors).await?;
    let picks = workflow::picks_of(&form);
    let mut tx = st.db.begin().await?;
    if errors.is_empty() {
        match approval::fits(&mut tx, cid, input.amount).await? {
            Fit::Fits => {}
            Fit::NotApproved => return Err(AppError::Conflict("payment.error.contract_state")),
            Fit::Over(figures) => over(&ctx, &mut errors, figures),
        }
    }
    fields::check_unique(&mut tx, ENTITY, &parts.shared.defs, &input.custom, None, &mut errors).await?;
    let picks_needed = pick_views(&mut tx, user.id, &contract, ctx.lang).await?;
    for pv in &picks_needed {
        if picks.get(&pv.seq).is_none_or(|p| p.is_empty()) {
            errors.add(&format!("picks_{}", pv.seq), "contract.error.pick_approver");
        }
    }
    if errors.is_empty() {
        let number = crate::numbering::next(&mut tx, ENTITY, chrono::Utc::now(), st.config.timezone).await?;
        let id = repo::insert(&mut tx, &number, (cid, contract.customer_id), &input, user.id).await?;
        let after = parts.snapshot(&mut tx, &input, st.config.timezone).await?;
        after.write_save(&mut tx, (ENTITY, id), None, None, (user.id, req.ip.as_deref())).await?;
        let amount = input.amount.to_string();
        match workflow::submit(&mut tx, submission(user.id, &contract, &amount, id, picks), req.ip.as_deref()).await {
            Ok(d) => {
                let key = if d.outcome == workflow::Outcome::Approved {
                    "payment.recorded_approved"
                } else {
                    "payment.recorded"
                };
                return done(tx, &ctx, ctx.tf1(key, "number", &number), &format!("/payments/{id}")).await;
            }
            Err(FlowError::Invalid(key) | FlowError::State(key)) => errors.add("picks", key),
            Err(e) => return Err(e.into()),
        }
    }
    drop(tx);
    let p = page(&st, ctx, user, (None, contract), form, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(p).await?).into_response())
}

/// The payment the user may change, in an editable state, and its contract.
async fn editable(st: &AppState, req: &RequestCtx, id: i64) -> AppResult<(Payment, Contract)> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Payments).await?;
    let p = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    sql::check_writable(&st.db, &RECORD, &scope, id).await?;
    if !p.status().is_editable() {
        return Err(AppError::Conflict("payment.error.state"));
    }
    let contract = contracts::for_payment(st, user, p.contract_id).await?;
    Ok((p, contract))
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let (p, contract) = editable(&st, &req, id).await?;
    let mut form = FormData::default();
    form.set("contract_id", p.contract_id.to_string());
    form.set("amount", crate::money::plain(&p.amount));
    form.set("paid_on", p.paid_on.to_string());
    form.set("plan_id", p.plan_id.map(|v| v.to_string()).unwrap_or_default());
    form.set("method_id", p.method_id.map(|v| v.to_string()).unwrap_or_default());
    form.set("notes", p.notes.clone().unwrap_or_default());
    let errors = FormErrors::new(ctx.lang);
    render(page(&st, ctx, user, (Some(p), contract), form, errors).await?).await
}

/// POST /payments/{id} — change a rejected or withdrawn payment (submit it again from its page).
pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let (p, contract) = editable(&st, &req, id).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let parts = Parts::load(&st, user).await?;
    let input = parts.check(&contract, Some(&p), &form, &mut errors).await?;
    let mut tx = st.db.begin().await?;
    let locked = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    if !Status::from_code(&locked.0).is_some_and(Status::is_editable) {
        return Err(AppError::Conflict("payment.error.state"));
    }
    fields::check_unique(&mut tx, ENTITY, &parts.shared.defs, &input.custom, Some(id), &mut errors).await?;
    if !errors.is_empty() {
        drop(tx);
        let page = page(&st, ctx, user, (Some(p), contract), form, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let tz = st.config.timezone;
    let before = parts.snapshot(&mut tx, &input_of(&p), tz).await?;
    repo::update(&mut tx, id, &input).await?;
    let after = parts.snapshot(&mut tx, &input, tz).await?;
    after.write_save(&mut tx, (ENTITY, id), Some(&before), None, (user.id, req.ip.as_deref())).await?;
    done(tx, &ctx, ctx.tf1("payment.saved", "number", &p.number), &format!("/payments/{id}")).await
}

/// POST /payments/{id}/submit — a rejected or withdrawn payment goes round again (the engine's
/// resubmit: the earlier picks stay; the amount must still fit).
pub async fn resubmit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let user = req.user()?;
    let (p, _) = editable(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    let inst = workflow::latest(&mut tx, subject(), id).await?.ok_or(AppError::NotFound)?;
    match workflow::resubmit(&mut tx, inst.id, user.id, None, req.ip.as_deref()).await {
        Ok(_) => done(tx, &ctx, ctx.tf1("payment.resubmitted", "number", &p.number), &format!("/payments/{id}")).await,
        Err(FlowError::State(key) | FlowError::Invalid(key)) => {
            drop(tx);
            Err(AppError::Conflict(key))
        }
        Err(FlowError::Forbidden) => Err(AppError::Conflict("payment.error.not_submitter")),
        Err(e) => Err(e.into()),
    }
}

fn input_of(p: &Payment) -> PaymentInput {
    PaymentInput {
        amount: p.amount,
        paid_on: p.paid_on,
        plan_id: p.plan_id,
        method_id: p.method_id,
        notes: p.notes.clone(),
        custom: p.custom.0.clone(),
    }
}

/// What a save reads besides its own transaction (custom fields, the method dictionary), loaded
/// once before that opens: the transaction holds the contract's (or the payment's) row lock, and
/// must not wait for a second pool connection meanwhile — ten clients on one contract would
/// otherwise hold every connection.
struct Parts<'a> {
    shared: RecordForm<'a>,
    dicts: Dicts,
}

impl<'a> Parts<'a> {
    async fn load(st: &'a AppState, user: &'a crate::auth::CurrentUser) -> AppResult<Parts<'a>> {
        Ok(Parts { shared: RecordForm::load(st, user, &RECORD).await?, dicts: Dicts::load(&st.db, DICTS).await? })
    }

    /// The form checked: plan of this contract, method from the dictionary, custom fields.
    async fn check(
        &self,
        contract: &Contract,
        current: Option<&Payment>,
        form: &FormData,
        errors: &mut FormErrors,
    ) -> AppResult<PaymentInput> {
        let st = self.shared.st;
        let mut input = model::check_payment(form, today(st), errors);
        let mut conn = st.db.acquire().await?;
        if let Some(pid) = input.plan_id
            && !repo::plans(&mut conn, contract.id).await?.iter().any(|p| p.id == pid)
        {
            errors.add("plan_id", "payment.error.plan");
            input.plan_id = None;
        }
        drop(conn);
        if let Some(m) = input.method_id
            && !self.dicts.allows("payment_method", m, current.and_then(|p| p.method_id))
        {
            errors.add("method_id", "form.invalid");
        }
        input.custom = self.shared.parse_custom(form, current.map(|c| &*c.custom), errors).await?;
        Ok(input)
    }

    /// The payment's fields as the history keeps them.
    async fn snapshot(
        &self,
        tx: &mut PgConnection,
        input: &PaymentInput,
        tz: chrono::FixedOffset,
    ) -> AppResult<Snapshot> {
        let term: Option<i32> = match input.plan_id {
            Some(pid) => {
                sqlx::query_scalar("SELECT term FROM payment_plans WHERE id = $1")
                    .bind(pid)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let mut snap = Snapshot::new();
        snap.push("amount", json!(crate::web::format::money(&input.amount)))
            .push("paid_on", json!(input.paid_on.to_string()))
            .push("plan", audit::opt(term.map(|t| t.to_string())))
            .push("method", self.dicts.audit_value(input.method_id))
            .push("notes", audit::opt(input.notes.clone()));
        snap.extend(fields::snapshot(&self.shared.defs, &input.custom, tz));
        Ok(snap)
    }
}
