//! The engine on its own: step kinds, modes, conditions, fallbacks, withdraw, resubmit, races.

use std::collections::BTreeMap;

use crm::workflow::{FlowError, Outcome};
use serde_json::json;

use super::{S, contract, decide, org, pending_approvers, set_flow, status_of, submit};

#[tokio::test]
async fn named_users_any_one_settles_the_step_and_cancels_the_others() {
    let o = org().await;
    let mgr2 = o.app.user("mgr2", o.north, Some(o.director), &["manager"]).await;
    set_flow(&o.app, "contract", "first", vec![S::new("users").users(&[mgr2, o.mgr])]).await;
    let done = submit(&o.app, contract(1, o.rep1, "100")).await.unwrap();
    assert_eq!(done.outcome, Outcome::Pending);
    assert_eq!(pending_approvers(&o.app, done.instance_id).await, vec![o.mgr, mgr2]);
    assert_eq!(super::notifications(&o.app, o.mgr, "approval_task").await, 1);
    assert_eq!(super::notifications(&o.app, mgr2, "approval_task").await, 1);

    let d = decide(&o.app, done.instance_id, mgr2, true, "可以").await.unwrap();
    assert_eq!(d.outcome, Outcome::Approved);
    assert_eq!(status_of(&o.app, done.instance_id).await, "approved");
    let cancelled: i64 = o.app.count("SELECT count(*) FROM approval_tasks WHERE status = 'cancelled'").await;
    assert_eq!(cancelled, 1, "the other approver's task is no longer needed");
    assert_eq!(super::notifications(&o.app, o.rep1, "approval_approved").await, 1);
    // The late approver learns who was first.
    match decide(&o.app, done.instance_id, o.mgr, true, "").await {
        Err(FlowError::HandledBy(name)) => assert_eq!(name, "用户mgr2"),
        other => panic!("expected handled-by, got {other:?}"),
    }
}

#[tokio::test]
async fn role_any_and_role_all() {
    let o = org().await;
    let mgr2 = o.app.user("mgr2", o.north, Some(o.director), &["manager"]).await;
    // Any: one manager is enough.
    set_flow(&o.app, "contract", "first", vec![S::new("role").role("manager")]).await;
    let a = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap();
    assert_eq!(pending_approvers(&o.app, a.instance_id).await, vec![o.mgr, mgr2]);
    assert_eq!(decide(&o.app, a.instance_id, mgr2, true, "").await.unwrap().outcome, Outcome::Approved);

    // All (会签): every manager must approve; a disabled holder is not asked.
    let mgr3 = o.app.user("mgr3", o.north, None, &["manager"]).await;
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(mgr3).execute(&o.app.db).await.unwrap();
    set_flow(&o.app, "contract", "first", vec![S::new("role").role("manager").mode("all")]).await;
    let b = submit(&o.app, contract(2, o.rep1, "1")).await.unwrap();
    assert_eq!(pending_approvers(&o.app, b.instance_id).await, vec![o.mgr, mgr2]);
    assert_eq!(decide(&o.app, b.instance_id, o.mgr, true, "").await.unwrap().outcome, Outcome::Pending);
    assert_eq!(status_of(&o.app, b.instance_id).await, "pending");
    assert_eq!(pending_approvers(&o.app, b.instance_id).await, vec![mgr2]);
    assert_eq!(decide(&o.app, b.instance_id, mgr2, true, "").await.unwrap().outcome, Outcome::Approved);

    // All, and one rejects: the instance ends rejected.
    let c = submit(&o.app, contract(3, o.rep1, "1")).await.unwrap();
    decide(&o.app, c.instance_id, o.mgr, true, "").await.unwrap();
    assert_eq!(decide(&o.app, c.instance_id, mgr2, false, "价格太低").await.unwrap().outcome, Outcome::Rejected);
    assert_eq!(status_of(&o.app, c.instance_id).await, "rejected");
    assert!(pending_approvers(&o.app, c.instance_id).await.is_empty());
}

#[tokio::test]
async fn superior_at_level_two_follows_the_owner_chain() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior").level(2)]).await;
    // Submitted by the manager for rep1's record: the chain is the owner's.
    let mut s = contract(1, o.mgr, "1");
    s.owner_id = Some(o.rep1);
    let done = submit(&o.app, s).await.unwrap();
    assert_eq!(pending_approvers(&o.app, done.instance_id).await, vec![o.director]);
    // Without an owner, the submitter's chain: rep1 → mgr → director.
    let done = submit(&o.app, contract(2, o.rep1, "1")).await.unwrap();
    assert_eq!(pending_approvers(&o.app, done.instance_id).await, vec![o.director]);
}

