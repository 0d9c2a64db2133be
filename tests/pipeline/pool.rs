//! The public pool: recycle rules with time moved back (no follow-up / opportunity / deal, level
//! and status limits, exemptions, locked and frozen), reminders, claim caps and cooldown, assign
//! permission, put back, concurrent claims and concurrent job runs, and the admin pages.

use chrono::{Duration, Utc};
use crm::modules::pool::rules;

use super::common::{Client, TestApp};
use super::{Org, customer, default_pool, dict_id, job_ctx, notifications, org, owner_of};

async fn add_rule(
    app: &TestApp,
    pool: i64,
    kind: &str,
    days: i32,
    levels: &[i16],
    statuses: &[i64],
    exempt_dealt: bool,
) {
    sqlx::query(
        "INSERT INTO pool_rules (pool_id, kind, days, levels, status_ids, exempt_dealt, exempt_open_opportunities)
         VALUES ($1, $2, $3, $4, $5, $6, true)",
    )
    .bind(pool)
    .bind(kind)
    .bind(days)
    .bind(levels)
    .bind(statuses)
    .bind(exempt_dealt)
    .execute(&app.db)
    .await
    .unwrap();
}

/// Move the customer's clocks back: created and owned `owned_days` ago, last follow-up
/// `followup_days` ago (None: never).
async fn age(app: &TestApp, id: i64, owned_days: i32, followup_days: Option<i32>) {
    sqlx::query(
        "UPDATE customers SET created_at = now() - make_interval(days => $2), owner_since = now() - make_interval(days => $2),
           last_followup_at = CASE WHEN $3::int IS NULL THEN NULL ELSE now() - make_interval(days => $3::int) END
         WHERE id = $1",
    )
    .bind(id)
    .bind(owned_days)
    .bind(followup_days)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn set(app: &TestApp, id: i64, sql_set: &str) {
    sqlx::query(&format!("UPDATE customers SET {sql_set} WHERE id = $1")).bind(id).execute(&app.db).await.unwrap();
}

async fn recycle(app: &TestApp) -> u64 {
    rules::recycle(&app.db, Utc::now()).await.unwrap()
}

/// A pool for 华东 with the given daily cap and cooldown.
async fn east_pool(o: &Org, cap: Option<i32>, cooldown: i32) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO pools (name, claim_cap_per_day, reclaim_cooldown_days) VALUES ('华东公海', $1, $2) RETURNING id",
    )
    .bind(cap)
    .bind(cooldown)
    .fetch_one(&o.app.db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO pool_members (pool_id, dept_id) VALUES ($1, $2)")
        .bind(id)
        .bind(o.east)
        .execute(&o.app.db)
        .await
        .unwrap();
    id
}

/// A customer sitting in `pool`.
async fn pooled(app: &TestApp, name: &str, pool: i64) -> i64 {
    let id = customer(app, name, None).await;
    set(app, id, &format!("pool_id = {pool}")).await;
    id
}

async fn flash(c: &mut Client, class: &str) -> String {
    c.get("/notifications").await.text_of(&format!(".flash-{class}"))
}

