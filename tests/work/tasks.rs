//! Tasks: the views across day boundaries in the configured time zone, completing from the list
//! (audited), @mentions, who sees a task (participants, creator, managers; not peers), the
//! reminder job, the to-do source agreeing with its list, related customers' timelines, and a
//! refused form.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use super::common::{Client, Resp, TestApp};

struct World {
    app: TestApp,
    /// A manager (华东, department and below) over `rep`.
    boss: i64,
    rep: i64,
    /// Another rep in the same department: a peer.
    peer: i64,
    /// A rep in another department.
    other: i64,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let east = app.dept("华东", None).await;
    let north = app.dept("华北", None).await;
    let boss = app.user("boss", east, None, &["manager"]).await;
    let rep = app.user("rep", east, Some(boss), &["rep"]).await;
    let peer = app.user("peer", east, Some(boss), &["rep"]).await;
    let other = app.user("other", north, None, &["rep"]).await;
    World { app, boss, rep, peer, other }
}

/// A task inserted directly, owned and created by `owner`.
async fn task(app: &TestApp, title: &str, owner: i64, due: Option<DateTime<Utc>>, bucket: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO tasks (title, owner_id, created_by, due_at, bucket) VALUES ($1, $2, $2, $3, $4) RETURNING id",
    )
    .bind(title)
    .bind(owner)
    .bind(due)
    .bind(bucket)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn customer(app: &TestApp, name: &str, owner: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         VALUES ('C-' || md5(random()::text), $1, lower($1),
                 (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $2)
         RETURNING id",
    )
    .bind(name)
    .bind(owner)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// The titles a list page shows.
fn titles(r: &Resp) -> Vec<String> {
    r.assert_status(200);
    r.html()
        .select(&scraper::Selector::parse("#task-table tbody tr[data-id] .task-title").unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// How many notifications of `kind` the user has.
async fn notes(app: &TestApp, user: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2")
        .bind(user)
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn view(c: &mut Client, view: &str) -> Vec<String> {
    titles(&c.get(&format!("/tasks?view={view}")).await)
}

/// `hh:mm` local time, `days` after today, in the configured time zone.
fn local(app: &TestApp, days: i64, hh: u32, mm: u32) -> DateTime<Utc> {
    let tz = app.config.timezone;
    let day = Utc::now().with_timezone(&tz).date_naive() + Duration::days(days);
    tz.from_local_datetime(&day.and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap())).unwrap().to_utc()
}

#[tokio::test]
async fn views_place_tasks_by_the_configured_days() {
    let w = world().await;
    let app = &w.app;
    task(app, "late today", w.rep, Some(local(app, 0, 23, 30)), "inbox").await;
    task(app, "just after midnight", w.rep, Some(local(app, 1, 0, 30)), "inbox").await;
    task(app, "yesterday's", w.rep, Some(Utc::now() - Duration::hours(30)), "later").await;
    task(app, "filed for today", w.rep, None, "today").await;
    task(app, "filed next", w.rep, None, "next").await;
    task(app, "filed later", w.rep, Some(local(app, 3, 9, 0)), "later").await;
    task(app, "someone else's", w.peer, Some(local(app, 0, 10, 0)), "today").await;
    let mut rep = app.login("rep").await;
    let today = view(&mut rep, "today").await;
    for t in ["late today", "yesterday's", "filed for today"] {
        assert!(today.contains(&t.to_string()), "{t} in today: {today:?}");
    }
    assert!(!today.contains(&"just after midnight".to_string()));
    assert!(!today.contains(&"someone else's".to_string()));
    assert_eq!(view(&mut rep, "inbox").await, vec!["just after midnight"]);
    assert_eq!(view(&mut rep, "next").await, vec!["filed next"]);
    assert_eq!(view(&mut rep, "later").await, vec!["filed later"]);
    assert!(view(&mut rep, "overdue").await.contains(&"yesterday's".to_string()));
    // A rep's scope is themselves: no team view.
    assert!(!rep.get("/tasks").await.has("#task-views a[data-view=\"team\"]"));
}

#[tokio::test]
async fn completing_from_the_list_moves_it_to_done_and_is_audited() {
    let w = world().await;
    let app = &w.app;
    let id = task(app, "call back", w.rep, None, "inbox").await;
    let mut rep = app.login("rep").await;
    assert_eq!(view(&mut rep, "inbox").await, vec!["call back"]);
    let page = rep.get("/tasks?view=inbox").await;
    assert!(page.has(&format!("form[action=\"/tasks/{id}/complete\"] button")));
    rep.post(&format!("/tasks/{id}/complete"), &[("back", "/tasks?view=inbox")])
        .await
        .assert_redirect("/tasks?view=inbox");
    assert!(view(&mut rep, "inbox").await.is_empty());
    assert_eq!(view(&mut rep, "done").await, vec!["call back"]);
    let audited = app
        .count(&format!("SELECT count(*) FROM operation_logs WHERE entity = 'task' AND entity_id = {id} AND action = 'task_complete'"))
        .await;
    assert_eq!(audited, 1);
    // Reopen: back in the inbox, audited too; a foreign `back` is not followed.
    rep.post(&format!("/tasks/{id}/reopen"), &[("back", "https://evil.example/")])
        .await
        .assert_redirect(&format!("/tasks/{id}"));
    assert_eq!(view(&mut rep, "inbox").await, vec!["call back"]);
    let reopened = app
        .count(&format!("SELECT count(*) FROM operation_logs WHERE entity_id = {id} AND action = 'task_reopen'"))
        .await;
    assert_eq!(reopened, 1);
}

#[tokio::test]
async fn participants_creator_and_manager_see_a_task_peers_and_others_do_not() {
    let w = world().await;
    let app = &w.app;
    let mut rep = app.login("rep").await;
    let other = w.other.to_string();
    let c = customer(app, "保密客户", w.rep).await;
    let rel = format!("customer:{c}");
    let form = [("title", "合同审阅"), ("participants", &other), ("priority", "3"), ("rel", &rel)];
    let r = rep.post("/tasks", &form).await;
    let id: i64 = r.location().rsplit('/').next().unwrap().parse().unwrap();
    // The participant (another department) sees it in "involved" and opens it; may complete it.
    let mut o = app.login("other").await;
    assert_eq!(view(&mut o, "involved").await, vec!["合同审阅"]);
    // ...without learning the name of a customer outside their scope.
    o.get(&format!("/tasks/{id}")).await.assert_status(200).assert_lacks("保密客户");
    rep.get(&format!("/tasks/{id}")).await.assert_contains("保密客户");
    let notified = app
        .count(&format!("SELECT count(*) FROM notifications WHERE user_id = {} AND kind = 'task_participant'", w.other))
        .await;
    assert_eq!(notified, 1);
    // The manager sees the subordinate's task in the team view; a peer sees nothing.
    let mut boss = app.login("boss").await;
    assert_eq!(view(&mut boss, "team").await, vec!["合同审阅"]);
    boss.get(&format!("/tasks/{id}")).await.assert_status(200);
    let mut peer = app.login("peer").await;
    peer.get(&format!("/tasks/{id}")).await.assert_status(404);
    peer.post(&format!("/tasks/{id}/complete"), &[]).await.assert_status(404);
    for v in ["inbox", "today", "involved", "assigned", "done"] {
        assert!(view(&mut peer, v).await.is_empty(), "peer's {v}");
    }
    // A task the rep creates for the peer: the rep follows it under "assigned"; the peer has it
    // in the inbox (a rep may only give tasks within their scope, so the manager does it here).
    let peer_id = w.peer.to_string();
    boss.post("/tasks", &[("title", "拜访客户"), ("owner_id", &peer_id)]).await.assert_status(303);
    assert_eq!(view(&mut boss, "assigned").await, vec!["拜访客户"]);
    assert_eq!(view(&mut peer, "inbox").await, vec!["拜访客户"]);
    let _ = w.boss;
}

#[tokio::test]
async fn a_mention_tells_the_mentioned_user_only() {
    let w = world().await;
    let app = &w.app;
    let id = task(app, "报价单", w.rep, None, "inbox").await;
    let mut rep = app.login("rep").await;
    // Test users are named 用户<login>; "@用户peer看看" names peer by name, "@other" by login.
    rep.post(&format!("/tasks/{id}/comments"), &[("body", "@用户peer看看，顺便 @nobody")]).await.assert_status(303);
    let mentions = |user: i64| notes(app, user, "task_mention");
    assert_eq!(mentions(w.peer).await, 1);
    assert_eq!(mentions(w.other).await, 0);
    assert_eq!(mentions(w.boss).await, 0);
    assert_eq!(mentions(w.rep).await, 0);
    rep.post(&format!("/tasks/{id}/comments"), &[("body", "@OTHER please")]).await.assert_status(303);
    assert_eq!(mentions(w.other).await, 1);
    // An empty comment comes back with its error.
    let r = rep.post(&format!("/tasks/{id}/comments"), &[("body", "  ")]).await;
    r.assert_status(422);
    assert!(r.has("#comments .field-error"));
}

#[tokio::test]
async fn the_reminder_job_tells_owner_and_participants_once() {
    let w = world().await;
    let app = &w.app;
    let id = task(app, "发报价", w.rep, Some(Utc::now() + Duration::minutes(20)), "inbox").await;
    let later = task(app, "下周的事", w.rep, Some(Utc::now() + Duration::days(3)), "inbox").await;
    sqlx::query("INSERT INTO task_participants (task_id, user_id) VALUES ($1, $2), ($3, $2)")
        .bind(id)
        .bind(w.peer)
        .bind(later)
        .execute(&app.db)
        .await
        .unwrap();
    let run = || async {
        let ctx = crm::jobs::JobCtx { db: app.db.clone(), config: Arc::new(app.config.clone()), now: Utc::now() };
        crm::jobs::run_named(ctx, &["task_reminders"]).await
    };
    run().await;
    run().await;
    let due = |user: i64| notes(app, user, "task_due");
    assert_eq!(due(w.rep).await, 1);
    assert_eq!(due(w.peer).await, 1);
    assert_eq!(due(w.other).await, 0);
    // A new due time reminds again.
    let mut rep = app.login("rep").await;
    let soon = crm::modules::tasks::model::local_input(Utc::now() + Duration::minutes(10), app.config.timezone);
    let peer = w.peer.to_string();
    rep.post(
        &format!("/tasks/{id}"),
        &[("title", "发报价"), ("due_at", &soon), ("remind_minutes", "30"), ("participants", &peer)],
    )
    .await
    .assert_status(303);
    run().await;
    assert_eq!(due(w.rep).await, 2);
}

#[tokio::test]
async fn the_to_do_source_counts_what_its_list_shows() {
    let w = world().await;
    let app = &w.app;
    for i in 0..11 {
        task(app, &format!("today {i}"), w.rep, Some(local(app, 0, 0, 5)), "inbox").await;
    }
    task(app, "filed today", w.rep, None, "today").await;
    task(app, "tomorrow", w.rep, Some(local(app, 1, 9, 0)), "inbox").await;
    let mut rep = app.login("rep").await;
    let todo = rep.get("/todo").await;
    let href = todo.attr("#todo-tasks_today h2 a", "href").unwrap();
    assert_eq!(href, "/tasks?view=today");
    assert_eq!(todo.text_of("#todo-tasks_today .todo-count").trim(), "12");
    assert_eq!(todo.count("#todo-tasks_today .todo-item") as i64, crm::todo::SHOWN);
    assert_eq!(
        todo.count("#todo-tasks_today .todo-item form"),
        crm::todo::SHOWN as usize,
        "each can be done from here"
    );
    let r = rep.get(&format!("{href}&per_page=50")).await;
    assert_eq!(titles(&r).len(), 12);
}

#[tokio::test]
async fn a_task_shows_on_its_customers_timeline_for_who_sees_both() {
    let w = world().await;
    let app = &w.app;
    let c = customer(app, "华信科技", w.rep).await;
    let mut rep = app.login("rep").await;
    let form = rep.get(&format!("/tasks/new?related=customer:{c}")).await;
    form.assert_status(200);
    assert!(form.has(&format!("input[name=rel][value=\"customer:{c}\"][checked]")));
    let rel = format!("customer:{c}");
    rep.post("/tasks", &[("title", "寄样品"), ("rel", &rel)]).await.assert_status(303);
    let timeline = rep.get(&format!("/customers/{c}?tab=timeline&kind=task")).await;
    timeline.assert_status(200);
    timeline.assert_contains("寄样品");
    // The manager sees the customer and the task; another department's rep sees neither.
    app.login("boss").await.get(&format!("/customers/{c}?tab=timeline")).await.assert_contains("寄样品");
    app.login("other").await.get(&format!("/customers/{c}")).await.assert_status(404);
}

#[tokio::test]
async fn a_refused_form_comes_back_with_what_was_typed() {
    let w = world().await;
    let mut rep = w.app.login("rep").await;
    let r = rep.post("/tasks", &[("title", ""), ("description", "记得带合同"), ("due_at", "明天")]).await;
    r.assert_status(422);
    assert!(r.has("#task-form .field-error"));
    r.assert_contains("记得带合同");
    assert_eq!(w.app.count("SELECT count(*) FROM tasks").await, 0);
    let r = rep.post("/tasks", &[("title", &"长".repeat(201))]).await;
    r.assert_status(422);
    assert_eq!(w.app.count("SELECT count(*) FROM tasks").await, 0);
}

#[tokio::test]
async fn the_demo_company_and_the_benchmark_generator_have_tasks() {
    let demo = TestApp::new().await;
    crm::seed::demo::seed(&demo.db).await.unwrap();
    assert!(demo.count("SELECT count(*) FROM tasks").await >= 12);
    assert!(demo.count("SELECT count(*) FROM work_links WHERE kind = 'task'").await >= 5);
    let mut rep = demo.client();
    rep.login("13800000003", crm::seed::demo::SALES_PASSWORD).await.assert_status(303);
    assert!(!view(&mut rep, "today").await.is_empty());

    let big = TestApp::new().await;
    crm::seed::scale::seed(&big.db, 0.0001).await.unwrap();
    let n = big.count("SELECT count(*) FROM tasks WHERE deleted_at IS NULL").await;
    assert!((80..=100).contains(&n), "{n} tasks generated");
    let counted = big.count("SELECT coalesce(sum(n), 0)::bigint FROM owner_counts WHERE entity = 'task'").await;
    assert_eq!(counted, n);
    assert!(big.count("SELECT count(*) FROM tasks WHERE done_at IS NOT NULL").await * 10 >= n * 7);
    let linked = big
        .count(
            "SELECT count(*) FROM work_links l JOIN tasks t ON t.id = l.item_id
              JOIN customers c ON c.id = l.entity_id WHERE l.kind = 'task' AND t.title LIKE '%' || c.short_name",
        )
        .await;
    assert_eq!(linked, big.count("SELECT count(*) FROM work_links WHERE kind = 'task'").await);
}

/// Related records the editor cannot see are neither shown to them nor lost when they save: the
/// manager relates the rep's task to a peer's customer too; the rep edits the task.
#[tokio::test]
async fn an_edit_keeps_the_related_records_the_editor_cannot_see() {
    let w = world().await;
    let app = &w.app;
    let own = customer(app, "自己的客户", w.rep).await;
    let peers = customer(app, "同事的客户", w.peer).await;
    let mut boss = app.login("boss").await;
    let (a, b) = (format!("customer:{own}"), format!("customer:{peers}"));
    boss.post("/tasks", &[("title", "联合拜访"), ("owner_id", &w.rep.to_string()), ("rel", &a), ("rel", &b)])
        .await
        .assert_status(303);
    let id = app.count("SELECT id FROM tasks WHERE title = '联合拜访'").await;
    assert_eq!(app.count(&format!("SELECT owner_id FROM tasks WHERE id = {id}")).await, w.rep);
    let mut rep = app.login("rep").await;
    let form = rep.get(&format!("/tasks/{id}/edit")).await;
    form.assert_status(200);
    assert!(form.has(&format!("input[name=rel][value=\"{a}\"]")));
    assert!(!form.body.contains("同事的客户"), "the rep does not see the peer's customer");
    rep.post(&format!("/tasks/{id}"), &[("title", "联合拜访（改）"), ("rel", &a)]).await.assert_status(303);
    let linked = app.count(&format!("SELECT count(*) FROM work_links WHERE kind = 'task' AND item_id = {id}")).await;
    assert_eq!(linked, 2, "the hidden customer stays related");
    assert!(boss.get(&format!("/tasks/{id}")).await.text_of("#task-related").contains("同事的客户"));
}