#[tokio::test]
async fn consecutive_superiors_one_level_after_the_other() {
    let o = org().await;
    // Up to level 3, but the chain above rep1 has two: mgr, then director.
    set_flow(&o.app, "contract", "first", vec![S::new("superiors_up_to").level(3)]).await;
    let done = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap();
    let id = done.instance_id;
    let stages: i64 =
        o.app.count(&format!("SELECT jsonb_array_length(plan)::bigint FROM approval_instances WHERE id = {id}")).await;
    assert_eq!(stages, 2);
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.mgr]);
    // The director cannot decide before the manager.
    assert!(matches!(decide(&o.app, id, o.director, true, "").await, Err(FlowError::Forbidden)));
    assert_eq!(decide(&o.app, id, o.mgr, true, "").await.unwrap().outcome, Outcome::Pending);
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.director]);
    assert_eq!(super::notifications(&o.app, o.director, "approval_task").await, 1);
    assert_eq!(decide(&o.app, id, o.director, true, "").await.unwrap().outcome, Outcome::Approved);
}

#[tokio::test]
async fn submitter_picks_within_the_allowed_set() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("submitter_picks").users(&[o.mgr, o.director]).mode("all")])
        .await;
    let mut s = contract(1, o.rep1, "1");
    s.picks = BTreeMap::from([(1, vec![o.rep2])]);
    assert!(matches!(submit(&o.app, s).await, Err(FlowError::Invalid("approval.error.pick_outside"))));
    assert_eq!(o.app.count("SELECT count(*) FROM approval_instances").await, 0, "nothing half-written");

    let mut s = contract(1, o.rep1, "1");
    s.picks = BTreeMap::from([(1, vec![o.director, o.mgr])]);
    let done = submit(&o.app, s).await.unwrap();
    assert_eq!(pending_approvers(&o.app, done.instance_id).await, vec![o.director, o.mgr]);
    decide(&o.app, done.instance_id, o.director, true, "").await.unwrap();
    assert_eq!(decide(&o.app, done.instance_id, o.mgr, true, "").await.unwrap().outcome, Outcome::Approved);

    // Role holders are in the allowed set too.
    let mgr2 = o.app.user("mgr2", o.north, Some(o.director), &["manager"]).await;
    set_flow(&o.app, "contract", "first", vec![S::new("submitter_picks").role("manager")]).await;
    let mut s = contract(2, o.rep1, "1");
    s.picks = BTreeMap::from([(1, vec![mgr2])]);
    let done = submit(&o.app, s).await.unwrap();
    assert_eq!(pending_approvers(&o.app, done.instance_id).await, vec![mgr2]);
    // Holders of a role without `approve` are not: reps cannot be picked.
    set_flow(&o.app, "contract", "first", vec![S::new("submitter_picks").users(&[o.rep2, o.mgr])]).await;
    let mut s = contract(3, o.rep1, "1");
    s.picks = BTreeMap::from([(1, vec![o.rep2])]);
    assert!(matches!(submit(&o.app, s).await, Err(FlowError::Invalid("approval.error.pick_outside"))));
}

#[tokio::test]
async fn a_picks_step_without_picks_waits_for_the_submitter_to_choose() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior"), S::new("submitter_picks").users(&[o.director])])
        .await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    decide(&o.app, id, o.mgr, true, "").await.unwrap();
    // Nobody was picked: no task, no fallback to the super admins; the submitter is asked.
    assert!(pending_approvers(&o.app, id).await.is_empty());
    assert_eq!(status_of(&o.app, id).await, "pending");
    assert_eq!(super::notifications(&o.app, o.rep1, "approval_pick").await, 1);
    assert_eq!(super::notifications(&o.app, o.admin, "approval_task").await, 0);
    let mut tx = o.app.db.begin().await.unwrap();
    // Only the submitter side picks, and only from the allowed set.
    assert!(matches!(crm::workflow::pick(&mut tx, id, o.rep2, &[o.director], None).await, Err(FlowError::Forbidden)));
    assert!(matches!(
        crm::workflow::pick(&mut tx, id, o.rep1, &[o.mgr], None).await,
        Err(FlowError::Invalid("approval.error.pick_outside"))
    ));
    crm::workflow::pick(&mut tx, id, o.rep1, &[o.director], None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.director]);
    // Picking again is refused once the stage runs.
    let mut tx = o.app.db.begin().await.unwrap();
    assert!(matches!(crm::workflow::pick(&mut tx, id, o.rep1, &[o.director], None).await, Err(FlowError::State(_))));
    drop(tx);
    assert_eq!(decide(&o.app, id, o.director, true, "").await.unwrap().outcome, Outcome::Approved);
}

