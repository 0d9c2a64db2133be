//! Follow-ups (跟进记录) and the timeline every record shows.
//!
//! - `add` writes a follow-up, moves the target's (and its customer's) last / next contact times,
//!   and turns a next contact time into a reminder for the author;
//! - `routes::<R>()` gives a record kind with `features.timeline` its "add follow-up" route;
//! - `TimelineView::load` merges follow-ups with the operation history (approvals,
//!   and the entries of registered `Source`s: tasks, schedule entries, work logs), newest first,
//!   filterable by kind; `templates/partials/timeline.html` shows it.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use tower_sessions::Session;

use crate::access::{Action, DataScope, Guard, Module, Routes};
use crate::audit::history::{self, LogRow};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::records::routes::at;
use crate::records::{Record, RecordDef, sql};
use crate::state::AppState;
use crate::web::flash::Kind as Flash;
use crate::web::i18n::Lang;
use crate::web::{FormData, PageCtx, RequestCtx, SelectOpt};

/// The table of a record kind that has follow-ups (its rows carry `last_followup_at` /
/// `next_contact_at`).
fn table_of(entity: &str) -> Option<&'static str> {
    crate::registry::get().record_of(entity).filter(|r| r.features.timeline).map(|r| r.table)
}

#[derive(Clone, Debug)]
pub struct NewFollowup {
    pub entity: &'static str,
    pub entity_id: i64,
    pub customer_id: Option<i64>,
    pub method_id: Option<i64>,
    pub content: String,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub contact_ids: Vec<i64>,
}

/// Write a follow-up in the caller's transaction. `name` and `link` describe the record for the
/// reminder ("联系 上海华信 的时间到了").
pub async fn add(conn: &mut PgConnection, f: &NewFollowup, author: i64, name: &str, link: &str) -> sqlx::Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO followups (entity, entity_id, customer_id, method_id, content, next_contact_at, contact_ids, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(f.entity)
    .bind(f.entity_id)
    .bind(f.customer_id)
    .bind(f.method_id)
    .bind(&f.content)
    .bind(f.next_contact_at)
    .bind(&f.contact_ids)
    .bind(author)
    .fetch_one(&mut *conn)
    .await?;
    // The record itself, and the customer it belongs to, were just followed up.
    let mut touched: Vec<(&str, i64)> = vec![(f.entity, f.entity_id)];
    if let Some(c) = f.customer_id.filter(|_| f.entity != "customer") {
        touched.push(("customer", c));
    }
    for (entity, rid) in touched {
        if let Some(table) = table_of(entity) {
            sqlx::query(&format!(
                "UPDATE {table} SET last_followup_at = now(), next_contact_at = COALESCE($2, next_contact_at) WHERE id = $1"
            ))
            .bind(rid)
            .bind(f.next_contact_at)
            .execute(&mut *conn)
            .await?;
        }
    }
    if let Some(at) = f.next_contact_at {
        // The newer next contact time replaces the author's pending reminder for this record.
        sqlx::query(
            "DELETE FROM reminders WHERE user_id = $1 AND kind = 'followup_due' AND link = $2 AND delivered_at IS NULL",
        )
        .bind(author)
        .bind(link)
        .execute(&mut *conn)
        .await?;
        crate::notify::remind(conn, author, at, "followup_due", json!({ "name": name }), Some(link), Some(author))
            .await?;
    }
    Ok(id)
}

/// What the add-follow-up form submits, before checking.
pub struct Parsed {
    pub method_id: Option<i64>,
    pub content: String,
    pub next_contact_at: Option<DateTime<Utc>>,
    pub contact_ids: Vec<i64>,
}

/// Check the form; errors are i18n keys by field.
pub fn parse(
    form: &FormData,
    dicts: &Dicts,
    tz: chrono::FixedOffset,
) -> Result<Parsed, Vec<(&'static str, &'static str)>> {
    let mut errors = Vec::new();
    let content = form.get("content").trim().to_string();
    if content.is_empty() {
        errors.push(("content", "form.required"));
    } else if content.chars().count() > 5000 {
        errors.push(("content", "customer.error.too_long"));
    }
    let method_id = match form.get("method_id").trim() {
        "" => {
            errors.push(("method_id", "form.required"));
            None
        }
        v => match v.parse::<i64>() {
            Ok(id) if dicts.allows("followup_method", id, None) => Some(id),
            _ => {
                errors.push(("method_id", "customer.error.dict"));
                None
            }
        },
    };
    let next_contact_at = match form.get("next_contact_at").trim() {
        "" => None,
        v => match crate::fields::parse_local_datetime(v, tz) {
            Some(at) if at > Utc::now() => Some(at),
            Some(_) => {
                errors.push(("next_contact_at", "timeline.error.past"));
                None
            }
            None => {
                errors.push(("next_contact_at", "fields.error.datetime"));
                None
            }
        },
    };
    let contact_ids = form.all("contact_ids").iter().filter_map(|v| v.parse().ok()).collect();
    if errors.is_empty() { Ok(Parsed { method_id, content, next_contact_at, contact_ids }) } else { Err(errors) }
}