#[tokio::test]
async fn no_follow_up_rule_recycles_with_a_sentence_and_spares_locked_frozen_and_fresh_customers() {
    let o = org().await;
    let app = &o.app;
    let pool = default_pool(app).await;
    add_rule(app, pool, "no_followup", 30, &[], &[], false).await;
    let stale = customer(app, "久未跟进", Some(o.rep1)).await;
    age(app, stale, 60, Some(31)).await;
    let contact: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (customer_id, name, owner_id, is_primary) VALUES ($1, '孙先生', $2, true) RETURNING id",
    )
    .bind(stale)
    .bind(o.rep1)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let never = customer(app, "从未跟进", Some(o.rep2)).await;
    age(app, never, 45, None).await;
    let recent = customer(app, "最近跟进", Some(o.rep1)).await;
    age(app, recent, 60, Some(10)).await;
    // Got it a week ago (e.g. claimed): the clock started then, whatever the old follow-ups say.
    let new_owner = customer(app, "刚领取", Some(o.rep1)).await;
    age(app, new_owner, 7, Some(90)).await;
    set(app, new_owner, "created_at = now() - interval '400 days'").await;
    let locked = customer(app, "已锁定", Some(o.rep1)).await;
    age(app, locked, 60, Some(50)).await;
    set(app, locked, "locked = true").await;
    let frozen = customer(app, "已冻结", Some(o.rep1)).await;
    age(app, frozen, 60, Some(50)).await;
    set(app, frozen, "frozen = true").await;

    assert_eq!(recycle(app).await, 2);
    for (id, owner) in [
        (stale, None),
        (never, None),
        (recent, Some(o.rep1)),
        (new_owner, Some(o.rep1)),
        (locked, Some(o.rep1)),
        (frozen, Some(o.rep1)),
    ] {
        assert_eq!(owner_of(app, id).await, owner, "customer {id}");
    }
    let (pool_id, prev, reason): (Option<i64>, Option<i64>, serde_json::Value) =
        sqlx::query_as("SELECT pool_id, previous_owner_id, pool_reason FROM customers WHERE id = $1")
            .bind(stale)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((pool_id, prev), (Some(pool), Some(o.rep1)));
    assert_eq!(reason, serde_json::json!({ "kind": "no_followup", "days": 30 }));
    let contact_owner: Option<i64> = sqlx::query_scalar("SELECT owner_id FROM contacts WHERE id = $1")
        .bind(contact)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(contact_owner, None, "contacts follow their customer into the pool");
    assert_eq!(notifications(app, o.rep1, "pool_recycled_no_followup").await, 1);

    let mut admin = app.login("admin").await;
    let history = admin.get(&format!("/customers/{stale}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("超过 30 天无新建跟进记录，自动进入公海"), "{history}");
    let list = admin.get(&format!("/pool?pool={pool}")).await;
    let table = list.text_of("#list-table");
    assert!(
        table.contains("久未跟进") && table.contains("用户rep1") && table.contains("超过 30 天无新建跟进记录"),
        "{table}"
    );

    // Idempotent: a second run moves nothing.
    assert_eq!(recycle(app).await, 0);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE action = 'recycle'").await, 2);
}

#[tokio::test]
async fn no_opportunity_rule_respects_level_limits_and_the_last_opportunity() {
    let o = org().await;
    let app = &o.app;
    add_rule(app, default_pool(app).await, "no_opportunity", 60, &[3, 4], &[], false).await;
    let l3 = customer(app, "三级无商机", Some(o.rep1)).await;
    set(app, l3, "level = 3").await;
    age(app, l3, 90, Some(1)).await;
    let l2 = customer(app, "二级无商机", Some(o.rep1)).await;
    set(app, l2, "level = 2").await;
    age(app, l2, 90, Some(1)).await;
    let with_opp = customer(app, "近期有商机", Some(o.rep1)).await;
    set(app, with_opp, "level = 4, last_opportunity_at = now() - interval '5 days'").await;
    age(app, with_opp, 90, Some(1)).await;
    let locked = customer(app, "锁定无商机", Some(o.rep1)).await;
    set(app, locked, "level = 3, locked = true").await;
    age(app, locked, 90, Some(1)).await;
    let frozen = customer(app, "冻结无商机", Some(o.rep1)).await;
    set(app, frozen, "level = 4, frozen = true").await;
    age(app, frozen, 90, Some(1)).await;
    assert_eq!(recycle(app).await, 1);
    assert_eq!(owner_of(app, locked).await, Some(o.rep1), "locked customers are never recycled");
    assert_eq!(owner_of(app, frozen).await, Some(o.rep1), "frozen customers are never recycled");
    assert_eq!(owner_of(app, l3).await, None, "a follow-up does not stop the opportunity rule");
    assert_eq!(owner_of(app, l2).await, Some(o.rep1), "level 2 is outside the rule");
    assert_eq!(owner_of(app, with_opp).await, Some(o.rep1));
    let reason: serde_json::Value = sqlx::query_scalar("SELECT pool_reason FROM customers WHERE id = $1")
        .bind(l3)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(reason["kind"], "no_opportunity");
}

#[tokio::test]
async fn no_deal_rule_respects_status_limits_and_the_dealt_exemption() {
    let o = org().await;
    let app = &o.app;
    let potential = dict_id(app, "customer_status", "potential").await;
    let basic = dict_id(app, "customer_status", "basic").await;
    add_rule(app, default_pool(app).await, "no_deal", 90, &[], &[potential], true).await;
    let p = customer(app, "潜在未成交", Some(o.rep1)).await;
    set(app, p, &format!("status_id = {potential}")).await;
    age(app, p, 120, Some(1)).await;
    let b = customer(app, "基础未成交", Some(o.rep1)).await;
    set(app, b, &format!("status_id = {basic}")).await;
    age(app, b, 120, Some(1)).await;
    let dealt = customer(app, "早已成交", Some(o.rep1)).await;
    set(app, dealt, &format!("status_id = {potential}, deal_status = 'dealt', dealt_at = now() - interval '200 days'"))
        .await;
    age(app, dealt, 300, Some(1)).await;
    let locked = customer(app, "锁定未成交", Some(o.rep1)).await;
    set(app, locked, &format!("status_id = {potential}, locked = true")).await;
    age(app, locked, 120, Some(1)).await;
    let frozen = customer(app, "冻结未成交", Some(o.rep1)).await;
    set(app, frozen, &format!("status_id = {potential}, frozen = true")).await;
    age(app, frozen, 120, Some(1)).await;
    assert_eq!(recycle(app).await, 1);
    assert_eq!(owner_of(app, locked).await, Some(o.rep1), "locked customers are never recycled");
    assert_eq!(owner_of(app, frozen).await, Some(o.rep1), "frozen customers are never recycled");
    assert_eq!(owner_of(app, p).await, None);
    assert_eq!(owner_of(app, b).await, Some(o.rep1), "the status limit leaves basic customers alone");
    assert_eq!(owner_of(app, dealt).await, Some(o.rep1), "dealt customers are exempt");

    // Without the exemption the old deal counts from its date; locked and frozen still stay.
    sqlx::query("UPDATE pool_rules SET exempt_dealt = false").execute(&app.db).await.unwrap();
    assert_eq!(recycle(app).await, 1);
    assert_eq!(owner_of(app, dealt).await, None);
    assert_eq!((owner_of(app, locked).await, owner_of(app, frozen).await), (Some(o.rep1), Some(o.rep1)));
    assert_eq!(notifications(app, o.rep1, "pool_recycled_no_deal").await, 2);
}

#[tokio::test]
async fn owners_are_warned_once_before_recycling_and_see_the_days_left() {
    let o = org().await;
    let app = &o.app;
    let pool = default_pool(app).await;
    sqlx::query("UPDATE pools SET remind_days_before = 3").execute(&app.db).await.unwrap();
    add_rule(app, pool, "no_followup", 30, &[], &[], false).await;
    let soon = customer(app, "两天后回收", Some(o.rep1)).await;
    age(app, soon, 100, Some(28)).await;
    let later = customer(app, "五天后回收", Some(o.rep1)).await;
    age(app, later, 100, Some(25)).await;

    let now = Utc::now();
    assert_eq!(rules::warn(&app.db, now).await.unwrap(), 1, "only the one within 3 days");
    assert_eq!(rules::warn(&app.db, now).await.unwrap(), 0, "never twice");
    assert_eq!(notifications(app, o.rep1, "pool_warning").await, 1);
    let mut rep1 = app.login("rep1").await;
    let inbox = rep1.get("/notifications").await.text_of("main");
    assert!(inbox.contains("两天后回收") && inbox.contains("还剩 2 天"), "{inbox}");
    let upcoming = rep1.get("/pool/upcoming").await;
    let table = upcoming.text_of("#upcoming");
    assert!(table.contains("两天后回收") && table.contains("还剩 2 天"), "{table}");
    assert!(table.contains("五天后回收") && table.contains("还剩 5 天"), "{table}");
    assert!(table.find("两天后回收") < table.find("五天后回收"), "soonest first");

    // Two days on: the other one is warned now; the first is recycled on its day.
    assert_eq!(rules::warn(&app.db, now + Duration::days(2)).await.unwrap(), 1);
    assert_eq!(notifications(app, o.rep1, "pool_warning").await, 2);
    assert_eq!(rules::recycle(&app.db, now + Duration::days(1)).await.unwrap(), 0);
    assert_eq!(rules::recycle(&app.db, now + Duration::days(2) + Duration::hours(1)).await.unwrap(), 1);
    assert_eq!(owner_of(app, soon).await, None);
    // A follow-up restarts the clock.
    sqlx::query("UPDATE customers SET last_followup_at = now() WHERE id = $1")
        .bind(later)
        .execute(&app.db)
        .await
        .unwrap();
    assert!(!rep1.get("/pool/upcoming").await.text_of("#upcoming").contains("五天后回收"));
}

#[tokio::test]
async fn claiming_needs_membership_and_keeps_to_the_daily_cap_the_ownership_cap_and_the_cooldown() {
    let o = org().await;
    let app = &o.app;
    let pool = east_pool(&o, Some(2), 7).await;
    let a = pooled(app, "公海甲", pool).await;
    let b = pooled(app, "公海乙", pool).await;
    let c = pooled(app, "公海丙", pool).await;
    let mut rep1 = app.login("rep1").await;
    let mut north = app.login("north_rep").await;

    // Members see the pool and its customers' pages; others do not.
    assert!(rep1.get(&format!("/pool?pool={pool}")).await.text_of("#list-table").contains("公海甲"));
    rep1.get(&format!("/customers/{a}")).await.assert_status(200);
    north.get(&format!("/pool?pool={pool}")).await.assert_status(404);
    north.get(&format!("/customers/{a}")).await.assert_status(404);
    north.post(&format!("/pool/customers/{a}/claim"), &[]).await.assert_status(404);
    assert!(!north.get("/pool").await.text_of("#pool-tabs").contains("华东公海"));

    // Daily cap of 2.
    rep1.post(&format!("/pool/customers/{a}/claim"), &[]).await.assert_redirect(&format!("/customers/{a}"));
    rep1.post("/pool/claim", &[("ids", &b.to_string()), ("ids", &c.to_string()), ("filter", &format!("pool={pool}"))])
        .await;
    assert_eq!(
        (owner_of(app, a).await, owner_of(app, b).await, owner_of(app, c).await),
        (Some(o.rep1), Some(o.rep1), None)
    );
    let refused = flash(&mut rep1, "error").await;
    assert!(refused.contains("每日上限 2 个"), "{refused}");
    assert_eq!(notifications(app, o.rep1, "pool_assigned").await, 0);
    let history = rep1.get(&format!("/customers/{a}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("从公海领取了客户"), "{history}");

    // The ownership cap.
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 0)")
        .bind(o.rep2)
        .execute(&app.db)
        .await
        .unwrap();
    let mut rep2 = app.login("rep2").await;
    rep2.post(&format!("/pool/customers/{c}/claim"), &[]).await;
    assert!(flash(&mut rep2, "error").await.contains("上限"));
    assert_eq!(owner_of(app, c).await, None);

    // Cooldown: rep1 puts 甲 back and cannot take it again for 7 days (a new day for the cap).
    sqlx::query("UPDATE pool_claims SET claimed_at = claimed_at - interval '1 day'").execute(&app.db).await.unwrap();
    rep1.post(&format!("/customers/{a}/put-back"), &[("pool_id", &pool.to_string()), ("reason", "暂无需求")]).await;
    assert_eq!(owner_of(app, a).await, None);
    rep1.post(&format!("/pool/customers/{a}/claim"), &[]).await;
    let refused = flash(&mut rep1, "error").await;
    assert!(refused.contains("7 天内不能再次领取"), "{refused}");
    assert_eq!(owner_of(app, a).await, None);
    sqlx::query("UPDATE pool_releases SET released_at = now() - interval '8 days'").execute(&app.db).await.unwrap();
    rep1.post(&format!("/pool/customers/{a}/claim"), &[]).await.assert_redirect(&format!("/customers/{a}"));
    assert_eq!(owner_of(app, a).await, Some(o.rep1));
}

/// Claiming a customer one cannot see — someone else's outside one's scope, one in the recycle
/// bin, one in another pool — answers exactly like an id that does not exist: 404, naming neither
/// the customer nor its owner. Who took a customer is told only to those who may know: a
/// manager whose scope holds the owner, or a member of the pool it was claimed from just now.
#[tokio::test]
async fn claiming_a_customer_out_of_sight_is_a_plain_404_naming_nobody() {
    let o = org().await;
    let app = &o.app;
    let east = east_pool(&o, None, 0).await;
    let north: i64 = sqlx::query_scalar("INSERT INTO pools (name) VALUES ('华北公海') RETURNING id")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let theirs = customer(app, "北方私有客户", Some(o.north_rep)).await;
    let binned = customer(app, "回收站客户", Some(o.north_rep)).await;
    set(app, binned, "deleted_at = now()").await;
    let binned_pooled = pooled(app, "回收站公海客户", east).await;
    set(app, binned_pooled, "deleted_at = now()").await;
    let other_pool = pooled(app, "华北公海客户", north).await;
    let missing = other_pool + 1000;
    let mut rep1 = app.login("rep1").await;
    for (id, name) in [
        (theirs, "北方私有客户"),
        (binned, "回收站客户"),
        (binned_pooled, "回收站公海客户"),
        (other_pool, "华北公海客户"),
        (missing, ""),
    ] {
        let r = rep1.post(&format!("/pool/customers/{id}/claim"), &[]).await;
        r.assert_status(404);
        let flashed = flash(&mut rep1, "error").await;
        for said in [&r.body, &flashed] {
            assert!(name.is_empty() || !said.contains(name), "{id}: names the customer");
            assert!(!said.contains("用户north_rep") && !said.contains("已被"), "{id}: names the owner");
        }
    }
    assert_eq!(owner_of(app, theirs).await, Some(o.north_rep));
    assert_eq!(owner_of(app, other_pool).await, None);
    assert_eq!(app.count("SELECT count(*) FROM pool_claims").await, 0);

    // A manager whose scope holds the owner is told who has it.
    let rep2s = customer(app, "甲已有客户", Some(o.rep2)).await;
    let mut mgr = app.login("mgr").await;
    mgr.post(&format!("/pool/customers/{rep2s}/claim"), &[]).await.assert_redirect("/pool");
    let said = flash(&mut mgr, "error").await;
    assert!(said.contains("甲已有客户") && said.contains("用户rep2"), "{said}");
    // A rep outside that scope is not.
    rep1.post(&format!("/pool/customers/{rep2s}/claim"), &[]).await.assert_status(404);

    // Taken from rep1's pool a moment ago by rep2: rep1 saw it there, and hears who won.
    let raced = pooled(app, "刚被领走", east).await;
    let mut rep2 = app.login("rep2").await;
    rep2.post(&format!("/pool/customers/{raced}/claim"), &[]).await.assert_redirect(&format!("/customers/{raced}"));
    rep1.post(&format!("/pool/customers/{raced}/claim"), &[]).await.assert_redirect("/pool");
    let said = flash(&mut rep1, "error").await;
    assert!(said.contains("刚被领走") && said.contains("用户rep2"), "{said}");
    // Long after, it is just someone else's customer.
    sqlx::query("UPDATE pool_claims SET claimed_at = claimed_at - interval '2 days'").execute(&app.db).await.unwrap();
    let r = rep1.post(&format!("/pool/customers/{raced}/claim"), &[]).await;
    r.assert_status(404);
    assert!(!r.body.contains("刚被领走"));
    // Not a member of that pool: never told.
    let mut north_rep = app.login("north_rep").await;
    sqlx::query("UPDATE pool_claims SET claimed_at = now()").execute(&app.db).await.unwrap();
    north_rep.post(&format!("/pool/customers/{raced}/claim"), &[]).await.assert_status(404);
}

#[tokio::test]
async fn assigning_needs_a_pool_admin_or_the_assign_permission_and_tells_the_new_owner() {
    let o = org().await;
    let app = &o.app;
    let pool = east_pool(&o, Some(1), 0).await;
    let a = pooled(app, "待分配甲", pool).await;
    let b = pooled(app, "待分配乙", pool).await;
    let c = pooled(app, "待分配丙", pool).await;
    let filter = format!("pool={pool}");
    let mut rep2 = app.login("rep2").await;
    rep2.post("/pool/assign", &[("ids", &a.to_string()), ("filter", &filter)]).await.assert_status(403);
    assert!(!rep2.get(&format!("/pool?pool={pool}")).await.body.contains("/pool/assign"));

    // A pool admin (a rep without the permission) may, in their pool.
    sqlx::query("INSERT INTO pool_admins (pool_id, user_id) VALUES ($1, $2)")
        .bind(pool)
        .bind(o.rep2)
        .execute(&app.db)
        .await
        .unwrap();
    let options = rep2.post("/pool/assign", &[("ids", &a.to_string()), ("filter", &filter)]).await;
    options.assert_status(200);
    assert!(options.text_of("#assign-form").contains("用户rep1"));
    rep2.post("/pool/assign", &[("ids", &a.to_string()), ("filter", &filter), ("assignee", &o.rep1.to_string())])
        .await
        .assert_redirect(&format!("/pool?{filter}"));
    assert_eq!(owner_of(app, a).await, Some(o.rep1));
    assert_eq!(notifications(app, o.rep1, "pool_assigned").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE action = 'assign'").await, 1);

    // A manager with the pool "assign" permission may; assignments do not count to the daily claim cap.
    let mut mgr = app.login("mgr").await;
    mgr.post("/pool/assign", &[("ids", &b.to_string()), ("filter", &filter), ("assignee", &o.rep1.to_string())]).await;
    assert_eq!(owner_of(app, b).await, Some(o.rep1));
    // The assignee's ownership cap still applies.
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 2)")
        .bind(o.rep1)
        .execute(&app.db)
        .await
        .unwrap();
    mgr.post("/pool/assign", &[("ids", &c.to_string()), ("filter", &filter), ("assignee", &o.rep1.to_string())]).await;
    assert_eq!(owner_of(app, c).await, None);
    assert!(flash(&mut mgr, "error").await.contains("上限"));
    // A manager outside the pool cannot.
    let north_mgr = app.user("north_mgr", o.north, None, &["manager"]).await;
    let _ = north_mgr;
    let mut nm = app.login("north_mgr").await;
    nm.post("/pool/assign", &[("ids", &c.to_string()), ("filter", &filter), ("assignee", &o.rep2.to_string())])
        .await
        .assert_status(404);
}

#[tokio::test]
async fn put_back_by_the_owner_or_a_manager_into_a_chosen_pool_with_a_reason() {
    let o = org().await;
    let app = &o.app;
    let east = east_pool(&o, None, 0).await;
    let id = customer(app, "退回测试", Some(o.rep1)).await;
    sqlx::query("INSERT INTO contacts (customer_id, name, owner_id, is_primary) VALUES ($1, '钱女士', $2, true)")
        .bind(id)
        .bind(o.rep1)
        .execute(&app.db)
        .await
        .unwrap();
    let mut rep1 = app.login("rep1").await;
    let mut rep2 = app.login("rep2").await;
    assert_eq!(
        rep1.get(&format!("/customers/{id}")).await.attr("#put-back-btn", "href"),
        Some(format!("/customers/{id}/put-back"))
    );
    rep2.get(&format!("/customers/{id}/put-back")).await.assert_status(404);
    let form = rep1.get(&format!("/customers/{id}/put-back")).await;
    form.assert_status(200);
    assert!(form.text_of("#put-back-form").contains("华东公海"));
    rep1.post(&format!("/customers/{id}/put-back"), &[("pool_id", &east.to_string()), ("reason", "")])
        .await
        .assert_status(422);
    set(app, id, "locked = true").await;
    rep1.post(&format!("/customers/{id}/put-back"), &[("pool_id", &east.to_string()), ("reason", "不需要了")])
        .await
        .assert_status(409);
    set(app, id, "locked = false").await;

    // The manager puts back the rep's customer; the rep hears of it; contacts go along.
    let mut mgr = app.login("mgr").await;
    mgr.post(&format!("/customers/{id}/put-back"), &[("pool_id", &east.to_string()), ("reason", "长期无进展")])
        .await
        .assert_redirect(&format!("/customers/{id}"));
    let (owner, pool, prev): (Option<i64>, Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT owner_id, pool_id, previous_owner_id FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((owner, pool, prev), (None, Some(east), Some(o.rep1)));
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM contacts WHERE customer_id = {id} AND owner_id IS NULL")).await,
        1
    );
    assert_eq!(notifications(app, o.rep1, "pool_put_back").await, 1);
    let list = rep1.get(&format!("/pool?pool={east}")).await.text_of("#list-table");
    assert!(list.contains("退回测试") && list.contains("手动退回：长期无进展"), "{list}");
    let history = mgr.get(&format!("/customers/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("退回了公海") && history.contains("长期无进展"), "{history}");

    // Claiming brings the contacts back with the customer.
    rep2.post(&format!("/pool/customers/{id}/claim"), &[]).await.assert_redirect(&format!("/customers/{id}"));
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM contacts WHERE customer_id = {id} AND owner_id = {}", o.rep2)).await,
        1
    );
    let pool_after: Option<i64> =
        sqlx::query_scalar("SELECT pool_id FROM customers WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert_eq!(pool_after, None);
}

#[tokio::test]
async fn two_users_claiming_the_same_customer_at_once_exactly_one_wins() {
    let o = org().await;
    let app = &o.app;
    let pool = default_pool(app).await;
    let rep1 = app.login("rep1").await;
    let rep2 = app.login("rep2").await;
    for round in 0..5 {
        let id = pooled(app, &format!("争抢客户{round}"), pool).await;
        let (mut a, mut b) = (rep1.clone(), rep2.clone());
        let path = format!("/pool/customers/{id}/claim");
        let (ra, rb) = tokio::join!(a.post(&path, &[]), b.post(&path, &[]));
        let winners = [&ra, &rb].iter().filter(|r| r.location() == format!("/customers/{id}")).count();
        assert_eq!(winners, 1, "round {round}: {} / {}", ra.location(), rb.location());
        assert_eq!(app.count(&format!("SELECT count(*) FROM pool_claims WHERE customer_id = {id}")).await, 1);
        let owner = owner_of(app, id).await.unwrap();
        let mut loser = if owner == o.rep1 { b } else { a };
        let winner_name = if owner == o.rep1 { "用户rep1" } else { "用户rep2" };
        let msg = flash(&mut loser, "error").await;
        assert!(msg.contains("已被") && msg.contains(winner_name), "round {round}: {msg}");
    }
}

#[tokio::test]
async fn two_app_instances_running_the_job_at_once_recycle_each_customer_once() {
    let o = org().await;
    let app = &o.app;
    add_rule(app, default_pool(app).await, "no_followup", 30, &[], &[], false).await;
    for i in 0..40 {
        let id = customer(app, &format!("批量回收{i}"), Some(if i % 2 == 0 { o.rep1 } else { o.rep2 })).await;
        age(app, id, 90, Some(60)).await;
    }
    let now = Utc::now();
    // Two instances of the loop (each takes the job's advisory lock), and two bare runs racing.
    let (r1, r2, n1, n2) = tokio::join!(
        crm::jobs::run_due(job_ctx(app, now), true),
        crm::jobs::run_due(job_ctx(app, now), true),
        rules::recycle(&app.db, now),
        rules::recycle(&app.db, now),
    );
    let _ = (r1, r2);
    let (n1, n2) = (n1.unwrap(), n2.unwrap());
    assert!(n1 + n2 <= 40);
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE owner_id IS NULL").await, 40);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE action = 'recycle'").await, 40);
    assert_eq!(app.count("SELECT count(*) FROM pool_releases").await, 40);
    assert_eq!(app.count("SELECT count(*) FROM notifications WHERE kind = 'pool_recycled_no_followup'").await, 40);
    assert_eq!(app.count("SELECT count(DISTINCT entity_id) FROM operation_logs WHERE action = 'recycle'").await, 40);
}

#[tokio::test]
async fn admins_configure_pools_members_and_rules() {
    let Org { app, east, rep1, rep2, .. } = org().await;
    let mut rep = app.login("rep1").await;
    rep.get("/admin/pools").await.assert_status(403);
    let mut admin = app.login("admin").await;
    assert!(admin.get("/admin/pools").await.text_of("#pools").contains("默认公海"));
    let r = admin.post("/admin/pools", &[("name", ""), ("remind_days_before", "x")]).await;
    r.assert_status(422);
    let r = admin
        .post(
            "/admin/pools",
            &[
                ("name", "华东公海"),
                ("claim_cap_per_day", "5"),
                ("reclaim_cooldown_days", "15"),
                ("remind_days_before", "3"),
                ("member_depts", &east.to_string()),
                ("member_users", &rep1.to_string()),
                ("admins", &rep2.to_string()),
            ],
        )
        .await;
    let pool: i64 = r.location().trim_start_matches("/admin/pools/").parse().unwrap();
    let status = dict_id(&app, "customer_status", "potential").await;
    admin
        .post(
            &format!("/admin/pools/{pool}/rules"),
            &[
                ("kind", "no_followup"),
                ("days", "30"),
                ("levels", "3"),
                ("status_ids", &status.to_string()),
                ("enabled", "1"),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/pools/{pool}"));
    admin.post(&format!("/admin/pools/{pool}/rules"), &[("kind", "no_deal"), ("days", "0")]).await.assert_status(422);
    let page = admin.get(&format!("/admin/pools/{pool}")).await;
    let rules = page.text_of("#pool-rules");
    assert!(page.text_of("#opportunity-hint").contains("有进行中商机"), "{}", page.text_of("#rule-form"));
    assert!(
        rules.contains("无新建跟进记录超过 30 天") && rules.contains("L3") && rules.contains("潜在客户"),
        "{rules}"
    );
    let rule: i64 =
        sqlx::query_scalar("SELECT id FROM pool_rules WHERE pool_id = $1").bind(pool).fetch_one(&app.db).await.unwrap();
    admin
        .post(
            &format!("/admin/pools/{pool}/rules/{rule}"),
            &[("kind", "no_deal"), ("days", "90"), ("exempt_dealt", "1"), ("enabled", "1")],
        )
        .await;
    let (kind, days, exempt): (String, i32, bool) =
        sqlx::query_as("SELECT kind, days, exempt_dealt FROM pool_rules WHERE id = $1")
            .bind(rule)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), days, exempt), ("no_deal", 90, true));
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'pool' AND action IN ('create', 'rule_add', 'rule_update')").await, 3);

    // rep2 is the pool's admin: sees it and may assign; a member customer of 华东 is governed by it.
    let mut r2 = app.login("rep2").await;
    assert!(r2.get(&format!("/pool?pool={pool}")).await.has("#pool-filters"));
    let id = customer(&app, "规则归属", Some(rep1)).await;
    set(&app, id, &format!("status_id = {status}, deal_status = 'none'")).await;
    age(&app, id, 200, Some(1)).await;
    assert_eq!(recycle(&app).await, 1);
    let in_pool: Option<i64> =
        sqlx::query_scalar("SELECT pool_id FROM customers WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert_eq!(in_pool, Some(pool), "华东's rules govern 华东's owners");

    // Deleting the pool moves its customers to the default pool; the default one stays.
    admin.post(&format!("/admin/pools/{pool}/rules/{rule}/delete"), &[]).await;
    assert_eq!(app.count("SELECT count(*) FROM pool_rules").await, 0);
    admin.post(&format!("/admin/pools/{pool}/delete"), &[]).await.assert_redirect("/admin/pools");
    let default = default_pool(&app).await;
    let now_in: Option<i64> =
        sqlx::query_scalar("SELECT pool_id FROM customers WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert_eq!(now_in, Some(default));
    admin.post(&format!("/admin/pools/{default}/delete"), &[]).await.assert_status(409);
    assert!(admin.post("/admin/pools/run", &[]).await.status.is_redirection());
}

/// A cap that leaves dealt customers out does not count a dealt customer claimed from the pool,
/// as a transfer would not; a customer that counts is still refused at the cap.
#[tokio::test]
async fn claiming_a_dealt_customer_does_not_count_toward_a_cap_that_leaves_dealt_ones_out() {
    let o = org().await;
    let app = &o.app;
    let pool = east_pool(&o, None, 0).await;
    let dealt = pooled(app, "成交过的", pool).await;
    let fresh = pooled(app, "没成交的", pool).await;
    set(app, dealt, "deal_status = 'dealt'").await;
    customer(app, "已有的", Some(o.rep1)).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned, count_dealt) VALUES ($1, 1, false)")
        .bind(o.rep1)
        .execute(&app.db)
        .await
        .unwrap();
    let mut rep1 = app.login("rep1").await;
    rep1.post(&format!("/pool/customers/{dealt}/claim"), &[]).await.assert_redirect(&format!("/customers/{dealt}"));
    assert_eq!(owner_of(app, dealt).await, Some(o.rep1));
    rep1.post(&format!("/pool/customers/{fresh}/claim"), &[]).await;
    assert!(flash(&mut rep1, "error").await.contains("上限"));
    assert_eq!(owner_of(app, fresh).await, None);
}

#[tokio::test]
async fn a_frozen_pool_customer_cannot_be_claimed_or_assigned() {
    let o = org().await;
    let app = &o.app;
    let pool = east_pool(&o, None, 0).await;
    let id = pooled(app, "冻结公海客户", pool).await;
    set(app, id, "frozen = true").await;
    let mut rep1 = app.login("rep1").await;
    rep1.post(&format!("/pool/customers/{id}/claim"), &[]).await;
    assert!(flash(&mut rep1, "error").await.contains("已冻结"));
    assert_eq!(owner_of(app, id).await, None);
    rep1.post("/pool/claim", &[("ids", &id.to_string()), ("filter", &format!("pool={pool}"))]).await;
    assert_eq!(owner_of(app, id).await, None, "nor in bulk");
    let mut mgr = app.login("mgr").await;
    let filter = format!("pool={pool}");
    mgr.post("/pool/assign", &[("ids", &id.to_string()), ("filter", &filter), ("assignee", &o.rep1.to_string())]).await;
    assert_eq!(owner_of(app, id).await, None, "nor assigned");
    assert_eq!(app.count("SELECT count(*) FROM pool_claims").await, 0);
    // Unfrozen, it can be claimed again.
    set(app, id, "frozen = false").await;
    rep1.post(&format!("/pool/customers/{id}/claim"), &[]).await.assert_redirect(&format!("/customers/{id}"));
    assert_eq!(owner_of(app, id).await, Some(o.rep1));
}
