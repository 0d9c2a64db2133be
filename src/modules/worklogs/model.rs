//! A work log's kind and period, its row, and what its form says.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Utc};

use crate::web::{FormData, FormErrors};

pub const ENTITY: &str = "worklog";

/// 日报 / 周报 / 月报.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Daily,
    Weekly,
    Monthly,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[Kind::Daily, Kind::Weekly, Kind::Monthly];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.code() == code.trim())
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Kind::Daily => "worklog.kind.daily",
            Kind::Weekly => "worklog.kind.weekly",
            Kind::Monthly => "worklog.kind.monthly",
        }
    }

    /// The period holding `day`: the day itself, its Monday–Sunday week, or its calendar month.
    pub fn period(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        match self {
            Kind::Daily => (day, day),
            Kind::Weekly => {
                let monday = day - Duration::days(day.weekday().num_days_from_monday() as i64);
                (monday, monday + Duration::days(6))
            }
            Kind::Monthly => {
                let first = day.with_day(1).expect("day 1 exists");
                let next = if first.month() == 12 {
                    NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
                };
                (first, next.expect("a valid month") - Duration::days(1))
            }
        }
    }

    /// The labels of the three text fields ("今日工作", "明日计划"...) for this kind.
    pub fn field_key(self, field: &str) -> String {
        format!("worklog.{}.{}", field, self.code())
    }
}

/// Today in the configured time zone.
pub fn today(tz: FixedOffset) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// "2026-12-06" or "2026-11-30 ~ 2026-12-06".
pub fn period_label(start: &NaiveDate, end: &NaiveDate) -> String {
    if start == end { start.to_string() } else { format!("{start} ~ {end}") }
}

/// A live log as pages show it.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Worklog {
    pub id: i64,
    pub kind: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub done: String,
    pub plans: String,
    pub problems: String,
    pub stats: sqlx::types::Json<serde_json::Value>,
    pub owner_id: i64,
    pub created_by: i64,
    pub author_name: String,
    pub author_dept: String,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Worklog {
    pub fn kind(&self) -> Kind {
        Kind::from_code(&self.kind).unwrap_or(Kind::Daily)
    }

    pub fn period(&self) -> String {
        period_label(&self.period_start, &self.period_end)
    }
}

/// A row of the lists.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct ListRow {
    pub id: i64,
    pub kind: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub done: String,
    pub author_name: String,
    pub submitted_at: DateTime<Utc>,
    /// For "sent to me": not opened yet.
    pub unread: bool,
    pub comments: i64,
}

impl ListRow {
    pub fn kind(&self) -> Kind {
        Kind::from_code(&self.kind).unwrap_or(Kind::Daily)
    }

    pub fn period(&self) -> String {
        period_label(&self.period_start, &self.period_end)
    }

    /// The first line of the work done, cut for the list.
    pub fn summary(&self) -> String {
        let line = self.done.lines().next().unwrap_or("");
        let cut: String = line.chars().take(60).collect();
        if cut.len() < line.len() { format!("{cut}…") } else { cut }
    }
}

/// A recipient and whether they have opened the log.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Recipient {
    pub user_id: i64,
    pub name: String,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Comment {
    pub id: i64,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// What the form submits, checked.
#[derive(Clone, Debug)]
pub struct Input {
    pub kind: Kind,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub done: String,
    pub plans: String,
    pub problems: String,
    /// Colleagues chosen besides the superior (who is added on save).
    pub recipients: Vec<i64>,
}

/// The texts and the period. A new log takes its period from `kind` and `date`; an edit keeps
/// its own (`fixed`).
pub fn check(
    form: &FormData,
    fixed: Option<(Kind, NaiveDate, NaiveDate)>,
    tz: FixedOffset,
    errors: &mut FormErrors,
) -> Input {
    let (kind, period_start, period_end) = match fixed {
        Some(p) => p,
        None => {
            let kind = Kind::from_code(form.get("kind")).unwrap_or_else(|| {
                errors.add("period", "worklog.error.kind");
                Kind::Daily
            });
            let day = match form.get("date").trim() {
                "" => today(tz),
                d => NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap_or_else(|_| {
                    errors.add("period", "worklog.error.date");
                    today(tz)
                }),
            };
            let (s, e) = kind.period(day);
            (kind, s, e)
        }
    };
    let text = |name: &str| form.get(name).trim().to_string();
    let done = text("done");
    if done.is_empty() {
        errors.add("done", "worklog.error.done_required");
    }
    let mut recipients: Vec<i64> = form.all("recipients").iter().filter_map(|v| v.trim().parse().ok()).collect();
    recipients.sort_unstable();
    recipients.dedup();
    Input { kind, period_start, period_end, done, plans: text("plans"), problems: text("problems"), recipients }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(); // a Sunday
        assert_eq!(Kind::Daily.period(d), (d, d));
        let mon = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(Kind::Weekly.period(d), (mon, d));
        assert_eq!(Kind::Weekly.period(mon), (mon, d));
        let dec31 = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert_eq!(Kind::Monthly.period(d), (NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), dec31));
        let feb = NaiveDate::from_ymd_opt(2028, 2, 10).unwrap();
        assert_eq!(Kind::Monthly.period(feb).1, NaiveDate::from_ymd_opt(2028, 2, 29).unwrap());
    }
}
