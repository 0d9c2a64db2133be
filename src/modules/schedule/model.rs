//! Events as stored and as a form gives them, the checks of the form, and the expansion of
//! repeat rules into occurrences (used by the calendar, the to-do source and the reminders; the
//! ICS feed hands the same rule to the calendar app as an RRULE, which expands it the same way).

use chrono::{DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, Utc};

use crate::list::filters::midnight;
use crate::web::{FormData, FormErrors};

pub const ENTITY: &str = "event";

/// The reminder choices (minutes before the start).
pub const REMIND_CHOICES: &[i32] = &[5, 15, 30, 60, 1440];

/// The longest an event (one occurrence) may last: the calendar finds events that started up to
/// this long before the range it shows (the table's CHECK says the same).
pub const MAX_DAYS: i64 = 31;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    None,
    Daily,
    Weekly,
    Monthly,
}

impl Repeat {
    pub const ALL: [Repeat; 4] = [Repeat::None, Repeat::Daily, Repeat::Weekly, Repeat::Monthly];

    pub fn from_code(code: &str) -> Option<Repeat> {
        Repeat::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn code(self) -> &'static str {
        match self {
            Repeat::None => "none",
            Repeat::Daily => "daily",
            Repeat::Weekly => "weekly",
            Repeat::Monthly => "monthly",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Repeat::None => "event.repeat.none",
            Repeat::Daily => "event.repeat.daily",
            Repeat::Weekly => "event.repeat.weekly",
            Repeat::Monthly => "event.repeat.monthly",
        }
    }

    /// The RRULE frequency.
    pub fn freq(self) -> Option<&'static str> {
        match self {
            Repeat::None => None,
            Repeat::Daily => Some("DAILY"),
            Repeat::Weekly => Some("WEEKLY"),
            Repeat::Monthly => Some("MONTHLY"),
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub created_by_name: Option<String>,
    pub remind_minutes: Option<i32>,
    pub repeat: String,
    pub repeat_until: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Event {
    pub fn repeat(&self) -> Repeat {
        Repeat::from_code(&self.repeat).unwrap_or(Repeat::None)
    }

    pub fn rule(&self) -> Rule {
        Rule { starts_at: self.starts_at, ends_at: self.ends_at, repeat: self.repeat(), until: self.repeat_until }
    }

    /// The form's values for editing.
    pub fn to_form(&self, tz: FixedOffset, participants: &[i64]) -> FormData {
        let mut f = FormData::default();
        f.set("title", &self.title);
        let (s, e) = (self.starts_at.with_timezone(&tz), self.ends_at.with_timezone(&tz));
        if self.all_day {
            f.set("all_day", "1");
            f.set("start_date", s.format("%Y-%m-%d").to_string());
            f.set("end_date", (e - Duration::days(1)).format("%Y-%m-%d").to_string());
        }
        f.set("start", s.format("%Y-%m-%dT%H:%M").to_string());
        f.set("end", e.format("%Y-%m-%dT%H:%M").to_string());
        f.set("location", self.location.clone().unwrap_or_default());
        f.set("notes", self.notes.clone().unwrap_or_default());
        f.set("remind", self.remind_minutes.map(|m| m.to_string()).unwrap_or_default());
        f.set("repeat", &self.repeat);
        f.set("repeat_until", self.repeat_until.map(|d| d.to_string()).unwrap_or_default());
        for p in participants {
            f.push("participants", p.to_string());
        }
        f
    }
}

/// What a checked form writes.
#[derive(Clone, Debug, PartialEq)]
pub struct EventInput {
    pub title: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub all_day: bool,
    pub location: Option<String>,
    pub notes: Option<String>,
    pub remind_minutes: Option<i32>,
    pub repeat: Repeat,
    pub repeat_until: Option<NaiveDate>,
}

impl EventInput {
    pub fn rule(&self) -> Rule {
        Rule { starts_at: self.starts_at, ends_at: self.ends_at, repeat: self.repeat, until: self.repeat_until }
    }
}

fn text(form: &FormData, field: &str, max: usize, errors: &mut FormErrors) -> Option<String> {
    let v = form.get(field).trim();
    if v.chars().count() > max {
        errors.add(field, "event.error.too_long_text");
    }
    (!v.is_empty()).then(|| v.to_string())
}

/// Check the form (participants and related records are checked by the caller). `None` when a
/// field is wrong; every error is in `errors`, next to its field.
pub fn check(form: &FormData, tz: FixedOffset, errors: &mut FormErrors) -> Option<EventInput> {
    let title = form.get("title").trim().to_string();
    if title.is_empty() {
        errors.add("title", "form.required");
    } else if title.chars().count() > 200 {
        errors.add("title", "event.error.too_long_text");
    }
    let all_day = form.has("all_day");
    let (start, end) = if all_day { times_all_day(form, tz, errors) } else { times(form, tz, errors) };
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            errors.add(if all_day { "end_date" } else { "end" }, "event.error.end_before_start");
        } else if e - s > Duration::days(MAX_DAYS) {
            errors.add(if all_day { "end_date" } else { "end" }, "event.error.too_long");
        }
    }
    let location = text(form, "location", 200, errors);
    let notes = text(form, "notes", 5000, errors);
    let remind_minutes = match form.get("remind").trim() {
        "" => None,
        v => match v.parse::<i32>().ok().filter(|m| REMIND_CHOICES.contains(m)) {
            Some(m) => Some(m),
            None => {
                errors.add("remind", "form.invalid");
                None
            }
        },
    };
    let repeat = match Repeat::from_code(form.get("repeat").trim()) {
        Some(r) => r,
        None if form.get("repeat").trim().is_empty() => Repeat::None,
        None => {
            errors.add("repeat", "form.invalid");
            Repeat::None
        }
    };
    let repeat_until = match (repeat, form.get("repeat_until").trim()) {
        (Repeat::None, _) | (_, "") => None,
        (_, v) => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => {
                if start.is_some_and(|s| d < s.with_timezone(&tz).date_naive()) {
                    errors.add("repeat_until", "event.error.until_before_start");
                }
                Some(d)
            }
            Err(_) => {
                errors.add("repeat_until", "event.error.date");
                None
            }
        },
    };
    if !errors.is_empty() {
        return None;
    }
    Some(EventInput {
        title,
        starts_at: start?,
        ends_at: end?,
        all_day,
        location,
        notes,
        remind_minutes,
        repeat,
        repeat_until,
    })
}

