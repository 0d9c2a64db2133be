//! The approvals inbox and an approval's page: tabs, who sees what, who may decide, messages.

use super::{S, contract, org, set_flow, status_of, submit};

#[tokio::test]
async fn the_inbox_has_three_tabs() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let a = submit(&o.app, contract(1, o.rep1, "120000")).await.unwrap().instance_id;
    let b = submit(&o.app, contract(2, o.rep1, "5000")).await.unwrap().instance_id;
    let mut mgr = o.app.login("mgr").await;
    let waiting = mgr.get("/approvals").await;
    waiting.assert_status(200);
    assert_eq!(waiting.count("#approvals tbody tr"), 2);
    assert!(waiting.text_of("#approvals").contains("金额 120000"));
    assert!(waiting.text_of("#tab-waiting").contains('2'));
    mgr.post(&format!("/approvals/{a}/approve"), &[("comment", "好")])
        .await
        .assert_redirect(&format!("/approvals/{a}"));
    assert!(mgr.get(&format!("/approvals/{a}")).await.text_of(".flash-success").contains("审批已通过"));
    let waiting = mgr.get("/approvals?tab=waiting").await;
    assert_eq!(waiting.count("#approvals tbody tr"), 1);
    assert!(waiting.has(&format!("tr[data-approval='{b}']")));
    let decided = mgr.get("/approvals?tab=decided").await;
    assert_eq!(decided.count("#approvals tbody tr"), 1);
    assert!(decided.text_of("#approvals").contains("同意"));

    let mut rep = o.app.login("rep1").await;
    assert_eq!(rep.get("/approvals").await.count("#approvals tbody tr"), 0, "nothing waits for the rep");
    let mine = rep.get("/approvals?tab=submitted").await;
    assert_eq!(mine.count("#approvals tbody tr"), 2);
    assert!(mine.text_of(&format!("tr[data-approval='{a}']")).contains("已通过"));
    assert!(mine.text_of(&format!("tr[data-approval='{b}']")).contains("审批中"));
    // English.
    sqlx::query("UPDATE users SET lang = 'en' WHERE id = $1").bind(o.rep1).execute(&o.app.db).await.unwrap();
    let en = rep.get("/approvals?tab=submitted").await;
    assert!(en.text_of("#approvals").contains("Contract approval"), "{}", en.text_of("main"));
}

#[tokio::test]
async fn only_an_assigned_approver_decides_and_others_do_not_even_see_it() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;

    // Another rep: no page, no decision, by URL too.
    let mut rep2 = o.app.login("rep2").await;
    rep2.get(&format!("/approvals/{id}")).await.assert_status(404);
    rep2.post(&format!("/approvals/{id}/approve"), &[]).await.assert_status(403);
    rep2.post(&format!("/approvals/{id}/reject"), &[("comment", "no")]).await.assert_status(403);
    rep2.post(&format!("/approvals/{id}/withdraw"), &[]).await.assert_status(403);
    rep2.get("/approvals/999999").await.assert_status(404);
    // The director is above but not assigned: cannot decide.
    let mut director = o.app.login("director").await;
    director.post(&format!("/approvals/{id}/approve"), &[]).await.assert_status(403);
    // The submitter sees it without the decision form, and cannot approve it.
    let mut rep1 = o.app.login("rep1").await;
    let page = rep1.get(&format!("/approvals/{id}")).await;
    page.assert_status(200);
    assert!(!page.has("#decide-form"));
    assert!(page.has("#withdraw-form"));
    rep1.post(&format!("/approvals/{id}/approve"), &[]).await.assert_status(403);
    // A super admin sees everything but decides only with a task of their own.
    let mut admin = o.app.login("admin").await;
    admin.get(&format!("/approvals/{id}")).await.assert_status(200);
    admin.post(&format!("/approvals/{id}/approve"), &[]).await.assert_status(403);
    assert_eq!(status_of(&o.app, id).await, "pending");

    // The assigned manager.
    let mut mgr = o.app.login("mgr").await;
    let page = mgr.get(&format!("/approvals/{id}")).await;
    assert!(page.has("#decide-form"));
    assert!(page.text_of("#approval-progress").contains("直属上级"));
    assert!(page.text_of("#approval-progress").contains("用户mgr"));
    mgr.post(&format!("/approvals/{id}/approve"), &[("comment", "同意")]).await;
    assert_eq!(status_of(&o.app, id).await, "approved");
    let page = rep1.get(&format!("/approvals/{id}")).await;
    assert!(page.text_of("#approval-progress").contains("同意"));
    assert!(!page.has("#withdraw-form"));
}

#[tokio::test]
async fn the_second_approver_is_told_who_was_first() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("users").users(&[o.mgr, o.director])]).await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    let mut mgr = o.app.login("mgr").await;
    let mut director = o.app.login("director").await;
    // Both have the page open.
    assert!(mgr.get(&format!("/approvals/{id}")).await.has("#decide-form"));
    assert!(director.get(&format!("/approvals/{id}")).await.has("#decide-form"));
    mgr.post(&format!("/approvals/{id}/reject"), &[("comment", "不行")]).await;
    director.post(&format!("/approvals/{id}/approve"), &[]).await.assert_redirect(&format!("/approvals/{id}"));
    let page = director.get(&format!("/approvals/{id}")).await;
    assert!(page.text_of(".flash-error").contains("已被 用户mgr 处理"), "{}", page.text_of("main"));
    assert_eq!(status_of(&o.app, id).await, "rejected");
    assert!(!page.has("#decide-form"));
}

#[tokio::test]
async fn withdraw_and_resubmit_from_the_page() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    let mut rep = o.app.login("rep1").await;
    rep.post(&format!("/approvals/{id}/withdraw"), &[]).await.assert_redirect(&format!("/approvals/{id}"));
    assert_eq!(status_of(&o.app, id).await, "withdrawn");
    let page = rep.get(&format!("/approvals/{id}")).await;
    assert!(page.text_of("#approval-status").contains("已撤回"));
    // The manager comes too late.
    let mut mgr = o.app.login("mgr").await;
    mgr.post(&format!("/approvals/{id}/approve"), &[]).await;
    assert!(mgr.get(&format!("/approvals/{id}")).await.text_of(".flash-error").contains("已被 用户rep1 处理"));
    // Withdrawing again says it is over.
    rep.post(&format!("/approvals/{id}/withdraw"), &[]).await;
    assert!(rep.get(&format!("/approvals/{id}")).await.text_of(".flash-error").contains("已经结束"));
    rep.post(&format!("/approvals/{id}/resubmit"), &[]).await;
    assert_eq!(status_of(&o.app, id).await, "pending");
    assert!(mgr.get(&format!("/approvals/{id}")).await.has("#decide-form"));
}
