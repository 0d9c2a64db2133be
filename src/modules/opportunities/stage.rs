//! Moving an opportunity along its stages (the stage bar and the board), closing it as won,
//! lost or invalid (with a reason from that outcome's dictionary and the actual close date), and
//! reopening it. Each is a row in the stage history (with the time spent where it was) and in
//! the audit history, in the same transaction.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::form::writable;
use super::model::{ENTITY, Opportunity, Status};
use super::repo::{self, Move};
use super::stages::{self, Stage};
use crate::access::{DataScope, Module};
use crate::audit::{self, Entry};
use crate::auth::CurrentUser;
use crate::dicts::Dicts;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::web::{FormData, PageCtx, RequestCtx, done};

/// Where to go after a move: back to the board when the move came from there, else the record.
fn back_to(form: &FormData, id: i64) -> String {
    match form.get("back") {
        b if b.starts_with("/opportunities/board") => b.to_string(),
        _ => format!("/opportunities/{id}"),
    }
}

/// The user and the opportunity they may change (404 / 403 otherwise).
async fn changeable<'r>(st: &AppState, req: &'r RequestCtx, id: i64) -> AppResult<(&'r CurrentUser, Opportunity)> {
    let user = req.user()?;
    let scope = DataScope::resolve(&st.db, user, Module::Opportunities).await?;
    Ok((user, writable(st, &scope, id).await?))
}

fn stage_name(s: &Stage) -> Value {
    json!({ "zh": s.name_zh, "en": s.name_en })
}

fn note_of(form: &FormData) -> Option<String> {
    Some(form.get("note").trim().chars().take(1000).collect::<String>()).filter(|n| !n.is_empty())
}

/// POST /opportunities/{id}/stage — `stage_id`, optional `note`.
pub async fn move_stage(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (user, o) = changeable(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    if repo::lock(&mut tx, id).await?.as_deref() != Some("open") {
        return Err(AppError::Conflict("opportunity.error.closed"));
    }
    let group = stages::of_group(&mut tx, o.group_id).await?;
    let to: i64 = form.get("stage_id").trim().parse().map_err(|_| AppError::BadRequest("opportunity.error.stage"))?;
    let Some(to) = group.iter().find(|s| s.id == to) else {
        return Err(AppError::BadRequest("opportunity.error.stage"));
    };
    let back = back_to(&form, id);
    if to.id == o.stage_id {
        return done(tx, &ctx, "opportunity.stage_unchanged", &back).await;
    }
    let from = group.iter().find(|s| s.id == o.stage_id);
    let note = note_of(&form);
    let m = Move { to_stage: to.id, to_status: "open", reason_id: None, note: note.as_deref(), closed_on: None };
    repo::apply_move(&mut tx, id, &m, user.id).await?;
    let mut entry =
        Entry::new(ENTITY, id, "stage").change("stage", from.map_or(Value::Null, stage_name), stage_name(to));
    if let Some(n) = note {
        entry = entry.note(n);
    }
    entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    let msg = ctx.tf("opportunity.moved", &[("name", &o.name), ("stage", to.name(ctx.lang))]);
    done(tx, &ctx, msg, &back).await
}

/// POST /opportunities/{id}/close — `status` (won / lost / invalid), `reason_id` from that
/// outcome's dictionary, `closed_on` (not after today), optional `note`.
pub async fn close(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (user, o) = changeable(&st, &req, id).await?;
    let status = Status::from_code(form.get("status"))
        .filter(|s| *s != Status::Open)
        .ok_or(AppError::BadRequest("opportunity.error.status"))?;
    let dict = status.reason_dict().unwrap_or_default();
    let dicts = Dicts::load(&st.db, &[dict]).await?;
    let reason = form
        .get("reason_id")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|r| dicts.allows(dict, *r, None))
        .ok_or(AppError::BadRequest("opportunity.error.reason_required"))?;
    let today = chrono::Utc::now().with_timezone(&st.config.timezone).date_naive();
    let closed_on = NaiveDate::parse_from_str(form.get("closed_on").trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| *d <= today)
        .ok_or(AppError::BadRequest("opportunity.error.closed_on"))?;
    let mut tx = st.db.begin().await?;
    if repo::lock(&mut tx, id).await?.as_deref() != Some("open") {
        return Err(AppError::Conflict("opportunity.error.closed"));
    }
    let note = note_of(&form);
    let m = Move {
        to_stage: o.stage_id,
        to_status: status.code(),
        reason_id: Some(reason),
        note: note.as_deref(),
        closed_on: Some(closed_on),
    };
    repo::apply_move(&mut tx, id, &m, user.id).await?;
    let mut entry = Entry::new(ENTITY, id, "close")
        .change("status", audit::bilingual(Status::Open.label_key()), audit::bilingual(status.label_key()))
        .change("close_reason", Value::Null, dicts.audit_value(Some(reason)))
        .change("closed_on", Value::Null, json!(closed_on.to_string()));
    if let Some(n) = note {
        entry = entry.note(n);
    }
    entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    let msg = ctx.tf("opportunity.closed_as", &[("name", &o.name), ("status", ctx.t(status.label_key()))]);
    done(tx, &ctx, msg, &format!("/opportunities/{id}")).await
}

/// POST /opportunities/{id}/reopen — a closed opportunity is open again at the stage it closed
/// from (edit right; audited).
pub async fn reopen(
    State(st): State<AppState>,
    ctx: PageCtx,
    req: RequestCtx,
    Path(id): Path<i64>,
    form: FormData,
) -> AppResult<Response> {
    let (user, o) = changeable(&st, &req, id).await?;
    let mut tx = st.db.begin().await?;
    let status = repo::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let was = Status::from_code(&status)
        .filter(|s| *s != Status::Open)
        .ok_or(AppError::Conflict("opportunity.error.not_closed"))?;
    let note = note_of(&form);
    let m = Move { to_stage: o.stage_id, to_status: "open", reason_id: None, note: note.as_deref(), closed_on: None };
    repo::apply_move(&mut tx, id, &m, user.id).await?;
    let mut entry = Entry::new(ENTITY, id, "reopen").change(
        "status",
        audit::bilingual(was.label_key()),
        audit::bilingual(Status::Open.label_key()),
    );
    if let Some(n) = note {
        entry = entry.note(n);
    }
    entry.write(&mut tx, Some(user.id), req.ip.as_deref()).await?;
    done(tx, &ctx, ctx.tf1("opportunity.reopened", "name", &o.name), &format!("/opportunities/{id}")).await
}
