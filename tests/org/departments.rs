//! Departments: tree with member counts, create/rename/move without cycles, guarded delete.

use super::common::TestApp;

async fn setup() -> (TestApp, super::common::Client) {
    super::common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

async fn dept_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM departments WHERE name = $1").bind(name).fetch_one(&app.db).await.unwrap()
}

#[tokio::test]
async fn create_departments_and_see_the_tree_with_member_counts() {
    let (app, mut c) = setup().await;
    let root = app.root_dept().await.to_string();
    c.post("/admin/departments", &[("name", "销售部"), ("parent_id", &root), ("head_id", "")])
        .await
        .assert_redirect("/admin/departments");
    let sales = dept_id(&app, "销售部").await;
    let admin_id: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    c.post(
        "/admin/departments",
        &[("name", "华东大区"), ("parent_id", &sales.to_string()), ("head_id", &admin_id.to_string())],
    )
    .await;
    let east = dept_id(&app, "华东大区").await;
    app.user("rep1", east, None, &["rep"]).await;
    app.user("rep2", east, None, &["rep"]).await;
    app.user("mgr", sales, None, &["manager"]).await;

    let page = c.get("/admin/departments").await;
    page.assert_status(200);
    let row = |id: i64| page.text_of(&format!("#dept-tree tr[data-dept=\"{id}\"]"));
    assert!(row(east).contains("华东大区") && row(east).contains("用户admin"), "{}", row(east));
    assert!(row(east).contains(" 2 2 "), "two direct members: {}", row(east));
    assert!(row(sales).contains(" 1 3 "), "one direct, three with sub-departments: {}", row(sales));
    // Tree order: 华东大区 comes right after its parent and is indented deeper.
    let table = page.text_of("#dept-tree");
    assert!(table.find("销售部").unwrap() < table.find("华东大区").unwrap());
    assert!(page.has(&format!("tr[data-dept=\"{east}\"] .indent-2")));
    assert_eq!(
        app.count("SELECT count(*) FROM operation_logs WHERE entity = 'department' AND action = 'create'").await,
        2
    );
}

#[tokio::test]
async fn a_department_needs_a_name_and_keeps_what_was_typed() {
    let (app, mut c) = setup().await;
    let r = c.post("/admin/departments", &[("name", "  "), ("parent_id", ""), ("head_id", "")]).await;
    r.assert_status(422);
    assert!(r.text_of(".field.has-error .field-error").contains("此项必填"));
    assert_eq!(app.count("SELECT count(*) FROM departments").await, 1);
}

#[tokio::test]
async fn rename_and_move_but_never_into_its_own_subtree() {
    let (app, mut c) = setup().await;
    let root = app.root_dept().await;
    let a = app.dept("A", Some(root)).await;
    let b = app.dept("B", Some(a)).await;
    let c_id = app.dept("C", Some(b)).await;

    // Moving A under its grandchild C would make a loop.
    let r = c
        .post(&format!("/admin/departments/{a}"), &[("name", "A"), ("parent_id", &c_id.to_string()), ("head_id", "")])
        .await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("不能移动到自身或其下级部门之下"));
    let r = c
        .post(&format!("/admin/departments/{a}"), &[("name", "A"), ("parent_id", &a.to_string()), ("head_id", "")])
        .await;
    r.assert_status(422);
    // The edit form does not even offer them.
    let form = c.get(&format!("/admin/departments/{a}/edit")).await;
    assert!(!form.has(&format!("select[name=parent_id] option[value=\"{c_id}\"]")));
    assert!(form.has(&format!("select[name=parent_id] option[value=\"{root}\"]")));

    // Rename C and move it to the root: allowed and audited as a sentence.
    c.post(&format!("/admin/departments/{c_id}"), &[("name", "C2"), ("parent_id", &root.to_string()), ("head_id", "")])
        .await
        .assert_redirect("/admin/departments");
    let (name, parent): (String, i64) = sqlx::query_as("SELECT name, parent_id FROM departments WHERE id = $1")
        .bind(c_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!((name.as_str(), parent), ("C2", root));
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM operation_logs WHERE entity = 'department' AND entity_id = $1 AND action = 'update'",
    )
    .bind(c_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(changes[0]["field"], "name");
    assert_eq!(changes[1]["old"], "B");

    // The root can be renamed but keeps no parent.
    c.post(
        &format!("/admin/departments/{root}"),
        &[("name", "总公司"), ("parent_id", &a.to_string()), ("head_id", "")],
    )
    .await
    .assert_redirect("/admin/departments");
    let parent: Option<i64> = sqlx::query_scalar("SELECT parent_id FROM departments WHERE id = $1")
        .bind(root)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(parent, None);
    let _ = b;
}

