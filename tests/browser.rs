//! Browser tests: real Chromium through chromedriver against the app on a random port.
//! Screenshots land in target/screenshots/.

mod common;

use common::browser::Browser;
use common::{PASSWORD, TestApp};
use fantoccini::Locator;
use serde_json::json;

#[tokio::test]
async fn login_and_the_shell_in_both_languages() {
    common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let b = Browser::start(&app).await;

    b.goto("/").await;
    assert_eq!(b.path().await, "/login", "anonymous visitors land on the login page");
    b.screenshot("login-zh").await;
    b.fill("input[name=login]", "admin").await;
    b.fill("input[name=password]", "wrong-password1").await;
    b.submit_and_wait("form.form-stack button[type=submit]", "#login-error").await;
    assert_eq!(b.text("#login-error").await, "登录名或密码错误。");
    b.screenshot("login-error-zh").await;

    b.login("admin", PASSWORD).await;
    assert_eq!(b.path().await, "/");
    assert!(b.text("main h1").await.contains("您好"));
    b.screenshot("home-zh").await;

    // Switch to English from the user menu.
    b.click("details.user-menu summary").await;
    b.submit_and_wait("details.user-menu form.menu-form button[type=submit]:not(.current)", "main h1").await;
    assert!(b.text("main h1").await.contains("Hello"));
    b.screenshot("home-en").await;

    // Narrow screen (360 px, the smallest phones): the sidebar becomes a drawer behind the menu
    // button, and nothing sticks out sideways.
    b.resize(360, 800).await;
    let width = b.client.execute("return window.innerWidth", vec![]).await.unwrap();
    assert_eq!(width.as_i64(), Some(360), "the window really is 360 px wide");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await; // the sidebar slides away
    b.assert_no_horizontal_overflow("home").await;
    b.screenshot("home-en-narrow").await;
    b.click("label.nav-burger").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await; // the drawer slides in
    b.screenshot("home-en-narrow-menu").await;
    b.goto("/customers").await;
    b.wait_for("main h1").await;
    b.assert_no_horizontal_overflow("customer list").await;
    b.screenshot("customers-empty-en-narrow").await;
    b.resize(1400, 900).await;

    // A path that does not parse gets the error page inside the layout.
    b.goto("/customers/abc").await;
    assert!(b.text("main h1").await.contains("Request not accepted"));
    b.screenshot("error-400-en").await;

    // Logged out, the login page's own switch; it keeps where the login leads.
    b.client.delete_all_cookies().await.unwrap();
    b.goto("/login?next=%2Fcustomers%3Fpage%3D1").await;
    b.submit_and_wait(".auth-langs button[type=submit]:not(.current)", ".auth-card").await;
    assert_eq!(b.text(".auth-card h1").await, "Log in");
    let url = b.client.current_url().await.unwrap();
    assert_eq!((url.path(), url.query()), ("/login", Some("next=%2Fcustomers%3Fpage%3D1")));
    b.screenshot("login-en").await;

    // The attempt that uses up the last try already says when to come back.
    for _ in 0..5 {
        b.fill("input[name=login]", "ghost").await;
        b.fill("input[name=password]", "wrong-password1").await;
        b.submit_and_wait("form.form-stack button[type=submit]", "#login-error").await;
    }
    let error = b.text("#login-error").await;
    assert!(error.contains("Try again after") && error.contains(':'), "{error}");
    b.screenshot("login-locked-en").await;
    b.close().await;
}

/// The organisation admin pages on the demo company, for a look in both languages.
#[tokio::test]
async fn organisation_admin_pages() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("admin", crm::seed::demo::ADMIN.1).await;

    b.goto("/admin/departments").await;
    assert!(b.text("#dept-tree").await.contains("华东大区"));
    b.screenshot("admin-departments-zh").await;
    b.goto("/admin/users").await;
    assert!(b.text("#users").await.contains("张伟"));
    b.screenshot("admin-users-zh").await;
    b.goto("/admin/users/tree").await;
    b.screenshot("admin-users-tree-zh").await;
    b.goto("/admin/users/new").await;
    b.fill("input[name=login]", "admin").await;
    b.fill("input[name=mobile]", "123").await;
    b.submit_and_wait("#user-form button[type=submit]", ".field-error").await;
    b.screenshot("admin-user-form-errors-zh").await;
    let zhang: i64 = sqlx::query_scalar("SELECT id FROM users WHERE name = '张伟'").fetch_one(&app.db).await.unwrap();
    b.goto(&format!("/admin/users/{zhang}/disable")).await;
    b.screenshot("admin-user-disable-zh").await;

    b.click("details.user-menu summary").await;
    b.submit_and_wait("details.user-menu form.menu-form button[type=submit]:not(.current)", "main h1").await;
    b.goto(&format!("/admin/users/{zhang}/edit")).await;
    b.screenshot("admin-user-edit-en").await;
    b.goto("/admin/departments").await;
    b.screenshot("admin-departments-en").await;
    b.resize(390, 844).await;
    b.goto("/admin/users").await;
    b.screenshot("admin-users-en-narrow").await;
    b.close().await;
}

/// A rep's day with customers: create a group and a subsidiary, find it from the top bar, save a
/// scene; screenshots of the list, detail tabs, form errors, search, in both languages.
#[tokio::test]
async fn customers_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;

    b.goto("/customers").await;
    b.wait_for("#list-table").await;
    b.screenshot("customers-list-zh").await;

    // A form with a mistake first: the error shows and the typed value stays.
    b.goto("/customers/new").await;
    b.fill("input[name=short_name]", "测试").await;
    b.submit_and_wait("#customer-form button[type=submit]", ".field-error").await;
    assert!(b.text("#customer-form").await.contains("此项必填"));
    b.screenshot("customer-form-errors-zh").await;

    b.fill("input[name=name]", "东方测试集团").await;
    b.submit_and_wait("#customer-form button[type=submit]", "#status-badge").await;
    b.goto("/customers/new").await;
    b.fill("input[name=name]", "东方测试子公司").await;
    b.fill("input[name=parent_q]", "东方测试集团").await;
    b.fill("input[name=phone]", "021-55556666").await;
    b.submit_and_wait("#customer-form button[type=submit]", "#status-badge").await;
    assert!(b.text("#tab-basic").await.contains("东方测试集团"), "the parent shows on the detail page");
    b.screenshot("customer-detail-zh").await;
    b.click("#star-toggle").await;
    b.wait_for("body:not([data-stale]) #star-toggle.on").await;

    // A contact at the subsidiary and a lead, as if entered earlier.
    sqlx::query(
        "INSERT INTO contacts (customer_id, name, mobile, owner_id)
         SELECT id, '李经理', '139-5555-0101', owner_id FROM customers WHERE name = '东方测试子公司'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO leads (name, contact_name, phone, owner_id)
         SELECT '东方测试贸易有限公司', '周经理', '021-55550202', id FROM users WHERE login = '13800000003'",
    )
    .execute(&app.db)
    .await
    .unwrap();

    // Find it from the top bar: customers and leads by name.
    b.fill("form.global-search input[name=q]", "东方测试").await;
    b.enter_and_wait("form.global-search input[name=q]", ".search-hits").await;
    let hits = b.text("[data-group=customers] .search-hits").await;
    assert!(hits.contains("东方测试集团") && hits.contains("东方测试子公司"), "{hits}");
    assert!(b.text("[data-group=leads] .search-hits").await.contains("东方测试贸易有限公司"));
    b.screenshot("search-zh").await;

    // The parent's related tab lists the subsidiary; history reads as sentences.
    b.click("[data-group=customers] .search-hits li:first-child a").await;
    b.goto(&format!("{}?tab=related", b.path().await)).await;
    b.screenshot("customer-related-zh").await;

    // A phone fragment finds the customer, the contact and the lead.
    b.fill("form.global-search input[name=q]", "5555").await;
    b.enter_and_wait("form.global-search input[name=q]", ".search-hits").await;
    for (group, name) in [("customers", "东方测试子公司"), ("contacts", "李经理"), ("leads", "东方测试贸易有限公司")]
    {
        assert!(b.text(&format!("[data-group={group}] .search-hits")).await.contains(name), "{group}");
    }
    b.screenshot("search-phone-zh").await;

    // One character is too short to search for: the field says so.
    b.goto("/customers?scene=all&q=东").await;
    assert!(b.text("#customer-filters .field-error").await.contains("至少输入 2 个字"));
    b.screenshot("customers-keyword-too-short-zh").await;

    // Save the keyword filter as a scene.
    b.goto("/customers?q=东方测试").await;
    b.fill("#save-scene input[name=name]", "东方系").await;
    b.submit_and_wait("#save-scene button[type=submit]", ".scene-tabs").await;
    assert!(b.text(".scene-tabs a.active").await.contains("东方系"));
    b.screenshot("customers-scene-zh").await;

    // English.
    b.click("details.user-menu summary").await;
    b.submit_and_wait("details.user-menu form.menu-form button[type=submit]:not(.current)", "main h1").await;
    b.goto("/customers?scene=all").await;
    b.screenshot("customers-list-en").await;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE name = '东方测试子公司'").fetch_one(&app.db).await.unwrap();
    b.goto(&format!("/customers/{id}")).await;
    b.screenshot("customer-detail-en").await;
    b.goto(&format!("/customers/{id}?tab=history")).await;
    b.screenshot("customer-history-en").await;
    b.goto("/customers/columns").await;
    b.screenshot("customer-columns-en").await;
    b.resize(360, 800).await;
    b.goto("/customers?scene=all").await;
    b.assert_no_horizontal_overflow("customer list").await;
    b.screenshot("customers-list-en-narrow").await;
    b.goto(&format!("/customers/{id}")).await;
    b.assert_no_horizontal_overflow("customer detail").await;
    b.screenshot("customer-detail-en-narrow").await;
    b.goto(&format!("/customers/{id}/edit")).await;
    b.assert_no_horizontal_overflow("customer form").await;
    b.screenshot("customer-form-en-narrow").await;
    b.close().await;
}

