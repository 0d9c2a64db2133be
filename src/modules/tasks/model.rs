//! A task's row, the form's input and its checks, the list's views, priorities, buckets and
//! the @mentions of comments.

use chrono::{DateTime, FixedOffset, Utc};

use crate::web::{FormData, FormErrors, SelectOpt};

/// The entity code in audit rows, stars, attachments and related-record links.
pub const ENTITY: &str = "task";

/// Longest title.
pub const TITLE_MAX: usize = 200;
/// Longest comment.
pub const COMMENT_MAX: usize = 5000;
/// Reminder lead times offered (minutes before the due time).
pub const REMIND_CHOICES: &[i32] = &[0, 15, 30, 60, 120, 1440];

/// A live task with the names its pages show.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub created_by: Option<i64>,
    pub creator_name: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub priority: i16,
    pub bucket: String,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by_name: Option<String>,
    pub remind_minutes: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Task {
    pub fn is_done(&self) -> bool {
        self.done_at.is_some()
    }

    /// Open and past its due time.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        !self.is_done() && self.due_at.is_some_and(|d| d < now)
    }

    pub fn in_bucket(&self, b: &str) -> bool {
        self.bucket == b
    }

    /// "task.priority.3"
    pub fn priority_key(&self) -> &'static str {
        priority_key(self.priority)
    }

    /// The badge colour of its priority.
    pub fn priority_badge(&self) -> &'static str {
        match self.priority {
            3 => "badge-red",
            2 => "badge-amber",
            1 => "badge-blue",
            _ => "",
        }
    }

    /// The form's values for an edit.
    pub fn to_form(&self, tz: FixedOffset) -> FormData {
        let mut f = FormData::default();
        f.set("title", self.title.clone());
        f.set("description", self.description.clone().unwrap_or_default());
        f.set("due_at", self.due_at.map(|d| local_input(d, tz)).unwrap_or_default());
        f.set("priority", self.priority.to_string());
        f.set("bucket", self.bucket.clone());
        f.set("remind_minutes", self.remind_minutes.map(|m| m.to_string()).unwrap_or_default());
        f
    }
}

pub fn priority_key(p: i16) -> &'static str {
    match p {
        3 => "task.priority.3",
        2 => "task.priority.2",
        1 => "task.priority.1",
        _ => "task.priority.0",
    }
}

/// "2026-12-07T09:30", the value of a datetime-local input in the configured time zone.
pub fn local_input(at: DateTime<Utc>, tz: FixedOffset) -> String {
    at.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string()
}

/// The piles the owner files open tasks into ("move to").
pub const BUCKETS: &[&str] = &["inbox", "today", "next", "later"];

/// (pile, label key) for the "move to" control.
pub const BUCKET_CHOICES: &[(&str, &str)] = &[
    ("inbox", "task.view.inbox"),
    ("today", "task.view.today"),
    ("next", "task.view.next"),
    ("later", "task.view.later"),
];

pub fn bucket_key(b: &str) -> &'static str {
    match b {
        "today" => "task.view.today",
        "next" => "task.view.next",
        "later" => "task.view.later",
        _ => "task.view.inbox",
    }
}

/// What the form submits, checked.
#[derive(Clone, Debug, Default)]
pub struct TaskInput {
    pub title: String,
    pub description: Option<String>,
    /// The owner chosen on a new task (None: the creator).
    pub owner_id: Option<i64>,
    pub participants: Vec<i64>,
    pub due_at: Option<DateTime<Utc>>,
    pub priority: i16,
    pub bucket: String,
    pub remind_minutes: Option<i32>,
    /// The current user's own tags ticked.
    pub tags: Vec<i64>,
}

