//! New and edit forms: title, description, owner (new tasks), participants, due time in the
//! configured time zone, priority, pile, reminder, the user's own tags and related records. A
//! refused form comes back with what was typed and the errors by their fields (422); the save
//! is one transaction with its audit row and notices (a new owner, new participants).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::RECORD;
use super::actions::may_edit;
use super::model::{self, BUCKET_CHOICES, ENTITY, REMIND_CHOICES, Task, TaskInput, priority_key};
use super::repo::{self, Tag};
use crate::access::{DataScope, Module};
use crate::audit::{self, Snapshot};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::notify;
use crate::records::form::RecordForm;
use crate::records::links::{self, Picker};
use crate::state::AppState;
use crate::web::{FormData, FormErrors, PageCtx, RequestCtx, SelectOpt, done, render};

#[derive(Template)]
#[template(path = "tasks/form.html")]
struct FormPage {
    ctx: PageCtx,
    current: Option<Task>,
    form: FormData,
    errors: FormErrors,
    /// Users in my scope a new task may go to (empty: it is mine).
    owner_options: Vec<SelectOpt>,
    /// Every active user, for participants.
    user_options: Vec<SelectOpt>,
    priorities: Vec<SelectOpt>,
    buckets: &'static [(&'static str, &'static str)],
    reminds: Vec<SelectOpt>,
    tags: Vec<Tag>,
    picker: Picker,
}

crate::page!(FormPage);

impl FormPage {
    fn action(&self) -> String {
        self.current.as_ref().map_or("/tasks".into(), |t| format!("/tasks/{}", t.id))
    }

    fn cancel(&self) -> String {
        self.current.as_ref().map_or("/tasks".into(), |t| format!("/tasks/{}", t.id))
    }

    fn is_participant(&self, o: &SelectOpt) -> bool {
        self.form.all("participants").contains(&o.value.as_str())
    }

    fn has_tag(&self, id: &i64) -> bool {
        self.form.all("tags").contains(&id.to_string().as_str())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    /// "customer:12": the record the task is about (a record page's "new task").
    pub related: String,
}

/// The reminder choices: none, at the due time, 15 minutes before...
fn remind_options(ctx: &PageCtx) -> Vec<SelectOpt> {
    let mut out = vec![SelectOpt::new("", ctx.t("task.remind.none"))];
    out.extend(
        REMIND_CHOICES.iter().map(|m| SelectOpt::new(m, ctx.tf1(&format!("task.remind.{m}"), "n", &m.to_string()))),
    );
    out
}

async fn form_page(
    shared: &RecordForm<'_>,
    ctx: PageCtx,
    current: Option<Task>,
    (form, errors): (FormData, FormErrors),
    picker: Picker,
) -> AppResult<FormPage> {
    let db = &shared.st.db;
    Ok(FormPage {
        owner_options: shared.owner_options(current.is_none()).await?,
        user_options: crate::org::users::options(db, true).await?,
        priorities: model::priority_options(ctx.lang),
        buckets: BUCKET_CHOICES,
        reminds: remind_options(&ctx),
        tags: repo::my_tags(db, shared.user.id).await?,
        ctx,
        current,
        form,
        errors,
        picker,
    })
}

pub async fn new(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Query(q): Query<NewQuery>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let shared = RecordForm::load(&st, user, &RECORD).await?;
    let related = links::parse_value(&q.related).into_iter().collect::<Vec<_>>();
    let chosen = links::visible(&st.db, user, &related).await?;
    let mut form = FormData::default();
    form.set("owner_id", user.id.to_string());
    form.set("priority", "0");
    form.set("bucket", "inbox");
    form.set("remind_minutes", "30");
    let errors = FormErrors::new(ctx.lang);
    render(form_page(&shared, ctx, None, (form, errors), Picker::new(user, chosen)).await?).await
}

/// A live task the user sees (404) and may edit (403).
async fn editable(st: &AppState, user: &CurrentUser, id: i64) -> AppResult<Task> {
    let scope = DataScope::resolve(&st.db, user, Module::Tasks).await?;
    let t = repo::find_visible(&st.db, &scope, id).await?.ok_or(AppError::NotFound)?;
    if !may_edit(user, &scope, &t) {
        return Err(AppError::Forbidden);
    }
    Ok(t)
}

pub async fn edit(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
) -> AppResult<Html<String>> {
    let user = req.user()?;
    let t = editable(&st, user, id).await?;
    let shared = RecordForm::load(&st, user, &RECORD).await?;
    let mut form = t.to_form(st.config.timezone);
    for (p, _) in repo::participants(&st.db, id).await? {
        form.push("participants", p.to_string());
    }
    for g in repo::tags_on(&st.db, user.id, &[id]).await?.remove(&id).unwrap_or_default() {
        form.push("tags", g.id.to_string());
    }
    let chosen = links::chosen_for(&st.db, user, "task", id).await?;
    let errors = FormErrors::new(ctx.lang);
    render(form_page(&shared, ctx, Some(t), (form, errors), Picker::new(user, chosen)).await?).await
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
    let t = editable(&st, req.user()?, id).await?;
    save(&st, ctx, &req, Some(t), form).await
}

/// What a task looked like before an edit: its participants' names.
struct Before {
    participants: Vec<(i64, String)>,
}

async fn save(
    st: &AppState,
    ctx: PageCtx,
    req: &RequestCtx,
    current: Option<Task>,
    form: FormData,
) -> AppResult<Response> {
    let user = req.user()?;
    let shared = RecordForm::load(st, user, &RECORD).await?;
    let mut errors = FormErrors::new(ctx.lang);
    let mut input = model::check(&form, st.config.timezone, &mut errors);
    let owner = match &current {
        None => shared.new_owner(input.owner_id, &mut errors).await?,
        Some(t) => t.owner_id.unwrap_or(user.id),
    };
    input.participants = repo::active_users(&st.db, &input.participants).await?;
    let mine: Vec<i64> = repo::my_tags(&st.db, user.id).await?.iter().map(|g| g.id).collect();
    input.tags.retain(|g| mine.contains(g));
    let links = match links::parse(&st.db, user, &form).await? {
        Ok(l) => l,
        Err((l, key)) => {
            errors.add("related", key);
            l
        }
    };
    if !errors.is_empty() {
        let mut picker = Picker::new(user, links);
        picker.error = errors.get("related").map(str::to_string);
        let page = form_page(&shared, ctx, current, (form, errors), picker).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page).await?).into_response());
    }
    let before = match &current {
        Some(t) => Some(Before { participants: repo::participants(&st.db, t.id).await? }),
        None => None,
    };
    let refs = links::with_hidden(&st.db, user, "task", current.as_ref().map(|t| t.id), &links).await?;
    let mut tx = st.db.begin().await?;
    let id = match &current {
        None => repo::insert(&mut tx, &input, owner, user.id).await?,
        Some(t) => {
            if !repo::lock(&mut tx, t.id).await? {
                return Err(AppError::NotFound);
            }
            repo::update(&mut tx, t.id, &input).await?;
            t.id
        }
    };
    let added = repo::replace_participants(&mut tx, id, &input.participants).await?;
    repo::replace_my_tags(&mut tx, id, user.id, &input.tags).await?;
    links::replace(&mut tx, "task", id, &refs).await?;
    let after = snapshot(&mut tx, &input, Some(owner), st.config.timezone, id).await?;
    let before_snap = match (&current, &before) {
        (Some(t), Some(b)) => Some(before_snapshot(t, b, st.config.timezone)),
        _ => None,
    };
    after.write_save(&mut tx, (ENTITY, id), before_snap.as_ref(), None, (user.id, req.ip.as_deref())).await?;
    tell(&mut tx, user, id, &input.title, current.is_none().then_some(owner), &added).await?;
    let key = if current.is_none() { "task.created" } else { "task.saved" };
    done(tx, &ctx, ctx.tf1(key, "title", &input.title), &RECORD.url(id)).await
}

