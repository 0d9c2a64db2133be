//! The to-do centre: each section counts exactly what the list it links to shows, "today" is the
//! configured time zone's day, items go away when dealt with, and the top bar shows the total.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};

use crate::common::{Client, TestApp};

struct World {
    app: TestApp,
    rep: i64,
    other: i64,
}

async fn world() -> World {
    crate::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let sales = app.dept("销售部", Some(root)).await;
    let mgr = app.user("mgr", sales, None, &["manager"]).await;
    let rep = app.user("rep", sales, Some(mgr), &["rep"]).await;
    let other = app.user("other", sales, Some(mgr), &["rep"]).await;
    World { app, rep, other }
}

/// The start of today in the app's time zone (+08:00 by default).
fn local_midnight() -> DateTime<Utc> {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap();
    let today = Utc::now().with_timezone(&tz).date_naive();
    tz.from_local_datetime(&today.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc)
}

async fn customer(
    app: &TestApp,
    name: &str,
    owner: i64,
    next: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id, next_contact_at, last_followup_at)
         VALUES (md5(random()::text), $1, $1,
                 (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $2, $3, $4)
         RETURNING id",
    )
    .bind(name)
    .bind(owner)
    .bind(next)
    .bind(last)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// The count a section shows, or None when it is not among the busy ones.
async fn section_count(c: &mut Client, code: &str) -> Option<i64> {
    let page = c.get("/todo").await;
    page.assert_status(200);
    let text = page.text_of(&format!("#todo-{code} .todo-count"));
    (!text.trim().is_empty()).then(|| text.trim().parse().unwrap())
}

#[tokio::test]
async fn customers_due_for_contact_follow_the_local_day_and_match_the_customer_list() {
    let w = world().await;
    let midnight = local_midnight();
    // Due: later today (23:30 local), and yesterday without a follow-up since.
    customer(&w.app, "今晚联系", w.rep, Some(midnight + Duration::minutes(23 * 60 + 30)), None).await;
    customer(&w.app, "昨天该联系", w.rep, Some(midnight - Duration::hours(14)), Some(midnight - Duration::days(3)))
        .await;
    // Not due: 00:30 tomorrow; followed up after the time came; someone else's.
    customer(&w.app, "明天凌晨", w.rep, Some(midnight + Duration::minutes(24 * 60 + 30)), None).await;
    customer(&w.app, "已跟进", w.rep, Some(midnight - Duration::hours(14)), Some(midnight - Duration::hours(2))).await;
    customer(&w.app, "别人的", w.other, Some(midnight - Duration::hours(14)), None).await;

    let mut rep = w.app.login("rep").await;
    assert_eq!(section_count(&mut rep, "followups_due").await, Some(2));
    let page = rep.get("/todo").await;
    let section = page.text_of("#todo-followups_due");
    assert!(section.contains("今晚联系") && section.contains("昨天该联系"), "{section}");
    assert!(!section.contains("明天凌晨") && !section.contains("已跟进") && !section.contains("别人的"));
    assert_eq!(page.count("#todo-followups_due .todo-item.overdue"), 1, "only yesterday's is late");
    let href = page.attr("#todo-followups_due h2 a", "href").unwrap();
    let list = rep.get(&href).await;
    list.assert_status(200);
    assert_eq!(list.count("#list-table tbody tr[data-id]"), 2, "the linked list shows the same customers");

    // A follow-up written now settles yesterday's; the top bar's count follows on the to-do page.
    let method: i64 =
        w.app.count("SELECT id FROM dict_items WHERE dict = 'followup_method' ORDER BY position LIMIT 1").await;
    let late = w.app.count("SELECT id FROM customers WHERE name = '昨天该联系'").await;
    rep.post(&format!("/customers/{late}/followups"), &[("method_id", &method.to_string()), ("content", "打过电话了")])
        .await;
    assert_eq!(section_count(&mut rep, "followups_due").await, Some(1));
    let page = rep.get("/customers").await;
    assert!(page.text_of(".todo-bell .count").trim().parse::<i64>().unwrap() >= 1, "the top bar shows the to-do count");
}

