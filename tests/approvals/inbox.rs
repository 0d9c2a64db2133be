//! The approvals inbox and an approval's page: tabs, who sees what, who may decide, messages.

use super::common::{Client, TestApp};
use super::customer_status::{customer, instance_of, set_level};
use super::{S, contract, org, set_flow, status_of, submit};

#[tokio::test]
async fn the_inbox_has_its_tabs() {
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
    rep2.post(&format!("/approvals/{id}/approve"), &[]).await.assert_status(404);
    rep2.post(&format!("/approvals/{id}/reject"), &[("comment", "no")]).await.assert_status(404);
    rep2.post(&format!("/approvals/{id}/withdraw"), &[]).await.assert_status(404);
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

/// The page of an approval `user` may only follow: 200, progress shown, no action offered.
async fn read_only(c: &mut Client, who: &str, inst: i64) -> String {
    let page = c.get(&format!("/approvals/{inst}")).await;
    page.assert_status(200);
    for form in ["#decide-form", "#approve-btn", "#reject-btn", "#withdraw-form", "#resubmit-form"] {
        assert!(!page.has(form), "{who} is offered {form}");
    }
    page.text_of("#approval-progress")
}

/// Approve, reject, withdraw and resubmit are all refused, and nothing is written.
async fn refused_everything(app: &TestApp, c: &mut Client, inst: i64) {
    let decided = "SELECT count(*) FROM approval_tasks WHERE status <> 'pending'";
    let logs = "SELECT count(*) FROM operation_logs WHERE action LIKE 'approval\\_%'";
    let (before_tasks, before_logs) = (app.count(decided).await, app.count(logs).await);
    let status = status_of(app, inst).await;
    c.post(&format!("/approvals/{inst}/approve"), &[("comment", "我来批")]).await.assert_status(403);
    c.post(&format!("/approvals/{inst}/reject"), &[("comment", "不行")]).await.assert_status(403);
    c.post(&format!("/approvals/{inst}/reject"), &[]).await.assert_status(403);
    c.post(&format!("/approvals/{inst}/withdraw"), &[]).await.assert_status(403);
    c.post(&format!("/approvals/{inst}/resubmit"), &[]).await.assert_status(403);
    assert_eq!(status_of(app, inst).await, status);
    assert_eq!(app.count(decided).await, before_tasks);
    assert_eq!(app.count(logs).await, before_logs);
}

#[tokio::test]
async fn whoever_sees_the_customer_follows_its_approval_read_only() {
    let o = org().await;
    let id = customer(&o.app, "甲公司", o.rep1, "basic", 6).await;
    // rep2: a read-only team member; director: sees all customers but is not the approver (mgr
    // is, as rep1's direct superior); north_rep: cannot see the customer.
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, 'read')")
        .bind(id)
        .bind(o.rep2)
        .execute(&o.app.db)
        .await
        .unwrap();
    let mut rep1 = o.app.login("rep1").await;
    set_level(&mut rep1, id, "甲公司", "7").await;
    let inst = instance_of(&o.app, id).await;
    let mut rep2 = o.app.login("rep2").await;
    let mut director = o.app.login("director").await;
    let mut north = o.app.login("north_rep").await;

    // The badge on the card leads a reader to the progress page, which they may only follow.
    let card = rep2.get(&format!("/customers/{id}")).await;
    assert_eq!(card.attr("#approval-badge", "href").unwrap(), format!("/approvals/{inst}"));
    assert!(!card.has("#approval-resubmit"));
    for (who, c) in [("rep2", &mut rep2), ("director", &mut director)] {
        let progress = read_only(c, who, inst).await;
        assert!(progress.contains("直属上级"), "{who}: {progress}");
        assert!(progress.contains("用户mgr"), "{who}: {progress}");
        assert!(progress.contains("待审批"), "{who}: {progress}");
        refused_everything(&o.app, c, inst).await;
    }
    assert_eq!(status_of(&o.app, inst).await, "pending");
    // Someone who cannot see the customer sees nothing of the approval either.
    let page = north.get(&format!("/approvals/{inst}")).await;
    page.assert_status(404);
    assert!(!page.body.contains("甲公司") && !page.body.contains("用户mgr"));
    north.post(&format!("/approvals/{inst}/approve"), &[]).await.assert_status(404);

    // The approver decides; readers then see who decided, when, and why.
    let mut mgr = o.app.login("mgr").await;
    mgr.post(&format!("/approvals/{inst}/approve"), &[("comment", "跟进充分，同意升级")])
        .await
        .assert_redirect(&format!("/approvals/{inst}"));
    assert_eq!(status_of(&o.app, inst).await, "approved");
    for (who, c) in [("rep2", &mut rep2), ("director", &mut director)] {
        let progress = read_only(c, who, inst).await;
        assert!(progress.contains("用户mgr"), "{who}: {progress}");
        assert!(progress.contains("同意"), "{who}: {progress}");
        assert!(progress.contains("跟进充分，同意升级"), "{who}: {progress}");
        assert!(c.get(&format!("/approvals/{inst}")).await.has("#approval-progress time"), "{who}: when");
        refused_everything(&o.app, c, inst).await;
    }
    north.get(&format!("/approvals/{inst}")).await.assert_status(404);

    // The card keeps the outcome, linked to the progress page, for every reader.
    for (who, c) in [("rep1", &mut rep1), ("rep2", &mut rep2), ("director", &mut director)] {
        let card = c.get(&format!("/customers/{id}")).await;
        assert_eq!(card.text_of("#approval-badge"), "已通过：基础客户 → 潜在客户", "{who}");
        assert!(card.has("#approval-badge.badge-green"), "{who}");
        assert_eq!(card.attr("#approval-badge", "href").unwrap(), format!("/approvals/{inst}"), "{who}");
        assert!(!card.has("#approval-resubmit"), "{who}");
    }
    sqlx::query("UPDATE users SET lang = 'en' WHERE id = $1").bind(o.rep2).execute(&o.app.db).await.unwrap();
    let en = rep2.get(&format!("/customers/{id}")).await.text_of("#approval-badge");
    assert!(en.starts_with("Approved: "), "{en}");

    // Seeing the approval follows seeing the record: off the team, off the page.
    sqlx::query("DELETE FROM record_members WHERE entity = 'customer' AND record_id = $1 AND user_id = $2")
        .bind(id)
        .bind(o.rep2)
        .execute(&o.app.db)
        .await
        .unwrap();
    rep2.get(&format!("/approvals/{inst}")).await.assert_status(404);
    // A contract's approval is followed by whoever sees the contract: the director above its
    // owner does, the owner's peer does not.
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let k = o.app.contract(id, "跟随合同", o.rep1, "draft").await;
    let c = submit(&o.app, contract(k, o.rep1, "1")).await.unwrap().instance_id;
    director.get(&format!("/approvals/{c}")).await.assert_status(200);
    rep2.get(&format!("/approvals/{c}")).await.assert_status(404);
}