/// Read and check the form's own fields (owner, related records and tags are checked against the
/// database by the caller). Errors go next to their fields.
pub fn check(form: &FormData, tz: FixedOffset, errors: &mut FormErrors) -> TaskInput {
    let title = form.get("title").trim().to_string();
    if title.is_empty() {
        errors.add("title", "task.error.title_required");
    } else if title.chars().count() > TITLE_MAX {
        errors.add("title", "task.error.title_long");
    }
    let description = crate::web::forms::opt_text(form.get("description"));
    if description.as_ref().is_some_and(|d| d.chars().count() > 10_000) {
        errors.add("description", "task.error.description_long");
    }
    let due_text = form.get("due_at").trim();
    let due_at = if due_text.is_empty() {
        None
    } else {
        let parsed = crate::fields::parse_local_datetime(due_text, tz);
        if parsed.is_none() {
            errors.add("due_at", "task.error.due_at");
        }
        parsed
    };
    let priority = match form.get("priority").trim() {
        "" => 0,
        p => match p.parse::<i16>() {
            Ok(p) if (0..=3).contains(&p) => p,
            _ => {
                errors.add("priority", "task.error.priority");
                0
            }
        },
    };
    let bucket = match form.get("bucket").trim() {
        "" => "inbox".to_string(),
        b if BUCKETS.contains(&b) => b.to_string(),
        _ => {
            errors.add("bucket", "task.error.bucket");
            "inbox".to_string()
        }
    };
    let remind_minutes = match form.get("remind_minutes").trim() {
        "" => None,
        m => match m.parse::<i32>() {
            Ok(m) if REMIND_CHOICES.contains(&m) => Some(m),
            _ => {
                errors.add("remind_minutes", "task.error.remind");
                None
            }
        },
    };
    let ids = |name: &str| {
        let mut v: Vec<i64> = form.all(name).iter().filter_map(|s| s.trim().parse().ok()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    TaskInput {
        title,
        description,
        owner_id: form.get("owner_id").trim().parse().ok(),
        participants: ids("participants"),
        due_at,
        priority,
        bucket,
        remind_minutes,
        tags: ids("tags"),
    }
}

/// The priority choices, highest first.
pub fn priority_options(lang: crate::web::i18n::Lang) -> Vec<SelectOpt> {
    (0..=3).rev().map(|p| SelectOpt::new(p, lang.t(priority_key(p)))).collect()
}

/// The list's tabs (`/tasks?view=`). Every open task of mine is in exactly one of inbox, today,
/// next and later; see `mod.rs` for the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Inbox,
    Today,
    Next,
    Later,
    Overdue,
    Done,
    Assigned,
    Involved,
    Team,
}

impl View {
    pub const ALL: [View; 9] = [
        View::Inbox,
        View::Today,
        View::Next,
        View::Later,
        View::Overdue,
        View::Done,
        View::Assigned,
        View::Involved,
        View::Team,
    ];

    pub fn code(self) -> &'static str {
        match self {
            View::Inbox => "inbox",
            View::Today => "today",
            View::Next => "next",
            View::Later => "later",
            View::Overdue => "overdue",
            View::Done => "done",
            View::Assigned => "assigned",
            View::Involved => "involved",
            View::Team => "team",
        }
    }

    pub fn from_code(code: &str) -> Option<View> {
        View::ALL.into_iter().find(|v| v.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            View::Inbox => "task.view.inbox",
            View::Today => "task.view.today",
            View::Next => "task.view.next",
            View::Later => "task.view.later",
            View::Overdue => "task.view.overdue",
            View::Done => "task.view.done",
            View::Assigned => "task.view.assigned",
            View::Involved => "task.view.involved",
            View::Team => "task.view.team",
        }
    }

    pub fn empty_key(self) -> &'static str {
        match self {
            View::Done => "task.empty.done",
            View::Assigned | View::Involved | View::Team => "task.empty.others",
            _ => "task.empty.open",
        }
    }
}

/// The names a comment mentions: for each `@`, the text up to the next space or punctuation
/// (at most 32 characters). "@张三 请看" → ["张三"]; "@zhangsan，" → ["zhangsan"]. The caller
/// matches them to users by login, or by a name the text starts with ("@张三你看" finds 张三).
pub fn mention_tokens(body: &str) -> Vec<String> {
    let mut out: Vec<String> = body
        .split('@')
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
                .take(32)
                .collect::<String>()
                .trim_end_matches(['.', '-'])
                .to_string()
        })
        .filter(|t| !t.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_stop_at_spaces_and_punctuation() {
        assert_eq!(mention_tokens("@张三 请看，@lisi。还有 @王五"), vec!["lisi", "张三", "王五"]);
        assert_eq!(mention_tokens("mail a@b.com."), vec!["b.com"]);
        assert!(mention_tokens("no one @ here").is_empty());
    }
}
