//! Customer level and status: level 7 asks the owner's direct superior; approval moves the status
//! up and restarts the level; rejection changes nothing; the top status stays; notifications and
//! history.

use super::common::{Client, TestApp};
use super::{notifications, org, status_of};

/// A customer of `owner` at the status with `code`, at `level`.
pub async fn customer(app: &TestApp, name: &str, owner: i64, status: &str, level: i16) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, level, owner_id)
         VALUES ('C-' || $1, $1, $1, (SELECT id FROM dict_items WHERE dict = 'customer_status' AND code = $2), $3, $4)
         RETURNING id",
    )
    .bind(name)
    .bind(status)
    .bind(level)
    .bind(owner)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

pub async fn set_level(c: &mut Client, id: i64, name: &str, level: &str) {
    c.post(&format!("/customers/{id}"), &[("name", name), ("kind", "enterprise"), ("level", level)])
        .await
        .assert_redirect(&format!("/customers/{id}"));
}

async fn state(app: &TestApp, id: i64) -> (String, i16) {
    sqlx::query_as("SELECT s.code, c.level FROM customers c JOIN dict_items s ON s.id = c.status_id WHERE c.id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

pub async fn instance_of(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT id FROM approval_instances WHERE subject = 'customer_status' AND record_id = $1 ORDER BY id DESC LIMIT 1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn level_seven_asks_the_owners_superior_and_approval_moves_the_status_up() {
    let o = org().await;
    let id = customer(&o.app, "甲公司", o.rep1, "basic", 5).await;
    let mut rep = o.app.login("rep1").await;
    set_level(&mut rep, id, "甲公司", "6").await;
    assert_eq!(
        notifications(&o.app, o.mgr, "customer_level_changed").await,
        1,
        "the superior hears of every level change"
    );
    assert_eq!(o.app.count("SELECT count(*) FROM approval_instances").await, 0);

    set_level(&mut rep, id, "甲公司", "7").await;
    assert_eq!(state(&o.app, id).await, ("basic".into(), 7), "nothing moves before approval");
    let inst = instance_of(&o.app, id).await;
    assert_eq!(status_of(&o.app, inst).await, "pending");
    let approvers: Vec<i64> = sqlx::query_scalar("SELECT approver_id FROM approval_tasks WHERE instance_id = $1")
        .bind(inst)
        .fetch_all(&o.app.db)
        .await
        .unwrap();
    assert_eq!(approvers, vec![o.mgr], "the owner's direct superior");
    assert_eq!(notifications(&o.app, o.mgr, "approval_task").await, 1);
    let card = rep.get(&format!("/customers/{id}")).await;
    assert_eq!(card.text_of("#approval-badge"), "待审批：基础客户 → 潜在客户");
    assert_eq!(card.attr("#approval-badge", "href").unwrap(), format!("/approvals/{inst}"));

    // The manager approves from the inbox.
    let mut mgr = o.app.login("mgr").await;
    let inbox = mgr.get("/approvals").await;
    assert!(inbox.text_of("#approvals").contains("甲公司"), "{}", inbox.text_of("main"));
    assert!(inbox.text_of("#approvals").contains("基础客户 → 潜在客户"));
    mgr.post(&format!("/approvals/{inst}/approve"), &[("comment", "同意升级")])
        .await
        .assert_redirect(&format!("/approvals/{inst}"));
    assert_eq!(state(&o.app, id).await, ("potential".into(), 1), "next status, level 1");
    assert_eq!(notifications(&o.app, o.rep1, "approval_approved").await, 1);
    let card = rep.get(&format!("/customers/{id}")).await;
    assert_eq!(card.text_of("#approval-badge"), "已通过：基础客户 → 潜在客户", "the card keeps the outcome");
    assert_eq!(card.attr("#approval-badge", "href").unwrap(), format!("/approvals/{inst}"));
    assert!(!card.has("#approval-resubmit"));
    assert_eq!(card.text_of("#status-badge"), "潜在客户");
    assert_eq!(card.text_of("#level-badge"), "L1");

    // History: the level edits, the submission, the decision and the upgrade.
    let history = rep.get(&format!("/customers/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("提交了审批"), "{history}");
    assert!(history.contains("用户mgr 审批同意（同意升级）"), "{history}");
    assert!(history.contains("用户mgr 升级了客户状态"), "{history}");
    assert!(history.contains("把 客户状态 从 基础客户 改为 潜在客户"), "{history}");
    for action in ["approval_submit", "approval_approve", "status_upgrade"] {
        let n = o.app.count(&format!("SELECT count(*) FROM operation_logs WHERE entity = 'customer' AND entity_id = {id} AND action = '{action}'")).await;
        assert_eq!(n, 1, "{action}");
    }
    // The timeline shows the approval with a link to it.
    let tl = rep.get(&format!("/customers/{id}?tab=timeline&kind=approval")).await;
    assert!(tl.text_of("#timeline").contains("提交了审批：基础客户 → 潜在客户"), "{}", tl.text_of("#timeline"));
    assert!(tl.text_of("#timeline").contains("同意升级"));
    assert!(tl.has(&format!("#timeline a[href='/approvals/{inst}']")));
}

#[tokio::test]
async fn a_team_member_raising_the_level_asks_the_owners_superior() {
    let o = org().await;
    let id = customer(&o.app, "乙公司", o.north_rep, "invalid", 6).await;
    sqlx::query("UPDATE users SET superior_id = $1 WHERE id = $2")
        .bind(o.director)
        .bind(o.north_rep)
        .execute(&o.app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, 'write')")
        .bind(id)
        .bind(o.rep1)
        .execute(&o.app.db)
        .await
        .unwrap();
    let mut rep1 = o.app.login("rep1").await;
    set_level(&mut rep1, id, "乙公司", "7").await;
    let inst = instance_of(&o.app, id).await;
    let approver: i64 = sqlx::query_scalar("SELECT approver_id FROM approval_tasks WHERE instance_id = $1")
        .bind(inst)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert_eq!(approver, o.director, "the owner's superior, not the editor's");
    assert_eq!(notifications(&o.app, o.director, "customer_level_changed").await, 1);
    // The submitter and the owner may both follow it; other reps may not see it.
    rep1.get(&format!("/approvals/{inst}")).await.assert_status(200);
    let mut owner = o.app.login("north_rep").await;
    owner.get(&format!("/approvals/{inst}")).await.assert_status(200);
    // The owner finds it under "my requests" beside the submitter.
    let mine = owner.get("/approvals?tab=submitted").await;
    assert!(mine.has(&format!("tr[data-approval='{inst}']")), "{}", mine.text_of("main"));
    assert!(mine.text_of("#tab-submitted").contains("我的申请"));
    assert!(rep1.get("/approvals?tab=submitted").await.has(&format!("tr[data-approval='{inst}']")));
    o.app.login("rep2").await.get(&format!("/approvals/{inst}")).await.assert_status(404);
}

#[tokio::test]
async fn rejection_changes_nothing_and_the_owner_may_resubmit() {
    let o = org().await;
    let id = customer(&o.app, "丙公司", o.rep1, "basic", 6).await;
    let mut rep = o.app.login("rep1").await;
    set_level(&mut rep, id, "丙公司", "7").await;
    let inst = instance_of(&o.app, id).await;
    let mut mgr = o.app.login("mgr").await;
    // A reason is needed to reject.
    mgr.post(&format!("/approvals/{inst}/reject"), &[("comment", " ")])
        .await
        .assert_redirect(&format!("/approvals/{inst}"));
    assert!(mgr.get(&format!("/approvals/{inst}")).await.text_of(".flash-error").contains("驳回时请填写原因"));
    assert_eq!(status_of(&o.app, inst).await, "pending");
    mgr.post(&format!("/approvals/{inst}/reject"), &[("comment", "跟进记录太少")]).await;
    assert_eq!(status_of(&o.app, inst).await, "rejected");
    assert_eq!(state(&o.app, id).await, ("basic".into(), 7), "nothing moves");
    assert_eq!(notifications(&o.app, o.rep1, "approval_rejected").await, 1);
    let card = rep.get(&format!("/customers/{id}")).await;
    assert_eq!(card.text_of("#approval-badge"), "被驳回：基础客户 → 潜在客户");
    assert_eq!(card.attr("#approval-resubmit", "href").unwrap(), format!("/approvals/{inst}#resubmit"));
    // The manager cannot resubmit for the rep.
    mgr.post(&format!("/approvals/{inst}/resubmit"), &[]).await.assert_status(403);

    let page = rep.get(&format!("/approvals/{inst}")).await;
    assert!(page.text_of("#approval-progress").contains("跟进记录太少"));
    assert!(page.has("#resubmit-form"));
    rep.post(&format!("/approvals/{inst}/resubmit"), &[]).await.assert_redirect(&format!("/approvals/{inst}"));
    assert_eq!(status_of(&o.app, inst).await, "pending");
    assert_eq!(rep.get(&format!("/customers/{id}")).await.text_of("#approval-badge"), "待审批：基础客户 → 潜在客户");
    assert_eq!(notifications(&o.app, o.mgr, "approval_task").await, 2);
    mgr.post(&format!("/approvals/{inst}/approve"), &[]).await;
    assert_eq!(state(&o.app, id).await, ("potential".into(), 1));
}

#[tokio::test]
async fn a_pending_request_blocks_a_second_and_the_top_status_stays() {
    let o = org().await;
    let id = customer(&o.app, "丁公司", o.rep1, "basic", 6).await;
    let mut rep = o.app.login("rep1").await;
    set_level(&mut rep, id, "丁公司", "7").await;
    // A second request while one is pending is not made (the engine refuses it).
    let mut tx = o.app.db.begin().await.unwrap();
    let again = crm::workflow::submit(
        &mut tx,
        crm::workflow::Submission {
            subject: crm::modules::customers::status::subject(),
            record_id: id,
            submitted_by: o.rep1,
            owner_id: Some(o.rep1),
            payload: serde_json::json!({}),
            picks: Default::default(),
        },
        None,
    )
    .await;
    assert!(matches!(again, Err(crm::workflow::FlowError::AlreadyPending)));
    drop(tx);
    // Back to 6 and up to 7 again: the first request was withdrawn on the way, a new one asks.
    set_level(&mut rep, id, "丁公司", "6").await;
    set_level(&mut rep, id, "丁公司", "7").await;
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM approval_instances ORDER BY id").fetch_all(&o.app.db).await.unwrap();
    assert_eq!(statuses, vec!["withdrawn", "pending"]);
    assert_eq!(notifications(&o.app, o.mgr, "customer_level_changed").await, 3);

    // The top status (战略伙伴) cannot be raised: level 7 just stays.
    let top = customer(&o.app, "戊公司", o.rep1, "partner", 6).await;
    set_level(&mut rep, top, "戊公司", "7").await;
    assert_eq!(state(&o.app, top).await, ("partner".into(), 7));
    assert_eq!(o.app.count(&format!("SELECT count(*) FROM approval_instances WHERE record_id = {top}")).await, 0);
    assert!(!rep.get(&format!("/customers/{top}")).await.has("#approval-badge"));
}

#[tokio::test]
async fn the_status_itself_changes_only_through_approval_or_a_super_admin() {
    let o = org().await;
    let id = customer(&o.app, "己公司", o.rep1, "invalid", 1).await;
    let potential: i64 =
        sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'customer_status' AND code = 'potential'")
            .fetch_one(&o.app.db)
            .await
            .unwrap();
    let mut rep = o.app.login("rep1").await;
    rep.post(
        &format!("/customers/{id}"),
        &[("name", "己公司"), ("kind", "enterprise"), ("level", "1"), ("status_id", &potential.to_string())],
    )
    .await;
    assert_eq!(state(&o.app, id).await, ("invalid".into(), 1));
    // Freezing is refused at a status that cannot be frozen.
    rep.post(&format!("/customers/{id}/freeze"), &[]).await;
    let frozen: bool =
        sqlx::query_scalar("SELECT frozen FROM customers WHERE id = $1").bind(id).fetch_one(&o.app.db).await.unwrap();
    assert!(!frozen);

    let mut admin = o.app.login("admin").await;
    admin
        .post(
            &format!("/customers/{id}"),
            &[("name", "己公司"), ("kind", "enterprise"), ("level", "1"), ("status_id", &potential.to_string())],
        )
        .await;
    assert_eq!(state(&o.app, id).await, ("potential".into(), 1));
    assert_eq!(notifications(&o.app, o.mgr, "customer_status_changed").await, 1, "the owner's superior hears of it");
    let history = admin.get(&format!("/customers/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("把 客户状态 从 无效客户 改为 潜在客户"), "{history}");
    // Now it can be frozen.
    rep.post(&format!("/customers/{id}/freeze"), &[]).await;
    let frozen: bool =
        sqlx::query_scalar("SELECT frozen FROM customers WHERE id = $1").bind(id).fetch_one(&o.app.db).await.unwrap();
    assert!(frozen);
}

#[tokio::test]
async fn new_customers_start_at_the_first_status_level_one() {
    let o = org().await;
    let mut rep = o.app.login("rep1").await;
    rep.post("/customers", &[("name", "庚公司"), ("kind", "enterprise"), ("level", "7")]).await;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE name = '庚公司'").fetch_one(&o.app.db).await.unwrap();
    assert_eq!(state(&o.app, id).await, ("invalid".into(), 1));
    assert_eq!(o.app.count("SELECT count(*) FROM approval_instances").await, 0);
}

#[tokio::test]
async fn with_the_flow_disabled_level_seven_upgrades_at_once() {
    let o = org().await;
    sqlx::query("UPDATE approval_flows SET enabled = false WHERE subject = 'customer_status'")
        .execute(&o.app.db)
        .await
        .unwrap();
    let id = customer(&o.app, "辛公司", o.rep1, "basic", 6).await;
    let mut rep = o.app.login("rep1").await;
    set_level(&mut rep, id, "辛公司", "7").await;
    assert_eq!(state(&o.app, id).await, ("potential".into(), 1));
    let inst = instance_of(&o.app, id).await;
    assert_eq!(status_of(&o.app, inst).await, "approved");
    assert_eq!(notifications(&o.app, o.mgr, "customer_status_changed").await, 1);
}

async fn instance_status(app: &TestApp, inst: i64) -> String {
    status_of(app, inst).await
}

#[tokio::test]
async fn a_request_that_no_longer_applies_is_withdrawn_automatically() {
    let o = org().await;
    let id = customer(&o.app, "壬公司", o.rep1, "basic", 6).await;
    let mut rep = o.app.login("rep1").await;
    set_level(&mut rep, id, "壬公司", "7").await;
    let inst = instance_of(&o.app, id).await;
    // The level leaves 7 (a super admin edits it back to 5): the request is taken back.
    let mut admin = o.app.login("admin").await;
    set_level(&mut admin, id, "壬公司", "5").await;
    assert_eq!(instance_status(&o.app, inst).await, "withdrawn");
    assert_eq!(
        o.app
            .count(&format!("SELECT count(*) FROM approval_tasks WHERE instance_id = {inst} AND status = 'pending'"))
            .await,
        0
    );
    assert_eq!(notifications(&o.app, o.rep1, "approval_withdrawn_stale").await, 1, "the submitter is told");
    assert_eq!(notifications(&o.app, o.mgr, "approval_withdrawn_stale").await, 1, "and the approver");
    let history = rep.get(&format!("/customers/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("自动撤回了审批"), "{history}");
    assert!(history.contains("客户级别已不是 7 级"), "{history}");
    let tl = rep.get(&format!("/customers/{id}?tab=timeline&kind=approval")).await.text_of("#timeline");
    assert!(tl.contains("审批已自动撤回：客户级别已不是 7 级"), "{tl}");
    let bell = rep.get("/notifications").await.text_of("main");
    assert!(bell.contains("已自动撤回：客户级别已不是 7 级"), "{bell}");
    // It cannot go round again at level 5, and the card offers no resubmission.
    assert!(!rep.get(&format!("/customers/{id}")).await.has("#approval-resubmit"));
    rep.post(&format!("/approvals/{inst}/resubmit"), &[]).await;
    assert_eq!(instance_status(&o.app, inst).await, "withdrawn");

    // A super admin sets the status directly while a request is pending: withdrawn too.
    set_level(&mut rep, id, "壬公司", "7").await;
    let second = instance_of(&o.app, id).await;
    assert_ne!(second, inst);
    let partner: i64 =
        sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'customer_status' AND code = 'partner'")
            .fetch_one(&o.app.db)
            .await
            .unwrap();
    admin
        .post(
            &format!("/customers/{id}"),
            &[("name", "壬公司"), ("kind", "enterprise"), ("level", "7"), ("status_id", &partner.to_string())],
        )
        .await
        .assert_redirect(&format!("/customers/{id}"));
    assert_eq!(instance_status(&o.app, second).await, "withdrawn");
    assert_eq!(notifications(&o.app, o.rep1, "approval_withdrawn_stale").await, 2);
    let reasons = o
        .app
        .count(&format!(
            "SELECT count(*) FROM operation_logs WHERE entity = 'customer' AND entity_id = {id}
               AND action = 'approval_withdraw_stale' AND changes::text LIKE '%客户状态已被直接修改%'"
        ))
        .await;
    assert_eq!(reasons, 1);
    assert_eq!(state(&o.app, id).await, ("partner".into(), 7));
}

#[tokio::test]
async fn a_submitter_picks_step_on_the_status_flow_waits_for_the_owner_to_choose() {
    let o = org().await;
    super::set_flow(&o.app, "customer_status", "first", vec![super::S::new("submitter_picks").role("manager")]).await;
    let mgr2 = o.app.user("mgr2", o.north, Some(o.director), &["manager"]).await;
    let id = customer(&o.app, "癸公司", o.rep1, "basic", 6).await;
    let mut rep = o.app.login("rep1").await;
    set_level(&mut rep, id, "癸公司", "7").await;
    let inst = instance_of(&o.app, id).await;
    assert_eq!(status_of(&o.app, inst).await, "pending");
    assert_eq!(o.app.count("SELECT count(*) FROM approval_tasks").await, 0, "nobody asked yet, no fallback");
    assert_eq!(notifications(&o.app, o.rep1, "approval_pick").await, 1);
    let card = rep.get(&format!("/customers/{id}")).await;
    assert_eq!(card.text_of("#approval-badge"), "待选择审批人：基础客户 → 潜在客户");
    assert_eq!(card.attr("#approval-pick", "href").unwrap(), format!("/approvals/{inst}#pick"));

    // The approval page offers the allowed set.
    let page = rep.get(&format!("/approvals/{inst}")).await;
    assert!(page.has("#pick-form"));
    assert!(page.has(&format!("#pick-form input[name=picks_1][value='{}']", o.mgr)));
    assert!(page.has(&format!("#pick-form input[name=picks_1][value='{mgr2}']")));
    assert!(!page.has(&format!("#pick-form input[value='{}']", o.rep2)));
    assert!(page.text_of("#approval-progress").contains("待选择审批人"));
    // Nobody else picks; a pick outside the set or none at all is refused.
    o.app
        .login("mgr")
        .await
        .post(&format!("/approvals/{inst}/pick"), &[("picks_1", &o.mgr.to_string())])
        .await
        .assert_status(403);
    rep.post(&format!("/approvals/{inst}/pick"), &[("picks_1", &o.rep2.to_string())]).await;
    assert!(rep.get(&format!("/approvals/{inst}")).await.text_of(".flash-error").contains("不在允许的范围内"));
    rep.post(&format!("/approvals/{inst}/pick"), &[]).await;
    assert_eq!(o.app.count("SELECT count(*) FROM approval_tasks").await, 0);

    rep.post(&format!("/approvals/{inst}/pick"), &[("picks_1", &mgr2.to_string())])
        .await
        .assert_redirect(&format!("/approvals/{inst}"));
    assert_eq!(notifications(&o.app, mgr2, "approval_task").await, 1);
    let card = rep.get(&format!("/customers/{id}")).await;
    assert_eq!(card.text_of("#approval-badge"), "待审批：基础客户 → 潜在客户");
    assert!(!card.has("#approval-pick"));
    let history = rep.get(&format!("/customers/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("选择了审批人"), "{history}");
    let mut m2 = o.app.login("mgr2").await;
    m2.post(&format!("/approvals/{inst}/approve"), &[]).await.assert_redirect(&format!("/approvals/{inst}"));
    assert_eq!(state(&o.app, id).await, ("potential".into(), 1));
}
