//! Duplicate checks and ownership / lock caps: the kernels (`dup::find`, `caps::check_*`), the
//! "check for duplicates" page, and the admin page where rules and caps are set.

use std::sync::atomic::{AtomicU32, Ordering};

use crm::access::DataScope;
use crm::modules::customers::caps::{self, CapExceeded};
use crm::modules::customers::dup::{self, Candidate, DupHit, Effect};
use crm::records::normalize;
use crm::web::i18n::Lang;

use super::common::{Client, TestApp};

// ---------- helpers ----------

async fn setup() -> (TestApp, Client) {
    super::common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

/// Any item of the 'customer_status' dictionary (made when the dictionaries are not seeded).
async fn status_id(app: &TestApp) -> i64 {
    if let Some(id) = sqlx::query_scalar::<_, i64>(
        "SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1",
    )
    .fetch_optional(&app.db)
    .await
    .unwrap()
    {
        return id;
    }
    sqlx::query(
        "INSERT INTO dicts (code, name_zh, name_en, position) VALUES ('customer_status', '客户状态', 'Status', 1)
         ON CONFLICT DO NOTHING",
    )
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query_scalar(
        "INSERT INTO dict_items (dict, code, label_zh, label_en, position)
         VALUES ('customer_status', 'basic', '基础客户', 'Basic', 1) RETURNING id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[derive(Default)]
struct New<'a> {
    name: &'a str,
    owner: Option<i64>,
    phone: Option<&'a str>,
    mobile: Option<&'a str>,
    email: Option<&'a str>,
    dealt: bool,
    locked: bool,
    deleted: bool,
}

/// A customer inserted directly, as the customers module would store it.
async fn customer(app: &TestApp, c: New<'_>) -> i64 {
    static N: AtomicU32 = AtomicU32::new(1);
    let status = status_id(app).await;
    let code = format!("T{:05}", N.fetch_add(1, Ordering::SeqCst));
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id, phone, mobile, email, deal_status,
                                locked, deleted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $11 THEN now() END) RETURNING id",
    )
    .bind(code)
    .bind(c.name)
    .bind(normalize::name(c.name))
    .bind(status)
    .bind(c.owner)
    .bind(c.phone)
    .bind(c.mobile)
    .bind(c.email)
    .bind(if c.dealt { "dealt" } else { "none" })
    .bind(c.locked)
    .bind(c.deleted)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn set_rule(app: &TestApp, field: &str, enabled: bool, scope: &str, effect: &str) {
    sqlx::query("UPDATE dup_rules SET enabled = $2, scope = $3, effect = $4 WHERE entity = 'customer' AND field = $1")
        .bind(field)
        .bind(enabled)
        .bind(scope)
        .bind(effect)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn dept_of(app: &TestApp, user: i64) -> i64 {
    sqlx::query_scalar("SELECT dept_id FROM users WHERE id = $1").bind(user).fetch_one(&app.db).await.unwrap()
}

/// What a rep with the "self" scope sees.
async fn own_scope(app: &TestApp, user: i64) -> DataScope {
    DataScope { user_id: user, dept_id: dept_of(app, user).await, owners: Some(vec![user]), extras: None }
}

async fn all_scope(app: &TestApp, user: i64) -> DataScope {
    DataScope { user_id: user, dept_id: dept_of(app, user).await, owners: None, extras: None }
}

fn cand(name: &str) -> Candidate<'_> {
    Candidate { exclude_id: None, name, phone: None, mobile: None, email: None, owner_id: None }
}

async fn find(app: &TestApp, c: &Candidate<'_>, viewer: &DataScope) -> Vec<DupHit> {
    let mut conn = app.db.acquire().await.unwrap();
    dup::find(&mut conn, c, viewer).await.unwrap()
}

fn fields(hits: &[DupHit]) -> Vec<&'static str> {
    hits.iter().map(|h| h.field).collect()
}

/// Two reps in two departments under the root: (a, b).
async fn two_reps(app: &TestApp) -> (i64, i64) {
    let east = app.dept("华东", None).await;
    let north = app.dept("华北", None).await;
    let a = app.user("a", east, None, &["rep"]).await;
    let b = app.user("b", north, None, &["rep"]).await;
    (a, b)
}