/// Give `user` a role of its own holding only `approve` on `module`.
async fn grant_approve(app: &super::common::TestApp, user: i64, module: &str) -> i64 {
    let role: i64 = sqlx::query_scalar("INSERT INTO roles (name) VALUES ('组长' || $1) RETURNING id")
        .bind(user.to_string())
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO role_permissions (role_id, module, action) VALUES ($1, $2, 'approve')")
        .bind(role)
        .bind(module)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
        .bind(user)
        .bind(role)
        .execute(&app.db)
        .await
        .unwrap();
    role
}

#[tokio::test]
async fn superiors_without_the_approve_permission_are_skipped() {
    let o = org().await;
    // 华东: junior → lead (a rep: no approve) → mgr → director.
    let lead = o.app.user("lead", o.east, Some(o.mgr), &["rep"]).await;
    let junior = o.app.user("junior", o.east, Some(lead), &["rep"]).await;

    // Direct superior without approve: nobody is left at that stage → the super admins.
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let a = submit(&o.app, contract(1, junior, "1")).await.unwrap().instance_id;
    assert_eq!(pending_approvers(&o.app, a).await, vec![o.admin]);
    let fallback: bool = sqlx::query_scalar("SELECT bool_and(fallback) FROM approval_tasks WHERE instance_id = $1")
        .bind(a)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert!(fallback);
    assert!(matches!(decide(&o.app, a, lead, true, "").await, Err(FlowError::Forbidden)));

    // Consecutive superiors: the rep in between is skipped, the next superior asks.
    set_flow(&o.app, "contract", "first", vec![S::new("superiors_up_to").level(2)]).await;
    let b = submit(&o.app, contract(2, junior, "1")).await.unwrap().instance_id;
    assert_eq!(pending_approvers(&o.app, b).await, vec![o.mgr]);
    let stages: i64 =
        o.app.count(&format!("SELECT jsonb_array_length(plan)::bigint FROM approval_instances WHERE id = {b}")).await;
    assert_eq!(stages, 1, "only the superior who may approve");
    assert_eq!(decide(&o.app, b, o.mgr, true, "").await.unwrap().outcome, Outcome::Approved);

    // A role step: holders without approve are left out, the others asked.
    set_flow(&o.app, "contract", "first", vec![S::new("users").users(&[lead, o.director]).mode("all")]).await;
    let c = submit(&o.app, contract(3, junior, "1")).await.unwrap().instance_id;
    assert_eq!(pending_approvers(&o.app, c).await, vec![o.director]);

    // Granted approve (on contracts only), the superior gets the task.
    let role = grant_approve(&o.app, lead, "contracts").await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let d = submit(&o.app, contract(4, junior, "1")).await.unwrap().instance_id;
    assert_eq!(pending_approvers(&o.app, d).await, vec![lead]);
    // Approve on contracts says nothing about payments.
    set_flow(&o.app, "payment", "first", vec![S::new("superior")]).await;
    let mut p = contract(5, junior, "1");
    p.subject = crm::modules::payments::subject();
    let e = submit(&o.app, p).await.unwrap().instance_id;
    assert_eq!(pending_approvers(&o.app, e).await, vec![o.admin]);

    // Losing the permission before deciding: 403, by the page too.
    sqlx::query("DELETE FROM role_permissions WHERE role_id = $1").bind(role).execute(&o.app.db).await.unwrap();
    assert!(matches!(decide(&o.app, d, lead, true, "").await, Err(FlowError::Forbidden)));
    let mut c = o.app.login("lead").await;
    assert!(!c.get(&format!("/approvals/{d}")).await.has("#decide-form"));
    c.post(&format!("/approvals/{d}/approve"), &[]).await.assert_status(403);
    c.post(&format!("/approvals/{d}/reject"), &[]).await.assert_status(403);
    assert_eq!(status_of(&o.app, d).await, "pending");
}

