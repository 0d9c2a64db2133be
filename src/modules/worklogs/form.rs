//! Writing a log (`/worklogs/new?kind=daily&date=&related=customer:12`) and editing it (the
//! author only; the period stays). Saving is submitting: the numbers are frozen into `stats`,
//! the superior (always) and the colleagues chosen receive it, and those new to it are notified.
//! A second log for the same period is refused on the period field (422, text kept).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::model::{self, Input, Kind, Worklog};
use super::repo;
use super::stats::{self, About, Number};
use crate::access::{DataScope, Module};
use crate::audit::{self, Snapshot};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult, ResultExt};
use crate::records::links::{self, Picker};
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

#[derive(Template)]
#[template(path = "worklogs/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Worklog>,
    form: FormData,
    errors: FormErrors,
    kind: Kind,
    period: String,
    numbers: Vec<Number>,
    picker: Picker,
    /// The author's superior: always a recipient (shown, not a choice).
    superior: Option<(i64, String)>,
    /// Active colleagues who may be added.
    colleagues: Vec<SelectOpt>,
    /// A new log's period already has the author's log: the page links to it.
    existing: Option<i64>,
}

crate::page!(FormPage);

impl FormPage {
    fn kinds(&self) -> Vec<SelectOpt> {
        Kind::ALL.iter().map(|k| SelectOpt::new(k.code(), self.ctx.t(k.label_key()))).collect()
    }

    fn field(&self, name: &str) -> &'static str {
        self.ctx.t(&self.kind.field_key(name))
    }

    fn chosen(&self, id: &str) -> bool {
        self.form.all("recipients").contains(&id)
    }
}