/// POST {path}/{id}/followups for a record kind with `features.timeline`: written by those who
/// may change the record.
pub fn routes<R: Record>() -> Routes {
    let g = Guard::Perm(R::DEF.module, Action::Edit);
    Routes::new().post(at(R::DEF, "/{id}/followups"), g, add_followup::<R>)
}

/// (name, customer it belongs to) of a record, for the reminder text and the customer's timeline.
async fn describe(db: &PgPool, def: &'static RecordDef, id: i64) -> AppResult<(String, Option<i64>)> {
    let customer = def.customer.unwrap_or("NULL::bigint");
    Ok(sqlx::query_as(&format!("SELECT {}, {customer} FROM {} t WHERE t.id = $1", def.title, def.table))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or(AppError::NotFound)?)
}

/// A failed submission kept in the session, so the form shows it again with the errors.
#[derive(Serialize, Deserialize, Default, Clone, Debug)]
pub struct Draft {
    pub entity: String,
    pub entity_id: i64,
    pub pairs: Vec<(String, String)>,
    pub errors: Vec<(String, String)>,
}

const DRAFT_KEY: &str = "followup_draft";

async fn add_followup<R: Record>(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    session: Session,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (user, def) = (req.user()?, R::DEF);
    let scope = DataScope::resolve(&st.db, user, def.module).await?;
    sql::check_writable(&st.db, def, &scope, id).await?;
    let back = format!("{}?tab=timeline", def.url(id));
    let dicts = Dicts::load(&st.db, &["followup_method"]).await?;
    let parsed = match parse(&form, &dicts, st.config.timezone) {
        Ok(p) => p,
        Err(errors) => {
            let draft = Draft {
                entity: def.entity.to_string(),
                entity_id: id,
                pairs: form.pairs().to_vec(),
                errors: errors.into_iter().map(|(f, k)| (f.to_string(), ctx.t(k).to_string())).collect(),
            };
            session.insert(DRAFT_KEY, draft).await.map_err(anyhow::Error::from)?;
            ctx.flash(Flash::Error, "form.fix_errors").await;
            return Ok(Redirect::to(&back).into_response());
        }
    };
    let (name, customer_id) = describe(&st.db, def, id).await?;
    // Only contacts of this customer can be named.
    let contact_ids: Vec<i64> = match customer_id {
        Some(c) if !parsed.contact_ids.is_empty() => {
            sqlx::query_scalar("SELECT id FROM contacts WHERE customer_id = $1 AND id = ANY($2) AND deleted_at IS NULL")
                .bind(c)
                .bind(&parsed.contact_ids)
                .fetch_all(&st.db)
                .await?
        }
        _ => Vec::new(),
    };
    let f = NewFollowup {
        entity: def.entity,
        entity_id: id,
        customer_id,
        method_id: parsed.method_id,
        content: parsed.content,
        next_contact_at: parsed.next_contact_at,
        contact_ids,
    };
    let mut tx = st.db.begin().await?;
    add(&mut tx, &f, user.id, &name, &def.url(id)).await?;
    tx.commit().await?;
    ctx.flash(Flash::Success, "timeline.added").await;
    Ok(Redirect::to(&back).into_response())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemKind {
    Followup,
    History,
    /// A submission or decision of an approval on the record (src/workflow).
    Approval,
    /// An entry of a registered source (a task, a schedule entry, a work log): its code.
    Linked(&'static str),
}

impl ItemKind {
    pub fn code(self) -> &'static str {
        match self {
            ItemKind::Followup => "followup",
            ItemKind::History => "history",
            ItemKind::Approval => "approval",
            ItemKind::Linked(code) => code,
        }
    }
}

/// Entries other modules put on record timelines (tasks, schedule entries, work logs related to
/// the record), registered with `Registry::timeline_source`. The timeline offers a filter per
/// source and merges its entries with the rest, newest first.
#[derive(Clone, Copy)]
pub struct Source {
    /// The filter's and the entries' kind code: "task".
    pub code: &'static str,
    /// The filter tab's label key.
    pub label_key: &'static str,
    /// The entries' icon (`static/icons.svg`).
    pub icon: &'static str,
    /// The form that makes a new one related to the record: (path, button label key, module
    /// whose create right it needs); the timeline links it with `?related=<entity>:<id>`.
    pub new_form: Option<(&'static str, &'static str, Module)>,
    /// The entries about record (entity, id) that the user may see, as `Item`s of kind
    /// `ItemKind::Linked(code)` with a link to each.
    pub load: for<'a> fn(&'a PgPool, &'a CurrentUser, Lang, &'a str, i64) -> BoxFuture<'a, AppResult<Vec<Item>>>,
}