#[tokio::test]
async fn conditions_on_amount_and_department_decide_which_steps_apply() {
    let o = org().await;
    set_flow(
        &o.app,
        "contract",
        "first",
        vec![
            S::new("superior"),
            S::new("users").users(&[o.director]).when(json!({ "amount_gt": "100000" })),
            S::new("users").users(&[o.rep2]).when(json!({ "dept_ids": [o.north] })),
        ],
    )
    .await;
    // Small amount from 华东: only the direct superior.
    let small = submit(&o.app, contract(1, o.rep1, "50000.00")).await.unwrap();
    let plan: i64 = o
        .app
        .count(&format!(
            "SELECT jsonb_array_length(plan)::bigint FROM approval_instances WHERE id = {}",
            small.instance_id
        ))
        .await;
    assert_eq!(plan, 1);
    assert_eq!(decide(&o.app, small.instance_id, o.mgr, true, "").await.unwrap().outcome, Outcome::Approved);
    // Exactly the threshold is not above it.
    let edge = submit(&o.app, contract(2, o.rep1, "100000")).await.unwrap();
    assert_eq!(
        o.app
            .count(&format!(
                "SELECT jsonb_array_length(plan)::bigint FROM approval_instances WHERE id = {}",
                edge.instance_id
            ))
            .await,
        1
    );
    // Above it: the director signs after the manager.
    let big = submit(&o.app, contract(3, o.rep1, "100000.01")).await.unwrap();
    assert_eq!(decide(&o.app, big.instance_id, o.mgr, true, "").await.unwrap().outcome, Outcome::Pending);
    assert_eq!(pending_approvers(&o.app, big.instance_id).await, vec![o.director]);
    assert_eq!(decide(&o.app, big.instance_id, o.director, true, "").await.unwrap().outcome, Outcome::Approved);
    // From 华北 (a sub-department of the listed one would count too): the department step applies.
    let north = submit(&o.app, contract(4, o.north_rep, "10")).await.unwrap();
    let plan: i64 = o
        .app
        .count(&format!(
            "SELECT jsonb_array_length(plan)::bigint FROM approval_instances WHERE id = {}",
            north.instance_id
        ))
        .await;
    assert_eq!(plan, 2);
}

#[tokio::test]
async fn no_approver_goes_to_the_super_admins() {
    let o = org().await;
    let admin2 = o.app.user("admin2", o.app.root_dept().await, None, &["super"]).await;
    let gone = o.app.user("gone", o.app.root_dept().await, None, &["super"]).await;
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(gone).execute(&o.app.db).await.unwrap();
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    // Top of the chain: north_rep has no superior.
    let done = submit(&o.app, contract(1, o.north_rep, "1")).await.unwrap();
    assert_eq!(pending_approvers(&o.app, done.instance_id).await, vec![o.admin, admin2]);
    let fallback: bool =
        sqlx::query_scalar("SELECT bool_and(fallback) FROM approval_tasks").fetch_one(&o.app.db).await.unwrap();
    assert!(fallback);
    // Any one of them settles it.
    assert_eq!(decide(&o.app, done.instance_id, admin2, true, "").await.unwrap().outcome, Outcome::Approved);

    // A disabled superior: the same.
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(o.mgr).execute(&o.app.db).await.unwrap();
    let done = submit(&o.app, contract(2, o.rep1, "1")).await.unwrap();
    assert_eq!(pending_approvers(&o.app, done.instance_id).await, vec![o.admin, admin2]);
}

#[tokio::test]
async fn no_enabled_flow_approves_at_once() {
    let o = org().await;
    // The seeded contract flow is disabled.
    let done = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap();
    assert_eq!(done.outcome, Outcome::Approved);
    assert_eq!(status_of(&o.app, done.instance_id).await, "approved");
    assert_eq!(o.app.count("SELECT count(*) FROM approval_tasks").await, 0);
    // An enabled flow whose only step does not apply: the same.
    set_flow(&o.app, "contract", "first", vec![S::new("superior").when(json!({ "amount_gt": "1000" }))]).await;
    assert_eq!(submit(&o.app, contract(2, o.rep1, "1")).await.unwrap().outcome, Outcome::Approved);
    // A disabled flow is not used.
    sqlx::query("UPDATE approval_flows SET enabled = false WHERE subject = 'contract'")
        .execute(&o.app.db)
        .await
        .unwrap();
    assert_eq!(submit(&o.app, contract(3, o.rep1, "5000")).await.unwrap().outcome, Outcome::Approved);
}

