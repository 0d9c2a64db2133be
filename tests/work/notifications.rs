//! Notifications, reminders and the periodic jobs: the bell, the inbox in the reader's language,
//! opening and marking read (only one's own), reminders delivered exactly once under the jobs'
//! advisory locks, `job_runs`, session purging and pruning.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use crm::jobs::{self, JobCtx};
use serde_json::{Value, json};

use super::common::{self, Client, TestApp};

struct World {
    app: TestApp,
    admin: i64,
    rep: i64,
    other: i64,
}

async fn setup() -> World {
    common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let root = app.root_dept().await;
    let rep = app.user("rep", root, None, &["rep"]).await;
    let other = app.user("other", root, None, &["rep"]).await;
    World { app, admin, rep, other }
}

async fn send(app: &TestApp, user: i64, kind: &str, params: Value, link: Option<&str>, actor: Option<i64>) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    crm::notify::send(&mut conn, user, kind, params, link, actor).await.unwrap();
    sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM notifications").fetch_one(&app.db).await.unwrap()
}

async fn remind(app: &TestApp, user: i64, due: DateTime<Utc>, text: &str, by: Option<i64>) {
    let mut conn = app.db.acquire().await.unwrap();
    let params = json!({ "text": text });
    crm::notify::remind(&mut conn, user, due, "reminder", params, Some("/customers"), by).await.unwrap();
}

fn ctx(app: &TestApp, now: DateTime<Utc>) -> JobCtx {
    JobCtx { db: app.db.clone(), config: Arc::new(app.config.clone()), now }
}

