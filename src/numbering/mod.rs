//! Numbering rules kernel (see src/modules/admin/numbering for the admin page).
//!
//! A rule per document kind: `prefix` + date part (local date in the configured timezone) +
//! counter zero-padded to `width`. The counter lives in `number_counters` under a period key
//! derived from the reset setting, and is bumped with an upsert inside the caller's transaction:
//! the row lock serialises concurrent creators, a rolled-back transaction gives its numbers back,
//! and otherwise numbers may have gaps. A rule never resets more often than its date part changes
//! (checked by the admin form and by the table), so one rule cannot repeat a number; `targets`
//! covers the numbers issued under an earlier version of a rule.

use std::collections::HashSet;

use anyhow::{Context, bail};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sqlx::{PgConnection, PgPool};

/// Which part of the (local) date goes into the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatePart {
    None,
    Year,
    Month,
    Day,
}

impl DatePart {
    pub const ALL: &'static [DatePart] = &[DatePart::None, DatePart::Year, DatePart::Month, DatePart::Day];

    /// Stored code: `none`, `yyyy`, `yyyyMM`, `yyyyMMdd`.
    pub fn code(self) -> &'static str {
        match self {
            DatePart::None => "none",
            DatePart::Year => "yyyy",
            DatePart::Month => "yyyyMM",
            DatePart::Day => "yyyyMMdd",
        }
    }

    pub fn from_code(code: &str) -> Option<DatePart> {
        DatePart::ALL.iter().copied().find(|d| d.code() == code)
    }

    /// Catalog key of the label (`numbering.date.none|year|month|day`).
    pub fn label_key(self) -> &'static str {
        match self {
            DatePart::None => "numbering.date.none",
            DatePart::Year => "numbering.date.year",
            DatePart::Month => "numbering.date.month",
            DatePart::Day => "numbering.date.day",
        }
    }

    fn render(self, d: NaiveDate) -> String {
        match self {
            DatePart::None => String::new(),
            DatePart::Year => d.format("%Y").to_string(),
            DatePart::Month => d.format("%Y%m").to_string(),
            DatePart::Day => d.format("%Y%m%d").to_string(),
        }
    }
}

/// When the counter starts again from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    Never,
    Yearly,
    Monthly,
    Daily,
}

impl Reset {
    pub const ALL: &'static [Reset] = &[Reset::Never, Reset::Yearly, Reset::Monthly, Reset::Daily];

    /// Stored code: `never`, `yearly`, `monthly`, `daily`.
    pub fn code(self) -> &'static str {
        match self {
            Reset::Never => "never",
            Reset::Yearly => "yearly",
            Reset::Monthly => "monthly",
            Reset::Daily => "daily",
        }
    }

    pub fn from_code(code: &str) -> Option<Reset> {
        Reset::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// Catalog key of the label (`numbering.reset.never|yearly|monthly|daily`).
    pub fn label_key(self) -> &'static str {
        match self {
            Reset::Never => "numbering.reset.never",
            Reset::Yearly => "numbering.reset.yearly",
            Reset::Monthly => "numbering.reset.monthly",
            Reset::Daily => "numbering.reset.daily",
        }
    }

    /// Whether numbers stay unique with this reset and `date`: the date part must change at
    /// least as often as the counter restarts.
    pub fn fits(self, date: DatePart) -> bool {
        match self {
            Reset::Never => true,
            Reset::Yearly => date != DatePart::None,
            Reset::Monthly => matches!(date, DatePart::Month | DatePart::Day),
            Reset::Daily => date == DatePart::Day,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub kind: String,
    pub prefix: String,
    pub date_part: DatePart,
    pub width: i32,
    pub reset: Reset,
}

impl Rule {
    /// The number for `counter` on the local date `at_local`. A counter wider than `width`
    /// keeps all its digits.
    pub fn format(&self, at_local: NaiveDate, counter: i64) -> String {
        let width = self.width.clamp(1, 12) as usize;
        format!("{}{}{:0width$}", self.prefix, self.date_part.render(at_local), counter)
    }

    /// The counter's period key on the local date `at_local`: `''` (never), `2026` (yearly),
    /// `202611` (monthly), `20261123` (daily).
    pub fn period(&self, at_local: NaiveDate) -> String {
        match self.reset {
            Reset::Never => String::new(),
            Reset::Yearly => at_local.format("%Y").to_string(),
            Reset::Monthly => at_local.format("%Y%m").to_string(),
            Reset::Daily => at_local.format("%Y%m%d").to_string(),
        }
    }
}

/// Where each kind's numbers live, so `next` never hands out a number that already exists there
/// (this happens when an admin changes a rule, e.g. drops the date part, and the counter of the
/// new period restarts): (kind, table, column) of every registered record kind with a number
/// column; the rule kind is the entity. Names are code constants, put into SQL as they are.
fn targets() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    crate::registry::get().records().filter_map(|r| r.number_column.map(|c| (r.entity, r.table, c)))
}

/// How many candidate numbers are checked against the targets per query when skipping taken ones.
const WINDOW: i64 = 256;
/// Give up after skipping this many windows of taken numbers.
const MAX_WINDOWS: usize = 64;

/// The rule of `kind`, if there is one.
pub async fn rule(conn: &mut PgConnection, kind: &str) -> anyhow::Result<Option<Rule>> {
    let row: Option<(String, String, String, i32, String)> =
        sqlx::query_as("SELECT kind, prefix, date_part, width, reset FROM number_rules WHERE kind = $1")
            .bind(kind)
            .fetch_optional(conn)
            .await?;
    row.map(|(kind, prefix, date_part, width, reset)| {
        Ok(Rule {
            date_part: DatePart::from_code(&date_part)
                .with_context(|| format!("number rule {kind}: bad date part {date_part}"))?,
            reset: Reset::from_code(&reset).with_context(|| format!("number rule {kind}: bad reset {reset}"))?,
            kind,
            prefix,
            width,
        })
    })
    .transpose()
}