#[tokio::test]
async fn stale_customers_match_the_not_followed_up_page() {
    let w = world().await;
    let now = Utc::now();
    customer(&w.app, "从未跟进", w.rep, None, None).await;
    customer(&w.app, "很久没联系", w.rep, None, Some(now - Duration::days(45))).await;
    customer(&w.app, "最近联系过", w.rep, None, Some(now - Duration::days(3))).await;
    customer(&w.app, "别人很久没联系", w.other, None, Some(now - Duration::days(45))).await;
    let mut rep = w.app.login("rep").await;
    assert_eq!(section_count(&mut rep, "stale_customers").await, Some(2));
    let page = rep.get("/todo").await;
    let href = page.attr("#todo-stale_customers h2 a", "href").unwrap();
    let list = rep.get(&href).await;
    list.assert_status(200);
    assert_eq!(list.count("#overdue-customers tbody tr"), 2);
    assert!(list.text_of("#overdue-customers").contains("从未跟进"));
}

#[tokio::test]
async fn records_handed_to_me_wait_until_the_notice_is_read() {
    let w = world().await;
    let id = customer(&w.app, "转给我的客户", w.other, None, Some(Utc::now())).await;
    let mut mgr = w.app.login("mgr").await;
    let moved = mgr.post(&format!("/customers/{id}/transfer"), &[("new_owner", &w.rep.to_string())]).await;
    assert_eq!(moved.status, 303, "{}", moved.body);
    let mut rep = w.app.login("rep").await;
    assert_eq!(section_count(&mut rep, "handed_to_me").await, Some(1));
    let list = rep.get("/notifications?tab=handover").await;
    assert_eq!(list.count("#notifications li.unread"), 1, "the linked tab lists the same notice");
    // "Got it" on the to-do page marks it read and comes back.
    let page = rep.get("/todo").await;
    let action = page.attr("#todo-handed_to_me form", "action").unwrap();
    rep.post(&action, &[("back", "/todo")]).await.assert_redirect("/todo");
    assert_eq!(section_count(&mut rep, "handed_to_me").await, None, "nothing handed over waits now");
    assert!(rep.get("/todo").await.text_of(".todo-clear").contains("新分配给我"));
}

#[tokio::test]
async fn payments_due_and_contracts_ending_are_mine_and_match_their_lists() {
    let w = world().await;
    let cu = customer(&w.app, "付款客户", w.rep, None, Some(Utc::now())).await;
    let mine = w.app.contract(cu, "我的合同", w.rep, "approved").await;
    let theirs = w.app.contract(cu, "别人的合同", w.other, "approved").await;
    for (k, due, end) in [(mine, 3, 20), (theirs, 3, 20)] {
        sqlx::query("UPDATE contracts SET end_date = current_date + $2 WHERE id = $1")
            .bind(k)
            .bind(end)
            .execute(&w.app.db)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO payment_plans (contract_id, term, amount, due_date) VALUES ($1, 1, 600, current_date + $2),
                    ($1, 2, 400, current_date + 40)",
        )
        .bind(k)
        .bind(due)
        .execute(&w.app.db)
        .await
        .unwrap();
    }
    let mut rep = w.app.login("rep").await;
    assert_eq!(section_count(&mut rep, "plans_due").await, Some(1), "the term due in 3 days, not the one in 40");
    assert_eq!(section_count(&mut rep, "contracts_expiring").await, Some(1));
    let page = rep.get("/todo").await;
    let plans = rep.get(&page.attr("#todo-plans_due h2 a", "href").unwrap()).await;
    assert_eq!(plans.count("#due tbody tr[data-plan]"), 1, "the linked list shows the same term");
    assert!(plans.text_of("#due").contains("我的合同"));
    let ending = rep.get(&page.attr("#todo-contracts_expiring h2 a", "href").unwrap()).await;
    assert!(ending.text_of("#expiring").contains("我的合同"));
    assert!(!ending.text_of("#expiring").contains("别人的合同"));
}

/// The top bar's count is kept for a minute, but the user's own change shows at once: completing
/// a task due today takes it off the count on the next page.
#[tokio::test]
async fn the_top_bar_count_follows_the_users_own_changes_at_once() {
    let w = world().await;
    let due = local_midnight() + Duration::hours(20);
    let mut ids = Vec::new();
    for title in ["回电话", "发报价"] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tasks (title, owner_id, created_by, due_at) VALUES ($1, $2, $2, $3) RETURNING id",
        )
        .bind(title)
        .bind(w.rep)
        .bind(due)
        .fetch_one(&w.app.db)
        .await
        .unwrap();
        ids.push(id);
    }
    let mut rep = w.app.login("rep").await;
    let count = |page: &crate::common::Resp| page.text_of(".todo-bell .count").trim().to_string();
    assert_eq!(count(&rep.get("/customers").await), "2");
    rep.post(&format!("/tasks/{}/complete", ids[0]), &[]).await.assert_status(303);
    assert_eq!(count(&rep.get("/customers").await), "1", "counted again after the change");
}