async fn cap_user(app: &TestApp, user: i64, owned: Option<i32>, dealt: bool, locked: Option<i32>) {
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned, count_dealt, max_locked) VALUES ($1, $2, $3, $4)")
        .bind(user)
        .bind(owned)
        .bind(dealt)
        .bind(locked)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn cap_dept(app: &TestApp, dept: i64, owned: Option<i32>, dealt: bool, locked: Option<i32>) {
    sqlx::query("INSERT INTO customer_caps (dept_id, max_owned, count_dealt, max_locked) VALUES ($1, $2, $3, $4)")
        .bind(dept)
        .bind(owned)
        .bind(dealt)
        .bind(locked)
        .execute(&app.db)
        .await
        .unwrap();
}

async fn owned(app: &TestApp, user: i64, adding: i64) -> Result<(), CapExceeded> {
    let mut conn = app.db.acquire().await.unwrap();
    caps::check_owned(&mut conn, user, adding).await.unwrap()
}

async fn locked(app: &TestApp, user: i64, adding: i64) -> Result<(), CapExceeded> {
    let mut conn = app.db.acquire().await.unwrap();
    caps::check_locked(&mut conn, user, adding).await.unwrap()
}

// ---------- duplicate kernel ----------

#[tokio::test]
async fn names_phones_and_emails_are_compared_normalised() {
    let app = TestApp::new().await;
    let (a, _) = two_reps(&app).await;
    set_rule(&app, "email", true, "company", "warn").await;
    let id = customer(
        &app,
        New {
            name: "上海abc科技",
            owner: Some(a),
            phone: Some("021-6888 1234"),
            mobile: Some("138 0000 0000"),
            email: Some("Sales@Example.com"),
            ..Default::default()
        },
    )
    .await;
    let viewer = all_scope(&app, a).await;
    let hits = find(
        &app,
        &Candidate {
            exclude_id: None,
            name: "  上海ＡＢＣ 科技 ",
            phone: Some("02168881234"),
            mobile: Some("138-0000-0000"),
            email: Some(" sales@example.COM "),
            owner_id: Some(a),
        },
        &viewer,
    )
    .await;
    assert_eq!(fields(&hits), ["name", "phone", "mobile", "email"]);
    assert!(hits.iter().all(|h| h.customer_id == id));
    // The seeded rules: a duplicate name blocks, numbers warn.
    assert_eq!(hits[0].effect, Effect::Block);
    assert_eq!(hits[1].effect, Effect::Warn);
    assert!(dup::any_block(&hits));

    // A different name and number find nothing; the phone rule compares phone with phone.
    let other = find(&app, &Candidate { phone: Some("13800000000"), ..cand("上海abc科技有限公司") }, &viewer).await;
    assert!(other.is_empty(), "{other:?}");
}

#[tokio::test]
async fn company_scope_compares_everywhere_department_scope_only_within_the_owners_department() {
    let app = TestApp::new().await;
    let (a, b) = two_reps(&app).await;
    let b2 = app.user("b2", dept_of(&app, b).await, None, &["rep"]).await;
    customer(&app, New { name: "华信", owner: Some(b), phone: Some("0571-1234"), ..Default::default() }).await;
    customer(&app, New { name: "公海华信", owner: None, ..Default::default() }).await;

    let for_a = Candidate { owner_id: Some(a), ..cand("华信") };
    assert_eq!(fields(&find(&app, &for_a, &own_scope(&app, a).await).await), ["name"]);

    set_rule(&app, "name", true, "dept", "block").await;
    assert!(find(&app, &for_a, &own_scope(&app, a).await).await.is_empty(), "another department");
    // Same department as the future owner (even when someone else enters it).
    let for_b2 = Candidate { owner_id: Some(b2), ..cand("华信") };
    assert_eq!(fields(&find(&app, &for_b2, &own_scope(&app, a).await).await), ["name"]);
    // No owner given: the viewer's department.
    assert_eq!(fields(&find(&app, &cand("华信"), &own_scope(&app, b2).await).await), ["name"]);
    assert!(find(&app, &cand("华信"), &own_scope(&app, a).await).await.is_empty());
    // Pool customers have no department.
    assert!(find(&app, &cand("公海华信"), &all_scope(&app, b).await).await.is_empty());
    // The phone rule keeps its own (company) scope.
    let phone = Candidate { phone: Some("05711234"), owner_id: Some(a), ..cand("别的名字") };
    assert_eq!(fields(&find(&app, &phone, &own_scope(&app, a).await).await), ["phone"]);
}