/// A timed event: start required, end optional (an hour later).
fn times(form: &FormData, tz: FixedOffset, errors: &mut FormErrors) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let start = match form.get("start").trim() {
        "" => {
            errors.add("start", "form.required");
            None
        }
        v => crate::fields::parse_local_datetime(v, tz).or_else(|| {
            errors.add("start", "event.error.datetime");
            None
        }),
    };
    let end = match form.get("end").trim() {
        "" => start.map(|s| s + Duration::hours(1)),
        v => crate::fields::parse_local_datetime(v, tz).or_else(|| {
            errors.add("end", "event.error.datetime");
            None
        }),
    };
    (start, end)
}

/// An all-day event: first day required, last day optional (the same day); stored as
/// [first day's midnight, midnight after the last day).
fn times_all_day(
    form: &FormData,
    tz: FixedOffset,
    errors: &mut FormErrors,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let date = |field: &str, errors: &mut FormErrors| match form.get(field).trim() {
        "" => None,
        v => NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().or_else(|| {
            errors.add(field, "event.error.date");
            None
        }),
    };
    // A date typed in the timed fields counts too (the form was switched after typing).
    let first = date("start_date", errors).or_else(|| {
        crate::fields::parse_local_datetime(form.get("start").trim(), tz).map(|t| t.with_timezone(&tz).date_naive())
    });
    if first.is_none() && !errors.has("start_date") {
        errors.add("start_date", "form.required");
    }
    let last = date("end_date", errors).or(first);
    (first.map(|d| midnight(d, tz)), last.map(|d| midnight(d + Duration::days(1), tz)))
}

/// A repeat rule: when the first occurrence starts and ends, how it repeats, until which local
/// day (inclusive) an occurrence may start.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub repeat: Repeat,
    pub until: Option<NaiveDate>,
}

