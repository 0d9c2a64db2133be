//! Dictionaries: seeded defaults in both languages, the kernel API modules use (options, allows,
//! labels, first/next), and the admin pages (reorder, add/edit with extras, disable an item in
//! use, delete only unused items, no cycles in trees, validation, access, audit).

use axum::http::Method;
use crm::dicts::{self, Dicts};
use crm::web::i18n::Lang;

use super::common::{self, Client, TestApp};

const ALL: &[&str] = &[
    "customer_status",
    "customer_category",
    "industry",
    "customer_source",
    "company_size",
    "region",
    "value_rating",
    "credit_level",
    "importance",
    "relationship_level",
    "service_stage",
    "customer_group",
    "followup_method",
    "salutation",
    "address_type",
    "contact_method",
    "payment_method",
    "contract_type",
    "lead_source",
    "lost_reason",
    "product_category",
    "product_unit",
    "opportunity_source",
    "opportunity_type",
    "win_reason",
    "invalid_reason",
];

async fn admin() -> (TestApp, Client) {
    common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

async fn item(app: &TestApp, dict: &str, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = $1 AND code = $2")
        .bind(dict)
        .bind(code)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn item_by_label(app: &TestApp, dict: &str, label: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = $1 AND label_zh = $2")
        .bind(dict)
        .bind(label)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A table of "business records" pointing at dictionary items, as later modules' tables will.
async fn probe_table(app: &TestApp) {
    sqlx::query(
        "CREATE TABLE probe_records (
           id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
           name text NOT NULL,
           item_id bigint REFERENCES dict_items(id))",
    )
    .execute(&app.db)
    .await
    .unwrap();
}

async fn use_item(app: &TestApp, id: i64) {
    sqlx::query("INSERT INTO probe_records (name, item_id) VALUES ('老客户', $1)")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
}

/// Labels of the item table, in the order shown.
fn shown(page: &common::Resp) -> Vec<String> {
    page.text_of("#dict-items tbody .item-zh").lines().map(|l| l.trim_start_matches('└').trim().to_string()).collect()
}

#[tokio::test]
async fn seeded_dictionaries_exist_in_both_languages() {
    let (app, mut c) = admin().await;
    let d = Dicts::load(&app.db, ALL).await.unwrap();
    for code in ALL {
        let items = d.items(code);
        assert!(items.len() >= 3, "{code} has defaults");
        for it in items {
            assert!(!it.label_zh.trim().is_empty() && !it.label_en.trim().is_empty());
            let cjk = it.label_en.chars().any(|ch| ('\u{3000}'..='\u{9fff}').contains(&ch));
            assert!(!cjk, "{code}: English label {}", it.label_en);
        }
    }

    // Customer status: ordered, with "can be frozen" from 潜在客户 up; new customers start first.
    let status: Vec<(String, bool)> =
        d.items("customer_status").iter().map(|i| (i.code.clone().unwrap(), i.flag("can_freeze"))).collect();
    assert_eq!(
        status,
        vec![
            ("invalid".to_string(), false),
            ("basic".to_string(), false),
            ("potential".to_string(), true),
            ("success".to_string(), true),
            ("partner".to_string(), true),
        ]
    );
    let first = d.first("customer_status").unwrap();
    assert_eq!(first.label(Lang::Zh), "无效客户");
    let basic = d.by_code("customer_status", "basic").unwrap();
    assert_eq!(d.next_after("customer_status", basic.id).unwrap().label(Lang::Zh), "潜在客户");
    let partner = d.by_code("customer_status", "partner").unwrap().id;
    assert!(d.next_after("customer_status", partner).is_none());

    // Region: all 34 provincial-level divisions; 广东 → 深圳.
    let provinces = d.items("region").iter().filter(|i| i.parent_id.is_none()).count();
    assert_eq!(provinces, 34);
    let gd = d.by_code("region", "440000").unwrap();
    let sz = d.by_code("region", "440300").unwrap();
    assert_eq!((gd.label_zh.as_str(), gd.label_en.as_str()), ("广东", "Guangdong"));
    assert_eq!(sz.parent_id, Some(gd.id));
    assert_eq!(d.label(Some(sz.id), Lang::Zh), "深圳");
    assert_eq!(d.label(Some(sz.id), Lang::En), "Shenzhen");
    assert_eq!(d.path_label(Some(sz.id), Lang::Zh), "广东 / 深圳");
    let opts = d.options("region", Lang::Zh, None);
    let at_gd = opts.iter().position(|o| o.label == "广东").unwrap();
    assert_eq!(opts[at_gd + 1].label, "　广州");
    assert!(opts.iter().any(|o| o.label == "　深圳" && o.is(sz.id.to_string())));

    // Every prefecture-level division (migration 0019) under its province: 333 in all, each
    // province but the municipalities, Hong Kong, Macao and Taiwan has some, English in pinyin.
    let cities: Vec<_> = d.items("region").into_iter().filter(|i| i.parent_id.is_some()).collect();
    assert_eq!(cities.len(), 333);
    for p in d.items("region").iter().filter(|i| i.parent_id.is_none()) {
        let n = cities.iter().filter(|c| c.parent_id == Some(p.id)).count();
        let leaf = ["110000", "120000", "310000", "500000", "710000", "810000", "820000"];
        assert_eq!(n == 0, leaf.contains(&p.code.as_deref().unwrap()), "{}: {n} cities", p.label_zh);
        for c in cities.iter().filter(|c| c.parent_id == Some(p.id)) {
            assert_eq!(&c.code.as_deref().unwrap()[..2], &p.code.as_deref().unwrap()[..2], "{}", c.label_zh);
            assert!(c.label_en.chars().all(|ch| ch.is_ascii() || ch == 'ü'), "{}", c.label_en);
        }
    }
    let yanbian = d.by_code("region", "222400").unwrap();
    assert_eq!(
        (yanbian.label_zh.as_str(), yanbian.parent_id),
        ("延边朝鲜族自治州", Some(d.by_code("region", "220000").unwrap().id))
    );
    assert_eq!(d.label(Some(d.by_code("region", "441300").unwrap().id), Lang::En), "Huizhou");
    // Running it again changes nothing: same ids, same order (seeded major cities first).
    let before: Vec<(i64, String, i32)> =
        sqlx::query_as("SELECT id, code, position FROM dict_items WHERE dict = 'region' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    sqlx::raw_sql(include_str!("../../migrations/0019_region_cities.sql")).execute(&app.db).await.unwrap();
    let after: Vec<(i64, String, i32)> =
        sqlx::query_as("SELECT id, code, position FROM dict_items WHERE dict = 'region' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(before, after);
    let gd_cities: Vec<&str> =
        cities.iter().filter(|c| c.parent_id == Some(gd.id)).map(|c| c.label_zh.as_str()).take(5).collect();
    assert_eq!(gd_cities, ["广州", "深圳", "东莞", "佛山", "韶关"]);

    // Customer category is a tree too.
    let prospect = d.by_code("customer_category", "prospect").unwrap();
    let under: Vec<&str> = d
        .items("customer_category")
        .iter()
        .filter(|i| i.parent_id == Some(prospect.id))
        .map(|i| i.label_zh.as_str())
        .collect();
    assert_eq!(under, vec!["初期意向", "中期意向", "较强意向"]);

    // Credit levels carry a limit and a period.
    let a = d.by_code("credit_level", "a").unwrap();
    assert_eq!(a.extra_str("credit_limit").as_deref(), Some("500000.00"));
    assert_eq!(a.extra_str("credit_period_days").as_deref(), Some("90"));
    for it in d.items("credit_level") {
        assert!(it.extra_str("credit_limit").is_some());
        assert!(it.extra_str("credit_period_days").is_some());
    }

    let methods: Vec<&str> = d.items("followup_method").iter().map(|i| i.code.as_deref().unwrap()).collect();
    assert_eq!(methods, vec!["phone", "email", "visit", "sms", "wechat", "meeting"]);
    let stages: Vec<&str> = d.items("service_stage").iter().map(|i| i.label(Lang::Zh)).collect();
    assert_eq!(stages, vec!["售前", "合同执行期", "售后"]);

    // The admin list shows every dictionary, in the user's language.
    let page = c.get("/admin/dicts").await;
    page.assert_status(200);
    assert_eq!(page.count("#dict-list tbody tr"), ALL.len());
    let row = page.text_of("#dict-list tr[data-dict=\"region\"]");
    assert!(row.contains("所在地区") && row.contains("树形"), "{row}");
    let row = page.text_of("#dict-list tr[data-dict=\"credit_level\"]");
    assert!(row.contains("信用额度"), "{row}");
    sqlx::query("UPDATE users SET lang = 'en' WHERE login = 'admin'").execute(&app.db).await.unwrap();
    let page = c.get("/admin/dicts").await;
    let row = page.text_of("#dict-list tr[data-dict=\"customer_status\"]");
    assert!(row.contains("Customer status"), "{row}");
    let page = c.get("/admin/dicts/region").await;
    page.assert_status(200);
    assert!(page.text_of("#dict-items").contains("Shenzhen"));
    c.get("/admin/dicts/no_such_dict").await.assert_status(404);
}

#[tokio::test]
async fn reorder_with_the_move_buttons() {
    let (app, mut c) = admin().await;
    let page = c.get("/admin/dicts/customer_status").await;
    assert_eq!(shown(&page), vec!["无效客户", "基础客户", "潜在客户", "成功客户", "战略伙伴"]);
    // The first cannot go up, the last cannot go down.
    let invalid = item(&app, "customer_status", "invalid").await;
    let partner = item(&app, "customer_status", "partner").await;
    assert!(page.has(&format!("tr[data-item=\"{invalid}\"] .move-up[disabled]")));
    assert!(page.has(&format!("tr[data-item=\"{partner}\"] .move-down[disabled]")));

    let basic = item(&app, "customer_status", "basic").await;
    c.post(&format!("/admin/dicts/customer_status/items/{basic}/move"), &[("dir", "up")])
        .await
        .assert_redirect("/admin/dicts/customer_status");
    let page = c.get("/admin/dicts/customer_status").await;
    assert_eq!(shown(&page), vec!["基础客户", "无效客户", "潜在客户", "成功客户", "战略伙伴"]);
    // The kernel follows: new customers now start at 基础客户.
    let d = Dicts::load(&app.db, &["customer_status"]).await.unwrap();
    assert_eq!(d.first("customer_status").unwrap().id, basic);

    c.post(&format!("/admin/dicts/customer_status/items/{partner}/move"), &[("dir", "up")]).await;
    c.post(&format!("/admin/dicts/customer_status/items/{invalid}/move"), &[("dir", "down")]).await;
    let page = c.get("/admin/dicts/customer_status").await;
    assert_eq!(shown(&page), vec!["基础客户", "潜在客户", "无效客户", "战略伙伴", "成功客户"]);
    // At the edge nothing moves.
    c.post(&format!("/admin/dicts/customer_status/items/{basic}/move"), &[("dir", "up")])
        .await
        .assert_redirect("/admin/dicts/customer_status");
    assert_eq!(shown(&c.get("/admin/dicts/customer_status").await)[0], "基础客户");
    c.post(&format!("/admin/dicts/customer_status/items/{basic}/move"), &[("dir", "sideways")])
        .await
        .assert_status(400);

    // In a tree an item moves among its siblings only; children follow their parent.
    let sz = item(&app, "region", "440300").await;
    c.post(&format!("/admin/dicts/region/items/{sz}/move"), &[("dir", "up")])
        .await
        .assert_redirect("/admin/dicts/region");
    let order = shown(&c.get("/admin/dicts/region").await);
    let at = order.iter().position(|l| l == "广东").unwrap();
    assert_eq!(&order[at..at + 5], &["广东", "深圳", "广州", "东莞", "佛山"]);
    let gd = item(&app, "region", "440000").await;
    c.post(&format!("/admin/dicts/region/items/{gd}/move"), &[("dir", "down")]).await;
    let order = shown(&c.get("/admin/dicts/region").await);
    let at = order.iter().position(|l| l == "广西").unwrap();
    assert_eq!(order[at + 15], "广东", "广西 and its 14 cities, then 广东");
    assert_eq!(order[at + 16], "深圳");

    // Each moved item gets an audit row.
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM operation_logs WHERE entity = 'dict_item' AND entity_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(basic)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(changes[0]["field"], "position");
    assert_eq!(changes[0]["old"], 2);
    assert_eq!(changes[0]["new"], 1);
}

#[tokio::test]
async fn a_disabled_item_stays_on_old_records_but_is_not_offered_for_new_ones() {
    let (app, mut c) = admin().await;
    probe_table(&app).await;
    let finance = item(&app, "industry", "finance").await;
    use_item(&app, finance).await;

    c.post(&format!("/admin/dicts/industry/items/{finance}/toggle"), &[])
        .await
        .assert_redirect("/admin/dicts/industry");
    let page = c.get("/admin/dicts/industry").await;
    assert!(page.text_of(".flash-success").contains("「金融/保险」已停用"), "{}", page.text_of(".flash"));
    let row = page.text_of(&format!("tr[data-item=\"{finance}\"]"));
    assert!(row.contains("已停用") && row.contains("启用"), "{row}");
    let list = c.get("/admin/dicts").await;
    let counts = list.text_of("#dict-list tr[data-dict=\"industry\"] .num");
    assert_eq!(counts, "18\n17");

    let d = Dicts::load(&app.db, &["industry"]).await.unwrap();
    // A new record's form: not offered, not accepted.
    let new_form = d.options("industry", Lang::Zh, None);
    assert!(!new_form.iter().any(|o| o.is(finance.to_string())));
    assert_eq!(new_form.len(), 17);
    assert!(!d.allows("industry", finance, None));
    // The old record's form: still there, marked, and it may keep it.
    let old_form = d.options("industry", Lang::Zh, Some(finance));
    let o = old_form.iter().find(|o| o.is(finance.to_string())).expect("the current value stays selectable");
    assert_eq!(o.label, "金融/保险（已停用）");
    let en = d.options("industry", Lang::En, Some(finance));
    assert!(en.iter().any(|o| o.label == "Finance & insurance (disabled)"));
    assert!(d.allows("industry", finance, Some(finance)));
    // Its detail page still shows the label.
    assert_eq!(d.label(Some(finance), Lang::Zh), "金融/保险");
    assert_eq!(d.label(None, Lang::Zh), "");
    // Items of another dictionary are never allowed.
    let phone = item(&app, "followup_method", "phone").await;
    assert!(!d.allows("industry", phone, None));

    // Disabling a province takes its cities off new forms too.
    let gd = item(&app, "region", "440000").await;
    c.post(&format!("/admin/dicts/region/items/{gd}/toggle"), &[]).await;
    let d = Dicts::load(&app.db, &["region"]).await.unwrap();
    let sz = item(&app, "region", "440300").await;
    assert!(!d.allows("region", sz, None));
    assert!(!d.options("region", Lang::Zh, None).iter().any(|o| o.label.contains("深圳")));
    let page = c.get("/admin/dicts/region").await;
    assert!(page.text_of(&format!("tr[data-item=\"{sz}\"]")).contains("随上级停用"));

    // Enabled again, it is offered again.
    c.post(&format!("/admin/dicts/industry/items/{finance}/toggle"), &[]).await;
    let d = Dicts::load(&app.db, &["industry"]).await.unwrap();
    assert!(d.allows("industry", finance, None));
    let enabled: Vec<bool> = sqlx::query_scalar(
        "SELECT (c->>'new')::boolean FROM operation_logs, jsonb_array_elements(changes) c
          WHERE entity = 'dict_item' AND entity_id = $1 AND c->>'field' = 'enabled' ORDER BY id",
    )
    .bind(finance)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(enabled, vec![false, true]);
}

#[tokio::test]
async fn delete_is_refused_while_an_item_is_in_use() {
    let (app, mut c) = admin().await;
    probe_table(&app).await;
    c.post("/admin/dicts/customer_group/items", &[("label_zh", "华东"), ("label_en", "East China")])
        .await
        .assert_redirect("/admin/dicts/customer_group");
    let east = item_by_label(&app, "customer_group", "华东").await;
    let code: Option<String> =
        sqlx::query_scalar("SELECT code FROM dict_items WHERE id = $1").bind(east).fetch_one(&app.db).await.unwrap();
    assert_eq!(code, None, "admin-made items have no code");
    use_item(&app, east).await;

    let mut conn = app.db.acquire().await.unwrap();
    assert!(dicts::in_use(&mut conn, east).await.unwrap());
    drop(conn);
    c.post(&format!("/admin/dicts/customer_group/items/{east}/delete"), &[])
        .await
        .assert_redirect("/admin/dicts/customer_group");
    let page = c.get("/admin/dicts/customer_group").await;
    assert_eq!(page.text_of(".flash-error"), "「华东」正在被使用，不能删除；可以停用它。");
    assert!(page.has(&format!("tr[data-item=\"{east}\"]")));
    assert_eq!(app.count(&format!("SELECT count(*) FROM dict_items WHERE id = {east}")).await, 1);

    // A parent is in use while it has children.
    let gd = item(&app, "region", "440000").await;
    c.post(&format!("/admin/dicts/region/items/{gd}/delete"), &[]).await;
    assert!(c.get("/admin/dicts/region").await.text_of(".flash-error").contains("「广东」正在被使用"));

    // Once nothing uses it, it can go.
    sqlx::query("DELETE FROM probe_records").execute(&app.db).await.unwrap();
    c.post(&format!("/admin/dicts/customer_group/items/{east}/delete"), &[])
        .await
        .assert_redirect("/admin/dicts/customer_group");
    let page = c.get("/admin/dicts/customer_group").await;
    assert!(page.text_of(".flash-success").contains("「华东」已删除"));
    assert!(!page.has(&format!("tr[data-item=\"{east}\"]")));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM operation_logs WHERE entity = 'dict_item' AND entity_id = {east} AND action = 'delete'"
        ))
        .await,
        1
    );
    // A status named only by a pool recycle rule (an id array, no foreign key) is in use too.
    c.post("/admin/dicts/customer_status/items", &[("label_zh", "观察客户"), ("label_en", "Watched")]).await;
    let watched = item_by_label(&app, "customer_status", "观察客户").await;
    sqlx::query(
        "INSERT INTO pool_rules (pool_id, kind, days, status_ids) SELECT id, 'no_followup', 30, ARRAY[$1] FROM pools LIMIT 1",
    )
    .bind(watched)
    .execute(&app.db)
    .await
    .unwrap();
    c.post(&format!("/admin/dicts/customer_status/items/{watched}/delete"), &[]).await;
    assert!(c.get("/admin/dicts/customer_status").await.text_of(".flash-error").contains("「观察客户」正在被使用"));
    assert_eq!(app.count(&format!("SELECT count(*) FROM dict_items WHERE id = {watched}")).await, 1);

    // An item of another dictionary is not reachable through this one.
    let phone = item(&app, "followup_method", "phone").await;
    c.post(&format!("/admin/dicts/customer_group/items/{phone}/delete"), &[]).await.assert_status(404);
}

#[tokio::test]
async fn add_and_edit_items_with_extras_and_audit() {
    let (app, mut c) = admin().await;
    c.post(
        "/admin/dicts/credit_level/items",
        &[
            ("label_zh", "E 级（黑名单）"),
            ("label_en", "E (blacklisted)"),
            ("x_credit_limit", "1,000"),
            ("x_credit_period_days", "15"),
        ],
    )
    .await
    .assert_redirect("/admin/dicts/credit_level");
    let e = item_by_label(&app, "credit_level", "E 级（黑名单）").await;
    let (extra, position): (serde_json::Value, i32) =
        sqlx::query_as("SELECT extra, position FROM dict_items WHERE id = $1")
            .bind(e)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(extra, serde_json::json!({"credit_limit": "1000.00", "credit_period_days": 15}));
    assert_eq!(position, 5, "added at the end");
    let page = c.get("/admin/dicts/credit_level").await;
    assert!(page.text_of(".flash-success").contains("「E 级（黑名单）」已添加"));
    let row = page.text_of(&format!("tr[data-item=\"{e}\"]"));
    assert!(row.contains("1,000.00") && row.contains("15"), "{row}");
    let row_a = page.text_of(&format!("tr[data-item=\"{}\"]", item(&app, "credit_level", "a").await));
    assert!(row_a.contains("500,000.00") && row_a.contains("90"), "{row_a}");

    // Edit: the form shows the stored values; saving changes labels and flags.
    let basic = item(&app, "customer_status", "basic").await;
    let form = c.get(&format!("/admin/dicts/customer_status/items/{basic}/edit")).await;
    form.assert_status(200);
    assert_eq!(form.attr("input[name=label_zh]", "value").as_deref(), Some("基础客户"));
    assert!(!form.has("input[name=x_can_freeze][checked]"));
    c.post(
        &format!("/admin/dicts/customer_status/items/{basic}"),
        &[("label_zh", "普通客户"), ("label_en", "Regular"), ("x_can_freeze", "1")],
    )
    .await
    .assert_redirect("/admin/dicts/customer_status");
    let d = Dicts::load(&app.db, &["customer_status"]).await.unwrap();
    let b = d.get(basic).unwrap();
    assert_eq!((b.label_zh.as_str(), b.label_en.as_str()), ("普通客户", "Regular"));
    assert!(b.flag("can_freeze"));
    assert_eq!(b.code.as_deref(), Some("basic"), "the code stays");
    let changes: serde_json::Value = sqlx::query_scalar(
        "SELECT changes FROM operation_logs WHERE entity = 'dict_item' AND entity_id = $1 AND action = 'update'",
    )
    .bind(basic)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let fields: Vec<&str> = changes.as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["label_zh", "label_en", "extra.can_freeze"]);
    assert_eq!(changes[0]["old"], "基础客户");
    // The history reads as sentences.
    let rows = crm::audit::history::for_record(&app.db, "dict_item", basic, 10).await.unwrap();
    let text = rows[0].sentences(Lang::Zh).join("\n");
    assert!(text.contains("把 中文名称 从 基础客户 改为 普通客户"), "{text}");
    assert!(text.contains("把 可冻结 从 否 改为 是"), "{text}");
    // Saving without changes writes no audit row.
    c.post(
        &format!("/admin/dicts/customer_status/items/{basic}"),
        &[("label_zh", "普通客户"), ("label_en", "Regular"), ("x_can_freeze", "1")],
    )
    .await
    .assert_redirect("/admin/dicts/customer_status");
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM operation_logs WHERE entity = 'dict_item' AND entity_id = {basic}"))
            .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM operation_logs WHERE entity = 'dict_item' AND entity_id = {e} AND action = 'create'"
        ))
        .await,
        1
    );

    // A new city under a province.
    let zj = item(&app, "region", "330000").await;
    c.post(
        "/admin/dicts/region/items",
        &[("label_zh", "绍兴"), ("label_en", "Shaoxing"), ("parent_id", &zj.to_string())],
    )
    .await
    .assert_redirect("/admin/dicts/region");
    let d = Dicts::load(&app.db, &["region"]).await.unwrap();
    let sx = d.items("region").into_iter().find(|i| i.label_zh == "绍兴").unwrap();
    assert_eq!(sx.parent_id, Some(zj));
    assert_eq!(d.path_label(Some(sx.id), Lang::En), "Zhejiang / Shaoxing");
}