#[tokio::test]
async fn effects_disabled_rules_deleted_customers_and_the_record_itself() {
    let app = TestApp::new().await;
    let (a, _) = two_reps(&app).await;
    let viewer = own_scope(&app, a).await;
    let first = customer(&app, New { name: "远景能源", owner: Some(a), ..Default::default() }).await;
    customer(&app, New { name: "远景 能源", owner: Some(a), deleted: true, ..Default::default() }).await;

    let hits = find(&app, &cand("远景能源"), &viewer).await;
    assert_eq!(hits.len(), 1, "the deleted one does not count: {hits:?}");
    assert_eq!((hits[0].customer_id, hits[0].effect), (first, Effect::Block));

    set_rule(&app, "name", true, "company", "warn").await;
    let hits = find(&app, &cand("远景能源"), &viewer).await;
    assert_eq!(hits[0].effect, Effect::Warn);
    assert!(!dup::any_block(&hits));

    set_rule(&app, "name", false, "company", "block").await;
    assert!(find(&app, &cand("远景能源"), &viewer).await.is_empty(), "disabled");

    // Editing a customer does not match itself, but still matches another one.
    set_rule(&app, "name", true, "company", "block").await;
    let editing = Candidate { exclude_id: Some(first), ..cand("远景能源") };
    assert!(find(&app, &editing, &viewer).await.is_empty());
    let second = customer(&app, New { name: "远景能源", owner: Some(a), ..Default::default() }).await;
    let hits = find(&app, &editing, &viewer).await;
    assert_eq!(hits.iter().map(|h| h.customer_id).collect::<Vec<_>>(), [second]);
}

#[tokio::test]
async fn the_message_names_the_customer_only_when_visible_and_always_the_owner() {
    let app = TestApp::new().await;
    let (a, b) = two_reps(&app).await;
    let theirs = customer(&app, New { name: "上海华信", owner: Some(b), ..Default::default() }).await;
    customer(&app, New { name: "杭州云栖", owner: None, ..Default::default() }).await;
    customer(&app, New { name: "北京远景", owner: Some(a), ..Default::default() }).await;
    let rep = own_scope(&app, a).await;
    let boss = all_scope(&app, a).await;

    let hit = &find(&app, &cand("上海华信"), &rep).await[0];
    assert_eq!((hit.customer_name.as_deref(), hit.owner_name.as_deref()), (None, Some("用户b")));
    assert_eq!(hit.message(Lang::Zh), "客户名称已被 用户b 添加");
    assert_eq!(hit.message(Lang::En), "Customer name is already used by a customer of 用户b");
    let hit = &find(&app, &cand("上海华信"), &boss).await[0];
    assert_eq!(hit.message(Lang::Zh), "客户名称与「上海华信」重复，已被 用户b 添加");

    let own = &find(&app, &cand("北京远景"), &rep).await[0];
    assert_eq!(own.message(Lang::Zh), "客户名称与「北京远景」重复，已被 用户a 添加");

    let pool = &find(&app, &cand("杭州云栖"), &rep).await[0];
    assert_eq!(pool.owner_name, None);
    assert_eq!(pool.message(Lang::Zh), "客户名称已在公海中");
    let pool = &find(&app, &cand("杭州云栖"), &boss).await[0];
    assert_eq!(pool.message(Lang::Zh), "客户名称与「杭州云栖」重复，该客户已在公海中");

    // Shared with the rep: now visible, so named.
    sqlx::query("INSERT INTO record_shares (entity, record_id, user_id) VALUES ('customer', $1, $2)")
        .bind(theirs)
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    let hit = &find(&app, &cand("上海华信"), &rep).await[0];
    assert_eq!(hit.customer_name.as_deref(), Some("上海华信"));
}

// ---------- caps kernel ----------

