//! The flows admin page: list with previews, steps added / changed / moved / removed, one enabled
//! flow per subject, audit, permission.

use super::org;

async fn flow_id(app: &super::common::TestApp, subject: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM approval_flows WHERE subject = $1 ORDER BY id LIMIT 1")
        .bind(subject)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn admins_shape_flows_and_the_preview_reads_as_a_sentence() {
    let o = org().await;
    let mut admin = o.app.login("admin").await;
    let page = admin.get("/admin/flows").await;
    page.assert_status(200);
    assert!(page.text_of("#subject-customer_status").contains("客户状态升级"));
    assert!(page.text_of("#subject-customer_status .flow-preview").contains("1. 直属上级"));
    assert!(page.text_of("#subject-contract").contains("未启用"));

    let id = flow_id(&o.app, "customer_status").await;
    let director_role: String =
        sqlx::query_scalar("SELECT id::text FROM roles WHERE code = 'director'").fetch_one(&o.app.db).await.unwrap();
    let edit = admin.get(&format!("/admin/flows/{id}/edit")).await;
    edit.assert_status(200);
    assert_eq!(edit.text_of("#flow-preview"), "1. 直属上级");
    // A role step without its role is refused, with what was typed kept.
    let r = admin.post(&format!("/admin/flows/{id}/steps"), &[("kind", "role"), ("name", "总监审批")]).await;
    r.assert_status(422);
    assert!(r.text_of("#new-step .field-error").contains("请选择角色"));
    assert_eq!(r.attr("#new-step input[name=name]", "value").as_deref(), Some("总监审批"));
    admin
        .post(&format!("/admin/flows/{id}/steps"), &[("kind", "role"), ("role_id", &director_role), ("mode", "any")])
        .await
        .assert_redirect(&format!("/admin/flows/{id}/edit"));
    let edit = admin.get(&format!("/admin/flows/{id}/edit")).await;
    assert_eq!(edit.text_of("#flow-preview"), "1. 直属上级 → 2. 销售总监（任一）");
    let list = admin.get("/admin/flows").await;
    assert!(list.text_of("#subject-customer_status .flow-preview").contains("1. 直属上级 → 2. 销售总监（任一）"));

    // A condition on the new step, then move it first.
    let step: i64 = sqlx::query_scalar("SELECT id FROM approval_steps WHERE flow_id = $1 AND seq = 2")
        .bind(id)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    admin
        .post(
            &format!("/admin/flows/{id}/steps/{step}"),
            &[("kind", "role"), ("role_id", &director_role), ("mode", "all"), ("amount_gt", "100,000")],
        )
        .await
        .assert_redirect(&format!("/admin/flows/{id}/edit"));
    let bad = admin.post(&format!("/admin/flows/{id}/steps/{step}"), &[("kind", "superior"), ("level", "99")]).await;
    bad.assert_status(422);
    assert!(bad.text_of(&format!("#step-{step} .field-error")).contains("1 到 20"));
    admin.post(&format!("/admin/flows/{id}/steps/{step}/move"), &[("direction", "up")]).await;
    let edit = admin.get(&format!("/admin/flows/{id}/edit")).await;
    assert_eq!(edit.text_of("#flow-preview"), "1. 销售总监（会签）（条件：金额 > 100000） → 2. 直属上级");
    // Remove it again.
    admin.post(&format!("/admin/flows/{id}/steps/{step}/delete"), &[]).await;
    let edit = admin.get(&format!("/admin/flows/{id}/edit")).await;
    assert_eq!(edit.text_of("#flow-preview"), "1. 直属上级");
    let seq: i32 = sqlx::query_scalar("SELECT seq FROM approval_steps WHERE flow_id = $1")
        .bind(id)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert_eq!(seq, 1, "the order closes the gap");
    // Every change is in the flow's history.
    let changes = o
        .app
        .count(&format!("SELECT count(*) FROM operation_logs WHERE entity = 'approval_flow' AND entity_id = {id}"))
        .await;
    assert_eq!(changes, 4);
}

#[tokio::test]
async fn one_enabled_flow_per_subject() {
    let o = org().await;
    let mut admin = o.app.login("admin").await;
    let old = flow_id(&o.app, "customer_status").await;
    admin.post("/admin/flows", &[("subject", "customer_status"), ("name", "大客户升级")]).await;
    let new: i64 = sqlx::query_scalar("SELECT id FROM approval_flows WHERE name = '大客户升级'")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM approval_flows WHERE id = $1")
        .bind(new)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert!(!enabled, "new flows start disabled");
    admin.post(&format!("/admin/flows/{new}/toggle"), &[]).await.assert_redirect("/admin/flows");
    let states: Vec<(i64, bool)> =
        sqlx::query_as("SELECT id, enabled FROM approval_flows WHERE subject = 'customer_status' ORDER BY id")
            .fetch_all(&o.app.db)
            .await
            .unwrap();
    assert_eq!(states, vec![(old, false), (new, true)]);
    // Settings: name, resubmission, enabling from the form.
    admin
        .post(
            &format!("/admin/flows/{old}"),
            &[("name", "客户状态升级"), ("enabled", "1"), ("resubmit_from", "rejected_step")],
        )
        .await
        .assert_redirect(&format!("/admin/flows/{old}/edit"));
    let states: Vec<(i64, bool, String)> = sqlx::query_as(
        "SELECT id, enabled, resubmit_from FROM approval_flows WHERE subject = 'customer_status' ORDER BY id",
    )
    .fetch_all(&o.app.db)
    .await
    .unwrap();
    assert_eq!(states, vec![(old, true, "rejected_step".into()), (new, false, "first".into())]);
    let r = admin.post(&format!("/admin/flows/{old}"), &[("name", ""), ("resubmit_from", "first")]).await;
    r.assert_status(422);
    // Delete the other one.
    admin.post(&format!("/admin/flows/{new}/delete"), &[]).await.assert_redirect("/admin/flows");
    assert_eq!(o.app.count("SELECT count(*) FROM approval_flows WHERE subject = 'customer_status'").await, 1);
}

#[tokio::test]
async fn the_flows_page_needs_the_flows_permission() {
    let o = org().await;
    let id = flow_id(&o.app, "contract").await;
    let mut director = o.app.login("director").await;
    director.get("/admin/flows").await.assert_status(403);
    director.get(&format!("/admin/flows/{id}/edit")).await.assert_status(403);
    director.post(&format!("/admin/flows/{id}/toggle"), &[]).await.assert_status(403);
    director.post(&format!("/admin/flows/{id}/steps"), &[("kind", "superior")]).await.assert_status(403);
    let enabled: bool = sqlx::query_scalar("SELECT enabled FROM approval_flows WHERE id = $1")
        .bind(id)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert!(!enabled);
    // A step of another flow is not found through this one.
    let mut admin = o.app.login("admin").await;
    let other = flow_id(&o.app, "payment").await;
    let step: i64 = sqlx::query_scalar("SELECT id FROM approval_steps WHERE flow_id = $1")
        .bind(other)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    admin.post(&format!("/admin/flows/{id}/steps/{step}/delete"), &[]).await.assert_status(404);
    admin.get("/admin/flows/999999/edit").await.assert_status(404);
}
