//! Customers: records, the list mechanism, duplicates, caps, search, recycle bin, access matrix.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod crud;
mod duplicates;
mod export;
mod import;
mod import_modules;
mod list;
mod matrix;
mod recycle;
mod registry;
mod rules;
mod xss;

use common::TestApp;

/// A customer inserted directly (fixtures), at the first status.
pub async fn customer(app: &TestApp, name: &str, owner: Option<i64>) -> i64 {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         VALUES ($1, $2, $4,
                 (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $3)
         RETURNING id",
    )
    .bind(format!("T{n:06}-{}", std::process::id()))
    .bind(name)
    .bind(owner)
    .bind(crm::records::normalize::name(name))
    .fetch_one(&app.db)
    .await
    .unwrap()
}

pub async fn dict_item(app: &TestApp, dict: &str, label_zh: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = $1 AND label_zh = $2")
        .bind(dict)
        .bind(label_zh)
        .fetch_one(&app.db)
        .await
        .unwrap_or_else(|e| panic!("no {dict} item {label_zh}: {e}"))
}

pub async fn id_of(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM customers WHERE name = $1").bind(name).fetch_one(&app.db).await.unwrap()
}