#[tokio::test]
async fn a_users_own_cap() {
    let app = TestApp::new().await;
    let (a, b) = two_reps(&app).await;
    cap_user(&app, a, Some(2), true, None).await;
    customer(&app, New { name: "甲", owner: Some(a), ..Default::default() }).await;
    customer(&app, New { name: "乙（已删除）", owner: Some(a), deleted: true, ..Default::default() }).await;
    assert!(owned(&app, a, 1).await.is_ok());
    let over = owned(&app, a, 2).await.unwrap_err();
    assert_eq!((over.limit, over.current), (2, 1));
    assert_eq!(over.message(Lang::Zh, "用户a", false), "用户a 名下已有 1 个客户，上限 2 个，不能再增加这么多。");

    customer(&app, New { name: "丙", owner: Some(a), ..Default::default() }).await;
    let full = owned(&app, a, 1).await.unwrap_err();
    assert_eq!((full.limit, full.current), (2, 2));
    assert_eq!(full.message(Lang::Zh, "用户a", false), "用户a 名下客户已达上限（2 个），不能再增加。");
    assert!(full.message(Lang::En, "A", false).contains("(2)"));
    assert!(owned(&app, a, 0).await.is_ok(), "adding nothing is always fine");

    // No cap anywhere: unlimited.
    for i in 0..3 {
        customer(&app, New { name: &format!("b{i}"), owner: Some(b), ..Default::default() }).await;
    }
    assert!(owned(&app, b, 1000).await.is_ok());
    assert!(locked(&app, b, 1000).await.is_ok());
}

#[tokio::test]
async fn department_caps_come_from_the_nearest_department_up_the_tree_and_a_user_row_wins() {
    let app = TestApp::new().await;
    let region = app.dept("华东大区", None).await;
    let city = app.dept("上海分公司", Some(region)).await;
    let team = app.dept("上海一组", Some(city)).await;
    let a = app.user("a", team, None, &["rep"]).await;
    let b = app.user("b", team, None, &["rep"]).await;
    customer(&app, New { name: "甲", owner: Some(a), ..Default::default() }).await;
    customer(&app, New { name: "乙", owner: Some(b), ..Default::default() }).await;

    cap_dept(&app, region, Some(1), true, None).await;
    assert_eq!(owned(&app, a, 1).await.unwrap_err().limit, 1, "from the grandparent department");
    // A nearer department's cap replaces it.
    cap_dept(&app, city, Some(5), true, None).await;
    assert!(owned(&app, a, 4).await.is_ok());
    assert_eq!(owned(&app, a, 5).await.unwrap_err().limit, 5);
    // The user's own row wins, even one that leaves the number unlimited.
    cap_user(&app, b, None, true, Some(3)).await;
    assert!(owned(&app, b, 100).await.is_ok());
    assert_eq!(owned(&app, a, 5).await.unwrap_err().limit, 5, "others keep the department cap");
    let mut conn = app.db.acquire().await.unwrap();
    let cap = caps::effective(&mut conn, a).await.unwrap().unwrap();
    assert_eq!((cap.max_owned, cap.from_dept), (Some(5), Some(city)));
}

#[tokio::test]
async fn dealt_customers_can_be_left_out_and_lock_caps_count_locked_customers() {
    let app = TestApp::new().await;
    let (a, b) = two_reps(&app).await;
    customer(&app, New { name: "成交一", owner: Some(a), dealt: true, ..Default::default() }).await;
    customer(&app, New { name: "成交二", owner: Some(a), dealt: true, locked: true, ..Default::default() }).await;
    customer(&app, New { name: "跟进中", owner: Some(a), ..Default::default() }).await;
    cap_user(&app, a, Some(2), false, Some(2)).await;
    // Only the one not dealt counts.
    assert!(owned(&app, a, 1).await.is_ok());
    assert_eq!(owned(&app, a, 2).await.unwrap_err().current, 1);
    sqlx::query("UPDATE customer_caps SET count_dealt = true WHERE user_id = $1")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(owned(&app, a, 1).await.unwrap_err().current, 3);

    // One locked of two allowed.
    assert!(locked(&app, a, 1).await.is_ok());
    customer(&app, New { name: "锁定", owner: Some(a), locked: true, ..Default::default() }).await;
    customer(&app, New { name: "锁定已删", owner: Some(a), locked: true, deleted: true, ..Default::default() }).await;
    let full = locked(&app, a, 1).await.unwrap_err();
    assert_eq!((full.limit, full.current), (2, 2));
    assert_eq!(full.message(Lang::Zh, "用户a", true), "用户a 锁定的客户已达上限（2 个），不能再锁定。");
    // A department lock cap of 0 forbids locking at all.
    cap_dept(&app, dept_of(&app, b).await, None, true, Some(0)).await;
    assert_eq!(locked(&app, b, 1).await.unwrap_err().limit, 0);
    assert!(owned(&app, b, 1000).await.is_ok());
}