/// A rep works a customer: adds a contact and a follow-up with a next contact time, then the
/// manager transfers the customer keeping the rep on the team; screenshots of every tab.
#[tokio::test]
async fn working_a_customer_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let id: i64 = sqlx::query_scalar("SELECT id FROM customers WHERE name = '上海华信科技有限公司'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;

    // A contact from the customer's Contacts tab.
    b.goto(&format!("/customers/{id}?tab=contacts")).await;
    b.click("#tab-contacts a[href^=\"/contacts/new\"]").await;
    b.wait_for("form input[name=name]").await;
    b.fill("input[name=name]", "王经理").await;
    b.fill("input[name=mobile]", "13911112222").await;
    b.fill("input[name=position]", "采购经理").await;
    b.submit_and_wait("form button[type=submit].btn-primary", "h1").await;
    b.goto(&format!("/customers/{id}?tab=contacts")).await;
    assert!(b.text("#tab-contacts").await.contains("王经理"));
    b.screenshot("customer-contacts-zh").await;

    // A follow-up with a next contact time, naming the contact.
    b.goto(&format!("/customers/{id}?tab=timeline")).await;
    b.client
        .execute(
            "document.querySelector('#followup-form select[name=method_id]').selectedIndex = 1;
             document.querySelector('#followup-form input[name=next_contact_at]').value = arguments[0];",
            vec![serde_json::json!(
                (chrono::Utc::now() + chrono::Duration::days(3))
                    .with_timezone(&app.config.timezone)
                    .format("%Y-%m-%dT%H:%M")
                    .to_string()
            )],
        )
        .await
        .unwrap();
    b.fill("#followup-form textarea[name=content]", "电话沟通了年度采购计划，约下周上门拜访。").await;
    b.click("#followup-form input[name=contact_ids]").await;
    b.submit_and_wait("#followup-form button[type=submit]", "#timeline").await;
    assert!(b.text("#timeline").await.contains("年度采购计划"));
    b.screenshot("customer-timeline-zh").await;
    let next: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT next_contact_at FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(next.is_some(), "the next contact time is on the customer");

    // The manager transfers it to another rep, keeping 张伟 as a read-only member.
    b.client.delete_all_cookies().await.unwrap();
    b.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;
    b.goto(&format!("/customers/{id}/transfer")).await;
    let liu: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = '13800000004'").fetch_one(&app.db).await.unwrap();
    b.client
        .execute(
            "document.querySelector('#transfer-form select[name=new_owner]').value = arguments[0];",
            vec![serde_json::json!(liu.to_string())],
        )
        .await
        .unwrap();
    b.click("#transfer-form input[name=keep_old][value=read]").await;
    b.screenshot("customer-transfer-zh").await;
    b.submit_and_wait("#transfer-form button[type=submit]", "h1").await;
    b.goto(&format!("/customers/{id}?tab=team")).await;
    let team = b.text("#team-members").await;
    assert!(team.contains("刘洋") && team.contains("张伟") && team.contains("只读"), "{team}");
    b.screenshot("customer-team-zh").await;
    b.goto(&format!("/customers/{id}?tab=attachments")).await;
    b.screenshot("customer-attachments-zh").await;
    b.goto("/followups").await;
    b.screenshot("followups-zh").await;
    b.goto("/followups/overdue?days=7").await;
    b.screenshot("followups-overdue-zh").await;
    b.goto("/contacts").await;
    b.screenshot("contacts-list-zh").await;
    b.goto("/notifications").await;
    b.screenshot("notifications-zh").await;
    b.close().await;
}

