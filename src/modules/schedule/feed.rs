//! The private calendar feed (ICS, RFC 5545): `/calendar/feed/{token}.ics`, read by calendar
//! apps without a session. The token is 32 random bytes (hex); only its SHA-256 is stored, so
//! the URL is shown once, when created. Re-creating it replaces the token (the old URL answers
//! 404), revoking deletes it. The request log writes such paths redacted (src/app.rs).
//!
//! Times are written in UTC (`...Z`): the configured zone is a fixed offset with no rules worth
//! a VTIMEZONE, and UTC times are exact. All-day events are `VALUE=DATE`. Repeating events carry
//! an RRULE (the app expands it the way `model::Rule` does). Tasks due are VEVENTs at their
//! due time (calendar apps show VTODOs poorly, if at all).
//!
//! What it holds: one-off events from `FEED_PAST_DAYS` ago on, every repeating event, and open
//! tasks due from then to a year ahead. A subscribed calendar is replaced on every refresh, so
//! this is what the phone shows; older history stays in the app.

use std::fmt::Write;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::calendar::NEW_FEED_URL;
use super::model::Event;
use super::repo;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::list::filters::midnight;
use crate::state::AppState;
use crate::web::{PageCtx, RequestCtx, done};

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// POST /calendar/feed — a new private URL (replacing any previous one), shown once.
pub async fn create(mut tx: Tx, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    let user = req.user()?;
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
    let token = hex::encode(bytes);
    repo::set_feed(&mut tx, user.id, &hash(&token)).await?;
    ctx.session
        .insert(NEW_FEED_URL, format!("/calendar/feed/{token}.ics"))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("session: {e}")))?;
    done(tx, &ctx, "event.feed.created", "/calendar#feed").await
}

/// POST /calendar/feed/revoke — the URL stops working.
pub async fn revoke(mut tx: Tx, ctx: PageCtx, req: RequestCtx) -> AppResult<Response> {
    repo::revoke_feed(&mut tx, req.user()?.id).await?;
    done(tx, &ctx, "event.feed.revoked", "/calendar#feed").await
}

/// GET /calendar/feed/{token}.ics — public: the token is the key. Unknown or revoked → 404.
pub async fn serve(State(st): State<AppState>, Path(file): Path<String>) -> AppResult<Response> {
    let token = file.strip_suffix(".ics").ok_or(AppError::NotFound)?;
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let (user, _lang) = repo::feed_user(&st.db, &hash(token)).await?.ok_or(AppError::NotFound)?;
    let tz = st.config.timezone;
    let now = Utc::now();
    let since = now - Duration::days(FEED_PAST_DAYS);
    let events = repo::for_feed(&st.db, user, since).await?;
    let tasks = crate::modules::tasks::due_between(&st.db, user, (since, now + Duration::days(366)), true).await?;
    let mut cal = Ics::new();
    for e in &events {
        cal.event(e, tz);
    }
    for t in &tasks {
        cal.lines(&["BEGIN:VEVENT"]);
        cal.prop("UID", &format!("task-{}@crm", t.id));
        cal.prop("DTSTAMP", &utc(now));
        cal.prop("DTSTART", &utc(t.due_at));
        cal.prop("DTEND", &utc(t.due_at));
        cal.text("SUMMARY", &t.title);
        cal.prop("CATEGORIES", "TASK");
        cal.lines(&["END:VEVENT"]);
    }
    let body = cal.finish();
    Ok((
        [(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=300")],
        body,
    )
        .into_response())
}

/// How far back the feed goes for one-off events and tasks.
const FEED_PAST_DAYS: i64 = 30;

/// A UTC date-time: 20261207T013000Z.
fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

fn date(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// An iCalendar document being written: CRLF line ends, lines folded at 75 octets.
pub struct Ics(String);

impl Ics {
    pub fn new() -> Ics {
        let mut ics = Ics(String::new());
        ics.lines(&["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//crm//schedule//EN", "CALSCALE:GREGORIAN"]);
        ics
    }

    fn lines(&mut self, lines: &[&str]) {
        for l in lines {
            self.line(l);
        }
    }

    /// One content line, folded: no line longer than 75 octets (CRLF not counted), breaks only
    /// between characters, each continuation starting with a space.
    fn line(&mut self, line: &str) {
        let mut used = 0;
        for ch in line.chars() {
            let n = ch.len_utf8();
            if used + n > 75 {
                self.0.push_str("\r\n ");
                used = 1;
            }
            self.0.push(ch);
            used += n;
        }
        self.0.push_str("\r\n");
    }

    fn prop(&mut self, name: &str, value: &str) {
        self.line(&format!("{name}:{value}"));
    }

    /// A TEXT property, escaped: backslash, semicolon, comma, newlines.
    fn text(&mut self, name: &str, value: &str) {
        self.prop(name, &escape(value));
    }

    pub fn event(&mut self, e: &Event, tz: FixedOffset) {
        self.line("BEGIN:VEVENT");
        self.prop("UID", &format!("event-{}@crm", e.id));
        self.prop("DTSTAMP", &utc(e.updated_at));
        if e.all_day {
            let first = e.starts_at.with_timezone(&tz).date_naive();
            let after = e.ends_at.with_timezone(&tz).date_naive();
            self.prop("DTSTART;VALUE=DATE", &date(first));
            self.prop("DTEND;VALUE=DATE", &date(after.max(first + Duration::days(1))));
        } else {
            self.prop("DTSTART", &utc(e.starts_at));
            self.prop("DTEND", &utc(e.ends_at));
        }
        if let Some(freq) = e.repeat().freq() {
            let mut rule = format!("FREQ={freq}");
            if let Some(until) = e.repeat_until {
                // UNTIL takes DTSTART's type: a date for all-day events, else the UTC moment
                // that ends the last local day.
                let until = if e.all_day {
                    date(until)
                } else {
                    utc(midnight(until, tz) + Duration::days(1) - Duration::seconds(1))
                };
                let _ = write!(rule, ";UNTIL={until}");
            }
            self.prop("RRULE", &rule);
        }
        self.text("SUMMARY", &e.title);
        if let Some(l) = e.location.as_deref().filter(|l| !l.is_empty()) {
            self.text("LOCATION", l);
        }
        if let Some(n) = e.notes.as_deref().filter(|n| !n.is_empty()) {
            self.text("DESCRIPTION", n);
        }
        if let Some(m) = e.remind_minutes {
            self.line("BEGIN:VALARM");
            self.prop("ACTION", "DISPLAY");
            self.text("DESCRIPTION", &e.title);
            self.prop("TRIGGER", &format!("-PT{m}M"));
            self.line("END:VALARM");
        }
        self.line("END:VEVENT");
    }

    pub fn finish(mut self) -> String {
        self.line("END:VCALENDAR");
        self.0
    }
}

impl Default for Ics {
    fn default() -> Self {
        Ics::new()
    }
}

/// RFC 5545 TEXT escaping.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let mut ics = Ics(String::new());
        let title = "日程".repeat(40);
        ics.text("SUMMARY", &title);
        for l in ics.0.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        let unfolded = ics.0.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{title}\r\n"));
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