fn sources() -> impl Iterator<Item = &'static Source> {
    crate::registry::get().timeline_sources().iter()
}

/// One entry of a timeline.
#[derive(Clone, Debug)]
pub struct Item {
    pub at: DateTime<Utc>,
    pub kind: ItemKind,
    pub actor: String,
    /// Follow-up method, or empty for history.
    pub title: String,
    pub lines: Vec<String>,
    pub next_contact_at: Option<DateTime<Utc>>,
    /// Contacts named on a follow-up; the record it was written on when not the page's own.
    pub about: Vec<String>,
    /// Where the entry leads (an approval's page).
    pub link: Option<String>,
    /// The reader wrote it (a follow-up's next contact time offers "add to my schedule").
    pub by_me: bool,
}

impl Item {
    pub fn kind_code(&self) -> &'static str {
        self.kind.code()
    }

    /// The entry's icon: follow-ups, history and approvals have their own; sources name theirs.
    pub fn icon(&self) -> &'static str {
        match self.kind {
            ItemKind::Followup => "contact",
            ItemKind::History => "log",
            ItemKind::Approval => "check",
            ItemKind::Linked(code) => sources().find(|s| s.code == code).map_or("list", |s| s.icon),
        }
    }
}

#[derive(sqlx::FromRow)]
struct FollowupRow {
    entity: String,
    method_id: Option<i64>,
    content: String,
    next_contact_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    created_by: i64,
    author: String,
    contacts: Vec<String>,
    contact_name: Option<String>,
}

/// Everything a timeline tab needs: items, the filter, the add form.
pub struct TimelineView {
    pub items: Vec<Item>,
    /// "" (all), "followup" or "history".
    pub filter: String,
    pub base: String,
    pub can_add: bool,
    pub methods: Vec<SelectOpt>,
    /// Contacts of the customer the follow-up may name.
    pub contacts: Vec<SelectOpt>,
    pub draft: FormData,
    pub errors: Vec<(String, String)>,
    /// The record type has approvals (an "approvals" filter is offered).
    pub has_approvals: bool,
    /// The registered sources' filters: (code, label key).
    pub sources: Vec<(&'static str, &'static str)>,
    /// "New task / event / log" about this record: (href with `related=`, label key), those the
    /// user may create.
    pub new_links: Vec<(String, &'static str)>,
}

impl TimelineView {
    /// `entity`/`id`: the page's record. For a customer, follow-ups written on its contacts are
    /// included; `customer_id` is the customer whose contacts the form offers.
    #[allow(clippy::too_many_arguments)]
    pub async fn load(
        db: &PgPool,
        session: &Session,
        (user, lang): (&CurrentUser, Lang),
        entity: &str,
        id: i64,
        customer_id: Option<i64>,
        filter: &str,
        can_add: bool,
        base: String,
    ) -> AppResult<TimelineView> {
        let dicts = Dicts::load(db, &["followup_method"]).await?;
        let mut items = Vec::new();
        let shows = |code: &str| filter.is_empty() || filter == code;
        if shows("followup") {
            items.extend(followup_items(db, &dicts, (user.id, lang), entity, id).await?);
        }
        if shows("history") {
            items.extend(history_items(db, lang, entity, id).await?);
        }
        if shows("approval") {
            items.extend(approval_items(db, lang, entity, id).await?);
        }
        for source in sources().filter(|s| shows(s.code)) {
            items.extend((source.load)(db, user, lang, entity, id).await?);
        }
        items.sort_by(|a, b| b.at.cmp(&a.at));
        let contacts = match customer_id {
            Some(c) => customer_contacts(db, c).await?,
            None => Vec::new(),
        };
        let draft = take_draft(session, entity, id).await;
        Ok(TimelineView {
            items,
            filter: filter.to_string(),
            base,
            can_add,
            methods: dicts.options("followup_method", lang, None),
            contacts,
            draft: draft.as_ref().map(|d| FormData::from_pairs(d.pairs.clone())).unwrap_or_default(),
            errors: draft.map(|d| d.errors).unwrap_or_default(),
            has_approvals: !crate::workflow::Subject::for_entity(entity).is_empty(),
            sources: sources().map(|s| (s.code, s.label_key)).collect(),
            new_links: sources()
                .filter_map(|s| s.new_form)
                .filter(|(_, _, module)| user.can(*module, Action::Create))
                .map(|(path, label, _)| (format!("{path}?related={entity}:{id}"), label))
                .collect(),
        })
    }

