//! The permission matrix through HTTP: each seeded role on every admin route; the nav follows.

use axum::http::Method;
use crm::access::Guard;

use super::common::TestApp;

#[tokio::test]
async fn each_seeded_role_gets_exactly_its_admin_pages() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let dept = app.dept("销售部", Some(root)).await;
    app.admin().await;
    for code in ["director", "manager", "rep", "readonly"] {
        app.user(code, dept, None, &[code]).await;
    }
    let any_user: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = 'rep'").fetch_one(&app.db).await.unwrap();
    let any_role: i64 = sqlx::query_scalar("SELECT id FROM roles WHERE code = 'rep'").fetch_one(&app.db).await.unwrap();
    let any_item: i64 =
        sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'industry' ORDER BY position LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let any_field: i64 = sqlx::query_scalar(
        "INSERT INTO field_defs (entity, key, label_zh, label_en, kind) VALUES ('customer', 'probe', '探针', 'Probe', 'text') RETURNING id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let any_cap: i64 =
        sqlx::query_scalar("INSERT INTO customer_caps (dept_id, max_owned) VALUES ($1, 10) RETURNING id")
            .bind(dept)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let any_pool: i64 = sqlx::query_scalar("SELECT id FROM pools WHERE is_default").fetch_one(&app.db).await.unwrap();
    let any_rule: i64 =
        sqlx::query_scalar("INSERT INTO pool_rules (pool_id, kind, days) VALUES ($1, 'no_followup', 30) RETURNING id")
            .bind(any_pool)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let any_flow: i64 =
        sqlx::query_scalar("SELECT id FROM approval_flows ORDER BY id LIMIT 1").fetch_one(&app.db).await.unwrap();
    let any_group: i64 =
        sqlx::query_scalar("SELECT id FROM stage_groups WHERE is_default").fetch_one(&app.db).await.unwrap();
    let any_account: i64 = sqlx::query_scalar(
        "INSERT INTO mail_accounts (position, host, port, security, from_address)
         VALUES (1, 'smtp.example.com', 587, 'starttls', 'crm@example.com') RETURNING id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let admin_routes: Vec<_> = crm::app::route_specs().into_iter().filter(|s| s.path.starts_with("/admin")).collect();
    assert!(admin_routes.len() >= 10, "admin routes are registered");

    for code in ["admin", "director", "manager", "rep", "readonly"] {
        let mut c = app.login(code).await;
        let home = c.get("/").await;
        for spec in &admin_routes {
            let id = if spec.path.contains("/roles/") {
                any_role
            } else if spec.path.contains("/departments/") {
                dept
            } else if spec.path.contains("/dicts/") {
                any_item
            } else if spec.path.contains("/fields/") {
                any_field
            } else if spec.path.contains("/caps/") {
                any_cap
            } else if spec.path.contains("/pools/") {
                any_pool
            } else if spec.path.contains("/flows/") {
                any_flow
            } else if spec.path.contains("/stages/") {
                any_group
            } else if spec.path.contains("/mail/accounts/") {
                any_account
            } else {
                any_user
            };
            let path = spec
                .path
                .replace("{id}", &id.to_string())
                .replace("{code}", "industry")
                .replace("{kind}", "customer")
                .replace("{rule_id}", &any_rule.to_string());
            let expected_ok = match code {
                "admin" => true,
                "director" => matches!(spec.guard, Guard::Perm(crm::access::Module::Logs, _)),
                _ => false,
            };
            if spec.method == Method::GET {
                let r = c.get(&path).await;
                let want = if expected_ok { 200 } else { 403 };
                assert_eq!(r.status.as_u16(), want, "{code} GET {path}");
                if !expected_ok {
                    assert!(r.has("aside.sidebar"), "403 inside the layout");
                    assert!(!r.has("table"), "no data on a 403 page for {code} at {path}");
                }
            } else if !expected_ok {
                let r = c.post(&path, &[]).await;
                assert_eq!(r.status.as_u16(), 403, "{code} POST {path}");
            }
        }
        // The nav shows exactly the admin pages they may open.
        let links = home.text_of(".sidebar nav");
        let sees_users = links.contains("员工管理");
        let sees_logs = links.contains("操作日志");
        assert_eq!(sees_users, code == "admin", "{code}: {links}");
        assert_eq!(sees_logs, matches!(code, "admin" | "director"), "{code}: {links}");
    }
    // Nothing changed through all those refused POSTs.
    assert_eq!(app.count("SELECT count(*) FROM users WHERE status = 'disabled'").await, 0);
}
