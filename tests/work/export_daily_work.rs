//! Exports of the daily-work lists (src/exports): tasks (each view) and work logs (each tab and
//! filter) give exactly the rows the list shows, in its order, for a rep and for a manager; without
//! the export right there is no button and the export answers 403. Schedule has no list of its
//! own (the calendar is its page), so nothing to export there.

use calamine::{Data, DataType};

use super::common::files::{col, download, export_all};
use super::common::{Client, TestApp};

struct World {
    app: TestApp,
    /// A manager (华东, department and below) over `rep` and `peer`.
    boss: i64,
    rep: i64,
    peer: i64,
    /// A rep in another department, outside the manager's scope.
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

/// Reps may export the daily-work lists too (by default only managers and directors may).
async fn reps_export(app: &TestApp) {
    sqlx::query(
        "INSERT INTO role_permissions (role_id, module, action)
         SELECT r.id, m, 'export' FROM roles r, unnest(ARRAY['tasks', 'worklogs']) m
          WHERE r.code = 'rep' ON CONFLICT DO NOTHING",
    )
    .execute(&app.db)
    .await
    .unwrap();
}

/// A task owned by `owner`, created by `creator`, due in `due_days` days (none: no due time).
async fn task(app: &TestApp, title: &str, owner: i64, creator: i64, bucket: &str, due_days: Option<i32>) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO tasks (title, owner_id, created_by, bucket, due_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(days => $5)) RETURNING id",
    )
    .bind(title)
    .bind(owner)
    .bind(creator)
    .bind(bucket)
    .bind(due_days)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn seed_tasks(w: &World) {
    let app = &w.app;
    // More than a page (20) in the rep's inbox: the export has them all.
    for i in 0..23 {
        task(app, &format!("收件箱{i:02}"), w.rep, w.rep, "inbox", if i % 3 == 0 { None } else { Some(i + 2) }).await;
    }
    task(app, "今天要做", w.rep, w.rep, "today", None).await;
    task(app, "已逾期", w.rep, w.rep, "later", Some(-3)).await;
    task(app, "下一步", w.rep, w.rep, "next", Some(5)).await;
    let done = task(app, "做完了", w.rep, w.rep, "inbox", None).await;
    sqlx::query("UPDATE tasks SET done_at = now(), done_by = owner_id WHERE id = $1")
        .bind(done)
        .execute(&app.db)
        .await
        .unwrap();
    task(app, "经理分派的", w.rep, w.boss, "inbox", Some(1)).await;
    task(app, "经理自己的", w.boss, w.boss, "inbox", None).await;
    task(app, "同事的", w.peer, w.peer, "next", Some(4)).await;
    let shared = task(app, "同事请我参与", w.peer, w.peer, "inbox", Some(6)).await;
    sqlx::query("INSERT INTO task_participants (task_id, user_id) VALUES ($1, $2)")
        .bind(shared)
        .bind(w.rep)
        .execute(&app.db)
        .await
        .unwrap();
    task(app, "别的部门的", w.other, w.other, "inbox", None).await;
}