// ---------- the check page ----------

#[tokio::test]
async fn a_rep_checks_a_name_and_sees_the_owner_but_not_another_reps_customer() {
    let app = TestApp::new().await;
    let (a, b) = two_reps(&app).await;
    customer(&app, New { name: "上海华信科技", owner: Some(b), phone: Some("021-6888 1234"), ..Default::default() })
        .await;
    customer(&app, New { name: "杭州云栖", owner: None, mobile: Some("13800000000"), ..Default::default() }).await;
    let own = customer(&app, New { name: "北京远景", owner: Some(a), ..Default::default() }).await;
    let mut c = app.login("a").await;

    let r = c.get("/customers/check").await;
    r.assert_status(200);
    assert!(r.has("input[name=q]") && !r.has("#dup-result"));

    let r = c.get("/customers/check?q=%E4%B8%8A%E6%B5%B7%E5%8D%8E%E4%BF%A1%20%E7%A7%91%E6%8A%80").await; // 上海华信 科技
    r.assert_status(200);
    let row = r.text_of("#dup-matches tbody tr");
    assert!(row.contains("客户名称") && row.contains("（无权查看）") && row.contains("用户b"), "{row}");
    assert!(!row.contains("上海华信科技"), "{row}");
    assert!(row.contains("禁止保存"), "the seeded name rule blocks: {row}");
    assert!(r.text_of("#dup-result").contains("按查重规则不能新建"));

    // A number matches phone and mobile columns, digits only.
    let r = c.get("/customers/check?q=02168881234").await;
    let row = r.text_of("#dup-matches tbody tr");
    assert!(row.contains("电话") && row.contains("用户b") && row.contains("提醒"), "{row}");
    let r = c.get("/customers/check?q=138-0000-0000").await;
    let row = r.text_of("#dup-matches tbody tr");
    assert!(row.contains("手机") && row.contains("公海") && row.contains("（无权查看）"), "{row}");

    // The rep's own customer is named, with a link.
    let r = c.get("/customers/check?q=%E5%8C%97%E4%BA%AC%E8%BF%9C%E6%99%AF").await; // 北京远景
    assert_eq!(r.attr("#dup-matches a", "href"), Some(format!("/customers/{own}")));
    assert!(r.text_of("#dup-matches").contains("用户a"));

    // Nothing found.
    let r = c.get("/customers/check?q=%E6%B7%B1%E5%9C%B3%E6%96%B0%E5%85%AC%E5%8F%B8").await; // 深圳新公司
    assert!(r.text_of("#dup-result").contains("没有重复，可以新建"));
    assert_eq!(r.attr("#dup-result a", "href").as_deref(), Some("/customers/new"));

    // A disabled rule still shows the match, as not limiting.
    set_rule(&app, "name", false, "company", "block").await;
    let r = c.get("/customers/check?q=%E6%9D%AD%E5%B7%9E%E4%BA%91%E6%A0%96").await; // 杭州云栖
    let row = r.text_of("#dup-matches tbody tr");
    assert!(row.contains("公海") && row.contains("不限制"), "{row}");
}

#[tokio::test]
async fn the_check_page_needs_the_customer_view_permission() {
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    app.user("nobody", root, None, &[]).await;
    let mut c = app.login("nobody").await;
    c.get("/customers/check?q=x").await.assert_status(403);
}

// ---------- the admin page ----------

