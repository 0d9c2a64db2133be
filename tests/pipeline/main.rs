//! The sales pipeline: leads and their conversion, the public pool (claim, assign, put back,
//! automatic recycling), products, opportunities, contracts and payments.

#[path = "../common/mod.rs"]
mod common;

mod contracts;
mod export;
mod leads;
mod opportunities;
mod payments;
mod pool;
mod products;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use common::TestApp;

/// 华东 (mgr, rep1, rep2) and 华北 (north_rep), plus a super admin.
pub struct Org {
    pub app: TestApp,
    pub root: i64,
    pub east: i64,
    pub north: i64,
    pub admin: i64,
    pub mgr: i64,
    pub rep1: i64,
    pub rep2: i64,
    pub north_rep: i64,
}

pub async fn org() -> Org {
    common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let admin = app.admin().await;
    let east = app.dept("华东", Some(root)).await;
    let north = app.dept("华北", Some(root)).await;
    let mgr = app.user("mgr", east, None, &["manager"]).await;
    let rep1 = app.user("rep1", east, Some(mgr), &["rep"]).await;
    let rep2 = app.user("rep2", east, Some(mgr), &["rep"]).await;
    let north_rep = app.user("north_rep", north, None, &["rep"]).await;
    Org { app, root, east, north, admin, mgr, rep1, rep2, north_rep }
}

/// A customer inserted directly, at the first status, level 1.
pub async fn customer(app: &TestApp, name: &str, owner: Option<i64>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         VALUES ('C-' || $1, $1, lower(replace($1, ' ', '')),
                 (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $2)
         RETURNING id",
    )
    .bind(name)
    .bind(owner)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

pub async fn dict_id(app: &TestApp, dict: &str, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = $1 AND code = $2")
        .bind(dict)
        .bind(code)
        .fetch_one(&app.db)
        .await
        .unwrap_or_else(|e| panic!("no {dict} item {code}: {e}"))
}

pub async fn default_pool(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT id FROM pools WHERE is_default").fetch_one(&app.db).await.unwrap()
}

pub async fn notifications(app: &TestApp, user: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2")
        .bind(user)
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

pub async fn owner_of(app: &TestApp, customer: i64) -> Option<i64> {
    sqlx::query_scalar("SELECT owner_id FROM customers WHERE id = $1").bind(customer).fetch_one(&app.db).await.unwrap()
}

pub fn job_ctx(app: &TestApp, now: DateTime<Utc>) -> crm::jobs::JobCtx {
    crm::jobs::JobCtx { db: app.db.clone(), config: Arc::new(app.config.clone()), now }
}