#[tokio::test]
async fn a_tree_item_cannot_move_under_itself() {
    let (app, mut c) = admin().await;
    let gd = item(&app, "region", "440000").await;
    let sz = item(&app, "region", "440300").await;
    let zj = item(&app, "region", "330000").await;
    for parent in [sz, gd] {
        let r = c
            .post(
                &format!("/admin/dicts/region/items/{gd}"),
                &[("label_zh", "广东"), ("label_en", "Guangdong"), ("parent_id", &parent.to_string())],
            )
            .await;
        r.assert_status(422);
        assert!(
            r.text_of(".field.has-error .field-error").contains("不能移到自身或其下级条目之下"),
            "{}",
            r.text_of(".field-error")
        );
    }
    // The form does not even offer them.
    let form = c.get(&format!("/admin/dicts/region/items/{gd}/edit")).await;
    assert!(!form.has(&format!("select[name=parent_id] option[value=\"{sz}\"]")));
    assert!(!form.has(&format!("select[name=parent_id] option[value=\"{gd}\"]")));
    assert!(form.has(&format!("select[name=parent_id] option[value=\"{zj}\"]")));
    // A parent from another dictionary is refused too.
    let phone = item(&app, "followup_method", "phone").await;
    c.post(
        &format!("/admin/dicts/region/items/{sz}"),
        &[("label_zh", "深圳"), ("label_en", "Shenzhen"), ("parent_id", &phone.to_string())],
    )
    .await
    .assert_status(422);
    let parent: Option<i64> =
        sqlx::query_scalar("SELECT parent_id FROM dict_items WHERE id = $1").bind(gd).fetch_one(&app.db).await.unwrap();
    assert_eq!(parent, None);

    // Moving 深圳 to 浙江 is fine: it goes last there, and the history names both parents.
    c.post(
        &format!("/admin/dicts/region/items/{sz}"),
        &[("label_zh", "深圳"), ("label_en", "Shenzhen"), ("parent_id", &zj.to_string())],
    )
    .await
    .assert_redirect("/admin/dicts/region");
    let order = shown(&c.get("/admin/dicts/region").await);
    let at = order.iter().position(|l| l == "浙江").unwrap();
    assert_eq!(&order[at..at + 4], &["浙江", "杭州", "宁波", "温州"]);
    assert_eq!(order[at + 12], "深圳", "after 浙江's 11 cities");
    let changes: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM operation_logs WHERE entity = 'dict_item' AND entity_id = $1")
            .bind(sz)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(changes[0]["field"], "parent");
    assert_eq!(changes[0]["old"], "广东");
    assert_eq!(changes[0]["new"], "浙江");
    // A top-level item: no parent chosen.
    c.post(
        &format!("/admin/dicts/region/items/{sz}"),
        &[("label_zh", "深圳"), ("label_en", "Shenzhen"), ("parent_id", "")],
    )
    .await
    .assert_redirect("/admin/dicts/region");
    let d = Dicts::load(&app.db, &["region"]).await.unwrap();
    assert_eq!(d.get(sz).unwrap().parent_id, None);
    assert_eq!(d.items("region").last().unwrap().id, sz);
}