#[tokio::test]
async fn rules_are_saved_and_audited() {
    let (app, mut c) = setup().await;
    let r = c.get("/admin/customer-rules").await;
    r.assert_status(200);
    assert_eq!(r.count("#dup-rules table[data-kind=customer] tbody tr"), 4);
    assert!(r.has("input[name=name_enabled][checked]") && !r.has("input[name=email_enabled][checked]"));
    assert_eq!(r.attr("select[name=name_effect] option[selected]", "value").as_deref(), Some("block"));

    let form = [
        ("name_enabled", "1"),
        ("name_scope", "dept"),
        ("name_effect", "block"),
        ("phone_enabled", "1"),
        ("phone_scope", "company"),
        ("phone_effect", "warn"),
        ("mobile_scope", "company"),
        ("mobile_effect", "warn"),
        ("email_enabled", "1"),
        ("email_scope", "company"),
        ("email_effect", "block"),
    ];
    c.post("/admin/customer-rules/dup", &form).await.assert_redirect("/admin/customer-rules");
    let rows: Vec<(String, bool, String, String)> =
        sqlx::query_as("SELECT field, enabled, scope, effect FROM dup_rules WHERE entity = 'customer' ORDER BY field")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let rows: Vec<(&str, bool, &str, &str)> =
        rows.iter().map(|(f, e, s, x)| (f.as_str(), *e, s.as_str(), x.as_str())).collect();
    assert_eq!(
        rows,
        [
            ("email", true, "company", "block"),
            ("mobile", false, "company", "warn"),
            ("name", true, "dept", "block"),
            ("phone", true, "company", "warn"),
        ]
    );
    // One log entry per changed rule (1 name, 3 mobile, 4 email); phone did not change.
    let logged: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "SELECT entity_id, changes FROM operation_logs WHERE entity = 'customer_rule' ORDER BY entity_id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(logged.iter().map(|l| l.0).collect::<Vec<_>>(), [1, 3, 4]);
    assert!(logged[0].1.to_string().contains("name_scope") && logged[0].1.to_string().contains("dept"));
    assert!(logged[2].1.to_string().contains("email_enabled"));
    // The history reads as sentences.
    let log = c.get("/admin/logs").await;
    log.assert_contains("客户查重规则").assert_contains("邮箱查重");

    // Saving the same values again logs nothing more.
    c.post("/admin/customer-rules/dup", &form).await.assert_redirect("/admin/customer-rules");
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'customer_rule'").await, 3);

    // An unknown code is refused and nothing changes.
    let mut bad = form.to_vec();
    bad[1] = ("name_scope", "galaxy");
    let r = c.post("/admin/customer-rules/dup", &bad).await;
    r.assert_status(422);
    assert!(r.text_of("#dup-rules tr[data-field=name]").contains("格式不正确"));
    assert_eq!(app.count("SELECT count(*) FROM dup_rules WHERE scope = 'galaxy'").await, 0);
}