#[tokio::test]
async fn one_pending_per_record_and_withdraw() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let done = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap();
    assert!(matches!(submit(&o.app, contract(1, o.rep1, "1")).await, Err(FlowError::AlreadyPending)));
    // Someone else cannot withdraw it.
    let mut tx = o.app.db.begin().await.unwrap();
    assert!(matches!(
        crm::workflow::withdraw(&mut tx, done.instance_id, o.rep2, None).await,
        Err(FlowError::Forbidden)
    ));
    drop(tx);
    let mut tx = o.app.db.begin().await.unwrap();
    let w = crm::workflow::withdraw(&mut tx, done.instance_id, o.rep1, None).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.outcome, Outcome::Withdrawn);
    assert_eq!(status_of(&o.app, done.instance_id).await, "withdrawn");
    assert_eq!(super::notifications(&o.app, o.mgr, "approval_withdrawn").await, 1);
    // The approver comes too late.
    assert!(
        matches!(decide(&o.app, done.instance_id, o.mgr, true, "").await, Err(FlowError::HandledBy(n)) if n == "用户rep1")
    );
    // Withdrawing twice is refused; a new submission is possible again.
    let mut tx = o.app.db.begin().await.unwrap();
    assert!(matches!(crm::workflow::withdraw(&mut tx, done.instance_id, o.rep1, None).await, Err(FlowError::State(_))));
    drop(tx);
    submit(&o.app, contract(1, o.rep1, "1")).await.unwrap();
    // The withdrawn one cannot go round again beside it; the caller's transaction stays usable.
    let mut tx = o.app.db.begin().await.unwrap();
    let again = crm::workflow::resubmit(&mut tx, done.instance_id, o.rep1, None, None).await;
    assert!(matches!(again, Err(FlowError::AlreadyPending)), "{again:?}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_instances").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(n, 2);
    drop(tx);
    let audits = o.app.count("SELECT count(*) FROM operation_logs WHERE entity = 'contract' AND action IN ('approval_submit', 'approval_withdraw')").await;
    assert_eq!(audits, 3);
}

async fn resubmit(app: &super::common::TestApp, id: i64, actor: i64) -> Result<crm::workflow::Done, FlowError> {
    let mut tx = app.db.begin().await.unwrap();
    let r = crm::workflow::resubmit(&mut tx, id, actor, None, None).await;
    if r.is_ok() {
        tx.commit().await.unwrap();
    }
    r
}

#[tokio::test]
async fn a_rejection_resubmits_from_the_first_step() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior"), S::new("superior").level(2)]).await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    decide(&o.app, id, o.mgr, true, "").await.unwrap();
    assert_eq!(decide(&o.app, id, o.director, false, "再谈谈").await.unwrap().outcome, Outcome::Rejected);
    assert_eq!(super::notifications(&o.app, o.rep1, "approval_rejected").await, 1);
    // Only the submitter side resubmits, and only after a rejection.
    assert!(matches!(resubmit(&o.app, id, o.rep2).await, Err(FlowError::Forbidden)));
    assert_eq!(resubmit(&o.app, id, o.rep1).await.unwrap().outcome, Outcome::Pending);
    assert!(matches!(resubmit(&o.app, id, o.rep1).await, Err(FlowError::State(_))));
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.mgr], "back to the first step");
    let round: i32 = sqlx::query_scalar("SELECT round FROM approval_instances WHERE id = $1")
        .bind(id)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert_eq!(round, 2);
    decide(&o.app, id, o.mgr, true, "").await.unwrap();
    assert_eq!(decide(&o.app, id, o.director, true, "").await.unwrap().outcome, Outcome::Approved);
}