#[tokio::test]
async fn invalid_items_show_errors_next_to_fields_and_keep_what_was_typed() {
    let (app, mut c) = admin().await;
    let before = app.count("SELECT count(*) FROM dict_items").await;
    let r = c.post("/admin/dicts/industry/items", &[("label_zh", "  "), ("label_en", "Aerospace")]).await;
    r.assert_status(422);
    assert!(r.text_of("label.field.has-error").contains("中文名称 * 此项必填"), "{}", r.text_of(".field-error"));
    assert_eq!(r.attr("#dict-item-form input[name=label_en]", "value").as_deref(), Some("Aerospace"));
    assert!(r.has("#dict-items"), "the item list is still shown");

    let r = c
        .post(
            "/admin/dicts/credit_level/items",
            &[("label_zh", "E"), ("label_en", ""), ("x_credit_limit", "12.345"), ("x_credit_period_days", "-3")],
        )
        .await;
    r.assert_status(422);
    assert_eq!(r.count(".field.has-error"), 3);
    assert!(r.text_of(".field-error").contains("最多两位小数"));
    assert!(r.text_of(".field-error").contains("不小于 0 的整数"));
    assert_eq!(r.attr("input[name=x_credit_limit]", "value").as_deref(), Some("12.345"));
    assert_eq!(r.attr("input[name=x_credit_period_days]", "value").as_deref(), Some("-3"));

    let a = item(&app, "credit_level", "a").await;
    let r = c
        .post(
            &format!("/admin/dicts/credit_level/items/{a}"),
            &[("label_zh", ""), ("label_en", "A"), ("x_credit_limit", "abc"), ("x_credit_period_days", "90")],
        )
        .await;
    r.assert_status(422);
    assert!(r.has("label.field.has-error input[name=label_zh]"));
    assert!(r.has("label.field.has-error input[name=x_credit_limit]"));
    assert_eq!(r.attr("input[name=x_credit_limit]", "value").as_deref(), Some("abc"));
    assert_eq!(app.count("SELECT count(*) FROM dict_items").await, before);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'dict_item'").await, 0);
    let d = Dicts::load(&app.db, &["credit_level"]).await.unwrap();
    assert_eq!(d.get(a).unwrap().label_en, "A (excellent)");
}