    pub fn is_filter(&self, code: &str) -> bool {
        self.filter == code
    }

    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors.iter().find(|(f, _)| f == field).map(|(_, e)| e.as_str())
    }
}

/// The follow-ups written on the record (for a customer, also on its contacts), newest first.
async fn followup_items(
    db: &PgPool,
    dicts: &Dicts,
    (me, lang): (i64, Lang),
    entity: &str,
    id: i64,
) -> AppResult<Vec<Item>> {
    let rows: Vec<FollowupRow> = sqlx::query_as(
        "SELECT f.entity, f.method_id, f.content, f.next_contact_at, f.created_at, f.created_by, u.name AS author,
                ARRAY(SELECT ct.name FROM contacts ct WHERE ct.id = ANY(f.contact_ids) ORDER BY ct.name) AS contacts,
                CASE WHEN f.entity = 'contact' THEN (SELECT name FROM contacts WHERE id = f.entity_id) END AS contact_name
         FROM followups f JOIN users u ON u.id = f.created_by
         WHERE (f.entity = $1 AND f.entity_id = $2) OR ($1 = 'customer' AND f.customer_id = $2)
         ORDER BY f.created_at DESC LIMIT 300",
    )
    .bind(entity)
    .bind(id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut about = r.contacts;
            // On a customer's timeline, a follow-up written on one of its contacts names it.
            if let Some(n) = r.contact_name.filter(|_| entity == "customer" && r.entity == "contact") {
                about.insert(0, n);
            }
            Item {
                at: r.created_at,
                kind: ItemKind::Followup,
                actor: r.author,
                title: dicts.label(r.method_id, lang),
                lines: r.content.lines().map(str::to_string).collect(),
                next_contact_at: r.next_contact_at,
                about,
                link: None,
                by_me: r.created_by == me,
            }
        })
        .collect())
}

/// The record's history; approval steps show as approval entries instead, not twice.
async fn history_items(db: &PgPool, lang: Lang, entity: &str, id: i64) -> AppResult<Vec<Item>> {
    let logs: Vec<LogRow> = history::for_record(db, entity, id, 300).await?;
    Ok(logs
        .into_iter()
        .filter(|l| !l.action.starts_with("approval_"))
        .map(|l| Item {
            at: l.at,
            kind: ItemKind::History,
            actor: l.actor_name.clone().unwrap_or_default(),
            title: String::new(),
            lines: l.sentences(lang),
            next_contact_at: None,
            about: Vec::new(),
            link: None,
            by_me: false,
        })
        .collect())
}

/// The customer's live contacts a follow-up may name, primary first.
async fn customer_contacts(db: &PgPool, customer_id: i64) -> sqlx::Result<Vec<SelectOpt>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM contacts WHERE customer_id = $1 AND deleted_at IS NULL ORDER BY is_primary DESC, name",
    )
    .bind(customer_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(cid, n)| SelectOpt::new(cid, n)).collect())
}

/// The failed submission kept for this record's form, taken out of the session.
async fn take_draft(session: &Session, entity: &str, id: i64) -> Option<Draft> {
    let draft: Option<Draft> = session.get(DRAFT_KEY).await.ok().flatten();
    if draft.is_some() {
        let _ = session.remove::<Draft>(DRAFT_KEY).await;
    }
    draft.filter(|d| d.entity == entity && d.entity_id == id)
}

#[derive(sqlx::FromRow)]
struct ApprovalRow {
    id: i64,
    subject: String,
    status: String,
    payload: sqlx::types::Json<serde_json::Value>,
    submitted_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    auto: bool,
    submitter: String,
    /// Withdrawn automatically (the request no longer applied): who made the change, and why.
    stale: Option<sqlx::types::Json<(Option<String>, serde_json::Value)>>,
}