#[tokio::test]
async fn a_rejection_resubmits_from_the_rejected_step_when_the_flow_says_so() {
    let o = org().await;
    set_flow(&o.app, "contract", "rejected_step", vec![S::new("superior"), S::new("superior").level(2)]).await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    decide(&o.app, id, o.mgr, true, "").await.unwrap();
    decide(&o.app, id, o.director, false, "再谈谈").await.unwrap();
    resubmit(&o.app, id, o.rep1).await.unwrap();
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.director], "straight back to the director");
    assert_eq!(decide(&o.app, id, o.director, true, "").await.unwrap().outcome, Outcome::Approved);
    // A rejection at the first step starts there again.
    let id = submit(&o.app, contract(2, o.rep1, "1")).await.unwrap().instance_id;
    decide(&o.app, id, o.mgr, false, "不行").await.unwrap();
    resubmit(&o.app, id, o.rep1).await.unwrap();
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.mgr]);
}

#[tokio::test]
async fn two_approvers_deciding_at_the_same_moment_give_one_result() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("users").users(&[o.mgr, o.director])]).await;
    for round in 0..5 {
        let id = submit(&o.app, contract(100 + round, o.rep1, "1")).await.unwrap().instance_id;
        let (a, b) =
            tokio::join!(decide(&o.app, id, o.mgr, true, "同意"), decide(&o.app, id, o.director, false, "不同意"));
        let oks = [a.is_ok(), b.is_ok()].iter().filter(|x| **x).count();
        assert_eq!(oks, 1, "exactly one decision wins: {a:?} / {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(matches!(loser, Err(FlowError::HandledBy(_))), "the second is told: {loser:?}");
        let decided: i64 = o
            .app
            .count(&format!(
                "SELECT count(*) FROM approval_tasks WHERE instance_id = {id} AND status IN ('approved', 'rejected')"
            ))
            .await;
        assert_eq!(decided, 1);
        assert_ne!(status_of(&o.app, id).await, "pending");
    }
}

#[tokio::test]
async fn resubmitting_from_the_first_step_plans_again_with_the_new_superior() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    decide(&o.app, id, o.mgr, false, "换人审").await.unwrap();
    // rep1 now reports to the director; the flow also gained a step meanwhile.
    sqlx::query("UPDATE users SET superior_id = $1 WHERE id = $2")
        .bind(o.director)
        .bind(o.rep1)
        .execute(&o.app.db)
        .await
        .unwrap();
    let flow = set_flow(&o.app, "contract", "first", vec![S::new("superior"), S::new("users").users(&[o.mgr])]).await;
    resubmit(&o.app, id, o.rep1).await.unwrap();
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.director], "the superior as the org is now");
    let (flow_id, stages): (Option<i64>, i64) =
        sqlx::query_as("SELECT flow_id, jsonb_array_length(plan)::bigint FROM approval_instances WHERE id = $1")
            .bind(id)
            .fetch_one(&o.app.db)
            .await
            .unwrap();
    assert_eq!((flow_id, stages), (Some(flow), 2), "the current flow's steps");
    decide(&o.app, id, o.director, true, "").await.unwrap();
    assert_eq!(pending_approvers(&o.app, id).await, vec![o.mgr]);
    assert_eq!(decide(&o.app, id, o.mgr, true, "").await.unwrap().outcome, Outcome::Approved);
}

#[tokio::test]
async fn resubmitting_from_the_rejected_step_keeps_the_decided_stages_and_asks_the_new_superior() {
    let o = org().await;
    let mgr2 = o.app.user("mgr2", o.east, Some(o.director), &["manager"]).await;
    set_flow(&o.app, "contract", "rejected_step", vec![S::new("users").users(&[o.director]), S::new("superior")]).await;
    let id = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    decide(&o.app, id, o.director, true, "").await.unwrap();
    decide(&o.app, id, o.mgr, false, "不同意").await.unwrap();
    sqlx::query("UPDATE users SET superior_id = $1 WHERE id = $2")
        .bind(mgr2)
        .bind(o.rep1)
        .execute(&o.app.db)
        .await
        .unwrap();
    resubmit(&o.app, id, o.rep1).await.unwrap();
    assert_eq!(pending_approvers(&o.app, id).await, vec![mgr2], "the rejected stage asks the superior as now");
    let director_tasks = o
        .app
        .count(&format!(
            "SELECT count(*) FROM approval_tasks WHERE instance_id = {id} AND approver_id = {}",
            o.director
        ))
        .await;
    assert_eq!(director_tasks, 1, "the decided first stage is not asked again");
    let first: serde_json::Value =
        sqlx::query_scalar("SELECT plan->0->'approvers' FROM approval_instances WHERE id = $1")
            .bind(id)
            .fetch_one(&o.app.db)
            .await
            .unwrap();
    assert_eq!(first, serde_json::json!([o.director]));
    assert_eq!(decide(&o.app, id, mgr2, true, "").await.unwrap().outcome, Outcome::Approved);
}

