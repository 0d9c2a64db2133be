//! Operation log and login log (操作日志 / 登录日志): readable sentences, filters, paging, and who
//! may read them.

use super::common;
use super::common::{PASSWORD, Resp, TestApp};

async fn setup() -> (TestApp, i64) {
    common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    (app, admin)
}

/// An operation log row with a recognisable note, at an exact time (RFC 3339).
async fn op(app: &TestApp, entity: &str, entity_id: i64, actor: Option<i64>, action: &str, note: &str, at: &str) {
    sqlx::query(
        "INSERT INTO operation_logs (entity, entity_id, actor_id, action, note, ip, at)
         VALUES ($1, $2, $3, $4, $5, '10.1.2.3', $6::timestamptz)",
    )
    .bind(entity)
    .bind(entity_id)
    .bind(actor)
    .bind(action)
    .bind(note)
    .bind(at)
    .execute(&app.db)
    .await
    .unwrap();
}

/// The notes ("n1", "n2", ...) of the rows shown, top to bottom.
fn notes(r: &Resp) -> Vec<String> {
    r.text_of(".log-table tbody td.log-detail")
        .lines()
        .filter_map(|l| {
            let start = l.find("（n")? + "（".len();
            let end = l[start..].find('）')? + start;
            Some(l[start..end].to_string())
        })
        .collect()
}

#[tokio::test]
async fn the_operation_log_filters_by_actor_object_action_and_period() {
    let (app, admin) = setup().await;
    let root = app.root_dept().await;
    let zhang = app.user("zhang", root, None, &["rep"]).await;
    // 23:30 on 1 March and 00:30 on 2 March in the configured +08:00.
    op(&app, "role", 1, Some(admin), "create", "n1", "2024-03-01T15:30:00Z").await;
    op(&app, "customer", 7, Some(zhang), "update", "n2", "2024-03-01T16:30:00Z").await;
    op(&app, "gizmo", 3, None, "delete", "n3", "2024-03-03T02:00:00Z").await;
    let mut c = app.login("admin").await;

    let all = c.get("/admin/logs").await;
    all.assert_status(200);
    assert_eq!(notes(&all), ["n3", "n2", "n1"], "newest first");
    let first = all.text_of(".log-table tbody tr:last-child");
    assert!(first.contains("2024-03-01 23:30"), "local time: {first}");
    assert!(first.contains("角色 #1") && first.contains("10.1.2.3"), "{first}");
    assert!(first.contains("用户admin 创建了记录（n1）"), "{first}");
    let objects = all.text_of(".log-object");
    assert!(objects.contains("客户 #7") && objects.contains("gizmo #3"));
    assert!(all.text_of(".log-actor").contains("系统"), "no actor: the system");
    // The selects offer the known objects and actions (a fixed list from the catalog, not a scan
    // of the log), with readable labels: also ones without rows yet; not unknown codes.
    let entities = all.text_of("select[name=entity] option");
    for label in ["全部", "客户", "角色", "部门", "员工", "合同", "自定义字段"] {
        assert!(entities.lines().any(|l| l == label), "{label}: {entities}");
    }
    assert!(!entities.contains("gizmo"), "{entities}");
    assert!(all.has("select[name=entity] option[value=customer]"));
    assert!(all.text_of("select[name=action]").contains("交接了记录"));
    assert!(all.text_of("select[name=actor]").contains("用户zhang (zhang)"));
    assert!(all.text_of("select[name=action]").contains("删除了记录"));

    let r = c.get(&format!("/admin/logs?actor={zhang}")).await;
    assert_eq!(notes(&r), ["n2"]);
    assert_eq!(r.attr("select[name=actor] option[selected]", "value"), Some(zhang.to_string()));
    assert_eq!(notes(&c.get("/admin/logs?entity=role").await), ["n1"]);
    assert_eq!(notes(&c.get("/admin/logs?action=delete").await), ["n3"]);
    let r = c.get("/admin/logs?from=2024-03-02&to=2024-03-02").await;
    assert_eq!(notes(&r), ["n2"], "days are local days");
    assert_eq!(r.attr("input[name=from]", "value").as_deref(), Some("2024-03-02"));
    assert_eq!(notes(&c.get("/admin/logs?to=2024-03-01").await), ["n1"]);
    assert_eq!(notes(&c.get("/admin/logs?from=2024-03-02").await), ["n3", "n2"]);
    // Empty and unreadable values mean "no filter".
    assert_eq!(notes(&c.get("/admin/logs?actor=&entity=&action=&from=&to=").await).len(), 3);
    assert_eq!(notes(&c.get("/admin/logs?actor=abc&from=soon").await).len(), 3);
    let none = c.get(&format!("/admin/logs?actor={admin}&from=2024-03-02")).await;
    none.assert_status(200);
    assert!(notes(&none).is_empty());
    assert_eq!(none.text_of(".empty"), "没有符合条件的记录。");
    // Hostile input is only ever a bound value.
    c.get("/admin/logs?entity=role'%3B--&action=x%25").await.assert_status(200);
}

