//! Users: create/edit with validation, superior cycles, password reset, disable with handover,
//! the last super admin, the reporting tree.

use super::common::{PASSWORD, TestApp};

async fn setup() -> (TestApp, super::common::Client) {
    super::common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

async fn role(app: &TestApp, code: &str) -> String {
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM roles WHERE code = $1").bind(code).fetch_one(&app.db).await.unwrap();
    id.to_string()
}

async fn user_id(app: &TestApp, login: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE login = $1").bind(login).fetch_one(&app.db).await.unwrap()
}

#[tokio::test]
async fn create_a_user_who_can_then_log_in() {
    let (app, mut c) = setup().await;
    let dept = app.dept("华东大区", None).await.to_string();
    let boss = app.user("boss", app.root_dept().await, None, &["director"]).await.to_string();
    let (rep, ro) = (role(&app, "rep").await, role(&app, "readonly").await);
    let r = c
        .post(
            "/admin/users",
            &[
                ("login", "13900000011"),
                ("mobile", "13900000011"),
                ("password", "start2026"),
                ("name", "孙丽"),
                ("gender", "female"),
                ("email", "sun@example.com"),
                ("dept_id", &dept),
                ("position", "销售代表"),
                ("superior_id", &boss),
                ("roles", &rep),
                ("roles", &ro),
                ("lang", "en"),
            ],
        )
        .await;
    r.assert_redirect("/admin/users");
    let list = c.get("/admin/users?q=孙").await;
    let row = list.text_of("#users tbody tr");
    assert!(row.contains("孙丽") && row.contains("华东大区") && row.contains("用户boss"), "{row}");
    assert!(row.contains("销售代表") && row.contains("只读"));
    // The new user logs in with the initial password and gets their language.
    let mut sun = app.client();
    sun.login("13900000011", "start2026").await.assert_redirect("/");
    sun.get("/").await.assert_contains("Log out");
    let changes: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM operation_logs WHERE entity = 'user' AND action = 'create'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(changes.to_string().contains("孙丽") && changes.to_string().contains("只读"));
}

#[tokio::test]
async fn invalid_users_are_refused_field_by_field_and_nothing_is_saved() {
    let (app, mut c) = setup().await;
    let dept = app.root_dept().await.to_string();
    let r = c
        .post(
            "/admin/users",
            &[
                ("login", "admin"),
                ("mobile", "12345"),
                ("password", "short"),
                ("name", "王五"),
                ("email", "not-an-email"),
                ("dept_id", &dept),
            ],
        )
        .await;
    r.assert_status(422);
    let errors = r.text_of(".field.has-error");
    assert!(errors.contains("该登录名已被使用"), "{errors}");
    assert!(errors.contains("请输入 11 位手机号"));
    assert!(errors.contains("密码至少需要 8 位"));
    assert!(errors.contains("请输入有效的邮箱地址"));
    assert_eq!(r.attr("input[name=name]", "value").as_deref(), Some("王五"), "typed values stay");
    assert_eq!(r.attr("input[name=mobile]", "value").as_deref(), Some("12345"));
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
}

#[tokio::test]
async fn a_reporting_loop_is_refused() {
    let (app, mut c) = setup().await;
    let d = app.root_dept().await;
    let a = app.user("a", d, None, &["manager"]).await;
    let b = app.user("b", d, Some(a), &["manager"]).await;
    let cc = app.user("c", d, Some(b), &["rep"]).await;
    let form = |sup: i64| {
        vec![
            ("login".to_string(), "a".to_string()),
            ("name".into(), "A".into()),
            ("dept_id".into(), d.to_string()),
            ("superior_id".into(), sup.to_string()),
        ]
    };
    for sup in [cc, a] {
        let f = form(sup);
        let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = c.post(&format!("/admin/users/{a}"), &fields).await;
        r.assert_status(422);
        assert!(r.text_of(".field-error").contains("循环汇报"));
    }
    let sup: Option<i64> =
        sqlx::query_scalar("SELECT superior_id FROM users WHERE id = $1").bind(a).fetch_one(&app.db).await.unwrap();
    assert_eq!(sup, None);
    // The reporting tree shows the chain a → b → c.
    let tree = c.get("/admin/users/tree").await;
    assert_eq!(tree.attr(&format!("tr[data-user=\"{cc}\"]"), "data-depth").as_deref(), Some("2"));
}

#[tokio::test]
async fn resetting_a_password_ends_the_users_sessions() {
    let (app, mut c) = setup().await;
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await;
    let mut rep_client = app.login("rep").await;
    let r = c.post(&format!("/admin/users/{rep}/password"), &[("password", "weak")]).await;
    r.assert_redirect(&format!("/admin/users/{rep}/edit"));
    assert!(c.get(&format!("/admin/users/{rep}/edit")).await.text_of(".flash-error").contains("密码至少需要 8 位"));
    rep_client.get("/").await.assert_status(200);
    c.post(&format!("/admin/users/{rep}/password"), &[("password", "fresh2026x")]).await;
    rep_client.get("/").await.assert_redirect("/login?next=%2F");
    app.client().login("rep", "fresh2026x").await.assert_redirect("/");
}

#[tokio::test]
async fn disabling_ends_sessions_and_hands_over_records_in_one_audited_step() {
    let (app, mut c) = setup().await;
    let d = app.root_dept().await;
    let leaver = app.user("leaver", d, None, &["rep"]).await;
    let heir = app.user("heir", d, None, &["rep"]).await;
    let mut leaver_client = app.login("leaver").await;
    // Team places on two records; the heir already sits read-only on the second.
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', 1, $1, 'read'), ('customer', 2, $1, 'write'), ('customer', 2, $2, 'read')")
        .bind(leaver)
        .bind(heir)
        .execute(&app.db)
        .await
        .unwrap();

    // Records they own: a customer with its contact, and a lead, made through the forms.
    leaver_client.post("/customers", &[("name", "离职客户"), ("kind", "enterprise")]).await.assert_status(303);
    let customer: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE name = '离职客户'").fetch_one(&app.db).await.unwrap();
    let customer_s = customer.to_string();
    leaver_client
        .post("/contacts", &[("name", "王经理"), ("customer_q", "离职客户"), ("customer_id", &customer_s)])
        .await
        .assert_status(303);
    leaver_client.post("/leads", &[("name", "离职线索"), ("level", "1")]).await.assert_status(303);

    let page = c.get(&format!("/admin/users/{leaver}/disable")).await;
    page.assert_status(200);
    assert!(page.text_of("#holdings").contains('2'), "shows the team places to hand over");
    assert!(page.has(&format!("select[name=hand_to] option[value=\"{heir}\"]")));

    c.post(&format!("/admin/users/{leaver}/disable"), &[("hand_to", &heir.to_string())])
        .await
        .assert_redirect("/admin/users");
    leaver_client.get("/").await.assert_redirect("/login?next=%2F");
    app.client().login("leaver", PASSWORD).await.assert_status(403);
    let team: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT record_id, user_id, access FROM record_members ORDER BY record_id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    // Customer 1 is 离职客户, which the heir now owns: a team place there would be redundant.
    assert_eq!(customer, 1);
    assert_eq!(team, vec![(2, heir, "write".to_string())]);
    for table in ["customers", "contacts", "leads"] {
        let owners: Vec<i64> =
            sqlx::query_scalar(&format!("SELECT owner_id FROM {table}")).fetch_all(&app.db).await.unwrap();
        assert_eq!(owners, [heir], "{table} handed over");
    }
    // One audit row per moved record (customer, contact, lead) and per team place.
    let handed: Vec<String> =
        sqlx::query_scalar("SELECT entity FROM operation_logs WHERE action = 'handover' ORDER BY entity, entity_id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(handed, ["contact", "customer", "customer", "customer", "lead"]);
    let change: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM operation_logs WHERE action = 'handover' AND entity = 'customer' AND entity_id = $1",
    )
    .bind(customer)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(change[0]["new"], "用户heir");
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'user' AND action = 'disable'").await, 1);

    // Enabling brings the account back.
    c.post(&format!("/admin/users/{leaver}/enable"), &[]).await;
    app.client().login("leaver", PASSWORD).await.assert_redirect("/");
}

#[tokio::test]
async fn the_last_super_admin_stays() {
    let (app, mut c) = setup().await;
    let admin = user_id(&app, "admin").await;
    let d = app.root_dept().await;
    // Cannot drop their own last super role...
    let r = c
        .post(
            &format!("/admin/users/{admin}"),
            &[("login", "admin"), ("name", "A"), ("dept_id", &d.to_string()), ("roles", &role(&app, "rep").await)],
        )
        .await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("最后一位在职的超级管理员"));
    // ...nor be disabled by another admin while they are the only one.
    let other = app.user("orgadmin", d, None, &[]).await;
    sqlx::query("INSERT INTO role_permissions (role_id, module, action) SELECT id, 'org', 'manage' FROM roles WHERE code = 'director'").execute(&app.db).await.unwrap();
    sqlx::query("INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE code = 'director'")
        .bind(other)
        .execute(&app.db)
        .await
        .unwrap();
    let mut org_admin = app.login("orgadmin").await;
    org_admin.post(&format!("/admin/users/{admin}/disable"), &[("hand_to", "")]).await;
    let status: String =
        sqlx::query_scalar("SELECT status FROM users WHERE id = $1").bind(admin).fetch_one(&app.db).await.unwrap();
    assert_eq!(status, "active");
    // A non-super admin cannot grant the super role either.
    let sup = role(&app, "super").await;
    org_admin
        .post(
            &format!("/admin/users/{other}"),
            &[
                ("login", "orgadmin"),
                ("name", "O"),
                ("dept_id", &d.to_string()),
                ("roles", &sup),
                ("roles", &role(&app, "director").await),
            ],
        )
        .await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.is_super AND ur.user_id = {other}")).await, 0);
    // With a second super admin, the first may go.
    let second = app.user("admin2", d, None, &["super"]).await;
    c.post(&format!("/admin/users/{second}/disable"), &[]).await;
    assert_eq!(app.count("SELECT count(*) FROM users WHERE status = 'disabled'").await, 1);
    // Nobody disables themselves.
    c.post(&format!("/admin/users/{admin}/disable"), &[]).await;
    assert!(c.get(&format!("/admin/users/{admin}/disable")).await.text_of(".flash-error").contains("不能停用自己"));
}