/// Whether `job` ran in a `run_due` result.
fn ran(results: &[(&'static str, bool, String)], job: &str) -> bool {
    results.iter().find(|r| r.0 == job).unwrap_or_else(|| panic!("{job} missing from {results:?}")).1
}

fn message<'a>(results: &'a [(&'static str, bool, String)], job: &str) -> &'a str {
    results.iter().find(|r| r.0 == job).map(|r| r.2.as_str()).unwrap()
}

async fn notifications_of(app: &TestApp, user: i64) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn bell(c: &mut Client) -> String {
    c.get("/").await.assert_status(200).text_of(".bell .count")
}

#[tokio::test]
async fn the_bell_counts_unread_and_the_inbox_speaks_the_readers_language() {
    let w = setup().await;
    let mut c = w.app.login("rep").await;
    assert_eq!(bell(&mut c).await, "", "no count without notifications");
    assert_eq!(c.get("/").await.attr(".bell", "href").as_deref(), Some("/notifications"));

    let first =
        send(&w.app, w.rep, "reminder", json!({ "text": "回访张三" }), Some("/customers?q=张三"), Some(w.admin)).await;
    send(&w.app, w.rep, "reminder", json!({}), None, None).await;
    assert_eq!(bell(&mut c).await, "2");

    let list = c.get("/notifications").await;
    list.assert_status(200);
    assert_eq!(list.count("#notifications li.unread"), 2);
    assert_eq!(list.text_of(".bell .count"), "2");
    let row = list.text_of(&format!("li[data-notification=\"{first}\"]"));
    assert!(row.contains("提醒：回访张三") && row.contains("用户admin"), "{row}");
    list.assert_contains("提醒：{text}"); // a missing param stays as written

    // The same notifications in English once the reader chooses it.
    sqlx::query("UPDATE users SET lang = 'en' WHERE id = $1").bind(w.rep).execute(&w.app.db).await.unwrap();
    let list = c.get("/notifications").await;
    list.assert_contains("Reminder: 回访张三").assert_contains("Reminder: {text}").assert_lacks("提醒：");

    // Opening marks it read and follows its link.
    c.get(&format!("/notifications/{first}")).await.assert_redirect("/customers?q=%E5%BC%A0%E4%B8%89");
    assert_eq!(bell(&mut c).await, "1");
    let list = c.get("/notifications").await;
    assert_eq!(list.count("#notifications li.unread"), 1);
    assert_eq!(list.count("#notifications li"), 2);
    let unread_tab = c.get("/notifications?tab=unread").await;
    assert_eq!(unread_tab.count("#notifications li"), 1);
    unread_tab.assert_lacks("回访张三");

    // Read all clears the bell.
    c.post("/notifications/read-all", &[]).await.assert_redirect("/notifications");
    assert_eq!(bell(&mut c).await, "");
    assert_eq!(c.get("/notifications?tab=unread").await.count("#notifications li"), 0);
    let unread: i64 = w.app.count("SELECT count(*) FROM notifications WHERE read_at IS NULL").await;
    assert_eq!(unread, 0);
}

#[tokio::test]
async fn marking_one_read_follows_its_link_or_stays_on_the_list() {
    let w = setup().await;
    let linked = send(&w.app, w.rep, "reminder", json!({ "text": "a" }), Some("/customers"), Some(w.admin)).await;
    let plain = send(&w.app, w.rep, "reminder", json!({ "text": "b" }), None, Some(w.admin)).await;
    let third = send(&w.app, w.rep, "reminder", json!({ "text": "c" }), Some("/customers"), Some(w.admin)).await;
    let unsafe_link = send(&w.app, w.rep, "reminder", json!({ "text": "d" }), Some("//evil.example"), None).await;
    let mut c = w.app.login("rep").await;
    c.post(&format!("/notifications/{linked}/read"), &[]).await.assert_redirect("/customers");
    c.post(&format!("/notifications/{plain}/read"), &[]).await.assert_redirect("/notifications");
    // The list's own button comes back to the list page it was on.
    c.post(&format!("/notifications/{third}/read"), &[("back", "/notifications?tab=unread")])
        .await
        .assert_redirect("/notifications?tab=unread");
    // A foreign `back` is ignored; an unsafe link is never followed.
    c.post(&format!("/notifications/{unsafe_link}/read"), &[("back", "https://evil.example")])
        .await
        .assert_redirect("/notifications");
    assert_eq!(bell(&mut c).await, "");
    // Reading again is harmless and keeps the first read time.
    let before: DateTime<Utc> = sqlx::query_scalar("SELECT read_at FROM notifications WHERE id = $1")
        .bind(linked)
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    c.get(&format!("/notifications/{linked}")).await.assert_redirect("/customers");
    let after: DateTime<Utc> = sqlx::query_scalar("SELECT read_at FROM notifications WHERE id = $1")
        .bind(linked)
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn another_users_notification_is_not_found_and_stays_unread() {
    let w = setup().await;
    let id = send(&w.app, w.rep, "reminder", json!({ "text": "只给rep" }), Some("/customers"), Some(w.admin)).await;
    let mut other = w.app.login("other").await;
    other.get(&format!("/notifications/{id}")).await.assert_status(404);
    other.post(&format!("/notifications/{id}/read"), &[]).await.assert_status(404);
    other.get("/notifications/999999").await.assert_status(404);
    other.get("/notifications").await.assert_status(200).assert_lacks("只给rep");
    // read-all only touches one's own inbox.
    other.post("/notifications/read-all", &[]).await.assert_redirect("/notifications");
    assert_eq!(bell(&mut other).await, "");
    let read: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT read_at FROM notifications WHERE id = $1")
        .bind(id)
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    assert!(read.is_none());
    let mut rep = w.app.login("rep").await;
    assert_eq!(bell(&mut rep).await, "1");
    assert_eq!(notifications_of(&w.app, w.other).await, 0);
}

#[tokio::test]
async fn nobody_is_told_what_they_just_did() {
    let w = setup().await;
    send(&w.app, w.admin, "reminder", json!({ "text": "x" }), None, Some(w.admin)).await;
    assert_eq!(notifications_of(&w.app, w.admin).await, 0);
    send(&w.app, w.admin, "reminder", json!({ "text": "x" }), None, Some(w.rep)).await;
    assert_eq!(notifications_of(&w.app, w.admin).await, 1);
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login() {
    let w = setup().await;
    let mut anon = w.app.client();
    let r = anon.get("/notifications").await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert!(r.location().starts_with("/login"), "{}", r.location());
    let r = anon.get("/notifications/1").await;
    assert!(r.location().starts_with("/login"), "{}", r.location());
}

#[tokio::test]
async fn a_reminder_becomes_a_notification_once_when_it_is_due() {
    let w = setup().await;
    let now = Utc::now();
    let due = now + Duration::hours(1);
    remind(&w.app, w.rep, due, "回访李四", Some(w.admin)).await;
    let mut c = w.app.login("rep").await;

    let r = jobs::run_due(ctx(&w.app, now), false).await;
    assert!(ran(&r, "deliver_reminders"), "{r:?}");
    assert_eq!(message(&r, "deliver_reminders"), "delivered 0");
    assert_eq!(bell(&mut c).await, "");
    c.get("/notifications").await.assert_lacks("回访李四");

    let r = jobs::run_due(ctx(&w.app, due + Duration::seconds(1)), false).await;
    assert!(ran(&r, "deliver_reminders"), "{r:?}");
    assert_eq!(message(&r, "deliver_reminders"), "delivered 1");
    assert_eq!(bell(&mut c).await, "1");
    let list = c.get("/notifications").await;
    let row = list.text_of("#notifications li");
    assert!(row.contains("提醒：回访李四") && row.contains("用户admin"), "{row}");
    let delivered: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT delivered_at FROM reminders").fetch_one(&w.app.db).await.unwrap();
    assert!(delivered.is_some());

    // Running again (forced, or later) delivers nothing twice.
    let r = jobs::run_due(ctx(&w.app, due + Duration::seconds(2)), true).await;
    assert!(ran(&r, "deliver_reminders"));
    assert_eq!(message(&r, "deliver_reminders"), "delivered 0");
    jobs::run_due(ctx(&w.app, due + Duration::minutes(5)), false).await;
    assert_eq!(notifications_of(&w.app, w.rep).await, 1);

    // A reminder one sets for oneself is delivered too (without naming oneself as the actor).
    remind(&w.app, w.rep, now - Duration::seconds(1), "自己的提醒", Some(w.rep)).await;
    jobs::run_due(ctx(&w.app, due + Duration::minutes(6)), true).await;
    let actor: Option<i64> =
        sqlx::query_scalar("SELECT actor_id FROM notifications WHERE params->>'text' = '自己的提醒'")
            .fetch_one(&w.app.db)
            .await
            .unwrap();
    assert_eq!(actor, None);
}

#[tokio::test]
async fn concurrent_runners_deliver_each_reminder_exactly_once() {
    let w = setup().await;
    let now = Utc::now();
    for i in 0..30 {
        let user = if i % 2 == 0 { w.rep } else { w.other };
        remind(&w.app, user, now - Duration::minutes(i), &format!("r{i}"), Some(w.admin)).await;
    }
    let (a, b) = tokio::join!(jobs::run_due(ctx(&w.app, now), true), jobs::run_due(ctx(&w.app, now), true));
    assert!(ran(&a, "deliver_reminders") || ran(&b, "deliver_reminders"), "{a:?} {b:?}");
    let (a2, b2) = tokio::join!(jobs::run_due(ctx(&w.app, now), true), jobs::run_due(ctx(&w.app, now), true));
    assert!(ran(&a2, "deliver_reminders") || ran(&b2, "deliver_reminders"));
    assert_eq!(w.app.count("SELECT count(*) FROM notifications").await, 30);
    assert_eq!(
        w.app.count("SELECT count(DISTINCT params->>'text') FROM notifications").await,
        30,
        "each reminder delivered once"
    );
    assert_eq!(w.app.count("SELECT count(*) FROM reminders WHERE delivered_at IS NULL").await, 0);
    assert_eq!(notifications_of(&w.app, w.rep).await, 15);
}

#[tokio::test]
async fn reminders_locked_by_another_runner_are_skipped_not_waited_for() {
    let w = setup().await;
    let now = Utc::now();
    for i in 0..3 {
        remind(&w.app, w.rep, now - Duration::minutes(1), &format!("r{i}"), None).await;
    }
    // Runner A delivers inside a transaction that has not committed yet.
    let mut a = w.app.db.begin().await.unwrap();
    assert_eq!(crm::notify::deliver_due(&mut a, now, 2).await.unwrap(), 2);
    // Runner B skips A's locked rows at once and takes only the free one.
    let mut b = w.app.db.acquire().await.unwrap();
    assert_eq!(crm::notify::deliver_due(&mut b, now, 100).await.unwrap(), 1);
    a.commit().await.unwrap();
    assert_eq!(crm::notify::deliver_due(&mut b, now, 100).await.unwrap(), 0);
    assert_eq!(w.app.count("SELECT count(*) FROM notifications").await, 3);
    assert_eq!(w.app.count("SELECT count(DISTINCT params->>'text') FROM notifications").await, 3);
}

#[tokio::test]
async fn a_job_whose_lock_is_held_elsewhere_is_skipped_and_runs_after_release() {
    let w = setup().await;
    let now = Utc::now();
    remind(&w.app, w.rep, now - Duration::seconds(5), "锁住了", None).await;
    let key = jobs::lock_key("deliver_reminders");
    assert_ne!(key, jobs::lock_key("purge_sessions"));

    let mut holder = w.app.db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(key).execute(&mut *holder).await.unwrap();
    let r = jobs::run_due(ctx(&w.app, now), true).await;
    assert!(!ran(&r, "deliver_reminders"), "{r:?}");
    assert!(ran(&r, "purge_sessions"), "other jobs still run: {r:?}");
    assert_eq!(notifications_of(&w.app, w.rep).await, 0);
    let recorded = w.app.count("SELECT count(*) FROM job_runs WHERE name = 'deliver_reminders'").await;
    assert_eq!(recorded, 0, "a skipped run is not recorded");
    holder.rollback().await.unwrap();

    // Not forced: the job never ran, so it is due.
    let r = jobs::run_due(ctx(&w.app, now), false).await;
    assert!(ran(&r, "deliver_reminders"), "{r:?}");
    assert_eq!(notifications_of(&w.app, w.rep).await, 1);
}

#[tokio::test]
async fn job_runs_are_recorded_and_expired_sessions_purged() {
    let w = setup().await;
    for (id, expiry) in [("expired-one", "now() - interval '1 hour'"), ("live-one", "now() + interval '1 hour'")] {
        sqlx::query(&format!(
            "INSERT INTO tower_sessions.session (id, data, expiry_date) VALUES ($1, '\\x00'::bytea, {expiry})"
        ))
        .bind(id)
        .execute(&w.app.db)
        .await
        .unwrap();
    }
    let now = Utc::now();
    let r = jobs::run_due(ctx(&w.app, now), false).await;
    assert_eq!(
        r.iter().map(|r| r.0).collect::<Vec<_>>(),
        [
            "deliver_reminders",
            "purge_sessions",
            "purge_login_locks",
            "prune_notifications",
            "resume_imports",
            "pool_recycle",
            "pool_warnings",
            "payment_plan_reminders",
            "task_reminders",
            "event_reminders",
            "send_mail"
        ]
    );
    assert!(r.iter().all(|r| r.1), "{r:?}");
    let sessions: Vec<String> = sqlx::query_scalar("SELECT id FROM tower_sessions.session WHERE id LIKE '%-one'")
        .fetch_all(&w.app.db)
        .await
        .unwrap();
    assert_eq!(sessions, ["live-one"]);

    let (started, finished, ok, msg): (DateTime<Utc>, DateTime<Utc>, bool, String) = sqlx::query_as(
        "SELECT last_started_at, last_finished_at, last_ok, last_message FROM job_runs WHERE name = 'purge_sessions'",
    )
    .fetch_one(&w.app.db)
    .await
    .unwrap();
    assert!(ok && finished >= started, "{started} {finished}");
    assert_eq!((started - now).num_milliseconds().abs(), 0);
    assert!(msg.starts_with("deleted "), "{msg}");
    assert_eq!(w.app.count("SELECT count(*) FROM job_runs WHERE last_ok").await, 11);

    // A minute later only the reminder jobs (30 and 60 seconds) and the import resumer (15) are
    // due; a day later all are.
    let r = jobs::run_due(ctx(&w.app, now + Duration::minutes(1)), false).await;
    assert!(ran(&r, "deliver_reminders") && !ran(&r, "purge_sessions") && !ran(&r, "prune_notifications"), "{r:?}");
    assert_eq!(message(&r, "purge_sessions"), "not due");
    let r = jobs::run_due(ctx(&w.app, now + Duration::days(1)), false).await;
    assert!(r.iter().all(|r| r.1), "{r:?}");
}

#[tokio::test]
async fn old_read_notifications_are_pruned_unread_ones_kept() {
    let w = setup().await;
    for (text, age_days, read) in [("old-read", 200, true), ("old-unread", 200, false), ("new-read", 10, true)] {
        sqlx::query(
            "INSERT INTO notifications (user_id, kind, params, created_at, read_at)
             VALUES ($1, 'reminder', $2, now() - make_interval(days => $3), CASE WHEN $4 THEN now() END)",
        )
        .bind(w.rep)
        .bind(json!({ "text": text }))
        .bind(age_days)
        .bind(read)
        .execute(&w.app.db)
        .await
        .unwrap();
    }
    let r = jobs::run_due(ctx(&w.app, Utc::now()), true).await;
    assert_eq!(message(&r, "prune_notifications"), "deleted 1");
    let left: Vec<String> =
        sqlx::query_scalar("SELECT params->>'text' FROM notifications ORDER BY id").fetch_all(&w.app.db).await.unwrap();
    assert_eq!(left, ["old-unread", "new-read"]);
}

/// A request that only redirects renders no page, so it neither counts notifications nor takes
/// the flash queued for the page after: the message waits for the page that shows it.
#[tokio::test]
async fn a_redirect_keeps_the_flash_for_the_page_that_shows_it() {
    let w = setup().await;
    let mut c = w.app.login("rep").await;
    let a = send(&w.app, w.rep, "reminder", json!({ "text": "甲" }), Some("/customers"), Some(w.admin)).await;
    // "All read" queues its message and redirects to the inbox; the browser opens a
    // notification link first (a redirect through a handler that has the page context).
    c.post("/notifications/read-all", &[]).await.assert_redirect("/notifications");
    c.get(&format!("/notifications/{a}")).await.assert_redirect("/customers");
    let list = c.get("/notifications").await;
    list.assert_status(200);
    assert!(list.text_of(".flash").contains("全部通知标为已读"), "{}", list.text_of(".flash"));
    // Shown once: the next page has no flash.
    assert_eq!(c.get("/notifications").await.count(".flash"), 0);
}