/// The to-do centre's approval sections count what the inbox tabs they link to list: tasks
/// waiting for me, and my requests returned (rejected) until I resubmit them.
#[tokio::test]
async fn the_to_do_centre_counts_approvals_waiting_and_requests_returned() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let a = submit(&o.app, contract(1, o.rep1, "120000")).await.unwrap().instance_id;
    submit(&o.app, contract(2, o.rep1, "5000")).await.unwrap();
    let mut mgr = o.app.login("mgr").await;
    let todo = mgr.get("/todo").await;
    assert_eq!(todo.text_of("#todo-approvals_waiting .todo-count").trim(), "2");
    assert!(todo.text_of("#todo-approvals_waiting").contains("引擎测试合同"));
    let href = todo.attr("#todo-approvals_waiting h2 a", "href").unwrap();
    assert_eq!(mgr.get(&href).await.count("#approvals tbody tr"), 2);

    mgr.post(&format!("/approvals/{a}/reject"), &[("comment", "金额不对")]).await;
    assert_eq!(mgr.get("/todo").await.text_of("#todo-approvals_waiting .todo-count").trim(), "1");
    let mut rep = o.app.login("rep1").await;
    let todo = rep.get("/todo").await;
    assert!(!todo.has("#todo-approvals_waiting"), "nothing waits for the rep");
    assert_eq!(todo.text_of("#todo-approvals_returned .todo-count").trim(), "1");
    let href = todo.attr("#todo-approvals_returned h2 a", "href").unwrap();
    let returned = rep.get(&href).await;
    assert_eq!(returned.count("#approvals tbody tr"), 1);
    assert!(returned.has(&format!("tr[data-approval='{a}']")));
    // Resubmitted, it no longer waits on the rep.
    rep.post(&format!("/approvals/{a}/resubmit"), &[]).await;
    assert!(!rep.get("/todo").await.has("#todo-approvals_returned"));
}