/// A user admin who is not a super admin (the director role plus the users-admin permission).
async fn org_admin(app: &TestApp, login: &str) -> i64 {
    let id = app.user(login, app.root_dept().await, None, &["director"]).await;
    sqlx::query(
        "INSERT INTO role_permissions (role_id, module, action) SELECT id, 'org', 'manage' FROM roles
         WHERE code = 'director' ON CONFLICT DO NOTHING",
    )
    .execute(&app.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn only_a_super_admin_changes_a_super_admins_account() {
    let (app, mut admin) = setup().await;
    let d = app.root_dept().await.to_string();
    let boss = app.user("boss2", app.root_dept().await, None, &["super"]).await;
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await;
    org_admin(&app, "orgadmin").await;
    let mut oa = app.login("orgadmin").await;
    let (sup, rep_role) = (role(&app, "super").await, role(&app, "rep").await);

    // The user admin: 403 on every page and action aimed at the super admin, nothing changes.
    oa.get(&format!("/admin/users/{boss}/edit")).await.assert_status(403);
    oa.get(&format!("/admin/users/{boss}/disable")).await.assert_status(403);
    let edit = [("login", "taken-over"), ("mobile", "13900000099"), ("name", "X"), ("dept_id", &d), ("roles", &sup)];
    oa.post(&format!("/admin/users/{boss}"), &edit).await.assert_status(403);
    oa.post(&format!("/admin/users/{boss}/password"), &[("password", "takeover2026")]).await.assert_status(403);
    oa.post(&format!("/admin/users/{boss}/disable"), &[("hand_to", "")]).await.assert_status(403);
    let row: (String, Option<String>, String) = sqlx::query_as("SELECT login, mobile, status FROM users WHERE id = $1")
        .bind(boss)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(row, ("boss2".to_string(), None, "active".to_string()));
    app.client().login("boss2", "takeover2026").await.assert_status(401);
    app.client().login("boss2", PASSWORD).await.assert_redirect("/");
    assert!(!oa.get("/admin/users").await.has(&format!("a[href=\"/admin/users/{boss}/edit\"]")));
    // ...nor bring a disabled super admin back.
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(boss).execute(&app.db).await.unwrap();
    oa.post(&format!("/admin/users/{boss}/enable"), &[]).await.assert_status(403);
    sqlx::query("UPDATE users SET status = 'active' WHERE id = $1").bind(boss).execute(&app.db).await.unwrap();

    // The same user admin still manages ordinary users.
    assert!(oa.get("/admin/users").await.has(&format!("a[href=\"/admin/users/{rep}/edit\"]")));
    let rep_edit = [("login", "rep"), ("name", "新名字"), ("dept_id", &d), ("roles", &rep_role)];
    oa.post(&format!("/admin/users/{rep}"), &rep_edit).await.assert_redirect("/admin/users");
    oa.post(&format!("/admin/users/{rep}/password"), &[("password", "fresh2026x")])
        .await
        .assert_redirect(&format!("/admin/users/{rep}/edit"));
    oa.post(&format!("/admin/users/{rep}/disable"), &[("hand_to", "")]).await.assert_redirect("/admin/users");

    // A super admin may do all of it to another super admin.
    admin.get(&format!("/admin/users/{boss}/edit")).await.assert_status(200);
    admin.post(&format!("/admin/users/{boss}"), &edit).await.assert_redirect("/admin/users");
    admin
        .post(&format!("/admin/users/{boss}/password"), &[("password", "fresh2026y")])
        .await
        .assert_redirect(&format!("/admin/users/{boss}/edit"));
    app.client().login("taken-over", "fresh2026y").await.assert_redirect("/");
    admin.post(&format!("/admin/users/{boss}/disable"), &[("hand_to", "")]).await.assert_redirect("/admin/users");
    admin.post(&format!("/admin/users/{boss}/enable"), &[]).await.assert_redirect("/admin/users");
    let row: (String, Option<String>, String) = sqlx::query_as("SELECT login, mobile, status FROM users WHERE id = $1")
        .bind(boss)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(row, ("taken-over".to_string(), Some("13900000099".to_string()), "active".to_string()));
}

#[tokio::test]
async fn a_user_needs_at_least_one_role() {
    let (app, mut c) = setup().await;
    let d = app.root_dept().await.to_string();
    let base = [("login", "13900000021"), ("password", "start2026"), ("name", "无角色"), ("dept_id", d.as_str())];
    let r = c.post("/admin/users", &base).await;
    r.assert_status(422);
    assert!(r.has(".field.has-error input[name=roles]"));
    assert!(r.text_of(".field.has-error .field-error").contains("请至少选择一个角色"));
    assert_eq!(app.count("SELECT count(*) FROM users WHERE login = '13900000021'").await, 0);
    let rep = role(&app, "rep").await;
    let mut with_role = base.to_vec();
    with_role.push(("roles", &rep));
    c.post("/admin/users", &with_role).await.assert_redirect("/admin/users");
    // Editing cannot take the last role away either; a role that does not exist does not count.
    let id = user_id(&app, "13900000021").await;
    let edit = [("login", "13900000021"), ("name", "无角色"), ("dept_id", d.as_str()), ("roles", "999999")];
    let r = c.post(&format!("/admin/users/{id}"), &edit).await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("请至少选择一个角色"));
    assert_eq!(app.count(&format!("SELECT count(*) FROM user_roles WHERE user_id = {id}")).await, 1);
    // A user admin who is not a super admin cannot get round it by ticking only the super role.
    org_admin(&app, "orgadmin").await;
    let mut oa = app.login("orgadmin").await;
    let sup = role(&app, "super").await;
    let only_super = [
        ("login", "13900000022"),
        ("password", "start2026"),
        ("name", "X"),
        ("dept_id", d.as_str()),
        ("roles", sup.as_str()),
    ];
    oa.post("/admin/users", &only_super).await.assert_status(422);
}

#[tokio::test]
async fn concurrent_superior_changes_never_close_a_loop() {
    let (app, _) = setup().await;
    let mut c1 = app.login("admin").await;
    let mut c2 = app.login("admin").await;
    let d = app.root_dept().await;
    let rep = role(&app, "rep").await;
    for round in 0..5 {
        let (la, lb) = (format!("a{round}"), format!("b{round}"));
        let a = app.user(&la, d, None, &["rep"]).await;
        let b = app.user(&lb, d, None, &["rep"]).await;
        let (a_s, b_s, d_s) = (a.to_string(), b.to_string(), d.to_string());
        let f1 = [("login", la.as_str()), ("name", "A"), ("dept_id", &d_s), ("superior_id", &b_s), ("roles", &rep)];
        let f2 = [("login", lb.as_str()), ("name", "B"), ("dept_id", &d_s), ("superior_id", &a_s), ("roles", &rep)];
        let (pa, pb) = (format!("/admin/users/{a}"), format!("/admin/users/{b}"));
        let (r1, r2) = tokio::join!(c1.post(&pa, &f1), c2.post(&pb, &f2));
        let got = [r1.status.as_u16(), r2.status.as_u16()];
        assert!(got.contains(&303) && got.contains(&422), "round {round}: {got:?}");
        let looped = app
            .count(&format!(
                "SELECT count(*) FROM users x JOIN users y ON x.superior_id = y.id AND y.superior_id = x.id
                 WHERE x.id IN ({a}, {b})"
            ))
            .await;
        assert_eq!(looped, 0);
    }
}

#[tokio::test]
async fn a_handover_drops_redundant_team_places_passes_head_places_and_warns_over_caps() {
    let (app, mut c) = setup().await;
    let d = app.root_dept().await;
    let leaver = app.user("leaver", d, None, &["rep"]).await;
    let heir = app.user("heir", d, None, &["rep"]).await;
    let quiet = app.user("quiet", d, None, &["rep"]).await;
    let sales = app.dept("销售部", Some(d)).await;
    let service = app.dept("客服部", Some(d)).await;
    sqlx::query("UPDATE departments SET head_id = $1 WHERE id = $2")
        .bind(leaver)
        .bind(sales)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE departments SET head_id = $1 WHERE id = $2")
        .bind(quiet)
        .bind(service)
        .execute(&app.db)
        .await
        .unwrap();
    let mut lc = app.login("leaver").await;
    lc.post("/customers", &[("name", "离职者的客户"), ("kind", "enterprise")]).await.assert_status(303);
    let mut hc = app.login("heir").await;
    hc.post("/customers", &[("name", "接手人的客户"), ("kind", "enterprise")]).await.assert_status(303);
    let id_of = |name: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM customers WHERE name = $1")
                .bind(name)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let (theirs, mine) = (id_of("离职者的客户").await, id_of("接手人的客户").await);
    // The heir sits on the team of the leaver's customer; the leaver on the heir's.
    sqlx::query(
        "INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, 'read'), ('customer', $3, $4, 'write')",
    )
    .bind(theirs)
    .bind(heir)
    .bind(mine)
    .bind(leaver)
    .execute(&app.db)
    .await
    .unwrap();
    // The heir may own one customer and lock none; they already own one, locked.
    sqlx::query("UPDATE customers SET locked = true WHERE id = $1").bind(mine).execute(&app.db).await.unwrap();
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned, max_locked) VALUES ($1, 1, 0)")
        .bind(heir)
        .execute(&app.db)
        .await
        .unwrap();

    let page = c.get(&format!("/admin/users/{leaver}/disable")).await;
    assert_eq!(page.text_of("#heads"), "销售部");
    c.post(&format!("/admin/users/{leaver}/disable"), &[("hand_to", &heir.to_string())])
        .await
        .assert_redirect("/admin/users");
    // Not refused by the cap; the admin is warned instead.
    let owners: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT owner_id FROM customers ORDER BY id").fetch_all(&app.db).await.unwrap();
    assert_eq!(owners, [Some(heir), Some(heir)]);
    let after = c.get("/admin/users").await;
    let warning = after.text_of(".flash-warning");
    assert!(warning.contains("用户heir 接手后名下有 2 个客户，超过了上限（1 个）"), "{}", after.text_of(".flash"));
    assert!(warning.contains("锁定了 1 个客户，超过了锁定上限（0 个）"), "{warning}");
    assert!(after.text_of(".flash-success").contains("已停用"));
    // The heir owns both customers now: no team places of theirs are left on them.
    assert_eq!(app.count("SELECT count(*) FROM record_members").await, 0);
    // The head place went to the heir, audited on the department.
    let head: Option<i64> = sqlx::query_scalar("SELECT head_id FROM departments WHERE id = $1")
        .bind(sales)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(head, Some(heir));
    let change: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM operation_logs WHERE entity = 'department' AND entity_id = $1 AND action = 'update'",
    )
    .bind(sales)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(change[0], serde_json::json!({"field": "head", "old": "用户leaver", "new": "用户heir"}));

    // Disabled without an heir, a head place is cleared: a disabled user heads nothing.
    c.post(&format!("/admin/users/{quiet}/disable"), &[("hand_to", "")]).await.assert_redirect("/admin/users");
    let head: Option<i64> = sqlx::query_scalar("SELECT head_id FROM departments WHERE id = $1")
        .bind(service)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(head, None);
    assert!(!c.get("/admin/users").await.has(".flash-warning"));
}