/// A new task's owner and new participants hear of it (not the one who did it).
async fn tell(
    tx: &mut PgConnection,
    user: &CurrentUser,
    id: i64,
    title: &str,
    new_owner: Option<i64>,
    added: &[i64],
) -> sqlx::Result<()> {
    let link = RECORD.url(id);
    let params = json!({ "title": title, "by": user.name });
    if let Some(owner) = new_owner {
        notify::send(tx, owner, "task_assigned", params.clone(), Some(&link), Some(user.id)).await?;
    }
    for p in added.iter().filter(|p| Some(**p) != new_owner) {
        notify::send(tx, *p, "task_participant", params.clone(), Some(&link), Some(user.id)).await?;
    }
    Ok(())
}

fn remind_value(m: Option<i32>) -> Value {
    match m {
        None => audit::bilingual("task.remind.none"),
        Some(m) => {
            let key = format!("task.remind.{m}");
            let fill = |s: &str| s.replace("{n}", &m.to_string());
            json!({ "zh": fill(crate::web::i18n::Lang::Zh.t(&key)), "en": fill(crate::web::i18n::Lang::En.t(&key)) })
        }
    }
}

fn due_value(t: Option<chrono::DateTime<chrono::Utc>>, tz: chrono::FixedOffset) -> Value {
    audit::opt(t.map(|d| d.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()))
}

fn common(
    snap: &mut Snapshot,
    (title, description): (&str, &Option<String>),
    (due, priority, bucket, remind): (Value, i16, &str, Option<i32>),
) {
    snap.push("title", json!(title))
        .push("description", audit::opt(description.clone()))
        .push("due_at", due)
        .push("priority", audit::bilingual(priority_key(priority)))
        .push("bucket", audit::bilingual(model::bucket_key(bucket)))
        .push("remind_minutes", remind_value(remind));
}

/// The saved task as its history keeps it (names, not ids).
async fn snapshot(
    tx: &mut PgConnection,
    input: &TaskInput,
    owner: Option<i64>,
    tz: chrono::FixedOffset,
    id: i64,
) -> sqlx::Result<Snapshot> {
    let mut snap = Snapshot::new();
    common(
        &mut snap,
        (&input.title, &input.description),
        (due_value(input.due_at, tz), input.priority, &input.bucket, input.remind_minutes),
    );
    snap.push("owner", audit::opt(crate::org::users::name_of(tx, owner).await?));
    let names = repo::participant_names(tx, id).await?;
    snap.push("participants", json!(names.join("、")));
    Ok(snap)
}

fn before_snapshot(t: &Task, b: &Before, tz: chrono::FixedOffset) -> Snapshot {
    let mut snap = Snapshot::new();
    common(&mut snap, (&t.title, &t.description), (due_value(t.due_at, tz), t.priority, &t.bucket, t.remind_minutes));
    snap.push("owner", audit::opt(t.owner_name.clone()));
    let names: Vec<&str> = b.participants.iter().map(|(_, n)| n.as_str()).collect();
    snap.push("participants", json!(names.join("、")));
    snap
}
