//! Event reminders. An event with "remind N minutes before" gets one reminder per recipient
//! (owner and participants) through the kernel's `notify::remind`, delivered by the kernel job
//! at its due time. Only the *next* occurrence is ever planned:
//!
//! - on save the event's pending reminders are dropped and the first occurrence starting after
//!   now is planned, due N minutes before it (at once when that moment has passed but the
//!   occurrence has not started);
//! - the due time is kept in `events.next_remind_at`. The job `event_reminders` (every 60 s)
//!   takes the events whose reminder is due and plans the following occurrence: the first one
//!   starting after max(due + N, now). `due + N` is when the reminded occurrence starts, so no
//!   occurrence is reminded twice (N ≤ one day ≤ the repeat period); `now` skips what passed
//!   while the job was down. A one-off event finds none and its `next_remind_at` is cleared;
//! - going to the bin drops the pending ones; coming back sets `next_remind_at` to now − N, so
//!   the job plans from now (`Events::after_bin`).

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::model::Event;
use super::repo;
use crate::jobs::JobCtx;

pub fn link(id: i64) -> String {
    format!("/events/{id}")
}

/// Drop the pending reminders and plan the next occurrence's, after a save.
pub async fn replan(conn: &mut PgConnection, ev: &Event, tz: FixedOffset, now: DateTime<Utc>) -> sqlx::Result<()> {
    repo::drop_pending_reminders(conn, &link(ev.id)).await?;
    plan(conn, ev, tz, now, now).await
}

/// Plan the reminder of the first occurrence starting after `threshold`, due N minutes before
/// it but not before `now`; remember its due time (None: nothing left to remind).
async fn plan(
    conn: &mut PgConnection,
    ev: &Event,
    tz: FixedOffset,
    threshold: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let next = ev.remind_minutes.and_then(|m| ev.rule().next_after(threshold, tz).map(|start| (m, start)));
    let Some((minutes, start)) = next else {
        return repo::set_next_remind(conn, ev.id, None).await;
    };
    let due = (start - Duration::minutes(minutes.into())).max(now);
    let time = if ev.all_day {
        start.with_timezone(&tz).format("%Y-%m-%d").to_string()
    } else {
        start.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
    };
    let mut to = repo::participant_ids(conn, ev.id).await?;
    to.extend(ev.owner_id);
    to.sort();
    to.dedup();
    let link = link(ev.id);
    for user in to {
        let params = json!({ "title": ev.title, "time": time });
        crate::notify::remind(conn, user, due, "event_due", params, Some(&link), ev.owner_id).await?;
    }
    repo::set_next_remind(conn, ev.id, Some(due)).await
}

/// The job: for each event whose pending reminder is due, plan the next occurrence's.
pub async fn job(ctx: JobCtx) -> anyhow::Result<String> {
    let tz = ctx.config.timezone;
    let mut tx = ctx.db.begin().await?;
    let due = repo::reminders_due(&mut tx, ctx.now).await?;
    for (id, at) in &due {
        let Some(ev) = repo::find_on(&mut tx, *id).await? else { continue };
        let minutes = ev.remind_minutes.unwrap_or(0);
        let after = (*at + Duration::minutes(minutes.into())).max(ctx.now);
        plan(&mut tx, &ev, tz, after, ctx.now).await?;
    }
    tx.commit().await?;
    Ok(format!("{} planned", due.len()))
}