#[tokio::test]
async fn the_colleague_picker_gives_names_and_departments_not_phone_numbers() {
    let (app, mut admin) = setup().await;
    let sales = app.dept("销售部", None).await;
    let zhang = app.user("13911112222", sales, None, &["rep"]).await;
    sqlx::query("UPDATE users SET name = '张三', mobile = '13933334444' WHERE id = $1")
        .bind(zhang)
        .execute(&app.db)
        .await
        .unwrap();
    let gone = app.user("13955556666", sales, None, &["rep"]).await;
    sqlx::query("UPDATE users SET name = '张离职', status = 'disabled' WHERE id = $1")
        .bind(gone)
        .execute(&app.db)
        .await
        .unwrap();
    app.user("rep", app.root_dept().await, None, &["rep"]).await;
    let mut rep = app.login("rep").await;
    let json = |r: super::common::Resp| -> serde_json::Value {
        assert!(!r.body.contains("1391111") && !r.body.contains("1393333"), "no phone numbers: {}", r.body);
        serde_json::from_str(&r.body).unwrap()
    };

    let found = json(rep.get("/users/lookup?q=张").await);
    assert_eq!(found, serde_json::json!([{"id": zhang, "name": "张三", "dept": "销售部"}]), "active users only");
    // Phone fragments find nobody for an ordinary user...
    assert_eq!(json(rep.get("/users/lookup?q=1391111").await), serde_json::json!([]));
    assert_eq!(json(rep.get("/users/lookup?q=13933").await), serde_json::json!([]));
    // ...but a user admin may look people up by login or mobile (still without seeing them).
    assert_eq!(json(admin.get("/users/lookup?q=1391111").await)[0]["id"], zhang);
    assert_eq!(json(admin.get("/users/lookup?q=13933").await)[0]["name"], "张三");
    app.client().get("/users/lookup?q=张").await.assert_redirect("/login?next=%2Fusers%2Flookup%3Fq%3D%E5%BC%A0");
}