#[tokio::test]
async fn two_approvers_of_an_all_stage_deciding_at_once_both_count_and_the_stage_completes_once() {
    let o = org().await;
    let mgr2 = o.app.user("mgr2", o.north, Some(o.director), &["manager"]).await;
    set_flow(
        &o.app,
        "contract",
        "first",
        vec![S::new("users").users(&[o.mgr, o.director]).mode("all"), S::new("users").users(&[mgr2])],
    )
    .await;
    for round in 0..5 {
        let id = submit(&o.app, contract(200 + round, o.rep1, "1")).await.unwrap().instance_id;
        let (a, b) =
            tokio::join!(decide(&o.app, id, o.mgr, true, "同意"), decide(&o.app, id, o.director, true, "同意"));
        let (a, b) = (a.unwrap(), b.unwrap());
        let outcomes = [a.outcome, b.outcome];
        assert!(outcomes.iter().all(|o| *o == Outcome::Pending), "{outcomes:?}");
        let approved = o
            .app
            .count(&format!(
                "SELECT count(*) FROM approval_tasks WHERE instance_id = {id} AND stage = 1 AND status = 'approved'"
            ))
            .await;
        assert_eq!(approved, 2, "both decisions are recorded");
        let next =
            o.app.count(&format!("SELECT count(*) FROM approval_tasks WHERE instance_id = {id} AND stage = 2")).await;
        assert_eq!(next, 1, "the next stage starts exactly once");
        let step: i32 = sqlx::query_scalar("SELECT current_step FROM approval_instances WHERE id = $1")
            .bind(id)
            .fetch_one(&o.app.db)
            .await
            .unwrap();
        assert_eq!(step, 2);
    }
    assert_eq!(super::notifications(&o.app, mgr2, "approval_task").await, 5);
}

#[tokio::test]
async fn a_disabled_approver_hands_the_pending_tasks_to_the_super_admins() {
    let o = org().await;
    set_flow(&o.app, "contract", "first", vec![S::new("superior")]).await;
    let a = submit(&o.app, contract(1, o.rep1, "1")).await.unwrap().instance_id;
    set_flow(&o.app, "contract", "first", vec![S::new("users").users(&[o.mgr, o.director]).mode("all")]).await;
    let b = submit(&o.app, contract(2, o.rep1, "1")).await.unwrap().instance_id;
    // The admin disables the manager from the users page.
    let mut admin = o.app.login("admin").await;
    admin.post(&format!("/admin/users/{}/disable", o.mgr), &[("hand_to", "")]).await.assert_redirect("/admin/users");
    assert_eq!(pending_approvers(&o.app, a).await, vec![o.admin]);
    assert_eq!(pending_approvers(&o.app, b).await, vec![o.admin, o.director]);
    let skipped = o
        .app
        .count(&format!("SELECT count(*) FROM approval_tasks WHERE approver_id = {} AND status = 'skipped'", o.mgr))
        .await;
    assert_eq!(skipped, 2);
    let fallback: bool = sqlx::query_scalar("SELECT bool_and(fallback) FROM approval_tasks WHERE approver_id = $1")
        .bind(o.admin)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert!(fallback, "marked as passed to the super admins");
    assert_eq!(super::notifications(&o.app, o.admin, "approval_task").await, 2, "each task handed on is announced");
    let history = o
        .app
        .count("SELECT count(*) FROM operation_logs WHERE entity = 'contract' AND action = 'approval_handover'")
        .await;
    assert_eq!(history, 2);
    let page = admin.get(&format!("/approvals/{a}")).await;
    assert!(page.has("#decide-form"));
    assert!(page.text_of("#approval-progress").contains("转交超级管理员"));
    // The super admin decides the single stage...
    admin.post(&format!("/approvals/{a}/approve"), &[]).await.assert_redirect(&format!("/approvals/{a}"));
    assert_eq!(status_of(&o.app, a).await, "approved");
    // ...and stands in for the manager on the 会签 stage, where the director still signs.
    assert_eq!(decide(&o.app, b, o.admin, true, "").await.unwrap().outcome, Outcome::Pending);
    assert_eq!(decide(&o.app, b, o.director, true, "").await.unwrap().outcome, Outcome::Approved);
}