/// A rep raises a customer to level 7, which asks the manager to raise its status; the manager
/// approves from the inbox; screenshots of the pending card, the inbox and the upgraded card.
#[tokio::test]
async fn customer_status_upgrade_approved_from_the_inbox() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let (id, from): (i64, String) = sqlx::query_as(
        "SELECT c.id, s.label_zh FROM customers c JOIN dict_items s ON s.id = c.status_id
         WHERE c.name = '上海华信科技有限公司'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let to: String = sqlx::query_scalar(
        "SELECT label_zh FROM dict_items WHERE dict = 'customer_status'
           AND position > (SELECT s.position FROM customers c JOIN dict_items s ON s.id = c.status_id WHERE c.id = $1)
         ORDER BY position LIMIT 1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let b = Browser::start(&app).await;

    // 张伟 sets the level to 7 on the customer.
    b.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;
    b.goto(&format!("/customers/{id}/edit")).await;
    b.client.execute("document.querySelector('#customer-form select[name=level]').value = '7';", vec![]).await.unwrap();
    b.submit_and_wait("#customer-form button[type=submit]", "#approval-badge").await;
    assert_eq!(b.text("#approval-badge").await, format!("待审批：{from} → {to}"));
    assert_eq!(b.text("#level-badge").await, "L7");
    b.screenshot("customer-pending-zh").await;

    // 李娜, his manager, finds it in her inbox and approves it.
    b.client.delete_all_cookies().await.unwrap();
    b.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;
    b.goto("/approvals").await;
    b.wait_for("#approvals").await;
    assert!(b.text("#approvals").await.contains("上海华信科技有限公司"));
    b.screenshot("approvals-inbox-zh").await;
    b.submit_and_wait("#approvals tbody tr:first-child a.btn", "#decide-form").await;
    b.fill("#decide-form textarea[name=comment]", "跟进充分，同意升级。").await;
    b.submit_and_wait("#approve-btn", ".flash-success").await;
    assert!(b.text("#approval-progress").await.contains("跟进充分"));
    b.screenshot("approval-approved-zh").await;

    b.goto(&format!("/customers/{id}")).await;
    assert_eq!(b.text("#status-badge").await, to);
    assert_eq!(b.text("#level-badge").await, "L1");
    b.screenshot("customer-upgraded-zh").await;
    b.goto(&format!("/customers/{id}?tab=timeline&kind=approval")).await;
    b.screenshot("customer-approval-timeline-zh").await;

    // The flows admin page, where the default flow lives.
    b.client.delete_all_cookies().await.unwrap();
    b.login("admin", crm::seed::demo::ADMIN.1).await;
    b.goto("/admin/flows").await;
    assert!(b.text("#subject-customer_status").await.contains("1. 直属上级"));
    b.screenshot("admin-flows-zh").await;
    let flow: i64 = sqlx::query_scalar("SELECT id FROM approval_flows WHERE subject = 'customer_status'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    b.goto(&format!("/admin/flows/{flow}/edit")).await;
    b.screenshot("admin-flow-edit-zh").await;
    b.close().await;
}

/// When the status flow lets the submitter pick the approvers, the automatic level-7 request
/// waits: the card offers "choose approvers", the rep picks a manager, and the task starts.
#[tokio::test]
async fn choosing_approvers_for_a_level_seven_request() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    sqlx::query(
        "UPDATE approval_steps SET kind = 'submitter_picks', mode = 'any', role_id = (SELECT id FROM roles WHERE code = 'manager')
          WHERE flow_id = (SELECT id FROM approval_flows WHERE subject = 'customer_status' AND enabled)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let id: i64 = sqlx::query_scalar("SELECT id FROM customers WHERE name = '上海华信科技有限公司'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;
    b.goto(&format!("/customers/{id}/edit")).await;
    b.client.execute("document.querySelector('#customer-form select[name=level]').value = '7';", vec![]).await.unwrap();
    b.submit_and_wait("#customer-form button[type=submit]", "#approval-pick").await;
    assert!(b.text("#approval-badge").await.starts_with("待选择审批人："));
    b.screenshot("customer-awaiting-picks-zh").await;
    b.submit_and_wait("#approval-pick", "#pick-form").await;
    assert!(b.text("#approval-progress").await.contains("待选择审批人"));
    b.screenshot("approval-pick-zh").await;
    b.click("#pick-form input[type=checkbox]").await;
    b.submit_and_wait("#pick-btn", ".flash-success").await;
    assert!(!b.text("#approval-progress").await.contains("待选择审批人"));
    b.screenshot("approval-picked-zh").await;
    b.close().await;
}

/// A rep converts a lead into a customer and puts the customer back into the pool; another rep
/// claims it from there; screenshots of the lead list and detail, the pool, and the pool admin.
#[tokio::test]
async fn a_lead_becomes_a_customer_goes_to_the_pool_and_is_claimed() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let lead: i64 = sqlx::query_scalar("SELECT id FROM leads WHERE name = '上海浦江数据服务有限公司'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;

    b.goto("/leads").await;
    b.wait_for("#list-table").await;
    assert!(b.text("#list-table").await.contains("上海浦江数据服务有限公司"));
    b.screenshot("leads-list-zh").await;
    b.goto(&format!("/leads/{lead}")).await;
    b.wait_for("#convert-btn").await;
    b.screenshot("lead-detail-zh").await;

    // Convert: the customer page opens, linked back to the lead.
    b.submit_and_wait("#convert-btn", "#convert-form").await;
    b.screenshot("lead-convert-zh").await;
    b.submit_and_wait("#convert-form button[type=submit]", "#status-badge").await;
    assert!(b.text("h1").await.contains("上海浦江数据服务有限公司"));
    let customer: i64 = b.path().await.trim_start_matches("/customers/").parse().unwrap();
    b.wait_for("#lead-link").await;

    // Put it back into the pool with a reason.
    b.submit_and_wait("#put-back-btn", "#put-back-form").await;
    b.fill("#put-back-form textarea[name=reason]", "预算推迟到明年").await;
    b.submit_and_wait("#put-back-form button[type=submit]", "#claim-btn").await;
    b.goto("/pool").await;
    b.wait_for("#list-table").await;
    assert!(b.text("#list-table").await.contains("预算推迟到明年"));
    b.screenshot("pool-list-zh").await;

    // Another rep claims it from the customer page.
    b.client.delete_all_cookies().await.unwrap();
    b.login("13800000004", crm::seed::demo::SALES_PASSWORD).await;
    b.goto(&format!("/customers/{customer}")).await;
    b.submit_and_wait("#claim-btn", "#put-back-btn").await;
    assert!(b.text(".flash-success").await.contains("已领取"));
    let owner: String =
        sqlx::query_scalar("SELECT u.name FROM customers c JOIN users u ON u.id = c.owner_id WHERE c.id = $1")
            .bind(customer)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(owner, "刘洋");
    // One of 刘洋's customers has gone 27 days without a follow-up: three days left.
    sqlx::query(
        "UPDATE customers SET owner_since = now() - interval '60 days', last_followup_at = now() - interval '27 days'
         WHERE name = '杭州云帆网络科技有限公司'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    b.goto("/pool/upcoming").await;
    assert!(b.text("#upcoming").await.contains("还剩 3 天"));
    b.screenshot("pool-upcoming-zh").await;

    b.client.delete_all_cookies().await.unwrap();
    b.login("admin", crm::seed::demo::ADMIN.1).await;
    b.goto("/admin/pools").await;
    b.wait_for("#pools").await;
    b.screenshot("pool-admin-zh").await;
    let default: i64 = sqlx::query_scalar("SELECT id FROM pools WHERE is_default").fetch_one(&app.db).await.unwrap();
    b.goto(&format!("/admin/pools/{default}")).await;
    b.wait_for("#pool-rules").await;
    b.screenshot("pool-admin-rules-zh").await;
    b.close().await;
}

/// The organisation and set-up fixes, for a look: a department delete refused with its reasons,
/// the disable page with head places, the numbering preview, stale custom values in a form.
#[tokio::test]
async fn org_and_setup_refusals_previews_and_stale_values() {
    common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let root = app.root_dept().await;
    let service = app.dept("客服部", Some(root)).await;
    let leaver = app.user("leaver", service, None, &["rep"]).await;
    sqlx::query("UPDATE departments SET head_id = $1 WHERE id = $2")
        .bind(leaver)
        .bind(service)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO customer_caps (dept_id, max_owned) VALUES ($1, 50)")
        .bind(service)
        .execute(&app.db)
        .await
        .unwrap();
    // A customer whose custom fields hold a user disabled since and an option removed since.
    let mut c = app.login("admin").await;
    for (key, kind, options) in [("handler", "user", ""), ("grade", "select", "a|甲级|A\nb|乙级|B")] {
        let f = [
            ("entity", "customer"),
            ("key", key),
            ("label_zh", key),
            ("label_en", key),
            ("kind", kind),
            ("options", options),
        ];
        c.post("/admin/fields", &f).await.assert_redirect("/admin/fields?entity=customer");
    }
    let leaver_s = leaver.to_string();
    c.post(
        "/customers",
        &[("name", "华东老客户"), ("kind", "enterprise"), ("cf_handler", &leaver_s), ("cf_grade", "b")],
    )
    .await
    .assert_status(303);
    let customer: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE name = '华东老客户'").fetch_one(&app.db).await.unwrap();
    sqlx::query("UPDATE users SET status = 'disabled' WHERE id = $1").bind(leaver).execute(&app.db).await.unwrap();
    sqlx::query(
        "UPDATE field_defs SET options = '[{\"value\": \"a\", \"zh\": \"甲级\", \"en\": \"A\"}]' WHERE key = 'grade'",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let b = Browser::start(&app).await;
    b.login("admin", PASSWORD).await;
    b.goto(&format!("/customers/{customer}/edit")).await;
    b.wait_for("[data-custom=cf_handler]").await;
    assert!(b.text("[data-custom=cf_handler]").await.contains("（已停用）"));
    b.client.execute("document.querySelector('[data-custom=cf_handler]').scrollIntoView()", vec![]).await.unwrap();
    b.screenshot("customer-form-stale-custom-values-zh").await;

    b.goto("/admin/departments").await;
    b.client
        .execute("document.querySelectorAll('[data-confirm]').forEach(f => f.removeAttribute('data-confirm'))", vec![])
        .await
        .unwrap();
    b.submit_and_wait(&format!("tr[data-dept=\"{service}\"] form button[type=submit]"), ".flash-error").await;
    assert!(b.text(".flash-error").await.contains("0 名在职、1 名已停用的员工"));
    b.screenshot("admin-department-delete-refused-zh").await;

    sqlx::query("UPDATE users SET status = 'active' WHERE id = $1").bind(leaver).execute(&app.db).await.unwrap();
    b.goto(&format!("/admin/users/{leaver}/disable")).await;
    assert_eq!(b.text("#heads").await, "客服部");
    b.screenshot("admin-user-disable-heads-zh").await;

    b.goto("/admin/numbering/customer/edit").await;
    b.fill("input[name=prefix]", "CU-").await;
    b.submit_and_wait("#number-preview-btn", "#number-typed-next").await;
    assert!(b.text("#number-typed-example").await.starts_with("CU-"));
    b.client.execute("document.querySelector('.number-example').scrollIntoView()", vec![]).await.unwrap();
    b.screenshot("admin-numbering-preview-zh").await;
    b.close().await;
}

/// The record kernel's shared pages, the same for every kind: a bulk transfer of leads from the
/// list (options page, then the list again), a contact's recycle bin, a customer's bulk team
/// options; in both languages and on a narrow screen.
#[tokio::test]
async fn shared_record_pages_transfer_recycle_bin_and_bulk_options() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;

    // Leads: tick the first row, bulk transfer → the options page, then to 刘洋.
    b.goto("/leads?scene=all").await;
    b.wait_for("#list-table").await;
    b.click("#list-table tbody input[name=ids]").await;
    b.submit_and_wait("#list-form button[formaction=\"/leads/bulk/transfer\"]", "#bulk-options").await;
    b.screenshot("leads-bulk-transfer-zh").await;
    let liu: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = '13800000004'").fetch_one(&app.db).await.unwrap();
    b.client
        .execute(
            "document.querySelector('#bulk-options select[name=new_owner]').value = arguments[0];",
            vec![serde_json::json!(liu.to_string())],
        )
        .await
        .unwrap();
    b.submit_and_wait("#bulk-options button[type=submit]", "#list-table").await;
    assert!(b.text(".flash-success").await.contains("刘洋"), "{}", b.text(".flash-success").await);

    // Contacts: delete one, find it in the recycle bin.
    sqlx::query(
        "INSERT INTO contacts (customer_id, name, mobile, owner_id, deleted_at, deleted_by)
         SELECT c.id, '周采购', '13900001234', c.owner_id, now(), c.owner_id
           FROM customers c JOIN users u ON u.id = c.owner_id WHERE u.login = '13800000003' ORDER BY c.id LIMIT 1",
    )
    .execute(&app.db)
    .await
    .unwrap();
    b.goto("/contacts/recycle").await;
    b.wait_for("#recycle-table").await;
    assert_eq!(b.client.find_all(fantoccini::Locator::Css("#recycle-table tr[data-id]")).await.unwrap().len(), 1);
    b.screenshot("contacts-recycle-zh").await;

    // Customers: bulk "add to team" shows its options page.
    b.goto("/customers?scene=all").await;
    b.wait_for("#list-table").await;
    b.click("#list-table tbody input[name=ids]").await;
    b.submit_and_wait("#list-form button[formaction=\"/customers/bulk/team\"]", "#bulk-options").await;
    b.screenshot("customers-bulk-team-zh").await;

    // English and narrow: the lead transfer page and the contact recycle bin.
    sqlx::query("UPDATE users SET lang = 'en' WHERE login = '13800000002'").execute(&app.db).await.unwrap();
    let lead: i64 = sqlx::query_scalar(
        "SELECT id FROM leads WHERE converted_at IS NULL AND deleted_at IS NULL ORDER BY id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    b.goto(&format!("/leads/{lead}/transfer")).await;
    b.wait_for("#transfer-form").await;
    assert!(b.text("h1").await.contains("Transfer leads"), "{}", b.text("h1").await);
    b.screenshot("lead-transfer-en").await;
    b.resize(390, 844).await;
    b.goto("/contacts/recycle").await;
    b.wait_for("#recycle-table").await;
    b.assert_no_horizontal_overflow("contact recycle bin").await;
    b.screenshot("contacts-recycle-en-narrow").await;
    b.close().await;
}

/// The catalogue and the pipeline: a director creates a product, starts an opportunity with two
/// lines from a customer's page, moves it on the board (a button, then drag and drop), and
/// closes it as won; screenshots of the list, board, detail and forecast in both languages and
/// at phone width.
#[tokio::test]
async fn products_and_opportunities_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000001", crm::seed::demo::SALES_PASSWORD).await;

    // A product, numbered by the rule.
    b.goto("/products/new").await;
    b.fill("#product-form input[name=name]", "智慧看板").await;
    b.fill("#product-form input[name=price]", "8800").await;
    b.fill("#product-form input[name=cost_price]", "5000").await;
    b.submit_and_wait("#product-form button[type=submit]", "#shelf-badge").await;
    let code: String =
        sqlx::query_scalar("SELECT code FROM products WHERE name = '智慧看板'").fetch_one(&app.db).await.unwrap();
    b.screenshot("product-detail-zh").await;
    b.goto("/products").await;
    b.wait_for("#list-table").await;
    b.screenshot("products-list-zh").await;

    // An opportunity from a customer's page, with two lines (the second at its list price).
    let customer: i64 =
        sqlx::query_scalar("SELECT id FROM customers ORDER BY id LIMIT 1").fetch_one(&app.db).await.unwrap();
    b.goto(&format!("/customers/{customer}")).await;
    b.submit_and_wait("#customer-new-opportunity", "#opportunity-form").await;
    b.fill("#opportunity-form input[name=name]", "看板项目").await;
    let rows = b.client.find_all(fantoccini::Locator::Css("#line-table input[name=line_product]")).await.unwrap();
    rows[0].send_keys(&code).await.unwrap();
    let qty = b.client.find_all(fantoccini::Locator::Css("#line-table input[name=line_qty]")).await.unwrap();
    qty[0].send_keys("2").await.unwrap();
    rows[1].send_keys("CP000007").await.unwrap();
    qty[1].send_keys("3").await.unwrap();
    b.screenshot("opportunity-form-zh").await;
    b.submit_and_wait("#opportunity-form button[type=submit]", "#stage-bar").await;
    // 8,800 × 2 + 2,500 × 3 = 25,100.
    assert_eq!(b.text("#amount").await, "25,100.00");
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM opportunities WHERE name = '看板项目'").fetch_one(&app.db).await.unwrap();
    let stage = |n: usize| {
        let db = app.db.clone();
        async move {
            let id: i64 = sqlx::query_scalar(
                "SELECT s.id FROM stages s JOIN stage_groups g ON g.id = s.group_id AND g.is_default ORDER BY s.position OFFSET $1 LIMIT 1",
            )
            .bind(n as i64)
            .fetch_one(&db)
            .await
            .unwrap();
            id
        }
    };
    let at = || {
        let db = app.db.clone();
        async move {
            let s: i64 = sqlx::query_scalar("SELECT stage_id FROM opportunities WHERE id = $1")
                .bind(id)
                .fetch_one(&db)
                .await
                .unwrap();
            s
        }
    };

    // The board: the → button, then drag and drop to the fourth stage.
    b.goto("/opportunities/board").await;
    b.wait_for(&format!(".board-card[data-id=\"{id}\"]")).await;
    b.submit_and_wait(&format!(".board-card[data-id=\"{id}\"] button[value=\"{}\"]", stage(1).await), "#board").await;
    assert_eq!(at().await, stage(1).await);
    let target = stage(3).await;
    b.client.execute("document.body.setAttribute('data-stale', '1')", vec![]).await.unwrap();
    b.client
        .execute(
            "const card = document.querySelector(`.board-card[data-id='${arguments[0]}']`);
             const col = document.querySelector(`.board-col[data-stage='${arguments[1]}']`);
             const dt = new DataTransfer();
             card.dispatchEvent(new DragEvent('dragstart', { dataTransfer: dt, bubbles: true }));
             col.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
             col.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));",
            vec![serde_json::json!(id), serde_json::json!(target)],
        )
        .await
        .unwrap();
    b.wait_for(&format!("body:not([data-stale]) .board-col[data-stage=\"{target}\"] .board-card[data-id=\"{id}\"]"))
        .await;
    assert_eq!(at().await, target);
    b.screenshot("opportunity-board-zh").await;

    // Close it as won, with a reason.
    b.goto(&format!("/opportunities/{id}")).await;
    b.click(".close-won > summary").await;
    let reason: i64 =
        sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'win_reason' ORDER BY position LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    b.client
        .execute(
            "document.querySelector('#close-won select[name=reason_id]').value = arguments[0];",
            vec![serde_json::json!(reason.to_string())],
        )
        .await
        .unwrap();
    b.screenshot("opportunity-close-zh").await;
    b.submit_and_wait("#close-won button[type=submit]", "#closed-line").await;
    assert_eq!(b.text("#status-badge").await, "赢单");
    b.screenshot("opportunity-detail-zh").await;
    b.goto(&format!("/opportunities/{id}?tab=stages")).await;
    b.wait_for("#stage-log").await;
    b.screenshot("opportunity-stages-zh").await;
    b.goto("/opportunities?scene=all").await;
    b.wait_for("#list-footer").await;
    b.screenshot("opportunities-list-zh").await;
    b.goto("/opportunities/forecast").await;
    b.wait_for("#forecast-table").await;
    b.screenshot("opportunity-forecast-zh").await;

    // English, then a phone.
    sqlx::query("UPDATE users SET lang = 'en' WHERE login = '13800000001'").execute(&app.db).await.unwrap();
    let pages = [
        ("/opportunities?scene=all", "#list-footer", "opportunities-list"),
        ("/opportunities/board", "#board", "opportunity-board"),
        (&*format!("/opportunities/{id}"), "#stage-bar", "opportunity-detail"),
        ("/opportunities/forecast", "#forecast-table", "opportunity-forecast"),
    ];
    for (path, css, name) in pages {
        b.goto(path).await;
        b.wait_for(css).await;
        b.screenshot(&format!("{name}-en")).await;
    }
    b.goto(&format!("/opportunities/{id}")).await;
    assert!(b.text("#status-badge").await.contains("Won"));
    b.resize(390, 844).await;
    for (path, css, name) in pages {
        b.goto(path).await;
        b.wait_for(css).await;
        b.assert_no_horizontal_overflow(name).await;
        b.screenshot(&format!("{name}-en-narrow")).await;
    }
    b.close().await;
}

/// The stage groups admin: the groups page, a group's stages with a refused win rate, in both
/// languages.
#[tokio::test]
async fn stage_groups_admin_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login(crm::seed::demo::ADMIN.0, crm::seed::demo::ADMIN.1).await;
    b.goto("/admin/stages").await;
    b.fill("#new-group input[name=name]", "大客户流程").await;
    b.submit_and_wait("#new-group button[type=submit]", "#stages-form").await;
    // The browser itself stops 120 (max="100"); without that check the server refuses it too.
    b.client
        .execute("document.querySelectorAll('#stages input').forEach(i => i.removeAttribute('max'))", vec![])
        .await
        .unwrap();
    let rates = b.client.find_all(fantoccini::Locator::Css("#stages input[name=win_rate]")).await.unwrap();
    rates[0].clear().await.unwrap();
    rates[0].send_keys("120").await.unwrap();
    b.submit_and_wait("#save-stages", "#stages .field-error").await;
    assert!(b.text("#stages .field-error").await.contains("0–100"));
    b.screenshot("admin-stage-group-errors-zh").await;
    b.goto("/admin/stages").await;
    b.wait_for("#stage-groups").await;
    b.screenshot("admin-stage-groups-zh").await;
    sqlx::query("UPDATE users SET lang = 'en' WHERE login = 'admin'").execute(&app.db).await.unwrap();
    let group: i64 =
        sqlx::query_scalar("SELECT id FROM stage_groups WHERE is_default").fetch_one(&app.db).await.unwrap();
    b.goto(&format!("/admin/stages/{group}")).await;
    b.wait_for("#stages-form").await;
    b.screenshot("admin-stage-group-en").await;
    b.resize(390, 844).await;
    b.goto("/admin/stages").await;
    b.wait_for("#stage-groups").await;
    b.assert_no_horizontal_overflow("stage groups").await;
    b.screenshot("admin-stage-groups-en-narrow").await;
    b.close().await;
}

/// Contracts and payments: from an opportunity a rep makes a contract and submits it, their
/// manager approves it, the rep plans a term and records a payment on it, the manager confirms
/// the payment; screenshots of the list, detail, submit page, print view, plans, payment form
/// and ageing, in both languages and on a phone.
#[tokio::test]
async fn contracts_and_payments_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    sqlx::query("UPDATE approval_flows SET enabled = true WHERE subject IN ('contract', 'payment')")
        .execute(&app.db)
        .await
        .unwrap();
    let rep = "13800000003";
    let opp: i64 = sqlx::query_scalar(
        "SELECT o.id FROM opportunities o JOIN users u ON u.id = o.owner_id
          WHERE u.login = $1 AND o.status = 'open' AND o.deleted_at IS NULL
            AND EXISTS (SELECT 1 FROM opportunity_lines l WHERE l.opportunity_id = o.id) ORDER BY o.id LIMIT 1",
    )
    .bind(rep)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let b = Browser::start(&app).await;
    b.login(rep, crm::seed::demo::SALES_PASSWORD).await;

    // From the opportunity: the form comes filled with its customer and lines.
    b.goto(&format!("/opportunities/{opp}")).await;
    b.submit_and_wait("#opportunity-new-contract", "#contract-form").await;
    b.fill("#contract-form input[name=name]", "浏览器测试合同").await;
    // Date inputs take typed digits by segment; set the value as a picker would.
    let set = "document.querySelector(arguments[0]).value = arguments[1];";
    b.client.execute(set, vec![json!("#contract-form input[name=end_date]"), json!("2027-12-31")]).await.unwrap();
    b.screenshot("contract-form-zh").await;
    b.submit_and_wait("#contract-form button[type=submit]", "#submit-link").await;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM contracts WHERE name = '浏览器测试合同'").fetch_one(&app.db).await.unwrap();
    assert_eq!(b.text("#status-badge").await, "草稿");
    b.submit_and_wait("#submit-link", "#submit-form").await;
    b.screenshot("contract-submit-zh").await;
    b.submit_and_wait("#submit-form button[type=submit]", "#approval-strip").await;
    assert_eq!(b.text("#status-badge").await, "审批中");

    // The manager approves it from the approval's page.
    let inst: i64 =
        sqlx::query_scalar("SELECT id FROM approval_instances WHERE subject = 'contract' AND record_id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    b.client.delete_all_cookies().await.unwrap();
    b.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;
    b.goto(&format!("/approvals/{inst}")).await;
    b.submit_and_wait("#approve-btn", ".flash").await;
    b.goto(&format!("/contracts/{id}")).await;
    assert_eq!(b.text("#status-badge").await, "已通过");

    // The rep plans a term and records a payment on it.
    b.client.delete_all_cookies().await.unwrap();
    b.login(rep, crm::seed::demo::SALES_PASSWORD).await;
    b.goto(&format!("/contracts/{id}?tab=plans")).await;
    b.submit_and_wait("#add-plan", "#plan-form").await;
    b.fill("#plan-form input[name=amount]", "1000").await;
    b.client.execute(set, vec![json!("#plan-form input[name=due_date]"), json!("2026-12-01")]).await.unwrap();
    b.submit_and_wait("#plan-form button[type=submit]", "#plans").await;
    b.screenshot("contract-plans-zh").await;
    b.submit_and_wait("#plans .row-actions a[href^=\"/payments/new\"]", "#payment-form").await;
    b.screenshot("payment-form-zh").await;
    b.submit_and_wait("#payment-form button[type=submit]", "#status-badge").await;
    assert_eq!(b.text("#status-badge").await, "审批中");
    let pay: i64 =
        sqlx::query_scalar("SELECT id FROM payments WHERE contract_id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    let inst: i64 =
        sqlx::query_scalar("SELECT id FROM approval_instances WHERE subject = 'payment' AND record_id = $1")
            .bind(pay)
            .fetch_one(&app.db)
            .await
            .unwrap();

    // The manager confirms it: the contract has received it.
    b.client.delete_all_cookies().await.unwrap();
    b.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;
    b.goto(&format!("/approvals/{inst}")).await;
    b.submit_and_wait("#approve-btn", ".flash").await;
    b.goto(&format!("/contracts/{id}")).await;
    assert_eq!(b.text("#received").await, "1,000.00");
    b.screenshot("contract-detail-zh").await;
    b.goto(&format!("/contracts/{id}?tab=payments")).await;
    b.wait_for("#payments").await;
    b.screenshot("contract-payments-zh").await;
    b.goto(&format!("/contracts/{id}/print")).await;
    b.wait_for("#print-sheet").await;
    assert!(b.text("#capitals").await.ends_with('整') || b.text("#capitals").await.ends_with('分'));
    b.screenshot("contract-print-zh").await;
    let pages = [
        ("/contracts?scene=all", "#list-footer", "contracts-list"),
        (&*format!("/contracts/{id}"), "#status-badge", "contract-detail"),
        (&*format!("/contracts/{id}/print"), "#print-sheet", "contract-print"),
        ("/payments?scene=all", "#list-footer", "payments-list"),
        ("/payments/ageing", "#ageing-customers", "ageing"),
        ("/payments/plans?show=overdue", "#due", "payment-plans-due"),
    ];
    for (path, css, name) in pages {
        b.goto(path).await;
        b.wait_for(css).await;
        b.screenshot(&format!("{name}-zh")).await;
    }
    sqlx::query("UPDATE users SET lang = 'en' WHERE login = '13800000002'").execute(&app.db).await.unwrap();
    for (path, css, name) in pages {
        b.goto(path).await;
        b.wait_for(css).await;
        b.screenshot(&format!("{name}-en")).await;
    }
    b.resize(390, 844).await;
    for (path, css, name) in pages {
        b.goto(path).await;
        b.wait_for(css).await;
        b.assert_no_horizontal_overflow(name).await;
        b.screenshot(&format!("{name}-en-narrow")).await;
    }
    b.close().await;
}

/// Daily work: a task about a customer (from its timeline) with a subtask, completed from the
/// inbox; an event from a follow-up's next contact time; both in the month view; the to-do centre,
/// the calendar, tasks and work logs in both languages and at phone width.
#[tokio::test]
async fn daily_work_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let rep = "13800000003";
    let id: i64 = sqlx::query_scalar("SELECT id FROM customers WHERE name = '上海华信科技有限公司'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let tz = app.config.timezone;
    let day = (chrono::Utc::now() + chrono::Duration::days(2)).with_timezone(&tz).date_naive();
    let set = "document.querySelector(arguments[0]).value = arguments[1];";
    let b = Browser::start(&app).await;
    b.login(rep, crm::seed::demo::SALES_PASSWORD).await;

    // A task about the customer, from its timeline: the form comes related to it.
    b.goto(&format!("/customers/{id}?tab=timeline")).await;
    b.submit_and_wait("#timeline-new a[href^=\"/tasks/new\"]", "#task-form").await;
    assert!(b.client.find(Locator::Css(&format!("#task-form input[name=rel][value=\"customer:{id}\"]"))).await.is_ok());
    b.fill("#task-form input[name=title]", "准备年度报价单").await;
    b.client.execute(set, vec![json!("#task-form input[name=due_at]"), json!(format!("{day}T10:00"))]).await.unwrap();
    b.screenshot("task-form-zh").await;
    b.submit_and_wait("#task-form button[type=submit]", "#subtasks").await;
    let task: i64 =
        sqlx::query_scalar("SELECT id FROM tasks WHERE title = '准备年度报价单'").fetch_one(&app.db).await.unwrap();
    b.fill("#subtasks input[name=title]", "核对去年的价格").await;
    b.submit_and_wait("#subtasks button[type=submit]", "#subtasks li").await;
    assert!(b.text("#subtasks").await.contains("核对去年的价格"));
    assert!(b.text("#task-related").await.contains("上海华信科技有限公司"));
    b.screenshot("task-page-zh").await;

    // Completed from the inbox with its tick (a plain form post).
    b.goto("/tasks?view=inbox").await;
    b.screenshot("tasks-inbox-zh").await;
    b.submit_and_wait(&format!("tr[data-id=\"{task}\"] .task-tick-form button"), "#task-table").await;
    let done: bool = sqlx::query_scalar("SELECT done_at IS NOT NULL FROM tasks WHERE id = $1")
        .bind(task)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(done, "ticked from the inbox");
    b.goto("/tasks?view=done").await;
    assert!(b.text("#task-table").await.contains("准备年度报价单"));

    // A follow-up with a next contact time, then "add to my schedule" from it.
    b.goto(&format!("/customers/{id}?tab=timeline")).await;
    b.client
        .execute(
            "document.querySelector('#followup-form select[name=method_id]').selectedIndex = 1;
             document.querySelector('#followup-form input[name=next_contact_at]').value = arguments[0];",
            vec![json!(format!("{day}T15:30"))],
        )
        .await
        .unwrap();
    b.fill("#followup-form textarea[name=content]", "约好后天下午再电话确认报价。").await;
    b.submit_and_wait("#followup-form button[type=submit]", "#timeline").await;
    b.submit_and_wait("#timeline a.tl-schedule", "#event-form").await;
    let start =
        b.client.find(Locator::Css("#event-form input[name=start]")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(start.as_deref(), Some(format!("{day}T15:30").as_str()), "the start comes from the next contact time");
    b.fill("#event-form input[name=title]", "电话确认报价").await;
    b.screenshot("event-form-zh").await;
    b.submit_and_wait("#event-form button[type=submit]", "h1").await;

    // Both on that day in the month view.
    b.goto(&format!("/calendar?view=month&date={day}")).await;
    let cell = b.text(&format!(".cal-day[data-date=\"{day}\"]")).await;
    assert!(cell.contains("电话确认报价") && cell.contains("准备年度报价单"), "{cell}");
    b.screenshot("calendar-month-zh").await;
    b.goto(&format!("/customers/{id}?tab=timeline")).await;
    b.screenshot("customer-timeline-work-zh").await;
    b.goto("/todo").await;
    b.screenshot("todo-zh").await;
    b.goto("/worklogs/new?kind=daily").await;
    b.screenshot("worklog-form-zh").await;

    // English.
    sqlx::query("UPDATE users SET lang = 'en' WHERE login = $1").bind(rep).execute(&app.db).await.unwrap();
    for (path, name) in [
        ("/todo", "todo-en"),
        ("/tasks?view=done", "tasks-en"),
        (&format!("/calendar?view=month&date={day}") as &str, "calendar-month-en"),
        (&format!("/calendar?view=week&date={day}") as &str, "calendar-week-en"),
        ("/worklogs", "worklogs-en"),
    ] {
        b.goto(path).await;
        assert!(!b.text("main").await.contains("任务"), "{path} speaks English");
        b.screenshot(name).await;
    }

    // A phone: nothing sticks out sideways.
    b.resize(390, 844).await;
    for (path, name) in [
        ("/todo", "todo-phone"),
        ("/tasks", "tasks-phone"),
        (&format!("/calendar?view=month&date={day}") as &str, "calendar-month-phone"),
        (&format!("/tasks/{task}") as &str, "task-page-phone"),
        ("/worklogs", "worklogs-phone"),
    ] {
        b.goto(path).await;
        b.assert_no_horizontal_overflow(path).await;
        b.screenshot(name).await;
    }
    b.close().await;
}

/// Importing customers as a manager would: the template, a file with mistakes, the mapping and
/// its preview, the progress page turning into the result, the error report, undoing the batch.
#[tokio::test]
async fn importing_customers_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;

    b.goto("/customers").await;
    b.submit_and_wait("#import-link", "#import-upload").await;
    b.screenshot("import-start-zh").await;
    let template: String = b
        .client
        .execute(
            "return fetch(document.querySelector('#template-link').href).then(r => r.status + ' ' + r.headers.get('content-type'))",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert!(template.starts_with("200 application/vnd.openxmlformats"), "{template}");

    // A sheet with a bad industry, a missing name and a duplicate of a demo customer.
    let demo_name: String =
        sqlx::query_scalar("SELECT name FROM customers ORDER BY id LIMIT 1").fetch_one(&app.db).await.unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let rows: Vec<Vec<String>> = vec![
        vec!["客户名称".into(), "手机".into(), "所属行业".into()],
        vec!["浏览器导入甲公司".into(), "13911112222".into(), "制造业".into()],
        vec!["浏览器导入乙公司".into(), "".into(), "火星产业".into()],
        vec!["".into(), "13911113333".into(), "".into()],
        vec![demo_name, "".into(), "".into()],
        vec!["浏览器导入丙公司".into(), "".into(), "IT/互联网".into()],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32, c as u16, v).unwrap();
        }
    }
    let path = std::env::temp_dir().join(format!("crm-import-{}.xlsx", std::process::id()));
    book.save(&path).unwrap();
    b.client
        .find(Locator::Css("#import-upload input[type=file]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    b.submit_and_wait("#import-upload button[type=submit]", "#mapping-table").await;
    b.screenshot("import-mapping-zh").await;

    b.submit_and_wait("#preview-button", "#preview-table").await;
    assert!(b.text("#preview-table").await.contains("火星产业"));
    b.client.execute("document.querySelector('#preview').scrollIntoView()", vec![]).await.unwrap();
    b.screenshot("import-preview-zh").await;

    b.submit_and_wait("#start-button", "#batch-progress").await;
    b.screenshot("import-progress-zh").await;
    // The page reloads itself while the batch runs.
    b.client
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css("#batch-progress[data-status=done]"))
        .await
        .expect("the batch finished and the page showed it");
    assert_eq!(b.text("#count-created").await, "2");
    assert_eq!(b.text("#count-failed").await, "2");
    assert_eq!(b.text("#count-skipped").await, "1");
    assert!(b.text("#problem-table").await.contains("所属行业：“火星产业”不是可选的值"));
    b.screenshot("import-result-zh").await;
    let report: String = b
        .client
        .execute("return fetch(document.querySelector('#error-report').href).then(r => String(r.status))", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(report, "200");

    b.click("#batch-records").await;
    b.wait_for("#batch-filter").await;
    assert_eq!(b.client.find_all(Locator::Css("#list-table tbody tr[data-id]")).await.unwrap().len(), 2);
    b.screenshot("import-batch-as-filter-zh").await;

    b.client.back().await.unwrap();
    b.wait_for("#undo-batch").await;
    b.client
        .execute("document.querySelectorAll('[data-confirm]').forEach(f => f.removeAttribute('data-confirm'))", vec![])
        .await
        .unwrap();
    b.submit_and_wait("#undo-batch", ".flash-success").await;
    assert_eq!(b.text("#batch-status").await, "已撤销");
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE name LIKE '浏览器导入%' AND deleted_at IS NULL").await,
        0
    );
    b.screenshot("import-undone-zh").await;

    b.goto("/imports").await;
    b.screenshot("import-batches-zh").await;

    // In English: the batch, the start page and the mapping of a new upload.
    sqlx::query("UPDATE users SET lang = 'en' WHERE login = '13800000002'").execute(&app.db).await.unwrap();
    b.goto("/imports").await;
    b.wait_for("#batch-table").await;
    assert!(b.text("h1").await.contains("Import batches"));
    b.screenshot("import-batches-en").await;
    b.click("#batch-table tbody tr a").await;
    b.wait_for("#batch-progress").await;
    b.screenshot("import-result-en").await;
    b.goto("/customers/import").await;
    b.client
        .find(Locator::Css("#import-upload input[type=file]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    b.submit_and_wait("#import-upload button[type=submit]", "#mapping-table").await;
    b.submit_and_wait("#preview-button", "#preview-table").await;
    assert!(b.text("#preview-table").await.contains("Has errors"));
    b.client.execute("document.querySelector('#preview').scrollIntoView()", vec![]).await.unwrap();
    b.screenshot("import-preview-en").await;

    // A phone-sized window: the mapping page of a new upload fits.
    b.resize(390, 844).await;
    b.goto("/customers/import").await;
    b.client
        .find(Locator::Css("#import-upload input[type=file]"))
        .await
        .unwrap()
        .send_keys(path.to_str().unwrap())
        .await
        .unwrap();
    b.submit_and_wait("#import-upload button[type=submit]", "#mapping-table").await;
    b.assert_no_horizontal_overflow("import mapping, narrow").await;
    b.screenshot("import-mapping-zh-narrow").await;
    std::fs::remove_file(&path).ok();
    b.close().await;
}

/// A manager exports the customer list: the Export button on the list, the options page (rows,
/// columns, format), and "export selected" in the bulk bar; in both languages.
#[tokio::test]
async fn exporting_a_list_in_the_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000002", crm::seed::demo::SALES_PASSWORD).await;

    b.goto("/customers?scene=all").await;
    b.wait_for("#export-button").await;
    b.screenshot("customers-list-export-button-zh").await;
    b.click("#export-button").await;
    b.wait_for("#export-options").await;
    assert_eq!(b.path().await, "/export/customers");
    assert!(b.text("#export-options").await.contains("符合当前筛选条件的全部"));
    b.screenshot("export-options-zh").await;

    // Ticked rows: the bulk bar's export opens the options with them chosen.
    b.goto("/customers?scene=all").await;
    b.wait_for("#list-table").await;
    b.click("#list-table tbody tr:first-child input[name=ids]").await;
    b.click(".bulk-actions button[formaction=\"/export/customers\"]").await;
    b.wait_for("#export-options input[name=rows][value=selected][checked]").await;
    assert!(b.text("#export-options").await.contains("勾选的 1 行"));
    b.screenshot("export-options-selected-zh").await;

    sqlx::query("UPDATE users SET lang = 'en' WHERE login = '13800000002'").execute(&app.db).await.unwrap();
    b.goto("/export/contacts?scene=all").await;
    b.wait_for("#export-options").await;
    assert!(b.text("h1").await.contains("Export"));
    b.screenshot("export-options-en").await;
    b.resize(390, 844).await;
    b.assert_no_horizontal_overflow("/export/contacts").await;
    b.screenshot("export-options-phone").await;
    b.close().await;
}

/// Two-factor sign-in as a user meets it: a role requires it, so the password leads to the
/// enrolment page (QR code, key, a code to confirm), then the recovery codes; the next sign-in
/// asks for a code. Both languages; screenshots of each step.
#[tokio::test]
async fn two_factor_enrolment_and_the_code_step_in_both_languages() {
    common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    app.admin().await;
    let zhang = app.user("zhang", root, None, &["rep"]).await;
    let en = app.user("smith", root, None, &["rep"]).await;
    sqlx::query("UPDATE users SET lang = 'en' WHERE id = $1").bind(en).execute(&app.db).await.unwrap();
    sqlx::query("UPDATE roles SET totp_required = true WHERE code = 'rep'").execute(&app.db).await.unwrap();
    let code = |secret: &str, steps: i64| {
        let bytes = totp_rs::Secret::Encoded(secret.to_string()).to_bytes().unwrap();
        let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).unwrap();
        totp.generate((chrono::Utc::now().timestamp() + steps * 30) as u64)
    };
    let b = Browser::start(&app).await;

    for (login, lang) in [("zhang", "zh"), ("smith", "en")] {
        b.client.delete_all_cookies().await.unwrap();
        b.login(login, PASSWORD).await;
        assert_eq!(b.path().await, "/account/two-factor", "sent to enrolment after the password");
        b.wait_for("#must-enrol").await;
        // The QR code is drawn (an image that loaded, 200 px wide).
        let width = b.client.execute("return document.getElementById('qr').naturalWidth", vec![]).await.unwrap();
        assert!(width.as_i64().unwrap_or(0) >= 200, "QR image loaded: {width}");
        b.screenshot(&format!("two-factor-enrol-{lang}")).await;
        // Anything else leads back here.
        b.goto("/customers").await;
        assert_eq!(b.path().await, "/account/two-factor");

        let secret = b.text("#secret").await.replace(' ', "");
        b.fill("input[name=code]", "000000").await;
        b.submit_and_wait("#enrol button[type=submit]", "#enrol .field-error").await;
        b.screenshot(&format!("two-factor-enrol-wrong-{lang}")).await;
        let secret_now = b.text("#secret").await.replace(' ', "");
        assert_eq!(secret, secret_now, "the same key after a wrong code");
        b.fill("input[name=code]", &code(&secret, 0)).await;
        b.submit_and_wait("#enrol button[type=submit]", "#new-codes").await;
        b.screenshot(&format!("two-factor-recovery-codes-{lang}")).await;
        b.goto("/customers").await;
        assert_eq!(b.path().await, "/customers", "free to go on once enrolled");

        // The next sign-in: password, then the code step.
        b.client.delete_all_cookies().await.unwrap();
        b.goto("/login").await;
        if lang == "en" {
            b.submit_and_wait(".auth-langs button[type=submit]:not(.current)", ".auth-card").await;
        }
        b.fill("input[name=login]", login).await;
        b.fill("input[name=password]", PASSWORD).await;
        b.submit_and_wait("form.form-stack button[type=submit]", "#code-form").await;
        assert_eq!(b.path().await, "/login/two-factor");
        b.screenshot(&format!("two-factor-code-{lang}")).await;
        b.fill("input[name=code]", "123").await;
        b.submit_and_wait("#code-form button[type=submit]", "#code-error").await;
        b.screenshot(&format!("two-factor-code-wrong-{lang}")).await;
        b.fill("input[name=code]", &code(&secret, 1)).await;
        b.submit_and_wait("#code-form button[type=submit]", "aside.sidebar").await;
        assert_eq!(b.path().await, "/");
        b.goto("/account/two-factor").await;
        b.wait_for("#turn-off").await;
        b.screenshot(&format!("two-factor-on-{lang}")).await;
    }

    // Where the admin sets it: the roles page, and a user's page with the reset.
    b.client.delete_all_cookies().await.unwrap();
    b.login("admin", PASSWORD).await;
    b.goto("/admin/roles").await;
    b.wait_for("#two-factor").await;
    b.screenshot("two-factor-roles-zh").await;
    b.goto(&format!("/admin/users/{zhang}/edit")).await;
    b.wait_for("#two-factor form").await;
    b.client.execute("document.getElementById('two-factor').scrollIntoView()", vec![]).await.unwrap();
    b.screenshot("two-factor-admin-reset-zh").await;
    b.close().await;
}

/// Hostile text as a rep would type it — markup in a customer's name, a script in its
/// description, a follow-up with an attribute breaker — is shown inert on every page that shows
/// it in a real browser: no script of the payload runs (it would set `window.__pwned` or open a
/// dialog) on the detail page and its tabs, the list, the top-bar search, the bell or history.
#[tokio::test]
async fn hostile_text_stays_inert_in_a_real_browser() {
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;
    let name = "XSS<img src=x onerror=\"window.__pwned='name';alert(1)\">";
    b.goto("/customers/new").await;
    b.fill("input[name=name]", name).await;
    b.fill("textarea[name=description]", "<script>window.__pwned='description';alert(2)</script>{{7*7}}").await;
    b.fill("input[name=website]", "javascript:alert(3)//x.cn").await;
    b.submit_and_wait("#customer-form button[type=submit]", ".field-error").await;
    // The website is refused (http/https only); the rest of what was typed stays.
    b.fill("input[name=website]", "x.cn").await;
    b.submit_and_wait("#customer-form button[type=submit]", "#status-badge").await;
    let detail = b.path().await;
    let pages = [
        detail.clone(),
        format!("{detail}?tab=history"),
        "/customers?scene=all".to_string(),
        "/search?q=XSS".to_string(),
        "/notifications".to_string(),
    ];
    for page in &pages {
        b.goto(page).await;
        b.wait_for("aside.sidebar").await;
        let alert = b.client.get_alert_text().await;
        assert!(alert.is_err(), "{page}: a dialog opened: {alert:?}");
        let pwned = b.client.execute("return window.__pwned === undefined ? null : window.__pwned", vec![]).await;
        assert_eq!(pwned.unwrap(), serde_json::Value::Null, "{page}: the payload ran");
    }
    b.goto(&detail).await;
    b.wait_for("#status-badge").await;
    assert!(b.text("h1").await.contains("XSS<img"), "the name is shown as the text typed");
    b.screenshot("xss-inert-detail").await;
    b.close().await;
}

/// Mail settings: an admin adds an SMTP account (a real server with STARTTLS and AUTH), sends a
/// test mail and reads the server's answer; bad input shows next to its field; the outbox. In
/// both languages.
#[tokio::test]
async fn mail_settings_an_account_and_a_test_mail_in_both_languages() {
    common::init_logging();
    let server = common::smtp::Smtp::start("accept");
    let app = TestApp::with_config(|c| {
        c.secret_key = Some("browser test key".into());
        c.smtp_ca_file = Some(common::smtp::certs().0.clone());
        c.smtp_host = None;
    })
    .await;
    app.admin().await;
    sqlx::query("UPDATE users SET email = 'admin@example.com' WHERE login = 'admin'").execute(&app.db).await.unwrap();
    let b = Browser::start(&app).await;
    b.login("admin", PASSWORD).await;
    b.goto("/admin/mail").await;
    b.wait_for("#mail-no-accounts").await;
    b.screenshot("mail-settings-empty-zh").await;

    b.submit_and_wait("#mail-new-account", "#mail-account-form").await;
    b.fill("input[name=host]", "localhost").await;
    b.fill("input[name=port]", "0").await;
    b.fill("input[name=username]", common::smtp::USER).await;
    b.fill("input[name=password]", common::smtp::PASSWORD).await;
    b.fill("input[name=from_address]", "crm@example.com").await;
    b.fill("input[name=from_name]", "销售部 CRM").await;
    b.submit_and_wait("#mail-account-save", ".field-error").await;
    assert!(b.text(".field-error").await.contains("端口"));
    b.screenshot("mail-account-error-zh").await;
    b.fill("input[name=port]", &server.port.to_string()).await;
    b.fill("input[name=password]", common::smtp::PASSWORD).await;
    b.submit_and_wait("#mail-account-save", "#mail-accounts tr[data-id]").await;
    assert!(b.text("#mail-accounts").await.contains(&format!("localhost:{}", server.port)));

    b.submit_and_wait("#mail-test-send", "#mail-test-result").await;
    assert!(b.text("#mail-test-answer").await.starts_with("250"));
    b.screenshot("mail-test-sent-zh").await;
    assert_eq!(server.wait_for(1).await.len(), 1);
    assert_eq!(server.parsed()[0]["headers"]["subject"], "CRM 测试邮件");

    b.goto("/admin/mail").await;
    b.wait_for("#mail-test").await;
    b.click("details.user-menu summary").await;
    b.submit_and_wait("details.user-menu form.menu-form button[type=submit]:not(.current)", "#mail-test").await;
    b.submit_and_wait("#mail-test-send", "#mail-test-result").await;
    assert!(b.text("#mail-test-result").await.contains("Accepted by the server"));
    b.screenshot("mail-test-sent-en").await;
    assert_eq!(server.wait_for(2).await.len(), 2);
    assert_eq!(server.parsed()[1]["headers"]["subject"], "CRM test mail");
    // A notification mail through the outbox: it shows with the server's answer.
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    let mut tx = app.db.begin().await.unwrap();
    crm::notify::send(&mut tx, admin, "reminder", json!({ "text": "回访甲公司" }), Some("/customers"), None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    crm::mail::outbox::run(&app.db, &app.config, chrono::Utc::now()).await.unwrap();
    b.goto("/admin/mail/outbox").await;
    b.wait_for("#mail-outbox tr[data-status=sent]").await;
    b.screenshot("mail-outbox-en").await;
    b.goto("/admin/mail/quota").await;
    b.wait_for("#mail-usage-users").await;
    assert!(b.text("#mail-usage-users").await.contains("用户admin"), "the test mails count");
    b.screenshot("mail-quota-en").await;
    b.goto("/account/mail").await;
    b.wait_for("#mail-prefs").await;
    b.screenshot("mail-prefs-en").await;
    b.close().await;
}