#[tokio::test]
async fn delete_is_refused_while_users_or_sub_departments_remain() {
    let (app, mut c) = setup().await;
    let root = app.root_dept().await;
    let a = app.dept("市场部", Some(root)).await;
    let b = app.dept("品牌组", Some(a)).await;
    let u = app.user("m1", b, None, &["rep"]).await;

    c.post(&format!("/admin/departments/{a}/delete"), &[]).await.assert_redirect("/admin/departments");
    let page = c.get("/admin/departments").await;
    let flash = page.text_of(".flash-error");
    assert!(flash.contains("还有 1 个下级部门") && !flash.contains("员工"), "{flash}");
    c.post(&format!("/admin/departments/{b}/delete"), &[]).await;
    let flash = c.get("/admin/departments").await.text_of(".flash-error");
    assert!(flash.contains("还有 1 名在职、0 名已停用的员工"), "{flash}");
    c.post(&format!("/admin/departments/{root}/delete"), &[]).await;
    assert!(c.get("/admin/departments").await.text_of(".flash-error").contains("根部门不能删除"));
    assert_eq!(app.count("SELECT count(*) FROM departments").await, 3);

    sqlx::query("UPDATE users SET dept_id = $1 WHERE id = $2").bind(root).bind(u).execute(&app.db).await.unwrap();
    c.post(&format!("/admin/departments/{b}/delete"), &[]).await;
    c.post(&format!("/admin/departments/{a}/delete"), &[]).await;
    assert_eq!(app.count("SELECT count(*) FROM departments").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM operation_logs WHERE entity = 'department' AND action = 'delete'").await,
        2
    );
}

#[tokio::test]
async fn delete_names_every_reference_and_counts_users_like_the_tree() {
    let (app, mut c) = setup().await;
    let root = app.root_dept().await;
    let a = app.dept("客服部", Some(root)).await;
    let u = app.user("gone", a, None, &["rep"]).await;
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(u).execute(&app.db).await.unwrap();
    sqlx::query("INSERT INTO customer_caps (dept_id, max_owned) VALUES ($1, 10)")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO pool_members (pool_id, dept_id) SELECT id, $1 FROM pools WHERE is_default")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    let flow: i64 =
        sqlx::query_scalar("INSERT INTO approval_flows (subject, name) VALUES ('contract', 'F') RETURNING id")
            .fetch_one(&app.db)
            .await
            .unwrap();
    sqlx::query("INSERT INTO approval_steps (flow_id, seq, kind, condition) VALUES ($1, 1, 'superior', $2)")
        .bind(flow)
        .bind(serde_json::json!({ "dept_ids": [root, a] }))
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO record_shares (entity, record_id, dept_id) VALUES ('customer', 1, $1)")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();

    // The tree counts active members only (0); the refusal says 0 active and 1 disabled.
    let page = c.get("/admin/departments").await;
    assert!(page.text_of(&format!("tr[data-dept=\"{a}\"]")).contains(" 0 0 "));
    let refused = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM departments WHERE id = $1")
                .bind(a)
                .fetch_one(&db)
                .await
                .unwrap()
                == 1
        }
    };
    c.post(&format!("/admin/departments/{a}/delete"), &[]).await.assert_redirect("/admin/departments");
    let flash = c.get("/admin/departments").await.text_of(".flash-error");
    for part in ["0 名在职、1 名已停用的员工", "设有客户数上限", "是 1 个公海的成员", "1 个审批步骤的条件用到了它"]
    {
        assert!(flash.contains(part), "{part}: {flash}");
    }
    assert!(refused(&app).await);
    // Clear the references one by one; each alone still refuses, in English too.
    sqlx::query("UPDATE users SET dept_id = $1 WHERE id = $2").bind(root).bind(u).execute(&app.db).await.unwrap();
    sqlx::query("DELETE FROM customer_caps").execute(&app.db).await.unwrap();
    sqlx::query("DELETE FROM pool_members WHERE dept_id = $1").bind(a).execute(&app.db).await.unwrap();
    c.post("/lang", &[("lang", "en"), ("back", "/admin/departments")]).await;
    c.post(&format!("/admin/departments/{a}/delete"), &[]).await;
    let flash = c.get("/admin/departments").await.text_of(".flash-error");
    assert!(flash.contains("the conditions of 1 approval steps name it") && !flash.contains("users"), "{flash}");
    assert!(refused(&app).await);
    sqlx::query("UPDATE approval_steps SET condition = NULL").execute(&app.db).await.unwrap();
    // Shares with the empty department reach nobody: they go with it, noted in the history.
    c.post(&format!("/admin/departments/{a}/delete"), &[]).await.assert_redirect("/admin/departments");
    assert!(!refused(&app).await);
    assert_eq!(app.count("SELECT count(*) FROM record_shares").await, 0);
    let changes: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM operation_logs WHERE entity = 'department' AND action = 'delete'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(changes[0]["field"], "shares");
    assert_eq!(changes[0]["old"], 1);
}

