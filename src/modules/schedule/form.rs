//! New and edit event forms. `/events/new` may be prefilled from links elsewhere:
//! `?start=2026-12-07T14:00` (or a date), `?title=`, `?related=customer:12` (a follow-up's
//! "add to my schedule" link, a calendar day's "+"). The save is one transaction: the event, its
//! participants, its related records, its reminders and the audit row — or nothing.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::RECORD;
use super::model::{self, ENTITY, Event, EventInput, REMIND_CHOICES, Repeat};
use super::{remind, repo};
use crate::access::{DataScope, Module};
use crate::audit::Snapshot;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::records::links::{self, Link, Picker};
use crate::records::sql;
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

#[derive(Template)]
#[template(path = "schedule/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Event>,
    form: FormData,
    errors: FormErrors,
    picker: Picker,
    /// (user id, name): the participants offered as checkboxes (chosen ones and colleagues).
    people: Vec<(i64, String)>,
    reminds: Vec<SelectOpt>,
    repeats: Vec<SelectOpt>,
}

crate::page!(FormPage);

impl FormPage {
    fn is_participant(&self, id: &i64) -> bool {
        self.form.is("participants", &id.to_string())
    }

    fn all_day(&self) -> bool {
        self.form.has("all_day")
    }

    fn action(&self) -> String {
        self.current.as_ref().map_or("/events".to_string(), |e| format!("/events/{}", e.id))
    }

    fn back(&self) -> String {
        self.current.as_ref().map_or("/calendar".to_string(), |e| format!("/events/{}", e.id))
    }
}

async fn page(
    st: &AppState,
    ctx: PageCtx,
    user: &CurrentUser,
    current: Option<Event>,
    (form, errors): (FormData, FormErrors),
    chosen: Vec<Link>,
    link_error: Option<&str>,
) -> AppResult<FormPage> {
    let mut picker = Picker::new(user, chosen);
    picker.error = link_error.map(|k| ctx.t(k).to_string());
    let ids: Vec<i64> = form.all("participants").iter().filter_map(|v| v.parse().ok()).collect();
    let mut people = repo::user_names(&st.db, &ids).await?;
    for c in repo::colleagues(&st.db, user.dept_id, user.id).await? {
        if !people.iter().any(|p| p.0 == c.0) {
            people.push(c);
        }
    }
    let none = ctx.t("event.remind.none");
    let mut reminds = vec![SelectOpt::new("", none)];
    reminds.extend(REMIND_CHOICES.iter().map(|m| SelectOpt::new(m, ctx.t(&format!("event.remind.{m}")))));
    let repeats = Repeat::ALL.iter().map(|r| SelectOpt::new(r.code(), ctx.t(r.label_key()))).collect();
    Ok(FormPage { ctx, current, form, errors, picker, people, reminds, repeats })
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    start: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    related: String,
    /// A record's page ("/customers/12"): the timeline's "add to my schedule" link.
    #[serde(default)]
    about: String,
}

/// "/customers/12" → ("customer", 12), for a kind events may be related to.
fn from_path(path: &str) -> Option<(&'static str, i64)> {
    let (base, id) = path.trim().rsplit_once('/')?;
    let def = links::linkable().find(|d| d.path == base)?;
    Some((def.entity, id.parse().ok()?))
}

pub async fn new(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<NewQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let mut form = FormData::default();
    let wanted: Vec<_> = links::parse_value(q.related.trim()).into_iter().chain(from_path(&q.about)).collect();
    // Only records the user sees are prefilled; anything else in the link is dropped.
    let chosen = links::visible(&st.db, user, &wanted).await?;
    match (q.title.trim(), chosen.first()) {
        ("", Some(l)) if !q.about.is_empty() => form.set("title", ctx.tf1("event.followup_title", "name", &l.name)),
        (t, _) => form.set("title", t),
    }
    let start = prefill_start(q.start.trim(), ctx.tz);
    form.set("start", start.format("%Y-%m-%dT%H:%M").to_string());
    form.set("end", (start + Duration::hours(1)).format("%Y-%m-%dT%H:%M").to_string());
    form.set("start_date", start.format("%Y-%m-%d").to_string());
    form.set("repeat", "none");
    let errors = FormErrors::new(ctx.lang);
    render(page(&st, ctx, user, None, (form, errors), chosen, None).await?).await
}

/// `?start=` as a local time: a datetime, a date (9:00 that day), or the next full hour.
fn prefill_start(v: &str, tz: chrono::FixedOffset) -> chrono::NaiveDateTime {
    if let Some(t) = crate::fields::parse_local_datetime(v, tz) {
        return t.with_timezone(&tz).naive_local();
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return d.and_hms_opt(9, 0, 0).unwrap_or_default();
    }
    let now = Utc::now().with_timezone(&tz).naive_local();
    now.date().and_hms_opt(chrono::Timelike::hour(&now), 0, 0).unwrap_or(now) + Duration::hours(1)
}