/// The heir of a disabled user hears what they received: one notification counting each record
/// kind, the team places and the departments they now head, in their own language, with a link
/// to the records. Nothing is sent when nothing moved or nobody inherits.
#[tokio::test]
async fn the_heir_of_a_disabled_user_is_told_what_they_received() {
    let (app, mut c) = setup().await;
    let d = app.root_dept().await;
    let leaver = app.user("leaver", d, None, &["rep"]).await;
    let heir = app.user("heir", d, None, &["rep"]).await;
    let empty = app.user("empty", d, None, &["rep"]).await;
    let status: i64 =
        sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let mut customers = Vec::new();
    for name in ["继承客户甲", "继承客户乙"] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (code, name, name_norm, status_id, owner_id) VALUES ($1, $1, $1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(status)
        .bind(leaver)
        .fetch_one(&app.db)
        .await
        .unwrap();
        customers.push(id);
    }
    sqlx::query("INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, '王经理', $2)")
        .bind(customers[0])
        .bind(leaver)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO leads (name, owner_id) VALUES ('继承线索', $1)")
        .bind(leaver)
        .execute(&app.db)
        .await
        .unwrap();
    let other: i64 = sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id) VALUES ('别人的', '别人的', '别人的', $1, $2) RETURNING id",
    )
    .bind(status)
    .bind(empty)
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, 'write')")
        .bind(other)
        .bind(leaver)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE departments SET head_id = $1 WHERE id = $2")
        .bind(leaver)
        .bind(d)
        .execute(&app.db)
        .await
        .unwrap();

    c.post(&format!("/admin/users/{leaver}/disable"), &[("hand_to", &heir.to_string())])
        .await
        .assert_redirect("/admin/users");
    let sent: Vec<(String, Option<String>)> = sqlx::query_as("SELECT kind, link FROM notifications WHERE user_id = $1")
        .bind(heir)
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(sent, [("handover_received".to_string(), Some("/customers?scene=mine".to_string()))]);
    let mut h = app.login("heir").await;
    let inbox = h.get("/notifications?tab=handover").await;
    let text = inbox.text_of(".notif-text");
    assert!(text.contains("用户leaver") && text.contains("admin"), "{text}");
    assert!(text.contains("客户 2、联系人 1、线索 1、所在团队 1、负责的部门 1"), "{text}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM notifications WHERE user_id = $1")
        .bind(heir)
        .fetch_one(&app.db)
        .await
        .unwrap();
    h.get(&format!("/notifications/{id}")).await.assert_redirect("/customers?scene=mine");
    let mine = h.get("/customers?scene=mine").await.text_of("#list-table");
    assert!(mine.contains("继承客户甲") && mine.contains("继承客户乙"), "{mine}");
    // In the heir's language.
    sqlx::query("UPDATE users SET lang = 'en' WHERE id = $1").bind(heir).execute(&app.db).await.unwrap();
    let mut h = app.login("heir").await;
    let text = h.get("/notifications").await.text_of(".notif-text");
    assert!(text.contains("Customer: 2, Contact: 1, Lead: 1"), "{text}");

    // Nothing handed over (no heir, or nothing held): no notification.
    c.post(&format!("/admin/users/{empty}/disable"), &[("hand_to", "")]).await.assert_redirect("/admin/users");
    let nothing = app.user("nothing", d, None, &["rep"]).await;
    c.post(&format!("/admin/users/{nothing}/disable"), &[("hand_to", &heir.to_string())]).await;
    assert_eq!(app.count("SELECT count(*) FROM notifications").await, 1);
}