/// Everything the form shows besides the typed values.
async fn page(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    (current, form, errors): (Option<Worklog>, FormData, FormErrors),
    (input_period, picker): ((Kind, NaiveDate, NaiveDate), Picker),
) -> AppResult<FormPage> {
    let (kind, start, end) = input_period;
    let numbers = stats::compute(&st.db, user, About { author: user.id, start, end }, st.config.timezone).await?;
    let superior = repo::active_superior(&st.db, user.id).await?;
    let existing = match current {
        Some(_) => None,
        None => repo::existing(&st.db, user.id, kind, start).await?,
    };
    let skip: Vec<String> =
        [Some(user.id), superior.as_ref().map(|s| s.0)].iter().flatten().map(i64::to_string).collect();
    let colleagues =
        crate::org::users::options(&st.db, true).await?.into_iter().filter(|o| !skip.contains(&o.value)).collect();
    Ok(FormPage {
        ctx,
        current,
        form,
        errors,
        kind,
        period: model::period_label(&start, &end),
        numbers,
        picker,
        superior,
        colleagues,
        existing,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    kind: String,
    date: String,
    /// "customer:12" (several allowed, comma separated): started from a record's page.
    related: String,
}

pub async fn new(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<NewQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let kind = Kind::from_code(&q.kind).unwrap_or(Kind::Daily);
    let day = NaiveDate::parse_from_str(q.date.trim(), "%Y-%m-%d").unwrap_or_else(|_| model::today(st.config.timezone));
    let (start, end) = kind.period(day);
    let mut form = FormData::default();
    form.set("kind", kind.code());
    form.set("date", day.to_string());
    let wanted: Vec<_> = q.related.split(',').filter_map(links::parse_value).collect();
    let picker = Picker::new(user, links::visible(&st.db, user, &wanted).await?);
    let errors = FormErrors::new(ctx.lang);
    render(page(&st, ctx, user, (None, form, errors), ((kind, start, end), picker)).await?).await
}

/// A live log the user wrote: 404 when they do not see it, 403 when it is someone else's.
async fn own(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<Worklog> {
    let scope = DataScope::resolve(&st.db, user, Module::Worklogs).await?;
    let w = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    if w.created_by != user.id {
        return Err(AppError::Forbidden);
    }
    Ok(w)
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let w = own(&st, user, id).await?;
    let mut form = FormData::default();
    form.set("done", &w.done);
    form.set("plans", &w.plans);
    form.set("problems", &w.problems);
    for r in repo::recipients(&st.db, id).await? {
        form.push("recipients", r.user_id.to_string());
    }
    let picker = Picker::new(user, links::chosen_for(&st.db, user, "worklog", id).await?);
    let period = (w.kind(), w.period_start, w.period_end);
    let errors = FormErrors::new(ctx.lang);
    render(page(&st, ctx, user, (Some(w), form, errors), (period, picker)).await?).await
}

pub async fn create(State(st): State<AppState>, ctx: PageCtx, req: RequestCtx, form: FormData) -> AppResult<Response> {
    save(&st, ctx, &req, None, form).await
}

pub async fn update(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let w = own(&st, user, id).await?;
    save(&st, ctx, &req, Some(w), form).await
}

async fn save(
    st: &AppState,
    ctx: PageCtx,
    req: &RequestCtx,
    current: Option<Worklog>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let mut errors = FormErrors::new(ctx.lang);
    let fixed = current.as_ref().map(|w| (w.kind(), w.period_start, w.period_end));
    let input = model::check(&form, fixed, st.config.timezone, &mut errors);
    let period = (input.kind, input.period_start, input.period_end);
    let (related, link_error) = match links::parse(&st.db, user, &form).await? {
        Ok(l) => (l, None),
        Err((l, key)) => (l, Some(key)),
    };
    let mut picker = Picker::new(user, related.clone());
    picker.error = link_error.map(|k| ctx.t(k).to_string());
    if !errors.is_empty() || picker.error.is_some() {
        return refuse(st, ctx, user, (current, form, errors), (period, picker)).await;
    }
    // Read before the transaction: the recipients, the numbers frozen with the log, and what
    // the history compares.
    let recipients = recipients_of(st, user, &input).await?;
    let about = About { author: user.id, start: input.period_start, end: input.period_end };
    let frozen = stats::freeze(&stats::compute(&st.db, user, about, st.config.timezone).await?);
    let before = match &current {
        Some(w) => Some(
            Fields {
                kind: w.kind(),
                period: w.period(),
                done: &w.done,
                plans: &w.plans,
                problems: &w.problems,
                recipients: repo::recipients(&st.db, w.id).await?.into_iter().map(|r| r.name).collect(),
                related: links::of_items(&st.db, "worklog", &[w.id])
                    .await?
                    .remove(&w.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| l.name)
                    .collect(),
            }
            .snapshot(&ctx),
        ),
        None => None,
    };
    let after = Fields {
        kind: input.kind,
        period: model::period_label(&input.period_start, &input.period_end),
        done: &input.done,
        plans: &input.plans,
        problems: &input.problems,
        recipients: repo::names(&st.db, &recipients).await?,
        related: related.iter().map(|l| l.name.clone()).collect(),
    }
    .snapshot(&ctx);
    let refs = links::with_hidden(&st.db, user, "worklog", current.as_ref().map(|w| w.id), &related).await?;
    let mut tx = st.db.begin().await?;
    let id = match &current {
        Some(w) => {
            repo::lock(&mut tx, w.id).await?.ok_or(AppError::NotFound)?;
            repo::update(&mut tx, w.id, &input, &frozen).await?;
            w.id
        }
        None => match repo::insert(&mut tx, &input, user.id, &frozen)
            .await
            .on_constraint("worklogs_one_per_period", || ())?
        {
            Ok(id) => id,
            Err(()) => {
                drop(tx);
                errors.add("period", "worklog.error.duplicate");
                return refuse(st, ctx, user, (current, form, errors), (period, picker)).await;
            }
        },
    };
    let added = repo::set_recipients(&mut tx, id, &recipients).await?;
    links::replace(&mut tx, "worklog", id, &refs).await?;
    after.write_save(&mut tx, ("worklog", id), before.as_ref(), None, (user.id, req.ip.as_deref())).await?;
    let params = json!({
        "name": user.name,
        "period": model::period_label(&input.period_start, &input.period_end),
    });
    let link = format!("/worklogs/{id}");
    for to in added {
        crate::notify::send(&mut tx, to, "worklog_submitted", params.clone(), Some(&link), Some(user.id)).await?;
    }
    let key = if current.is_some() { "worklog.saved" } else { "worklog.submitted" };
    done(tx, &ctx, key, &link).await
}

async fn refuse(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    parts: (Option<Worklog>, FormData, FormErrors),
    rest: ((Kind, NaiveDate, NaiveDate), Picker),
) -> AppResult<Response> {
    let page = page(st, ctx, user, parts, rest).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response())
}

/// The superior (always) and the active colleagues chosen, never the author.
async fn recipients_of(st: &AppState, user: &CurrentUser, input: &Input) -> AppResult<Vec<i64>> {
    let mut ids = repo::active_among(&st.db, &input.recipients).await?;
    if let Some((s, _)) = repo::active_superior(&st.db, user.id).await? {
        ids.push(s);
    }
    ids.retain(|id| *id != user.id);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// A log's fields as the history keeps them (names rather than ids).
struct Fields<'a> {
    kind: Kind,
    period: String,
    done: &'a str,
    plans: &'a str,
    problems: &'a str,
    recipients: Vec<String>,
    related: Vec<String>,
}

impl Fields<'_> {
    fn snapshot(&self, ctx: &PageCtx) -> Snapshot {
        let opt = |v: &str| audit::opt(Some(v.to_string()).filter(|s| !s.is_empty()));
        let mut snap = Snapshot::new();
        snap.push("kind", json!(ctx.t(self.kind.label_key())))
            .push("period", json!(self.period))
            .push("done", json!(self.done))
            .push("plans", opt(self.plans))
            .push("problems", opt(self.problems))
            .push("recipients", opt(&self.recipients.join("、")))
            .push("related", opt(&self.related.join("、")));
        snap
    }
}