/// The event, when the user may change it (404 unseen, 403 no right).
async fn writable(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<Event> {
    let scope = DataScope::resolve(&st.db, user, Module::Schedule).await?;
    sql::check_writable(&st.db, &RECORD, &scope, id).await?;
    repo::find(&st.db, id).await?.ok_or(AppError::NotFound)
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let ev = writable(&st, user, id).await?;
    let people: Vec<i64> = repo::participants(&st.db, id).await?.into_iter().map(|p| p.0).collect();
    let form = ev.to_form(ctx.tz, &people);
    let chosen = links::chosen_for(&st.db, user, ENTITY, id).await?;
    let errors = FormErrors::new(ctx.lang);
    render(page(&st, ctx, user, Some(ev), (form, errors), chosen, None).await?).await
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
    let current = writable(&st, req.user()?, id).await?;
    save(&st, ctx, &req, Some(current), form).await
}

/// The participants the form names: ticked ones and the one typed or picked, active users only,
/// the owner left out (the event is already theirs). Err: the typed name matched nobody.
async fn participants(st: &AppState, form: &FormData, owner: i64) -> AppResult<Result<Vec<i64>, ()>> {
    let mut ids: Vec<i64> = form.all("participants").iter().filter_map(|v| v.trim().parse().ok()).collect();
    let typed = form.get("participant_q").trim();
    let mut unknown = false;
    if !typed.is_empty() {
        let picked = match form.get("participant_id").trim().parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => crate::org::users::id_by_name(&st.db, typed).await?,
        };
        match picked {
            Some(id) => ids.push(id),
            None => unknown = true,
        }
    }
    ids.retain(|id| *id != owner);
    let active = repo::active_users(&st.db, &ids).await?;
    Ok(if unknown { Err(()) } else { Ok(active) })
}

async fn save(
    st: &AppState,
    ctx: PageCtx,
    req: &RequestCtx,
    current: Option<Event>,
    mut form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let owner = current.as_ref().and_then(|c| c.owner_id).unwrap_or(user.id);
    let mut errors = FormErrors::new(ctx.lang);
    let input = model::check(&form, ctx.tz, &mut errors);
    let people = participants(st, &form, owner).await?;
    if people.is_err() {
        errors.add("participant_q", "event.error.unknown_user");
    }
    let (chosen, link_error) = match links::parse(&st.db, user, &form).await? {
        Ok(l) => (l, None),
        Err((l, key)) => (l, Some(key)),
    };
    let (Some(input), Ok(people), None) = (input, people.as_ref(), link_error) else {
        // Keep what was typed; the added participant shows ticked from now on.
        if let Ok(p) = &people {
            form = keep_participants(&form, p);
        }
        let page = page(st, ctx, user, current, (form, errors), chosen, link_error).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    };
    let refs = links::with_hidden(&st.db, user, ENTITY, current.as_ref().map(|c| c.id), &chosen).await?;
    let mut tx = st.db.begin().await?;
    let id = match &current {
        Some(cur) => {
            if !repo::lock(&mut tx, cur.id).await? {
                return Err(AppError::NotFound);
            }
            repo::update(&mut tx, cur.id, &input).await?;
            cur.id
        }
        None => repo::insert(&mut tx, &input, owner).await?,
    };
    let before_people = match &current {
        Some(cur) => repo::participant_ids(&mut tx, cur.id).await?,
        None => Vec::new(),
    };
    repo::set_participants(&mut tx, id, people).await?;
    links::replace(&mut tx, ENTITY, id, &refs).await?;
    let saved = repo::find_on(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    remind::replan(&mut tx, &saved, ctx.tz, Utc::now()).await?;
    let before = current.as_ref().map(|c| snapshot(&ctx, &c.to_input(), &before_people));
    let after = snapshot(&ctx, &input, people);
    after.write_save(&mut tx, (ENTITY, id), before.as_ref(), None, (user.id, req.ip.as_deref())).await?;
    let key = if current.is_none() { "event.created" } else { "event.saved" };
    done(tx, &ctx, ctx.tf1(key, "title", &input.title), &format!("/events/{id}")).await
}

/// What the history shows of an event (times in the configured zone).
fn snapshot(ctx: &PageCtx, e: &EventInput, people: &[i64]) -> Snapshot {
    let fmt = |t: chrono::DateTime<Utc>| t.with_timezone(&ctx.tz).format("%Y-%m-%d %H:%M").to_string();
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::from);
    let mut s = Snapshot::new();
    s.push("title", e.title.clone())
        .push("starts_at", fmt(e.starts_at))
        .push("ends_at", fmt(e.ends_at))
        .push("all_day", e.all_day)
        .push("location", opt(&e.location))
        .push("notes", opt(&e.notes))
        .push("remind_minutes", e.remind_minutes.map_or(Value::Null, Value::from))
        .push("repeat", crate::audit::bilingual(e.repeat.label_key()))
        .push("repeat_until", e.repeat_until.map_or(Value::Null, |d| Value::from(d.to_string())))
        .push("participants", Value::from(people.to_vec()));
    s
}

/// The form with exactly `ids` checked as participants (the typed one joins them).
fn keep_participants(form: &FormData, ids: &[i64]) -> FormData {
    let typed = ["participants", "participant_q", "participant_id"];
    let mut pairs: Vec<(String, String)> =
        form.pairs().iter().filter(|(k, _)| !typed.contains(&k.as_str())).cloned().collect();
    pairs.extend(ids.iter().map(|id| ("participants".to_string(), id.to_string())));
    FormData::from_pairs(pairs)
}

impl Event {
    pub fn to_input(&self) -> EventInput {
        EventInput {
            title: self.title.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            all_day: self.all_day,
            location: self.location.clone(),
            notes: self.notes.clone(),
            remind_minutes: self.remind_minutes,
            repeat: self.repeat(),
            repeat_until: self.repeat_until,
        }
    }
}