impl Rule {
    /// The n-th occurrence's start (0 = the first), in the configured zone: daily and weekly add
    /// days; monthly keeps the day of the month and, like RFC 5545's RRULE, skips months without
    /// that day (a rule on the 31st has no occurrence in April). None: no such occurrence.
    fn nth(&self, n: i64, tz: FixedOffset) -> Option<DateTime<Utc>> {
        let start = self.starts_at;
        let at = match self.repeat {
            Repeat::None => (n == 0).then_some(start)?,
            Repeat::Daily => start + Duration::days(n),
            Repeat::Weekly => start + Duration::weeks(n),
            Repeat::Monthly => {
                let local = start.with_timezone(&tz);
                let moved = local.checked_add_months(Months::new(u32::try_from(n).ok()?))?;
                // chrono clamps the 31st to the 30th: that month has no occurrence.
                if moved.day() != local.day() {
                    return None;
                }
                moved.with_timezone(&Utc)
            }
        };
        Some(at)
    }

    fn within_until(&self, at: DateTime<Utc>, tz: FixedOffset) -> bool {
        self.until.is_none_or(|u| at.with_timezone(&tz).date_naive() <= u)
    }

    /// The occurrences (start, end) that overlap [from, to), in order. A zero-length event
    /// overlaps when it starts inside the range.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tz: FixedOffset,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let length = self.ends_at - self.starts_at;
        // Daily and weekly: jump close to the range instead of walking years of occurrences.
        let first = match self.repeat {
            Repeat::Daily | Repeat::Weekly => {
                let period = if self.repeat == Repeat::Daily { Duration::days(1) } else { Duration::weeks(1) };
                let gap = from - length - self.starts_at;
                (gap.num_seconds() / period.num_seconds() - 1).max(0)
            }
            Repeat::Monthly => {
                let gap = (from - length - self.starts_at).num_days() / 31 - 1;
                gap.max(0)
            }
            Repeat::None => 0,
        };
        let mut out = Vec::new();
        let mut n = first;
        // Monthly rules may skip a month; a day-31 rule finds at least one month in 12.
        let mut misses = 0;
        while misses < 12 {
            let Some(at) = self.nth(n, tz) else {
                if self.repeat == Repeat::None {
                    break;
                }
                n += 1;
                misses += 1;
                continue;
            };
            misses = 0;
            if at >= to || !self.within_until(at, tz) {
                break;
            }
            let end = at + length;
            if end > from || at >= from {
                out.push((at, end));
            }
            n += 1;
        }
        out
    }

    /// The first occurrence starting after `after` (for the next reminder).
    pub fn next_after(&self, after: DateTime<Utc>, tz: FixedOffset) -> Option<DateTime<Utc>> {
        // Occurrences overlapping [after, after + 62 days) include the next start, if any within
        // reach; a daily or weekly rule always has one there, a monthly one too (day ≤ 31).
        let horizon = after + Duration::days(400);
        self.occurrences(after, horizon, tz).into_iter().map(|(s, _)| s).find(|s| *s > after)
    }
}

/// The Monday on or before `d`.
pub fn monday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

/// The first day of `d`'s month.
pub fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        crate::fields::parse_local_datetime(s, tz()).unwrap()
    }

    #[test]
    fn weekly_rule_stops_at_its_last_day() {
        let r = Rule {
            starts_at: at("2026-01-05T09:00"),
            ends_at: at("2026-01-05T10:00"),
            repeat: Repeat::Weekly,
            until: NaiveDate::from_ymd_opt(2026, 1, 26),
        };
        let occ = r.occurrences(at("2026-01-01T00:00"), at("2026-03-01T00:00"), tz());
        let days: Vec<String> = occ.iter().map(|(s, _)| s.with_timezone(&tz()).format("%d").to_string()).collect();
        assert_eq!(days, ["05", "12", "19", "26"]);
    }

    #[test]
    fn monthly_rule_skips_short_months_and_jumps_far_ranges() {
        let r = Rule {
            starts_at: at("2026-01-31T09:00"),
            ends_at: at("2026-01-31T10:00"),
            repeat: Repeat::Monthly,
            until: None,
        };
        let occ = r.occurrences(at("2026-02-01T00:00"), at("2026-06-01T00:00"), tz());
        let days: Vec<String> = occ.iter().map(|(s, _)| s.with_timezone(&tz()).format("%m-%d").to_string()).collect();
        assert_eq!(days, ["03-31", "05-31"]);
        let d = Rule { repeat: Repeat::Daily, ..r };
        assert_eq!(d.occurrences(at("2030-01-01T00:00"), at("2030-01-03T00:00"), tz()).len(), 2);
        assert_eq!(d.next_after(at("2026-02-01T09:30"), tz()), Some(at("2026-02-02T09:00")));
    }
}