async fn required_rule(conn: &mut PgConnection, kind: &str) -> anyhow::Result<Rule> {
    match rule(conn, kind).await? {
        Some(r) => Ok(r),
        None => bail!("no numbering rule for kind {kind:?}"),
    }
}

/// Next number for `kind`, in the caller's transaction (the counter row lock serialises
/// concurrent creators; a rolled-back transaction gives its number back, and numbers are allowed
/// to have gaps otherwise).
pub async fn next(conn: &mut PgConnection, kind: &str, at: DateTime<Utc>, tz: FixedOffset) -> anyhow::Result<String> {
    let mut v = next_batch(conn, kind, 1, at, tz).await?;
    v.pop().context("numbering: no number was issued")
}

/// `n` consecutive numbers at once (imports). Numbers already present in a target table are
/// skipped, so the batch is consecutive except across such numbers. `n` = 0 gives none.
pub async fn next_batch(
    conn: &mut PgConnection,
    kind: &str,
    n: i64,
    at: DateTime<Utc>,
    tz: FixedOffset,
) -> anyhow::Result<Vec<String>> {
    if n < 0 {
        bail!("numbering: cannot issue {n} numbers");
    }
    let rule = required_rule(conn, kind).await?;
    if n == 0 {
        return Ok(Vec::new());
    }
    let day = at.with_timezone(&tz).date_naive();
    let period = rule.period(day);
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO number_counters (kind, period, value) VALUES ($1, $2, $3)
         ON CONFLICT (kind, period) DO UPDATE SET value = number_counters.value + EXCLUDED.value
         RETURNING value",
    )
    .bind(kind)
    .bind(&period)
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let first = last - n + 1;
    let reserved: Vec<String> = (first..=last).map(|c| rule.format(day, c)).collect();
    if !has_targets(kind) {
        return Ok(reserved);
    }
    let taken = existing(conn, kind, &reserved).await?;
    if taken.is_empty() {
        return Ok(reserved);
    }
    // Some were issued before (under an earlier version of the rule): keep the free ones and
    // claim free counter values past the reservation, then move the counter to the last one used.
    let mut out: Vec<String> = reserved.into_iter().filter(|s| !taken.contains(s)).collect();
    let mut cursor = last;
    let mut windows = 0;
    while (out.len() as i64) < n {
        windows += 1;
        if windows > MAX_WINDOWS {
            bail!("numbering: no free number for {kind:?} after {cursor}");
        }
        let candidates: Vec<(i64, String)> = (cursor + 1..=cursor + WINDOW).map(|c| (c, rule.format(day, c))).collect();
        let names: Vec<String> = candidates.iter().map(|(_, s)| s.clone()).collect();
        let taken = existing(conn, kind, &names).await?;
        for (c, s) in candidates {
            cursor = c;
            if !taken.contains(&s) {
                out.push(s);
                if out.len() as i64 == n {
                    break;
                }
            }
        }
    }
    sqlx::query("UPDATE number_counters SET value = $3 WHERE kind = $1 AND period = $2")
        .bind(kind)
        .bind(&period)
        .bind(cursor)
        .execute(&mut *conn)
        .await?;
    Ok(out)
}

/// What `next` would return now, without consuming it.
pub async fn preview(db: &PgPool, kind: &str, at: DateTime<Utc>, tz: FixedOffset) -> anyhow::Result<String> {
    let rule = required_rule(&mut *db.acquire().await?, kind).await?;
    preview_rule(db, &rule, at, tz).await
}

/// What `next` would return now if `rule` (e.g. one being edited, not saved) were the rule of
/// its kind: the kind's counters and existing numbers apply.
pub async fn preview_rule(db: &PgPool, rule: &Rule, at: DateTime<Utc>, tz: FixedOffset) -> anyhow::Result<String> {
    let mut conn = db.acquire().await?;
    let kind = rule.kind.as_str();
    let day = at.with_timezone(&tz).date_naive();
    let value: Option<i64> = sqlx::query_scalar("SELECT value FROM number_counters WHERE kind = $1 AND period = $2")
        .bind(kind)
        .bind(rule.period(day))
        .fetch_optional(&mut *conn)
        .await?;
    let mut counter = value.unwrap_or(0) + 1;
    if !has_targets(kind) {
        return Ok(rule.format(day, counter));
    }
    for _ in 0..MAX_WINDOWS {
        let names: Vec<String> = (counter..counter + WINDOW).map(|c| rule.format(day, c)).collect();
        let taken = existing(&mut conn, kind, &names).await?;
        if let Some(free) = names.into_iter().find(|s| !taken.contains(s)) {
            return Ok(free);
        }
        counter += WINDOW;
    }
    bail!("numbering: no free number for {kind:?}")
}

fn has_targets(kind: &str) -> bool {
    targets().any(|(k, _, _)| k == kind)
}

/// Which of `numbers` already exist in the target tables of `kind`.
async fn existing(conn: &mut PgConnection, kind: &str, numbers: &[String]) -> anyhow::Result<HashSet<String>> {
    let mut found = HashSet::new();
    for (_, table, column) in targets().filter(|(k, _, _)| *k == kind) {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT {column}::text FROM {table} WHERE {column} = ANY($1)"))
                .bind(numbers)
                .fetch_all(&mut *conn)
                .await?;
        found.extend(rows);
    }
    Ok(found)
}