/// The record's approvals as timeline entries: each submission (the latest round), each decision
/// with its comment, a withdrawal, an approval without steps.
async fn approval_items(db: &PgPool, lang: Lang, entity: &str, id: i64) -> AppResult<Vec<Item>> {
    use crate::workflow::Subject;
    let subjects: Vec<&str> = Subject::for_entity(entity).iter().map(|s| s.code()).collect();
    if subjects.is_empty() {
        return Ok(Vec::new());
    }
    let mut conn = db.acquire().await?;
    let rows: Vec<ApprovalRow> = sqlx::query_as(
        "SELECT i.id, i.subject, i.status, i.payload, i.submitted_at, i.decided_at,
                jsonb_array_length(i.plan) = 0 AS auto, u.name AS submitter,
                (SELECT jsonb_build_array(a.name, l.changes->0->'new')
                   FROM operation_logs l LEFT JOIN users a ON a.id = l.actor_id
                  WHERE i.status = 'withdrawn' AND l.entity = $3 AND l.entity_id = i.record_id
                    AND l.action = 'approval_withdraw_stale' AND l.at = i.decided_at
                  ORDER BY l.id DESC LIMIT 1) AS stale
           FROM approval_instances i JOIN users u ON u.id = i.submitted_by
          WHERE i.subject = ANY($1) AND i.record_id = $2 ORDER BY i.id DESC LIMIT 50",
    )
    .bind(&subjects)
    .bind(id)
    .bind(entity)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let decisions: Vec<Decision> = sqlx::query_as(
        "SELECT t.instance_id, u.name, t.status, t.comment, t.decided_at
           FROM approval_tasks t JOIN users u ON u.id = t.approver_id
          WHERE t.instance_id = ANY($1) AND t.status IN ('approved', 'rejected') AND t.decided_at IS NOT NULL",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let dicts = crate::workflow::summary_dicts(&mut conn).await?;
    Ok(rows.iter().flat_map(|r| instance_items(r, &decisions, &dicts, lang)).collect())
}

/// A decision on an approval: (instance, approver, status, comment, at).
type Decision = (i64, String, String, String, DateTime<Utc>);

/// One approval's entries: its submission, each decision with its comment, and how it ended when
/// nobody decided (withdrawn, by the submitter or as no longer applying; approved with no step).
fn instance_items(r: &ApprovalRow, decisions: &[Decision], dicts: &Dicts, lang: Lang) -> Vec<Item> {
    let Some(subject) = crate::workflow::Subject::from_code(&r.subject) else { return Vec::new() };
    let title = lang.t(subject.label_key()).to_string();
    let item = |at, actor: String, lines: Vec<String>| Item {
        at,
        kind: ItemKind::Approval,
        actor,
        title: title.clone(),
        lines,
        next_contact_at: None,
        about: Vec::new(),
        link: Some(format!("/approvals/{}", r.id)),
        by_me: false,
    };
    let summary = subject.summary(&r.payload.0, dicts, lang);
    let mut items = vec![item(
        r.submitted_at,
        r.submitter.clone(),
        vec![lang.tf("approval.timeline.submitted", &[("summary", &summary)])],
    )];
    for (_, who, status, comment, at) in decisions.iter().filter(|d| d.0 == r.id) {
        let key = if status == "approved" { "approval.timeline.approved" } else { "approval.timeline.rejected" };
        let mut lines = vec![lang.t(key).to_string()];
        if !comment.is_empty() {
            lines.push(lang.tf("approval.timeline.comment", &[("comment", comment)]));
        }
        items.push(item(*at, who.clone(), lines));
    }
    let system = || lang.t("audit.system").to_string();
    match (r.status.as_str(), r.decided_at, &r.stale) {
        ("withdrawn", Some(at), Some(stale)) => {
            let (actor, why) = &stale.0;
            let why = why.get(if lang == Lang::En { "en" } else { "zh" }).and_then(|v| v.as_str()).unwrap_or_default();
            let actor = actor.clone().unwrap_or_else(system);
            items.push(item(at, actor, vec![lang.tf("approval.timeline.withdrawn_stale", &[("reason", why)])]))
        }
        ("withdrawn", Some(at), None) => {
            items.push(item(at, r.submitter.clone(), vec![lang.t("approval.timeline.withdrawn").to_string()]))
        }
        ("approved", Some(at), _) if r.auto => {
            items.push(item(at, system(), vec![lang.t("approval.timeline.auto").to_string()]))
        }
        _ => {}
    }
    items
}
