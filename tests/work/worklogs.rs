//! Work logs: the period's numbers agree with the lists they link to, recipients (the superior
//! always, colleagues chosen) see and are notified, others get 404, managers see their people's
//! logs and who has not submitted, read state, comments, one log per period, and the timeline of
//! a related customer.

use chrono::NaiveDate;

use super::common::{Client, TestApp};
use super::customer_work::{Org, customer, org};

fn today(app: &TestApp) -> NaiveDate {
    chrono::Utc::now().with_timezone(&app.config.timezone).date_naive()
}

async fn notifications(app: &TestApp, user: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2")
        .bind(user)
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Submit a daily log for today; returns its id.
async fn submit(c: &mut Client, done: &str, extra: &[(&str, &str)]) -> i64 {
    let mut form = vec![("kind", "daily"), ("done", done), ("plans", "明天继续")];
    form.extend_from_slice(extra);
    let r = c.post("/worklogs", &form).await;
    assert!(r.status.is_redirection(), "submit failed: {}", r.text_of("main"));
    r.location().trim_start_matches("/worklogs/").parse().unwrap()
}

async fn followup(app: &TestApp, customer: i64, author: i64, days_ago: i32) {
    sqlx::query(
        "INSERT INTO followups (entity, entity_id, customer_id, method_id, content, created_by, created_at)
         VALUES ('customer', $1, $1, (SELECT id FROM dict_items WHERE dict = 'followup_method' LIMIT 1), '跟进', $2,
                 now() - make_interval(days => $3))",
    )
    .bind(customer)
    .bind(author)
    .bind(days_ago)
    .execute(&app.db)
    .await
    .unwrap();
}

/// rep1's period: 2 customers, 2 follow-ups, 2 opportunities, 1 approved contract and 1
/// approved payment today; the same again 40 days ago, a draft contract and a rejected payment
/// today, and rep2's records today — none of which may count.
async fn activity(o: &Org) {
    let app = &o.app;
    let day = today(app);
    let old = day - chrono::Duration::days(40);
    let c1 = customer(app, "今天甲", o.rep1).await;
    let c2 = customer(app, "今天乙", o.rep1).await;
    let c_old = customer(app, "很早丙", o.rep1).await;
    sqlx::query("UPDATE customers SET created_at = now() - interval '40 days' WHERE id = $1")
        .bind(c_old)
        .execute(&app.db)
        .await
        .unwrap();
    let other = customer(app, "别人的", o.rep2).await;
    followup(app, c1, o.rep1, 0).await;
    followup(app, c2, o.rep1, 0).await;
    followup(app, c1, o.rep1, 40).await;
    followup(app, other, o.rep2, 0).await;
    app.opportunity(c1, "商机一", o.rep1).await;
    app.opportunity(c2, "商机二", o.rep1).await;
    let old_opp = app.opportunity(c1, "旧商机", o.rep1).await;
    sqlx::query("UPDATE opportunities SET created_at = now() - interval '40 days' WHERE id = $1")
        .bind(old_opp)
        .execute(&app.db)
        .await
        .unwrap();
    app.opportunity(other, "别人的商机", o.rep2).await;
    let k1 = app.contract(c1, "合同一", o.rep1, "approved").await;
    let k_old = app.contract(c1, "旧合同", o.rep1, "approved").await;
    app.contract(c2, "草稿合同", o.rep1, "draft").await;
    app.contract(other, "别人的合同", o.rep2, "approved").await;
    // Signing dates in the configured time zone (the database's current_date may be a day off).
    sqlx::query("UPDATE contracts SET order_date = CASE WHEN id = $2 THEN $3 ELSE $1 END")
        .bind(day)
        .bind(k_old)
        .bind(old)
        .execute(&app.db)
        .await
        .unwrap();
    for (status, paid_on) in [("approved", day), ("approved", old), ("rejected", day)] {
        sqlx::query(
            "INSERT INTO payments (number, contract_id, customer_id, amount, paid_on, status, owner_id, created_by)
             VALUES ('HK-' || md5(random()::text), $1, $2, 300, $3, $4, $5, $5)",
        )
        .bind(k1)
        .bind(c1)
        .bind(paid_on)
        .bind(status)
        .bind(o.rep1)
        .execute(&app.db)
        .await
        .unwrap();
    }
}

/// Each number on the page, its link, and how many rows that link lists.
async fn numbers_and_rows(c: &mut Client, page: &str) -> Vec<(String, String, usize)> {
    let r = c.get(page).await;
    r.assert_status(200);
    let mut out = Vec::new();
    for code in ["customers", "followups", "opportunities", "contracts", "payments"] {
        let n = r.text_of(&format!("#worklog-numbers a[data-stat={code}] .stat-count"));
        let href = r.attr(&format!("#worklog-numbers a[data-stat={code}]"), "href").expect(code);
        let list = c.get(&href).await;
        list.assert_status(200);
        let rows = list.count("#list-table tbody tr[data-id]") + list.count("#followups tbody tr[data-id]");
        out.push((code.to_string(), n, rows));
    }
    out
}

#[tokio::test]
async fn the_numbers_of_a_log_are_the_rows_of_the_lists_they_link_to() {
    let o = org().await;
    activity(&o).await;
    let mut rep1 = o.app.login("rep1").await;
    let on_form = numbers_and_rows(&mut rep1, "/worklogs/new?kind=daily").await;
    let counts: Vec<&str> = on_form.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(counts, ["2", "2", "2", "1", "1"], "{on_form:?}");
    for (code, n, rows) in &on_form {
        assert_eq!(n, &rows.to_string(), "{code}: the number and its list disagree");
    }
    let form = rep1.get("/worklogs/new?kind=daily").await;
    assert!(form.text_of("a[data-stat=opportunities] .stat-amount").contains("2,000.00"));
    assert!(form.text_of("a[data-stat=payments] .stat-amount").contains("300.00"));

    // Submitted, the log keeps them, and its manager reads the same numbers and rows.
    let id = submit(&mut rep1, "拜访两家客户", &[]).await;
    let stats: serde_json::Value =
        sqlx::query_scalar("SELECT stats FROM worklogs WHERE id = $1").bind(id).fetch_one(&o.app.db).await.unwrap();
    assert_eq!(stats["customers"]["count"], 2);
    let mut mgr = o.app.login("mgr").await;
    let on_page = numbers_and_rows(&mut mgr, &format!("/worklogs/{id}")).await;
    assert_eq!(on_page, on_form);

    // A week holds today too; the records from 40 days ago count in neither.
    let week = numbers_and_rows(&mut rep1, "/worklogs/new?kind=weekly").await;
    for (code, n, rows) in &week {
        assert_eq!(n, &rows.to_string(), "{code} (weekly)");
    }
}

#[tokio::test]
async fn recipients_see_and_are_notified_others_get_404_and_managers_see_their_people() {
    let o = org().await;
    o.app.user("rep3", o.east, None, &["rep"]).await;
    let mut rep1 = o.app.login("rep1").await;
    // The superior is shown as a fixed recipient.
    assert!(rep1.get("/worklogs/new").await.text_of("#superior").contains("用户mgr"));
    let rep2_id = o.rep2.to_string();
    let id = submit(&mut rep1, "今天做了很多事", &[("recipients", &rep2_id)]).await;
    let sent_to: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM worklog_recipients WHERE worklog_id = $1 ORDER BY user_id")
            .bind(id)
            .fetch_all(&o.app.db)
            .await
            .unwrap();
    let mut want = vec![o.rep2, o.mgr];
    want.sort();
    assert_eq!(sent_to, want);
    assert_eq!(notifications(&o.app, o.mgr, "worklog_submitted").await, 1);
    assert_eq!(notifications(&o.app, o.rep2, "worklog_submitted").await, 1);
    assert_eq!(notifications(&o.app, o.north_rep, "worklog_submitted").await, 0);
    assert!(rep1.get("/notifications").await.status.is_success());

    // Recipients: in "sent to me", unread first, with the unread badge.
    let mut rep2 = o.app.login("rep2").await;
    let received = rep2.get("/worklogs?tab=received&unread=1").await;
    assert_eq!(received.count("#worklogs tbody tr[data-id]"), 1);
    assert_eq!(received.text_of("#unread-badge"), "1");
    // Someone else: neither listed nor reachable.
    let mut north = o.app.login("north_rep").await;
    assert_eq!(north.get("/worklogs?tab=received").await.count("#worklogs tbody tr[data-id]"), 0);
    assert_eq!(north.get("/worklogs?tab=team").await.count("#worklogs tbody tr[data-id]"), 0);
    north.get(&format!("/worklogs/{id}")).await.assert_status(404);
    // rep3 (no superior, same department, not a recipient) does not see it either.
    let mut r3 = o.app.login("rep3").await;
    r3.get(&format!("/worklogs/{id}")).await.assert_status(404);

    // Opening it marks it read; "mark unread" brings it back.
    let page = rep2.get(&format!("/worklogs/{id}")).await;
    page.assert_status(200);
    assert!(page.text_of("#worklog-done").contains("今天做了很多事"));
    assert_eq!(rep2.get("/worklogs?tab=received&unread=1").await.count("#worklogs tbody tr[data-id]"), 0);
    assert!(!rep2.get("/worklogs?tab=received").await.has("#unread-badge"));
    rep2.post(&format!("/worklogs/{id}/unread"), &[]).await.assert_redirect("/worklogs?tab=received");
    assert_eq!(rep2.get("/worklogs?tab=received&unread=1").await.count("#worklogs tbody tr[data-id]"), 1);
    // The to-do centre's section counts the same rows and links to that list.
    let todo = rep2.get("/todo").await;
    assert_eq!(todo.text_of("#todo-worklogs_unread .todo-count").trim(), "1");
    assert_eq!(todo.attr("#todo-worklogs_unread h2 a", "href").as_deref(), Some("/worklogs?tab=received&unread=1"));
    assert_eq!(todo.count("#todo-worklogs_unread .todo-item"), 1);
    assert_eq!(todo.attr("#todo-worklogs_unread .todo-item a", "href"), Some(format!("/worklogs/{id}")));
    let mgr_state =
        rep1.get(&format!("/worklogs/{id}")).await.text_of(&format!("#worklog-recipients li[data-user='{}']", o.mgr));
    assert!(mgr_state.contains("未读"), "{mgr_state}");

    // The manager sees his people's logs through the scope, even one not sent to him.
    let lone = submit(&mut r3, "没有上级的日报", &[]).await;
    let mut mgr = o.app.login("mgr").await;
    let team = mgr.get("/worklogs?tab=team").await;
    assert_eq!(team.count("#worklogs tbody tr[data-id]"), 2);
    mgr.get(&format!("/worklogs/{lone}")).await.assert_status(200);
    // The author alone edits.
    mgr.get(&format!("/worklogs/{id}/edit")).await.assert_status(403);
    rep1.get(&format!("/worklogs/{id}/edit")).await.assert_status(200);
    // A rep's scope is himself: no team tab.
    assert!(!rep2.get("/worklogs").await.body.contains("tab=team"));

    // Comments notify the author.
    mgr.post(&format!("/worklogs/{id}/comments"), &[("body", "写得很好，继续保持")])
        .await
        .assert_redirect(&format!("/worklogs/{id}#comments"));
    assert_eq!(notifications(&o.app, o.rep1, "worklog_comment").await, 1);
    assert!(rep1.get(&format!("/worklogs/{id}")).await.text_of("#comments").contains("写得很好"));
}

#[tokio::test]
async fn who_has_not_submitted_lists_exactly_the_missing_people_in_scope() {
    let o = org().await;
    let rep3 = o.app.user("rep3", o.east, Some(o.mgr), &["rep"]).await;
    let mut rep1 = o.app.login("rep1").await;
    submit(&mut rep1, "日报", &[]).await;
    // A weekly log does not count for the day.
    let mut rep2 = o.app.login("rep2").await;
    rep2.post("/worklogs", &[("kind", "weekly"), ("done", "周报")]).await;
    let mut mgr = o.app.login("mgr").await;
    assert!(mgr.get("/worklogs").await.has("#to-missing"));
    let page = mgr.get(&format!("/worklogs/missing?kind=daily&date={}", today(&o.app))).await;
    let mut listed: Vec<i64> = page
        .html()
        .select(&scraper::Selector::parse("#missing tbody tr[data-id]").unwrap())
        .map(|e| e.value().attr("data-id").unwrap().parse().unwrap())
        .collect();
    listed.sort();
    let mut want = vec![o.mgr, o.rep2, rep3];
    want.sort();
    assert_eq!(listed, want);
    assert!(page.text_of("#missing-count").contains('3'));
    let weekly = mgr.get("/worklogs/missing?kind=weekly").await;
    assert_eq!(weekly.count("#missing tbody tr[data-id]"), 3, "rep2 wrote this week's");
}

#[tokio::test]
async fn a_second_log_for_the_period_is_refused_on_the_period_keeping_the_text() {
    let o = org().await;
    let mut rep1 = o.app.login("rep1").await;
    submit(&mut rep1, "第一篇", &[]).await;
    let r = rep1.post("/worklogs", &[("kind", "daily"), ("done", "第二篇的内容"), ("problems", "有个问题")]).await;
    r.assert_status(422);
    assert!(r.text_of("#period-field .field-error").contains("已经提交过"), "{}", r.text_of("#period-field"));
    assert_eq!(r.text_of("textarea[name=done]"), "第二篇的内容");
    assert_eq!(r.text_of("textarea[name=problems]"), "有个问题");
    assert_eq!(o.app.count("SELECT count(*) FROM worklogs").await, 1);
    assert!(r.has("#existing-log"), "the page links to the log already written");
    // Nothing typed: the field says so.
    let empty = rep1.post("/worklogs", &[("kind", "weekly"), ("done", " ")]).await;
    empty.assert_status(422);
    assert!(empty.has(".has-error textarea[name=done]"));
}

#[tokio::test]
async fn a_log_related_to_a_customer_is_on_its_timeline_for_those_who_may_open_it() {
    let o = org().await;
    let c = customer(&o.app, "相关客户", o.rep1).await;
    let mut rep1 = o.app.login("rep1").await;
    // Started from the customer: the picker has it ticked.
    let form = rep1.get(&format!("/worklogs/new?related=customer:{c}")).await;
    assert!(form.has(&format!("input[name=rel][value='customer:{c}'][checked]")));
    let rel = format!("customer:{c}");
    let id = submit(&mut rep1, "去相关客户现场调研", &[("rel", &rel)]).await;
    assert!(rep1.get(&format!("/worklogs/{id}")).await.text_of("#worklog-related").contains("相关客户"));
    let tl = rep1.get(&format!("/customers/{c}?tab=timeline&kind=worklog")).await;
    assert!(tl.text_of("#timeline").contains("去相关客户现场调研"), "{}", tl.text_of("#timeline"));
    assert!(tl.has(&format!("#timeline a[href='/worklogs/{id}']")));
    // The manager sees the customer and the log.
    let mut mgr = o.app.login("mgr").await;
    assert!(mgr.get(&format!("/customers/{c}?tab=timeline")).await.text_of("#timeline").contains("去相关客户现场调研"));
}

#[tokio::test]
async fn the_demo_company_and_the_benchmark_have_logs_sent_to_superiors() {
    super::common::init_logging();
    let demo = TestApp::new().await;
    crm::seed::demo::seed(&demo.db).await.unwrap();
    assert_eq!(demo.count("SELECT count(*) FROM worklogs").await, 12);
    assert_eq!(demo.count("SELECT count(*) FROM worklog_comments").await, 1);
    assert_eq!(demo.count("SELECT count(*) FROM worklog_recipients WHERE read_at IS NULL").await, 3);
    // 李娜 (华东 manager) has her two reps' unread logs of yesterday waiting.
    let mut li = demo.client();
    li.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;
    assert_eq!(li.get("/worklogs?tab=received&unread=1").await.count("#worklogs tbody tr[data-id]"), 2);

    let bench = TestApp::new().await;
    crm::seed::scale::seed(&bench.db, 0.001).await.unwrap();
    let logs = bench.count("SELECT count(*) FROM worklogs").await;
    assert!((150..=250).contains(&logs), "{logs} logs at scale 0.001");
    let unsent = bench
        .count(
            "SELECT count(*) FROM worklogs w JOIN users u ON u.id = w.owner_id
              WHERE u.superior_id IS NOT NULL AND NOT EXISTS
                    (SELECT 1 FROM worklog_recipients r WHERE r.worklog_id = w.id AND r.user_id = u.superior_id)",
        )
        .await;
    assert_eq!(unsent, 0);
    let counted = bench.count("SELECT coalesce(sum(n), 0)::bigint FROM owner_counts WHERE entity = 'worklog'").await;
    assert_eq!(counted, logs);
}
