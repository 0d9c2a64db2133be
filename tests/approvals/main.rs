//! The approval engine, the approvals inbox and flows admin, and customer status upgrades.

#[path = "../common/mod.rs"]
mod common;

mod customer_status;
mod engine;
mod flows_admin;
mod inbox;

use common::TestApp;
use serde_json::{Value, json};

/// 销售部 (director) ⊃ 华东 (mgr, rep1, rep2) and 华北 (north_rep, no superior); a super admin.
pub struct Org {
    pub app: TestApp,
    pub sales: i64,
    pub east: i64,
    pub north: i64,
    pub admin: i64,
    pub director: i64,
    pub mgr: i64,
    pub rep1: i64,
    pub rep2: i64,
    pub north_rep: i64,
}

pub async fn org() -> Org {
    common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let sales = app.dept("销售部", None).await;
    let east = app.dept("华东", Some(sales)).await;
    let north = app.dept("华北", Some(sales)).await;
    let director = app.user("director", sales, None, &["director"]).await;
    let mgr = app.user("mgr", east, Some(director), &["manager"]).await;
    let rep1 = app.user("rep1", east, Some(mgr), &["rep"]).await;
    let rep2 = app.user("rep2", east, Some(mgr), &["rep"]).await;
    let north_rep = app.user("north_rep", north, None, &["rep"]).await;
    Org { app, sales, east, north, admin, director, mgr, rep1, rep2, north_rep }
}

/// One step of a test flow.
pub struct S {
    pub kind: &'static str,
    pub mode: &'static str,
    pub users: Vec<i64>,
    pub role: Option<&'static str>,
    pub level: i32,
    pub condition: Option<Value>,
}

impl S {
    pub fn new(kind: &'static str) -> S {
        S { kind, mode: "any", users: Vec::new(), role: None, level: 1, condition: None }
    }
    pub fn mode(mut self, m: &'static str) -> S {
        self.mode = m;
        self
    }
    pub fn users(mut self, u: &[i64]) -> S {
        self.users = u.to_vec();
        self
    }
    pub fn role(mut self, r: &'static str) -> S {
        self.role = Some(r);
        self
    }
    pub fn level(mut self, l: i32) -> S {
        self.level = l;
        self
    }
    pub fn when(mut self, c: Value) -> S {
        self.condition = Some(c);
        self
    }
}

/// Replace the subject's flows with one enabled flow of these steps.
pub async fn set_flow(app: &TestApp, subject: &str, resubmit_from: &str, steps: Vec<S>) -> i64 {
    sqlx::query("DELETE FROM approval_flows WHERE subject = $1").bind(subject).execute(&app.db).await.unwrap();
    let flow: i64 = sqlx::query_scalar(
        "INSERT INTO approval_flows (subject, name, enabled, resubmit_from) VALUES ($1, '测试流程', true, $2) RETURNING id",
    )
    .bind(subject)
    .bind(resubmit_from)
    .fetch_one(&app.db)
    .await
    .unwrap();
    for (i, s) in steps.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO approval_steps (flow_id, seq, kind, mode, user_ids, role_id, level, condition)
             VALUES ($1, $2, $3, $4, $5, (SELECT id FROM roles WHERE code = $6), $7, $8)",
        )
        .bind(flow)
        .bind(i as i32 + 1)
        .bind(s.kind)
        .bind(s.mode)
        .bind(&s.users)
        .bind(s.role)
        .bind(s.level)
        .bind(s.condition)
        .execute(&app.db)
        .await
        .unwrap();
    }
    flow
}

/// Pending approvers of an instance, sorted.
pub async fn pending_approvers(app: &TestApp, instance: i64) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT approver_id FROM approval_tasks WHERE instance_id = $1 AND status = 'pending' ORDER BY approver_id",
    )
    .bind(instance)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

pub async fn status_of(app: &TestApp, instance: i64) -> String {
    sqlx::query_scalar("SELECT status FROM approval_instances WHERE id = $1")
        .bind(instance)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

pub async fn notifications(app: &TestApp, user: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2")
        .bind(user)
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A contract-subject submission; `submit` gives it a stand-in contract (pending, no credit
/// limit), so the subject's callbacks only follow the engine and the engine is seen alone.
pub fn contract(record: i64, by: i64, amount: &str) -> crm::workflow::Submission {
    crm::workflow::Submission {
        subject: crm::modules::contracts::subject(),
        record_id: record,
        submitted_by: by,
        owner_id: None,
        payload: json!({ "amount": amount }),
        picks: Default::default(),
    }
}

/// Run `submit` in its own transaction (a contract submission gets its stand-in contract row).
pub async fn submit(
    app: &TestApp,
    s: crm::workflow::Submission,
) -> Result<crm::workflow::Done, crm::workflow::FlowError> {
    if s.subject.code() == "contract" {
        sqlx::query(
            "INSERT INTO customers (code, name, name_norm, status_id)
             SELECT 'ENGINE', '引擎测试客户', 'engine', (SELECT id FROM dict_items WHERE dict = 'customer_status' LIMIT 1)
              WHERE NOT EXISTS (SELECT 1 FROM customers WHERE code = 'ENGINE')",
        )
        .execute(&app.db)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO contracts (id, number, name, customer_id, order_date, status) OVERRIDING SYSTEM VALUE
             SELECT $1, 'E-' || $1, '引擎测试合同', id, current_date, 'pending' FROM customers WHERE code = 'ENGINE'
             ON CONFLICT (id) DO UPDATE SET status = 'pending'",
        )
        .bind(s.record_id)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let mut tx = app.db.begin().await.unwrap();
    let r = crm::workflow::submit(&mut tx, s, None).await;
    if r.is_ok() {
        tx.commit().await.unwrap();
    }
    r
}

pub async fn decide(
    app: &TestApp,
    instance: i64,
    actor: i64,
    approve: bool,
    comment: &str,
) -> Result<crm::workflow::Done, crm::workflow::FlowError> {
    let mut tx = app.db.begin().await.unwrap();
    let r = crm::workflow::decide(&mut tx, instance, actor, approve, comment, None).await;
    if r.is_ok() {
        tx.commit().await.unwrap();
    }
    r
}
