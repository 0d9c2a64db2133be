//! Rows and codes of the approval engine: flows, steps, conditions, the plan an instance follows,
//! instances and tasks.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;

/// Who approves a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// The named users.
    Users,
    /// Active holders of a role.
    Role,
    /// The owner's (else the submitter's) superior at level N (1 = direct superior).
    Superior,
    /// The superiors at levels 1..N, one stage each, in order.
    SuperiorsUpTo,
    /// Users the submitter picks from an allowed set (named users and/or a role's holders).
    SubmitterPicks,
}

impl StepKind {
    pub const ALL: &'static [StepKind] =
        &[StepKind::Superior, StepKind::SuperiorsUpTo, StepKind::Role, StepKind::Users, StepKind::SubmitterPicks];

    pub fn code(self) -> &'static str {
        match self {
            StepKind::Users => "users",
            StepKind::Role => "role",
            StepKind::Superior => "superior",
            StepKind::SuperiorsUpTo => "superiors_up_to",
            StepKind::SubmitterPicks => "submitter_picks",
        }
    }

    pub fn from_code(code: &str) -> Option<StepKind> {
        StepKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// Whether the step may have several approvers (so any-one / all matters).
    pub fn has_mode(self) -> bool {
        matches!(self, StepKind::Users | StepKind::Role | StepKind::SubmitterPicks)
    }
}

/// Any-one (或签: the first decision settles the step) or all (会签: everyone must approve).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Any,
    All,
}

impl Mode {
    pub fn code(self) -> &'static str {
        match self {
            Mode::Any => "any",
            Mode::All => "all",
        }
    }

    pub fn from_code(code: &str) -> Mode {
        if code == "all" { Mode::All } else { Mode::Any }
    }
}

/// When a step applies. Every condition given must hold; none given → always.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// The submission's amount must be above this (a decimal, kept as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_gt: Option<String>,
    /// The submitter's department must be one of these or below one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dept_ids: Vec<i64>,
}

impl Condition {
    pub fn is_empty(&self) -> bool {
        self.amount_gt.is_none() && self.dept_ids.is_empty()
    }

    pub fn amount(&self) -> Option<Decimal> {
        self.amount_gt.as_deref().and_then(|a| a.trim().parse().ok())
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Flow {
    pub id: i64,
    pub subject: String,
    pub name: String,
    pub enabled: bool,
    pub resubmit_from: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const FLOW_COLUMNS: &str = "id, subject, name, enabled, resubmit_from, created_at, updated_at";

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Step {
    pub id: i64,
    pub flow_id: i64,
    pub seq: i32,
    pub kind: String,
    pub mode: String,
    pub user_ids: Vec<i64>,
    pub role_id: Option<i64>,
    pub level: i32,
    pub condition: Option<Json<Condition>>,
    pub name: String,
}

pub const STEP_COLUMNS: &str = "id, flow_id, seq, kind, mode, user_ids, role_id, level, condition, name";

impl Step {
    pub fn kind(&self) -> StepKind {
        StepKind::from_code(&self.kind).unwrap_or(StepKind::Superior)
    }

    pub fn mode(&self) -> Mode {
        Mode::from_code(&self.mode)
    }

    pub fn condition(&self) -> Condition {
        self.condition.as_ref().map(|c| c.0.clone()).unwrap_or_default()
    }
}

/// One stage of an instance's plan: a step of the flow as it applied at submission (consecutive
/// superiors give one stage per level), with the approvers found then. Approvers are checked
/// again when the stage starts: disabled ones drop out, and nobody left means the super admins.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub step_seq: i32,
    #[serde(default)]
    pub name: String,
    /// The step kind's code; a stage of consecutive superiors is "superior" at its level.
    pub kind: String,
    pub mode: String,
    #[serde(default)]
    pub level: i32,
    #[serde(default)]
    pub role_id: Option<i64>,
    /// The named users (users), or the allowed set (submitter picks).
    #[serde(default)]
    pub user_ids: Vec<i64>,
    #[serde(default)]
    pub condition: Condition,
    /// Who was found at submission.
    #[serde(default)]
    pub approvers: Vec<i64>,
}

impl Stage {
    pub fn kind(&self) -> StepKind {
        StepKind::from_code(&self.kind).unwrap_or(StepKind::Superior)
    }

    pub fn mode(&self) -> Mode {
        Mode::from_code(&self.mode)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn from_code(code: &str) -> Status {
        match code {
            "approved" => Status::Approved,
            "rejected" => Status::Rejected,
            "withdrawn" => Status::Withdrawn,
            _ => Status::Pending,
        }
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Instance {
    pub id: i64,
    pub subject: String,
    pub record_id: i64,
    pub flow_id: Option<i64>,
    pub flow_name: String,
    pub status: String,
    pub current_step: i32,
    pub round: i32,
    pub resubmit_from: String,
    pub plan: Json<Vec<Stage>>,
    pub submitted_by: i64,
    pub owner_id: Option<i64>,
    pub payload: Json<Value>,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

pub const INSTANCE_COLUMNS: &str = "id, subject, record_id, flow_id, flow_name, status, current_step, round, \
     resubmit_from, plan, submitted_by, owner_id, payload, submitted_at, decided_at";

impl Instance {
    pub fn status(&self) -> Status {
        Status::from_code(&self.status)
    }

    pub fn is_pending(&self) -> bool {
        self.status() == Status::Pending
    }

    pub fn subject(&self) -> Option<super::Subject> {
        super::Subject::from_code(&self.subject)
    }

    /// The payload's id under `key` (e.g. "from_status").
    pub fn payload_id(&self, key: &str) -> Option<i64> {
        self.payload.0.get(key).and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
    }

    /// Whether `user` may withdraw or resubmit: the submitter, or the owner it was submitted for.
    pub fn is_submitter_side(&self, user: i64) -> bool {
        self.submitted_by == user || self.owner_id == Some(user)
    }
}

#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Task {
    pub id: i64,
    pub instance_id: i64,
    pub stage: i32,
    pub step_seq: i32,
    pub round: i32,
    pub approver_id: i64,
    pub approver_name: String,
    pub status: String,
    pub comment: String,
    pub fallback: bool,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub const TASK_SELECT: &str = "SELECT t.id, t.instance_id, t.stage, t.step_seq, t.round, t.approver_id, \
     u.name AS approver_name, t.status, t.comment, t.fallback, t.decided_at, t.created_at \
     FROM approval_tasks t JOIN users u ON u.id = t.approver_id";