#[tokio::test]
async fn caps_are_added_edited_and_deleted_with_one_row_per_target() {
    let (app, mut c) = setup().await;
    let (a, _) = two_reps(&app).await;
    let east = dept_of(&app, a).await;
    let (a_s, east_s) = (a.to_string(), east.to_string());
    let r = c.get("/admin/customer-rules").await;
    assert!(r.text_of("#caps").contains("尚未设置上限"));

    let r = c
        .post(
            "/admin/customer-rules/caps",
            &[("target_type", "user"), ("user_id", &a_s), ("max_owned", "200"), ("max_locked", "")],
        )
        .await;
    r.assert_redirect("/admin/customer-rules");
    let (id, owned, dealt, locked): (i64, Option<i32>, bool, Option<i32>) =
        sqlx::query_as("SELECT id, max_owned, count_dealt, max_locked FROM customer_caps WHERE user_id = $1")
            .bind(a)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((owned, dealt, locked), (Some(200), false, None), "an unticked box is false, empty is unlimited");

    c.post(
        "/admin/customer-rules/caps",
        &[
            ("target_type", "dept"),
            ("dept_id", &east_s),
            ("max_owned", "50"),
            ("count_dealt", "1"),
            ("max_locked", "5"),
        ],
    )
    .await
    .assert_redirect("/admin/customer-rules");
    let page = c.get("/admin/customer-rules").await;
    let table = page.text_of("#cap-table tbody");
    assert!(
        table.contains("华东") && table.contains("用户a") && table.contains("200") && table.contains("不限"),
        "{table}"
    );

    // A second row for the same user (or department) is a field error.
    let r =
        c.post("/admin/customer-rules/caps", &[("target_type", "user"), ("user_id", &a_s), ("max_owned", "10")]).await;
    r.assert_status(422);
    assert!(r.text_of("#cap-form .field-error").contains("该员工已有上限设置"));
    assert_eq!(r.attr("#cap-form input[name=max_owned]", "value").as_deref(), Some("10"), "typed values stay");
    let r = c.post("/admin/customer-rules/caps", &[("target_type", "dept"), ("dept_id", &east_s)]).await;
    r.assert_status(422);
    assert!(r.text_of("#cap-form").contains("该部门已有上限设置"));
    // No target, a negative number.
    let r = c.post("/admin/customer-rules/caps", &[("target_type", "user"), ("max_owned", "-1")]).await;
    r.assert_status(422);
    let errors = r.text_of("#cap-form .field-error");
    assert!(errors.contains("此项必填") && errors.contains("不小于 0 的整数"), "{errors}");
    assert_eq!(app.count("SELECT count(*) FROM customer_caps").await, 2);

    // Edit.
    let r = c.get(&format!("/admin/customer-rules/caps/{id}/edit")).await;
    r.assert_status(200);
    assert_eq!(r.attr("input[name=max_owned]", "value").as_deref(), Some("200"));
    let r = c.post(&format!("/admin/customer-rules/caps/{id}"), &[("max_owned", "x")]).await;
    r.assert_status(422);
    c.post(
        &format!("/admin/customer-rules/caps/{id}"),
        &[("max_owned", ""), ("count_dealt", "1"), ("max_locked", "3")],
    )
    .await
    .assert_redirect("/admin/customer-rules");
    let row: (Option<i32>, bool, Option<i32>) =
        sqlx::query_as("SELECT max_owned, count_dealt, max_locked FROM customer_caps WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(row, (None, true, Some(3)));

    // Delete.
    c.post(&format!("/admin/customer-rules/caps/{id}/delete"), &[]).await.assert_redirect("/admin/customer-rules");
    assert_eq!(app.count("SELECT count(*) FROM customer_caps").await, 1);
    c.get(&format!("/admin/customer-rules/caps/{id}/edit")).await.assert_status(404);

    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM operation_logs WHERE entity = 'customer_cap' AND entity_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(actions, ["create", "update", "delete"]);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'customer_cap'").await, 4);
}

#[tokio::test]
async fn a_rep_is_refused_every_customer_rules_route() {
    let (app, _) = setup().await;
    let (a, _) = two_reps(&app).await;
    let id: i64 = sqlx::query_scalar("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 5) RETURNING id")
        .bind(a)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut rep = app.login("a").await;
    rep.get("/admin/customer-rules").await.assert_status(403);
    rep.get(&format!("/admin/customer-rules/caps/{id}/edit")).await.assert_status(403);
    for path in [
        "/admin/customer-rules/dup".to_string(),
        "/admin/customer-rules/caps".to_string(),
        format!("/admin/customer-rules/caps/{id}"),
        format!("/admin/customer-rules/caps/{id}/delete"),
    ] {
        rep.post(&path, &[("target_type", "user"), ("user_id", &a.to_string()), ("max_owned", "1")])
            .await
            .assert_status(403);
    }
    assert_eq!(app.count("SELECT max_owned::bigint FROM customer_caps").await, 5);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs").await, 0);
}

#[tokio::test]
async fn concurrent_checks_for_the_same_user_cannot_both_take_the_last_place() {
    let app = TestApp::new().await;
    let (a, _) = two_reps(&app).await;
    cap_user(&app, a, Some(1), true, None).await;
    let status = status_id(&app).await;
    let mut first = app.db.begin().await.unwrap();
    assert!(caps::check_owned(&mut first, a, 1).await.unwrap().is_ok());
    sqlx::query("INSERT INTO customers (code, name, name_norm, status_id, owner_id) VALUES ('R1', '甲', '甲', $1, $2)")
        .bind(status)
        .bind(a)
        .execute(&mut *first)
        .await
        .unwrap();
    // The second check waits for the first transaction, then counts its customer.
    let db = app.db.clone();
    let second = tokio::spawn(async move {
        let mut tx = db.begin().await.unwrap();
        caps::check_owned(&mut tx, a, 1).await.unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second check waits");
    first.commit().await.unwrap();
    let over = second.await.unwrap().unwrap_err();
    assert_eq!((over.limit, over.current), (1, 1));
}