#[tokio::test]
async fn unknown_parents_and_heads_or_disabled_heads_are_field_errors() {
    let (app, mut c) = setup().await;
    let root = app.root_dept().await.to_string();
    let a = app.dept("A", None).await;
    let gone = app.user("gone", app.root_dept().await, None, &["rep"]).await;
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(gone).execute(&app.db).await.unwrap();
    let gone = gone.to_string();
    let cases: [(&str, &str, &str, &str); 4] = [
        (&root, "999999", "head_id", "格式不正确"),
        ("999999", "", "parent_id", "格式不正确"),
        (&root, &gone, "head_id", "已停用的员工不能担任部门负责人"),
        (&root, "abc", "head_id", ""),
    ];
    for (parent, head, field, message) in cases {
        for path in ["/admin/departments".to_string(), format!("/admin/departments/{a}")] {
            let r = c.post(&path, &[("name", "新部门"), ("parent_id", parent), ("head_id", head)]).await;
            r.assert_status(422);
            assert!(r.has(&format!(".field.has-error select[name={field}]")), "{path}: {field} marked");
            let error = r.text_of(".field.has-error .field-error");
            assert!(!error.is_empty() && error.contains(message), "{path} {field}: {error}");
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM departments").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM departments WHERE name = '新部门'").await, 0);
}

#[tokio::test]
async fn concurrent_moves_never_close_a_loop() {
    let (app, _) = setup().await;
    let mut c1 = app.login("admin").await;
    let mut c2 = app.login("admin").await;
    for round in 0..5 {
        let a = app.dept(&format!("A{round}"), None).await;
        let b = app.dept(&format!("B{round}"), None).await;
        let (a_s, b_s) = (a.to_string(), b.to_string());
        let (pa, pb) = (format!("/admin/departments/{a}"), format!("/admin/departments/{b}"));
        let (na, nb) = (format!("A{round}"), format!("B{round}"));
        let f1 = [("name", na.as_str()), ("parent_id", b_s.as_str()), ("head_id", "")];
        let f2 = [("name", nb.as_str()), ("parent_id", a_s.as_str()), ("head_id", "")];
        let (r1, r2) = tokio::join!(c1.post(&pa, &f1), c2.post(&pb, &f2));
        let moved = [r1.status.as_u16(), r2.status.as_u16()];
        assert!(moved.contains(&303) && moved.contains(&422), "round {round}: one move, one refusal: {moved:?}");
        let looped = app
            .count(&format!(
                "SELECT count(*) FROM departments x JOIN departments y ON x.parent_id = y.id AND y.parent_id = x.id
                 WHERE x.id IN ({a}, {b})"
            ))
            .await;
        assert_eq!(looped, 0);
    }
}