/// The task titles a list page shows, in its order (every row: the largest page).
async fn task_titles(c: &mut Client, query: &str) -> Vec<String> {
    let r = c.get(&format!("/tasks?{query}&per_page=100")).await;
    r.assert_status(200);
    r.html()
        .select(&scraper::Selector::parse("#task-table tbody tr[data-id] .task-title").unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// A column of an exported sheet, its header left out.
fn column(rows: &[Vec<Data>], header: &str) -> Vec<String> {
    let i = col(rows, header);
    rows[1..].iter().map(|r| r[i].to_string()).collect()
}

#[tokio::test]
async fn task_exports_hold_the_view_the_list_shows() {
    let w = world().await;
    reps_export(&w.app).await;
    seed_tasks(&w).await;
    let views: &[(&str, &[&str])] = &[
        ("rep", &["view=inbox", "", "view=today", "view=next", "view=later", "view=overdue", "view=done"]),
        ("rep", &["view=assigned", "view=involved", "view=team"]),
        ("boss", &["view=inbox", "view=assigned", "view=team", "view=done"]),
    ];
    let mut counts = Vec::new();
    for (login, queries) in views {
        let mut c = w.app.login(login).await;
        for query in *queries {
            let listed = task_titles(&mut c, query).await;
            let rows = export_all(&w.app, &mut c, "tasks", query, "xlsx").await.sheet();
            assert_eq!(column(&rows, "标题"), listed, "{login} exports tasks?{query} as the list shows it");
            counts.push((*login, *query, listed.len()));
        }
    }
    // The views are what they should be, so the comparison above means something.
    for expected in [
        ("rep", "view=inbox", 24),
        ("rep", "", 24),
        ("rep", "view=done", 1),
        ("rep", "view=involved", 1),
        // A rep is not offered the team view: the page and the export fall back to the inbox.
        ("rep", "view=team", 24),
        ("boss", "view=assigned", 1),
        ("boss", "view=team", 29),
    ] {
        assert!(counts.contains(&expected), "{expected:?} in {counts:?}");
    }
    // The button carries the view; the cells are typed and named.
    let mut rep = w.app.login("rep").await;
    let page = rep.get("/tasks?view=overdue").await;
    assert_eq!(page.attr("#export-button", "href").as_deref(), Some("/export/tasks?view=overdue"));
    let rows = export_all(&w.app, &mut rep, "tasks", "view=overdue", "xlsx").await.sheet();
    assert_eq!(column(&rows, "状态"), ["已逾期"]);
    assert_eq!(column(&rows, "负责人"), ["用户rep"]);
    assert!(rows[1][col(&rows, "截止时间")].is_datetime(), "{:?}", rows[1]);
    // The visible columns are the list's.
    let f = download(
        &w.app,
        &mut rep,
        "/export/tasks",
        &[("filter", "view=done"), ("rows", "all"), ("columns", "visible"), ("format", "csv")],
    )
    .await;
    assert_eq!(f.status, 200);
    assert_eq!(
        f.text().trim_start_matches('\u{feff}').lines().next(),
        Some("状态,标题,子任务进度,优先级,截止时间,负责人")
    );
    assert_eq!(f.csv_rows(), ["已完成,做完了,,无,,用户rep"]);
}

/// A log of `author` for the day `days_ago` days back (a weekly one covers that day's week).
async fn log(app: &TestApp, author: i64, kind: &str, days_ago: i32, done: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO worklogs (kind, period_start, period_end, done, owner_id, created_by)
         SELECT $1, s, CASE $1 WHEN 'weekly' THEN s + 6 ELSE s END, $4, $2, $2
           FROM (SELECT CASE $1 WHEN 'weekly' THEN date_trunc('week', d)::date ELSE d END AS s
                   FROM (SELECT current_date - $3 AS d) x) y
         RETURNING id",
    )
    .bind(kind)
    .bind(author)
    .bind(days_ago)
    .bind(done)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn send(app: &TestApp, log: i64, to: i64, read: bool) {
    sqlx::query(
        "INSERT INTO worklog_recipients (worklog_id, user_id, read_at) VALUES ($1, $2, CASE WHEN $3 THEN now() END)",
    )
    .bind(log)
    .bind(to)
    .bind(read)
    .execute(&app.db)
    .await
    .unwrap();
}

async fn seed_logs(w: &World) {
    let app = &w.app;
    for d in 0..24 {
        let id = log(app, w.rep, "daily", d, &format!("第{d}天的工作\n第二行")).await;
        send(app, id, w.boss, d % 2 == 0).await;
    }
    let weekly = log(app, w.rep, "weekly", 0, "本周").await;
    send(app, weekly, w.boss, false).await;
    for d in 0..3 {
        let id = log(app, w.peer, "daily", d, "同事的日报").await;
        send(app, id, w.boss, true).await;
        if d == 0 {
            send(app, id, w.rep, false).await;
        }
    }
    log(app, w.other, "daily", 0, "别的部门").await;
    log(app, w.boss, "daily", 0, "经理的日报").await;
}

/// (period, author) of each row a log list shows, in its order (every row: the largest page).
async fn log_rows(c: &mut Client, query: &str) -> Vec<(String, String)> {
    let r = c.get(&format!("/worklogs?{query}&per_page=100")).await;
    r.assert_status(200);
    let html = r.html();
    let row = scraper::Selector::parse("#worklogs tbody tr[data-id]").unwrap();
    let (period, author) =
        (scraper::Selector::parse("td:nth-child(1) a").unwrap(), scraper::Selector::parse("td:nth-child(3)").unwrap());
    html.select(&row)
        .map(|tr| {
            let text =
                |s: &scraper::Selector| tr.select(s).next().unwrap().text().collect::<String>().trim().to_string();
            (text(&period), text(&author))
        })
        .collect()
}

#[tokio::test]
async fn work_log_exports_hold_the_tab_the_list_shows() {
    let w = world().await;
    reps_export(&w.app).await;
    seed_logs(&w).await;
    let rep_id = w.rep.to_string();
    let by_rep = format!("tab=team&owner={rep_id}");
    let views: Vec<(&str, Vec<&str>)> = vec![
        ("rep", vec!["", "tab=mine", "tab=mine&kind=weekly", "tab=received", "tab=team"]),
        (
            "boss",
            vec![
                "tab=mine",
                "tab=received",
                "tab=received&unread=1",
                "tab=team",
                &by_rep,
                "tab=team&kind=daily&from=2000-01-01",
            ],
        ),
    ];
    let mut counts = Vec::new();
    for (login, queries) in &views {
        let mut c = w.app.login(login).await;
        for query in queries {
            let listed = log_rows(&mut c, query).await;
            let rows = export_all(&w.app, &mut c, "worklogs", query, "xlsx").await.sheet();
            let exported: Vec<(String, String)> =
                column(&rows, "周期").into_iter().zip(column(&rows, "作者")).collect();
            assert_eq!(exported, listed, "{login} exports worklogs?{query} as the list shows it");
            counts.push((*login, query.to_string(), listed.len()));
        }
    }
    for expected in [
        ("rep", "", 25),
        ("rep", "tab=mine&kind=weekly", 1),
        ("rep", "tab=received", 1),
        // A rep is not offered the team tab: their own logs, as on the page.
        ("rep", "tab=team", 25),
        ("boss", "tab=received", 28),
        ("boss", "tab=received&unread=1", 13),
        ("boss", "tab=team", 28),
    ] {
        let expected = (expected.0, expected.1.to_string(), expected.2);
        assert!(counts.contains(&expected), "{expected:?} in {counts:?}");
    }
    assert!(counts.contains(&("boss", by_rep.clone(), 25)), "{counts:?}");
    // Unread first on "sent to me", as the page has it; the work done in full.
    let mut boss = w.app.login("boss").await;
    let page = boss.get("/worklogs?tab=received&unread=1").await;
    assert_eq!(page.attr("#export-button", "href").as_deref(), Some("/export/worklogs?tab=received&unread=1"));
    let rows = export_all(&w.app, &mut boss, "worklogs", "tab=received&kind=daily", "xlsx").await.sheet();
    assert_eq!(column(&rows, "工作内容")[0], "第1天的工作\n第二行", "unread first, then the newest");
    assert_eq!(column(&rows, "类型")[0], "日报");
    assert!(rows[1][col(&rows, "提交时间")].is_datetime(), "{:?}", rows[1]);
}

#[tokio::test]
async fn without_the_export_right_there_is_no_button_and_no_export() {
    let w = world().await;
    task(&w.app, "任务", w.rep, w.rep, "inbox", None).await;
    log(&w.app, w.rep, "daily", 0, "日报").await;
    // Managers may export by default (migration 0035 / the catalog's defaults).
    let mut boss = w.app.login("boss").await;
    assert!(boss.get("/tasks").await.has("#export-button"));
    assert!(boss.get("/worklogs").await.has("#export-button"));
    boss.get("/export/tasks?view=team").await.assert_status(200);
    // Reps may not.
    let mut rep = w.app.login("rep").await;
    for (list, code) in [("/tasks", "tasks"), ("/worklogs", "worklogs")] {
        assert!(!rep.get(list).await.has("#export-button"), "{list}");
        rep.get(&format!("/export/{code}")).await.assert_status(403);
        let f = download(
            &w.app,
            &mut rep,
            &format!("/export/{code}"),
            &[("filter", ""), ("rows", "all"), ("columns", "all"), ("format", "xlsx")],
        )
        .await;
        assert_eq!(f.status, 403, "POST /export/{code}");
    }
    // Schedule: no list, no export.
    assert_eq!(
        w.app.count("SELECT count(*) FROM role_permissions WHERE module = 'schedule' AND action = 'export'").await,
        0
    );
}

/// The list pages through the first 10,000 logs and says "10,000+"; the export does not stop
/// there: every matching log is in the file.
#[tokio::test]
async fn more_logs_than_the_list_counts_are_all_exported() {
    let w = world().await;
    sqlx::query(
        "INSERT INTO worklogs (kind, period_start, period_end, done, owner_id, created_by)
         SELECT 'daily', current_date - d, current_date - d, '日报' || d, $1, $1 FROM generate_series(0, 10049) d",
    )
    .bind(w.rep)
    .execute(&w.app.db)
    .await
    .unwrap();
    let mut boss = w.app.login("boss").await;
    let f = export_all(&w.app, &mut boss, "worklogs", "tab=team", "csv").await;
    assert_eq!(f.csv_rows().len(), 10_050);
}