#[tokio::test]
async fn only_dictionary_managers_reach_the_dictionary_pages() {
    common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    app.user("rep", root, None, &["rep"]).await;
    app.user("director", root, None, &["director"]).await;
    let phone = item(&app, "followup_method", "phone").await;
    let routes: Vec<_> = crm::app::route_specs().into_iter().filter(|s| s.path.starts_with("/admin/dicts")).collect();
    assert_eq!(routes.len(), 8);
    for login in ["rep", "director"] {
        let mut c = app.login(login).await;
        let home = c.get("/").await;
        assert!(!home.text_of(".sidebar nav").contains("数据字典"));
        for spec in &routes {
            let path = spec.path.replace("{code}", "followup_method").replace("{id}", &phone.to_string());
            let r = if spec.method == Method::GET {
                c.get(&path).await
            } else {
                c.post(&path, &[("label_zh", "x"), ("label_en", "x"), ("dir", "up")]).await
            };
            assert_eq!(r.status.as_u16(), 403, "{login} {} {path}", spec.method);
        }
    }
    let d = Dicts::load(&app.db, &["followup_method"]).await.unwrap();
    assert_eq!(d.items("followup_method").len(), 6);
    assert!(d.get(phone).unwrap().enabled);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs").await, 0);
}

#[tokio::test]
async fn a_disabled_item_over_http_old_customers_keep_it_new_ones_cannot_pick_it() {
    let (app, mut c) = admin().await;
    let finance = item(&app, "industry", "finance").await;
    let fin = finance.to_string();
    c.post("/customers", &[("name", "老金融客户"), ("kind", "enterprise"), ("industry_id", &fin)])
        .await
        .assert_status(303);
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE name = '老金融客户'").fetch_one(&app.db).await.unwrap();
    c.post(&format!("/admin/dicts/industry/items/{finance}/toggle"), &[])
        .await
        .assert_redirect("/admin/dicts/industry");

    // The existing customer still shows it, and its form keeps it selected, marked.
    c.get(&format!("/customers/{id}")).await.assert_contains("金融/保险");
    let form = c.get(&format!("/customers/{id}/edit")).await;
    let sel = format!("select[name=industry_id] option[value=\"{finance}\"][selected]");
    assert_eq!(form.text_of(&sel), "金融/保险（已停用）");
    c.post(&format!("/customers/{id}"), &[("name", "老金融客户"), ("kind", "enterprise"), ("industry_id", &fin)])
        .await
        .assert_redirect(&format!("/customers/{id}"));
    let kept: Option<i64> = sqlx::query_scalar("SELECT industry_id FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kept, Some(finance));

    // A new customer's form does not offer it, and a POST with it is refused.
    let new_form = c.get("/customers/new").await;
    assert!(new_form.has("select[name=industry_id]"));
    assert!(!new_form.has(&format!("select[name=industry_id] option[value=\"{finance}\"]")));
    let r = c.post("/customers", &[("name", "新金融客户"), ("kind", "enterprise"), ("industry_id", &fin)]).await;
    r.assert_status(422);
    assert!(r.has(".has-error select[name=industry_id]"), "{}", r.text_of(".field-error"));
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE name = '新金融客户'").await, 0);
}
