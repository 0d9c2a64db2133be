//! Which notifications a user also gets by mail: four topics, each on or off per user.

use sqlx::{PgConnection, PgPool};

pub struct Topic {
    pub code: &'static str,
    pub label_key: &'static str,
    pub default_on: bool,
    /// The notification kinds of the topic.
    pub kinds: &'static [&'static str],
}

pub const TOPICS: &[Topic] = &[
    Topic {
        code: "approvals",
        label_key: "mail.topic.approvals",
        default_on: true,
        kinds: &[
            "approval_task",
            "approval_pick",
            "approval_approved",
            "approval_rejected",
            "approval_withdrawn",
            "approval_withdrawn_stale",
        ],
    },
    Topic {
        code: "reminders",
        label_key: "mail.topic.reminders",
        default_on: true,
        kinds: &["reminder", "event_due", "task_due", "followup_due", "payment_plan_due"],
    },
    Topic {
        code: "transfers",
        label_key: "mail.topic.transfers",
        default_on: false,
        kinds: &[
            "transfer_in",
            "contact_transfer_in",
            "lead_transfer_in",
            "opportunity_transfer_in",
            "contract_transfer_in",
            "task_transfer_in",
            "handover_received",
            "pool_assigned",
        ],
    },
    Topic { code: "mentions", label_key: "mail.topic.mentions", default_on: false, kinds: &["task_mention"] },
];

/// The topic a notification kind belongs to (none: never mailed).
pub fn topic_of(kind: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.kinds.contains(&kind))
}

/// Every topic with the user's choice (or its default).
pub async fn of(db: &PgPool, user_id: i64) -> sqlx::Result<Vec<(&'static Topic, bool)>> {
    let saved: Vec<(String, bool)> =
        sqlx::query_as("SELECT topic, enabled FROM mail_prefs WHERE user_id = $1").bind(user_id).fetch_all(db).await?;
    Ok(TOPICS
        .iter()
        .map(|t| (t, saved.iter().find(|(c, _)| c == t.code).map_or(t.default_on, |(_, on)| *on)))
        .collect())
}

/// Store the user's choice for every topic (`on` lists the topics switched on).
pub async fn save(conn: &mut PgConnection, user_id: i64, on: &[String]) -> sqlx::Result<()> {
    for t in TOPICS {
        sqlx::query(
            "INSERT INTO mail_prefs (user_id, topic, enabled) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, topic) DO UPDATE SET enabled = EXCLUDED.enabled",
        )
        .bind(user_id)
        .bind(t.code)
        .bind(on.iter().any(|c| c == t.code))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