#[tokio::test]
async fn the_operation_log_pages_through_long_histories_keeping_the_filter() {
    let (app, admin) = setup().await;
    sqlx::query(
        "INSERT INTO operation_logs (entity, entity_id, actor_id, action, note, at)
         SELECT 'role', g, $1, 'update', 'n' || g, now() - g * interval '1 minute'
           FROM generate_series(1, 45) g",
    )
    .bind(admin)
    .execute(&app.db)
    .await
    .unwrap();
    op(&app, "user", 1, Some(admin), "update", "other", "2024-01-01T00:00:00Z").await;
    let mut c = app.login("admin").await;

    let p1 = c.get("/admin/logs?entity=role").await;
    assert_eq!(p1.count(".log-table tbody tr"), 20);
    assert_eq!(notes(&p1)[0], "n1");
    assert!(p1.text_of(".pager").contains("共 45"));
    let next = p1.attr("a[rel=next]", "href").unwrap();
    assert_eq!(next, "?entity=role&page=2&per_page=20");
    let p3 = c.get("/admin/logs?entity=role&page=3").await;
    assert_eq!(notes(&p3), (41..=45).map(|i| format!("n{i}")).collect::<Vec<_>>());
    let big = c.get("/admin/logs?per_page=50").await;
    assert_eq!(big.count(".log-table tbody tr"), 46);
}

#[tokio::test]
async fn role_changes_read_as_sentences_in_both_languages() {
    let (app, _) = setup().await;
    let mut c = app.login("admin").await;
    c.post("/admin/roles", &[("name", "质检"), ("perm", "dashboard:view")]).await.assert_redirect("/admin/roles");
    let id: i64 = sqlx::query_scalar("SELECT id FROM roles WHERE name = '质检'").fetch_one(&app.db).await.unwrap();
    c.post(
        &format!("/admin/roles/{id}"),
        &[("name", "质检"), ("description", "抽查通话"), ("perm", "dashboard:view"), ("perm", "logs:view")],
    )
    .await
    .assert_redirect("/admin/roles");

    let r = c.get("/admin/logs").await;
    let rows = r.text_of(".log-table tbody tr");
    let lines: Vec<&str> = rows.lines().collect();
    assert_eq!(lines.len(), 2, "{rows}");
    assert!(lines[0].contains(&format!("角色 #{id}")));
    assert!(lines[0].contains("用户admin 把 描述 从 空 改为 抽查通话"), "{rows}");
    assert!(lines[0].contains("用户admin 把 权限 从 dashboard:view 改为 dashboard:view, logs:view"), "{rows}");
    assert_eq!(r.count(".log-table tbody tr:first-child .log-sentence"), 2, "one sentence per change");
    // A new role reads with what it grants, not only its name.
    assert!(lines[1].contains("用户admin 创建了记录"), "{rows}");
    assert!(lines[1].contains("名称：质检") && lines[1].contains("权限：dashboard:view"), "{rows}");
    assert!(lines[1].contains("数据范围：dashboard=self"), "{rows}");
    let changes: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM operation_logs WHERE entity = 'role' AND action = 'create'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(changes[1], serde_json::json!({"field": "permissions", "old": null, "new": ["dashboard:view"]}));

    c.post("/lang", &[("lang", "en"), ("back", "/admin/logs")]).await;
    let en = c.get("/admin/logs").await;
    let text = en.text_of(".log-table tbody");
    assert!(text.contains("用户admin changed permissions from dashboard:view to dashboard:view, logs:view"), "{text}");
    assert!(text.contains(&format!("Role #{id}")), "{text}");
    assert!(en.text_of(".tabs").contains("Login log"));
}

