//! Roles (角色权限): the permission matrix, validation, copy, delete, the locked super admin role,
//! permission changes taking effect on the next request, and who may open the pages at all.

use axum::http::Method;

use super::common;
use super::common::{Client, TestApp};

async fn setup() -> (TestApp, Client) {
    common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

async fn role_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM roles WHERE name = $1").bind(name).fetch_one(&app.db).await.unwrap()
}

async fn role_code_id(app: &TestApp, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM roles WHERE code = $1").bind(code).fetch_one(&app.db).await.unwrap()
}

/// The role's grants as sorted "module:action" strings.
async fn perms(app: &TestApp, role: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT module || ':' || action FROM role_permissions WHERE role_id = $1 ORDER BY 1")
        .bind(role)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// The role's data scopes as sorted "module=scope" strings.
async fn scopes(app: &TestApp, role: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT module || '=' || scope FROM role_scopes WHERE role_id = $1 ORDER BY 1")
        .bind(role)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

async fn assign(app: &TestApp, user: i64, role: i64) {
    sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
        .bind(user)
        .bind(role)
        .execute(&app.db)
        .await
        .unwrap();
}

fn s(list: &[&str]) -> Vec<String> {
    list.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn a_new_role_is_saved_with_its_permissions_and_data_scopes() {
    let (app, mut c) = setup().await;
    let form = c.get("/admin/roles/new").await;
    form.assert_status(200);
    // The matrix lists the catalog: business modules first, a checkbox per action, a scope
    // select only where the module has data scopes.
    let modules = form.text_of(".perm-matrix td.module-name");
    assert!(modules.find("仪表盘").unwrap() < modules.find("角色权限").unwrap(), "{modules}");
    assert!(form.has("input[type=checkbox][name=perm][value='dashboard:view']"));
    assert!(form.has("input[type=checkbox][name=perm][value='roles:manage']"));
    assert!(form.has("select[name=scope_dashboard] option[value=dept_tree]"));
    assert!(!form.has("select[name=scope_logs]"));
    // Approving (审批) is offered where approvals happen: customers, contracts, payments.
    for module in ["customers", "contracts", "payments"] {
        assert!(form.has(&format!("input[type=checkbox][name=perm][value='{module}:approve']")), "{module}");
    }
    assert!(modules.contains("合同") && modules.contains("回款"), "{modules}");
    assert!(!form.has("input[name=perm][value='leads:approve']"));
    assert_eq!(
        form.attr("select[name=scope_dashboard] option[selected]", "value").as_deref(),
        Some("self"),
        "the narrowest scope is the default"
    );

    let r = c
        .post(
            "/admin/roles",
            &[
                ("name", "  客服专员 "),
                ("description", "处理客户来电"),
                ("perm", "dashboard:view"),
                ("perm", "logs:view"),
                // Codes the catalog does not know are ignored.
                ("perm", "nosuch:view"),
                ("perm", "logs:delete"),
                ("scope_dashboard", "dept_tree"),
                ("scope_nosuch", "all"),
            ],
        )
        .await;
    r.assert_redirect("/admin/roles");
    let id = role_id(&app, "客服专员").await;
    assert_eq!(perms(&app, id).await, s(&["dashboard:view", "logs:view"]));
    assert_eq!(scopes(&app, id).await, s(&["dashboard=dept_tree"]));

    let list = c.get("/admin/roles").await;
    list.assert_contains("角色已创建");
    let row = list.text_of(&format!("tr[data-role='{id}']"));
    assert!(row.contains("客服专员") && row.contains("处理客户来电"), "{row}");
    assert!(row.contains('0'), "no members yet: {row}");
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'role' AND action = 'create'").await, 1);
}

#[tokio::test]
async fn invalid_role_forms_come_back_with_field_errors_and_save_nothing() {
    let (app, mut c) = setup().await;
    let before = app.count("SELECT count(*) FROM roles").await;

    let r = c
        .post(
            "/admin/roles",
            &[("name", "   "), ("perm", "logs:view"), ("perm", "dashboard:view"), ("scope_dashboard", "dept")],
        )
        .await;
    r.assert_status(422);
    assert_eq!(r.text_of(".field.has-error .field-error"), "此项必填");
    // What was ticked stays ticked.
    assert!(r.has("input[name=perm][value='logs:view'][checked]"));
    assert!(r.has("input[name=perm][value='dashboard:view'][checked]"));
    assert!(!r.has("input[name=perm][value='roles:manage'][checked]"));
    assert_eq!(r.attr("select[name=scope_dashboard] option[selected]", "value").as_deref(), Some("dept"));

    // A name another role has (case and blanks aside) is refused next to the field.
    let r = c.post("/admin/roles", &[("name", " 销售代表 "), ("description", "重复"), ("perm", "logs:view")]).await;
    r.assert_status(422);
    assert!(r.text_of(".field.has-error .field-error").contains("已有同名角色"), "{}", r.text_of(".field.has-error"));
    assert_eq!(r.attr("input[name=name]", "value").as_deref(), Some("销售代表"));
    assert_eq!(r.text_of("textarea[name=description]"), "重复");
    assert_eq!(app.count("SELECT count(*) FROM roles").await, before);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs").await, 0, "nothing was written");

    // Renaming a role onto another's name is refused the same way.
    let rep = role_code_id(&app, "rep").await;
    let r = c.post(&format!("/admin/roles/{rep}"), &[("name", "销售经理")]).await;
    r.assert_status(422);
    r.assert_contains("已有同名角色");
    assert_eq!(
        sqlx::query_scalar::<_, String>("SELECT name FROM roles WHERE id = $1")
            .bind(rep)
            .fetch_one(&app.db)
            .await
            .unwrap(),
        "销售代表"
    );
}

#[tokio::test]
async fn editing_a_role_changes_what_its_users_can_open_on_their_next_request() {
    let (app, mut admin) = setup().await;
    admin.post("/admin/roles", &[("name", "审计员"), ("perm", "dashboard:view")]).await.assert_redirect("/admin/roles");
    let role = role_id(&app, "审计员").await;
    let root = app.root_dept().await;
    let auditor = app.user("auditor", root, None, &[]).await;
    assign(&app, auditor, role).await;
    let mut u = app.login("auditor").await;
    u.get("/admin/logs").await.assert_status(403);

    // The edit form shows what is stored.
    let form = admin.get(&format!("/admin/roles/{role}/edit")).await;
    form.assert_status(200);
    assert_eq!(form.attr("input[name=name]", "value").as_deref(), Some("审计员"));
    assert!(form.has("input[name=perm][value='dashboard:view'][checked]"));
    assert!(!form.has("input[name=perm][value='logs:view'][checked]"));

    // Grant logs:view: the same session gets in at once.
    admin
        .post(
            &format!("/admin/roles/{role}"),
            &[("name", "审计员"), ("perm", "dashboard:view"), ("perm", "logs:view"), ("scope_dashboard", "all")],
        )
        .await
        .assert_redirect("/admin/roles");
    assert_eq!(perms(&app, role).await, s(&["dashboard:view", "logs:view"]));
    assert_eq!(scopes(&app, role).await, s(&["dashboard=all"]));
    u.get("/admin/logs").await.assert_status(200);
    assert!(u.get("/").await.text_of("aside.sidebar").contains("操作日志"), "the nav entry appears too");

    // Take it away again, and rename.
    admin
        .post(&format!("/admin/roles/{role}"), &[("name", "审计员（停用）"), ("perm", "dashboard:view")])
        .await
        .assert_redirect("/admin/roles");
    u.get("/admin/logs").await.assert_status(403);

    // Each save left a readable trace.
    let log = admin.get("/admin/logs?entity=role&action=update").await;
    let text = log.text_of(".log-detail");
    assert!(text.contains("用户admin 把 权限 从 dashboard:view 改为 dashboard:view, logs:view"), "{text}");
    assert!(text.contains("用户admin 把 数据范围 从 dashboard=self 改为 dashboard=all"), "{text}");
    assert!(text.contains("用户admin 把 名称 从 审计员 改为 审计员（停用）"), "{text}");
}

#[tokio::test]
async fn copying_a_role_keeps_its_grants_under_a_free_name() {
    let (app, mut c) = setup().await;
    let manager = role_code_id(&app, "manager").await;
    let r = c.post(&format!("/admin/roles/{manager}/copy"), &[]).await;
    let copy = role_id(&app, "销售经理 副本").await;
    r.assert_redirect(&format!("/admin/roles/{copy}/edit"));
    assert_eq!(perms(&app, copy).await, perms(&app, manager).await);
    assert_eq!(scopes(&app, copy).await, scopes(&app, manager).await);
    let page = c.get(&r.location()).await;
    page.assert_status(200);
    page.assert_contains("已复制为“销售经理 副本”");
    assert_eq!(page.attr("input[name=name]", "value").as_deref(), Some("销售经理 副本"));

    // The name is taken now: the next copy is numbered.
    c.post(&format!("/admin/roles/{manager}/copy"), &[]).await;
    let second = role_id(&app, "销售经理 副本 2").await;
    assert_eq!(perms(&app, second).await, perms(&app, manager).await);

    // The copy is independent of its source.
    c.post(&format!("/admin/roles/{copy}"), &[("name", "销售经理 副本"), ("perm", "logs:view")])
        .await
        .assert_redirect("/admin/roles");
    assert_ne!(perms(&app, copy).await, perms(&app, manager).await);

    let log = c.get("/admin/logs?action=copy").await;
    assert_eq!(log.count(".log-table tbody tr"), 2);
    assert!(log.text_of(".log-detail").contains("用户admin 复制创建了记录，来源（销售经理）"));
}

#[tokio::test]
async fn a_role_in_use_cannot_be_deleted_until_nobody_holds_it() {
    let (app, mut c) = setup().await;
    c.post("/admin/roles", &[("name", "临时角色"), ("perm", "dashboard:view")]).await;
    let role = role_id(&app, "临时角色").await;
    let root = app.root_dept().await;
    let a = app.user("temp_a", root, None, &[]).await;
    let b = app.user("temp_b", root, None, &[]).await;
    assign(&app, a, role).await;
    assign(&app, b, role).await;

    let list = c.get("/admin/roles").await;
    let row = format!("tr[data-role='{role}']");
    assert!(list.has(&format!("{row} form[action='/admin/roles/{role}/delete']")));

    c.post(&format!("/admin/roles/{role}/delete"), &[]).await.assert_redirect("/admin/roles");
    let after = c.get("/admin/roles").await;
    assert!(after.text_of(".flash-error").contains("仍有 2 名员工在使用，不能删除"), "{}", after.text_of(".flash"));
    assert!(after.has(&row), "the role is still listed");
    assert_eq!(app.count(&format!("SELECT count(*) FROM roles WHERE id = {role}")).await, 1);

    sqlx::query("DELETE FROM user_roles WHERE role_id = $1").bind(role).execute(&app.db).await.unwrap();
    c.post(&format!("/admin/roles/{role}/delete"), &[]).await.assert_redirect("/admin/roles");
    let after = c.get("/admin/roles").await;
    after.assert_contains("角色“临时角色”已删除");
    assert!(!after.has(&row));
    assert_eq!(perms(&app, role).await, Vec::<String>::new());
    let log = c.get("/admin/logs?action=delete").await;
    assert!(log.text_of(".log-detail").contains("用户admin 删除了记录（临时角色）"));
}

#[tokio::test]
async fn the_super_admin_role_cannot_be_edited_or_deleted() {
    let (app, mut c) = setup().await;
    let sup = role_code_id(&app, "super").await;
    let list = c.get("/admin/roles").await;
    let row = format!("tr[data-role='{sup}']");
    assert!(list.text_of(&row).contains("超级管理员（全部权限）"), "{}", list.text_of(&row));
    assert!(!list.has(&format!("{row} a[href='/admin/roles/{sup}/edit']")));
    assert!(!list.has(&format!("{row} form[action='/admin/roles/{sup}/delete']")));
    assert_eq!(list.count(".roles-table tbody tr"), 5);

    c.get(&format!("/admin/roles/{sup}/edit")).await.assert_status(403);
    c.post(&format!("/admin/roles/{sup}"), &[("name", "改名"), ("perm", "dashboard:view")]).await.assert_status(403);
    c.post(&format!("/admin/roles/{sup}/delete"), &[]).await.assert_status(403);
    let (name, is_super): (String, bool) =
        sqlx::query_as("SELECT name, is_super FROM roles WHERE id = $1").bind(sup).fetch_one(&app.db).await.unwrap();
    assert_eq!((name.as_str(), is_super), ("超级管理员", true));
    assert!(perms(&app, sup).await.is_empty());

    // Copying it gives an ordinary, editable role with every permission of the catalog.
    c.post(&format!("/admin/roles/{sup}/copy"), &[]).await;
    let copy = role_id(&app, "超级管理员 副本").await;
    let expected: Vec<String> = {
        let mut v: Vec<String> = crm::access::MODULES
            .iter()
            .flat_map(|m| m.actions.iter().map(move |a| format!("{}:{}", m.code, a.code())))
            .collect();
        v.sort();
        v
    };
    assert_eq!(perms(&app, copy).await, expected);
    assert_eq!(app.count(&format!("SELECT count(*) FROM roles WHERE id = {copy} AND NOT is_super")).await, 1);
    c.get(&format!("/admin/roles/{copy}/edit")).await.assert_status(200);
}

#[tokio::test]
async fn only_role_managers_reach_the_role_pages() {
    let (app, _) = setup().await;
    let root = app.root_dept().await;
    app.user("rep1", root, None, &["rep"]).await;
    app.user("boss", root, None, &["director"]).await;
    let manager = role_code_id(&app, "manager").await;
    let before = perms(&app, manager).await;

    let routes: Vec<_> = crm::app::route_specs().into_iter().filter(|r| r.path.starts_with("/admin/roles")).collect();
    assert_eq!(routes.len(), 8);
    for login in ["rep1", "boss"] {
        let mut c = app.login(login).await;
        for spec in &routes {
            let path = spec.path.replace("{id}", &manager.to_string());
            let r = if spec.method == Method::GET {
                c.get(&path).await
            } else {
                c.post(&path, &[("name", "被篡改"), ("perm", "roles:manage")]).await
            };
            assert_eq!(r.status.as_u16(), 403, "{login}: {} {path}", spec.method);
            for secret in ["销售经理", "本部门及下级部门数据", "perm-matrix", "roles-table"] {
                r.assert_lacks(secret);
            }
        }
        let home = c.get("/").await;
        assert!(!home.text_of("aside.sidebar").contains("角色权限"));
    }
    assert_eq!(perms(&app, manager).await, before);
    assert_eq!(app.count("SELECT count(*) FROM roles").await, 5);
    assert_eq!(app.count("SELECT count(*) FROM roles WHERE totp_required").await, 0, "two-factor settings untouched");
}

#[tokio::test]
async fn the_seeded_sales_roles_approve_and_reps_do_not() {
    let (app, mut c) = setup().await;
    for (code, approves) in [("director", true), ("manager", true), ("rep", false), ("readonly", false)] {
        let role = role_code_id(&app, code).await;
        let granted = perms(&app, role).await;
        for module in ["customers", "contracts", "payments"] {
            assert_eq!(granted.contains(&format!("{module}:approve")), approves, "{code} {module}");
        }
        let form = c.get(&format!("/admin/roles/{role}/edit")).await;
        assert_eq!(form.has("input[name=perm][value='customers:approve'][checked]"), approves, "{code}");
    }
    let list = c.get("/admin/roles").await;
    let director = role_code_id(&app, "director").await;
    assert!(list.text_of(&format!("tr[data-role='{director}']")).contains("可审批"));
}
