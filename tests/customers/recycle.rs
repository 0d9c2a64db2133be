//! Delete to the recycle bin, restore, permanent delete (its own permission).

use super::common::TestApp;
use super::customer;

#[tokio::test]
async fn delete_restore_and_purge() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let admin = app.admin().await;
    let mgr = app.user("mgr", root, None, &["manager"]).await;
    let id = customer(&app, "待删除公司", Some(mgr)).await;
    let child = customer(&app, "子公司", Some(mgr)).await;
    sqlx::query("UPDATE customers SET parent_id = $1 WHERE id = $2")
        .bind(id)
        .bind(child)
        .execute(&app.db)
        .await
        .unwrap();
    // Things hanging off the customer go with it on permanent delete.
    sqlx::query("INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, '联系人', $2)")
        .bind(id)
        .bind(mgr)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO followups (entity, entity_id, customer_id, content, created_by) VALUES ('customer', $1, $1, '打过电话', $2)")
        .bind(id)
        .bind(mgr)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO attachments (entity, record_id, name, content_type, size, sha256, data, uploaded_by) VALUES ('customer', $1, 'a.txt', 'text/plain', 1, 'x', 'a', $2)")
        .bind(id)
        .bind(mgr)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO stars (user_id, entity, record_id) VALUES ($1, 'customer', $2)")
        .bind(mgr)
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();

    let mut m = app.login("mgr").await;
    m.post(&format!("/customers/{id}/delete"), &[]).await.assert_redirect("/customers");
    m.get(&format!("/customers/{id}")).await.assert_status(404);
    let bin = m.get("/customers/recycle").await;
    let row = bin.text_of(&format!("#recycle-table tr[data-id=\"{id}\"]"));
    assert!(row.contains("待删除公司") && row.contains("用户mgr"), "shows who deleted it: {row}");
    assert!(!bin.has("button[formaction=\"/customers/recycle/purge\"]"), "managers lack permanent delete");
    m.post("/customers/recycle/purge", &[("ids", &id.to_string())]).await.assert_status(403);

    m.post("/customers/recycle/restore", &[("ids", &id.to_string())]).await;
    m.get(&format!("/customers/{id}")).await.assert_status(200);

    m.post(&format!("/customers/{id}/delete"), &[]).await;
    let mut a = app.login("admin").await;
    a.post("/customers/recycle/purge", &[("ids", &id.to_string())]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM customers WHERE id = {id}")).await, 0);
    assert_eq!(app.count("SELECT count(*) FROM stars").await, 0, "dependent rows go too");
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM followups").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM attachments").await, 0);
    let parent: Option<i64> = sqlx::query_scalar("SELECT parent_id FROM customers WHERE id = $1")
        .bind(child)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(parent, None);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM operation_logs WHERE entity = 'customer' AND entity_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(actions, ["delete", "restore", "delete", "purge"]);
    // Purging a live customer does nothing.
    a.post("/customers/recycle/purge", &[("ids", &child.to_string())]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM customers WHERE id = {child}")).await, 1);
    let _ = admin;
}

/// Restoring gives the owner their customers back, so it keeps to the owner's ownership cap: an
/// owner's customers that would pass it stay in the bin, with the reason.
#[tokio::test]
async fn restoring_keeps_to_the_owners_ownership_cap() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let rep = app.user("rep", root, None, &["rep"]).await;
    let kept = customer(&app, "留着的", Some(rep)).await;
    let binned = customer(&app, "删掉的", Some(rep)).await;
    let mut r = app.login("rep").await;
    r.post(&format!("/customers/{binned}/delete"), &[]).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 1)")
        .bind(rep)
        .execute(&app.db)
        .await
        .unwrap();
    r.post("/customers/recycle/restore", &[("ids", &binned.to_string())]).await.assert_redirect("/customers/recycle");
    let bin = r.get("/customers/recycle").await;
    assert!(bin.text_of(".flash-error").contains("上限"), "{}", bin.text_of(".flash"));
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE deleted_at IS NOT NULL").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE action = 'restore'").await, 0);
    // With room again it comes back.
    r.post(&format!("/customers/{kept}/delete"), &[]).await;
    r.post("/customers/recycle/restore", &[("ids", &binned.to_string())]).await;
    let live: Vec<String> =
        sqlx::query_scalar("SELECT name FROM customers WHERE deleted_at IS NULL").fetch_all(&app.db).await.unwrap();
    assert_eq!(live, ["删掉的"]);
}

/// Permanent delete also removes what would lead to the gone records: pending reminders and
/// notifications pointing at the customer or its contacts. Others stay.
#[tokio::test]
async fn purge_removes_pending_reminders_and_notifications_pointing_at_the_records() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let id = customer(&app, "要清除的", Some(admin)).await;
    let other = customer(&app, "留下的", Some(admin)).await;
    let contact: i64 =
        sqlx::query_scalar("INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, '联系人', $2) RETURNING id")
            .bind(id)
            .bind(admin)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let gone = [format!("/customers/{id}"), format!("/customers/{id}?tab=team"), format!("/contacts/{contact}")];
    // `/customers/<id>0` is another record that merely starts the same way.
    let kept = [format!("/customers/{other}"), format!("/customers/{id}0"), "/customers?scene=mine".to_string()];
    for link in gone.iter().chain(kept.iter()) {
        sqlx::query("INSERT INTO reminders (user_id, due_at, kind, link) VALUES ($1, now() + interval '1 day', 'followup_due', $2)")
            .bind(admin)
            .bind(link)
            .execute(&app.db)
            .await
            .unwrap();
        sqlx::query("INSERT INTO notifications (user_id, kind, link) VALUES ($1, 'shared', $2)")
            .bind(admin)
            .bind(link)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let mut a = app.login("admin").await;
    a.post(&format!("/customers/{id}/delete"), &[]).await;
    a.post("/customers/recycle/purge", &[("ids", &id.to_string())]).await.assert_redirect("/customers/recycle");
    for table in ["reminders", "notifications"] {
        let mut left: Vec<String> =
            sqlx::query_scalar(&format!("SELECT link FROM {table}")).fetch_all(&app.db).await.unwrap();
        left.sort();
        let mut want = kept.to_vec();
        want.sort();
        assert_eq!(left, want, "{table}");
    }
}
