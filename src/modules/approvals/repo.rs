//! SQL of the approvals inbox.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::workflow::Stage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    /// A pending task of mine.
    Waiting,
    /// My requests: submitted by me, or for a record I own (a team member raised my customer's
    /// level, say) — the submitter side, who may withdraw and resubmit them.
    Submitted,
    /// I approved or rejected a task of it.
    Decided,
    /// My requests that were rejected (被退回): waiting for me to resubmit or let go.
    Returned,
}

impl Tab {
    pub const ALL: &'static [Tab] = &[Tab::Waiting, Tab::Submitted, Tab::Returned, Tab::Decided];

    pub fn code(self) -> &'static str {
        match self {
            Tab::Waiting => "waiting",
            Tab::Submitted => "submitted",
            Tab::Decided => "decided",
            Tab::Returned => "returned",
        }
    }

    pub fn from_code(code: &str) -> Tab {
        Tab::ALL.iter().copied().find(|t| t.code() == code).unwrap_or(Tab::Waiting)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Tab::Waiting => "approval.tab.waiting",
            Tab::Submitted => "approval.tab.submitted",
            Tab::Decided => "approval.tab.decided",
            Tab::Returned => "approval.tab.returned",
        }
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Row {
    pub id: i64,
    pub subject: String,
    pub record_id: i64,
    pub status: String,
    pub current_step: i32,
    pub plan: Json<Vec<Stage>>,
    pub payload: Json<serde_json::Value>,
    pub submitter: String,
    pub submitted_at: DateTime<Utc>,
    /// My task's status on this tab's terms (waiting: pending; decided: my last decision).
    pub my_status: Option<String>,
    pub my_at: Option<DateTime<Utc>>,
}

/// `FROM ... WHERE ...` of a tab; `m` carries my task's status and time. Each tab starts from
/// an index of its own (my pending tasks, my decided tasks, my submissions).
fn push_from(qb: &mut QueryBuilder<'_, Postgres>, tab: Tab, user: i64) {
    match tab {
        Tab::Waiting => {
            qb.push(
                " FROM (SELECT DISTINCT ON (t.instance_id) t.instance_id, t.status AS my_status, t.created_at AS my_at
                          FROM approval_tasks t WHERE t.status = 'pending' AND t.approver_id = ",
            )
            .push_bind(user)
            .push(
                " ORDER BY t.instance_id, t.id DESC) m
                  JOIN approval_instances i ON i.id = m.instance_id AND i.status = 'pending'
                  JOIN users s ON s.id = i.submitted_by",
            );
        }
        Tab::Submitted | Tab::Returned => {
            qb.push(
                " FROM approval_instances i
                  CROSS JOIN LATERAL (SELECT NULL::text AS my_status, NULL::timestamptz AS my_at) m
                  JOIN users s ON s.id = i.submitted_by
                 WHERE (i.submitted_by = ",
            )
            .push_bind(user)
            .push(" OR i.owner_id = ")
            .push_bind(user)
            .push(")");
            if tab == Tab::Returned {
                qb.push(" AND i.status = 'rejected'");
            }
        }
        Tab::Decided => {
            qb.push(
                " FROM (SELECT DISTINCT ON (t.instance_id) t.instance_id, t.status AS my_status, t.decided_at AS my_at
                          FROM approval_tasks t WHERE t.status IN ('approved', 'rejected') AND t.approver_id = ",
            )
            .push_bind(user)
            .push(
                " ORDER BY t.instance_id, t.decided_at DESC, t.id DESC) m
                  JOIN approval_instances i ON i.id = m.instance_id
                  JOIN users s ON s.id = i.submitted_by",
            );
        }
    }
}

pub async fn count(db: &PgPool, tab: Tab, user: i64) -> sqlx::Result<i64> {
    let mut qb = QueryBuilder::new("SELECT count(*)");
    push_from(&mut qb, tab, user);
    qb.build_query_scalar().fetch_one(db).await
}

pub async fn page(db: &PgPool, tab: Tab, user: i64, limit: i64, offset: i64) -> sqlx::Result<Vec<Row>> {
    let mut qb = QueryBuilder::new(
        "SELECT i.id, i.subject, i.record_id, i.status, i.current_step, i.plan, i.payload, s.name AS submitter,
                i.submitted_at, m.my_status, m.my_at",
    );
    push_from(&mut qb, tab, user);
    qb.push(match tab {
        Tab::Submitted | Tab::Returned => " ORDER BY i.submitted_at DESC, i.id DESC",
        Tab::Waiting | Tab::Decided => " ORDER BY m.my_at DESC, i.id DESC",
    });
    qb.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    qb.build_query_as().fetch_all(db).await
}

/// Whether `user` has any task (any status) on the instance.
pub async fn is_approver(db: &PgPool, instance: i64, user: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM approval_tasks WHERE instance_id = $1 AND approver_id = $2)")
        .bind(instance)
        .bind(user)
        .fetch_one(db)
        .await
}