#[tokio::test]
async fn the_login_log_lists_attempts_with_their_result_and_filters_them() {
    let (app, _) = setup().await;
    let root = app.root_dept().await;
    let gone = app.user("gone", root, None, &["rep"]).await;
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(gone).execute(&app.db).await.unwrap();
    let long_agent =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";
    let mut other = app.client();
    other.headers.push(("user-agent".into(), long_agent.into()));
    other.login("admin", "wrong-pass1").await.assert_status(401);
    other.login("Ghost", "wrong-pass1").await.assert_status(401);
    other.login("gone", PASSWORD).await.assert_status(403);
    let mut c = app.login("admin").await;

    let all = c.get("/admin/logs/logins").await;
    all.assert_status(200);
    assert_eq!(all.count(".login-table tbody tr"), 4);
    let first = all.text_of(".login-table tbody tr:first-child");
    assert!(first.contains("admin") && first.contains("用户admin") && first.contains("成功"));
    assert_eq!(all.text_of(".login-result"), "成功\n账号停用\n密码错误\n密码错误");
    assert!(all.text_of(".login-table tbody tr:nth-child(3)").contains("Ghost"));
    let ua = all.text_of(".login-table tbody tr:nth-child(2) td.ua");
    assert_eq!(ua, "Chrome 124 · Windows", "browser and system, not the raw string");
    assert_eq!(all.attr(".login-table tbody tr:nth-child(2) td.ua", "title").as_deref(), Some(long_agent));

    let bad = c.get("/admin/logs/logins?result=bad_credentials").await;
    assert_eq!(bad.text_of(".login-result"), "密码错误\n密码错误");
    assert_eq!(bad.attr("select[name=result] option[selected]", "value").as_deref(), Some("bad_credentials"));
    let ghost = c.get("/admin/logs/logins?login=gHo").await;
    assert_eq!(ghost.text_of(".login-name"), "Ghost");
    assert_eq!(c.get("/admin/logs/logins?login=ADM").await.text_of(".login-name"), "admin\nadmin");
    assert_eq!(
        c.get("/admin/logs/logins?login=%25").await.count(".login-table tbody tr"),
        0,
        "% is a character, not a wildcard"
    );

    sqlx::query("UPDATE login_log SET at = '2024-01-10T17:00:00Z' WHERE login = 'Ghost'")
        .execute(&app.db)
        .await
        .unwrap();
    let day = c.get("/admin/logs/logins?from=2024-01-11&to=2024-01-11").await;
    assert_eq!(day.text_of(".login-name"), "Ghost", "01:00 on the 11th, local");
    assert!(day.text_of(".login-table").contains("2024-01-11 01:00"));
    assert_eq!(c.get("/admin/logs/logins?to=2024-01-10").await.count(".login-table tbody tr"), 0);
    assert!(day.text_of(".tabs a.active").contains("登录日志"));
}

#[tokio::test]
async fn directors_read_the_logs_and_reps_get_nothing() {
    let (app, admin) = setup().await;
    let root = app.root_dept().await;
    app.user("rep1", root, None, &["rep"]).await;
    app.user("boss", root, None, &["director"]).await;
    op(&app, "customer", 9, Some(admin), "update", "机密备注", "2024-03-01T00:00:00Z").await;

    let mut rep = app.login("rep1").await;
    for path in ["/admin/logs", "/admin/logs/logins", "/admin/logs?entity=customer", "/admin/logs/logins?result=ok"] {
        let r = rep.get(path).await;
        r.assert_status(403);
        for secret in ["机密备注", "10.1.2.3", "log-table", "login-table", "用户boss"] {
            r.assert_lacks(secret);
        }
    }
    assert!(!rep.get("/").await.text_of("aside.sidebar").contains("操作日志"));

    let mut boss = app.login("boss").await;
    let r = boss.get("/admin/logs").await;
    r.assert_status(200);
    assert!(r.text_of(".log-detail").contains("机密备注"));
    boss.get("/admin/logs/logins").await.assert_status(200).assert_contains("用户rep1");
    boss.get("/admin/roles").await.assert_status(403);
    let nav = boss.get("/").await.text_of("aside.sidebar");
    assert!(nav.contains("操作日志") && !nav.contains("角色权限"), "{nav}");
}
