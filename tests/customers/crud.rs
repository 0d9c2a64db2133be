//! Customer records through the forms: every field kind, validation, numbering, history,
//! parent and children, duplicates and caps on create.

use super::common::{Client, TestApp};
use super::{customer, dict_item, id_of};

async fn setup() -> (TestApp, Client) {
    super::common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

async fn define_fields(c: &mut Client) {
    for (key, kind, extra) in [
        ("wechat", "text", ""),
        ("budget", "decimal", ""),
        ("visit_day", "date", ""),
        ("vip", "boolean", ""),
        ("grade", "select", "a|甲级|A\nb|乙级|B"),
    ] {
        c.post(
            "/admin/fields",
            &[
                ("entity", "customer"),
                ("key", key),
                ("label_zh", key),
                ("label_en", key),
                ("kind", kind),
                ("options", extra),
            ],
        )
        .await
        .assert_redirect("/admin/fields?entity=customer");
    }
}

#[tokio::test]
async fn create_a_customer_with_every_kind_of_field() {
    let (app, mut c) = setup().await;
    define_fields(&mut c).await;
    let (industry, region, city, addr_type, credit) = (
        dict_item(&app, "industry", "制造业").await.to_string(),
        dict_item(&app, "region", "广东").await.to_string(),
        dict_item(&app, "region", "深圳").await.to_string(),
        dict_item(&app, "address_type", "办公地址").await.to_string(),
        sqlx::query_scalar::<_, i64>("SELECT id FROM dict_items WHERE dict = 'credit_level' ORDER BY position LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap()
            .to_string(),
    );
    let parent = customer(&app, "华信集团", None).await;
    sqlx::query("UPDATE customers SET owner_id = (SELECT id FROM users WHERE login = 'admin') WHERE id = $1")
        .bind(parent)
        .execute(&app.db)
        .await
        .unwrap();
    let r = c
        .post(
            "/customers",
            &[
                ("name", "深圳华信科技有限公司"),
                ("short_name", "华信科技"),
                ("kind", "enterprise"),
                ("parent_q", "华信集团"),
                ("industry_id", &industry),
                ("region_id", &city),
                ("credit_level_id", &credit),
                ("phone", "0755-8888 0001"),
                ("mobile", "13912345678"),
                ("email", "info@huaxin.cn"),
                ("website", "www.huaxin.cn"),
                ("addr_type", &addr_type),
                ("addr_region", &city),
                ("addr_detail", "南山区科技园 1 号"),
                ("addr_postcode", "518000"),
                ("addr_type", ""),
                ("addr_region", ""),
                ("addr_detail", ""),
                ("addr_postcode", ""),
                ("description", "重点客户"),
                ("cf_wechat", "huaxin_tech"),
                ("cf_budget", "1200000.50"),
                ("cf_visit_day", "2026-12-01"),
                ("cf_vip", "1"),
                ("cf_grade", "a"),
            ],
        )
        .await;
    let id = id_of(&app, "深圳华信科技有限公司").await;
    r.assert_redirect(&format!("/customers/{id}"));
    let (code, status, level, owner, custom): (String, String, i16, String, serde_json::Value) = sqlx::query_as(
        "SELECT c.code, s.code, c.level, u.login, c.custom FROM customers c JOIN dict_items s ON s.id = c.status_id
         JOIN users u ON u.id = c.owner_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let month = chrono::Utc::now().with_timezone(&app.config.timezone).format("%Y%m").to_string();
    assert!(code.starts_with(&format!("KH{month}")) && code.len() == 13, "auto code {code}");
    assert_eq!(
        (status.as_str(), level, owner.as_str()),
        ("invalid", 1, "admin"),
        "first status, level 1, creator owns it"
    );
    assert_eq!(custom["budget"], "1200000.5");
    assert_eq!(custom["vip"], true);

    let page = c.get(&format!("/customers/{id}")).await;
    page.assert_status(200);
    assert!(page.text_of("h1").contains("深圳华信科技有限公司"));
    let basic = page.text_of("#tab-basic");
    for expected in [
        "华信科技",
        "制造业",
        "广东 / 深圳",
        "南山区科技园 1 号",
        "0755-8888 0001",
        "华信集团",
        "1,200,000.50",
        "甲级",
        "2026-12-01",
        "信用额度 500,000.00",
    ] {
        assert!(basic.contains(expected), "detail shows {expected}: {basic}");
    }
    let _ = region;
    // The parent lists it as a subsidiary.
    let related = c.get(&format!("/customers/{parent}?tab=related")).await;
    assert!(related.text_of("#children").contains("深圳华信科技有限公司"));
    // The history reads as sentences.
    let history = c.get(&format!("/customers/{id}?tab=history")).await;
    assert!(history.text_of("#tab-history").contains("创建了记录"));
}

#[tokio::test]
async fn invalid_input_is_refused_field_by_field_and_kept() {
    let (app, mut c) = setup().await;
    define_fields(&mut c).await;
    let r = c
        .post(
            "/customers",
            &[
                ("name", ""),
                ("email", "not-mail"),
                ("phone", "12"),
                ("industry_id", "999999"),
                ("parent_q", "不存在的公司"),
                ("cf_budget", "很多"),
                ("cf_grade", "z"),
                ("short_name", "留着我"),
            ],
        )
        .await;
    r.assert_status(422);
    let err = |name: &str| {
        r.text_of(&format!(".field.has-error:has([name={name}]) .field-error, [data-custom=cf_{name}] .field-error"))
    };
    assert_eq!(err("name"), "此项必填");
    assert!(err("email").contains("邮箱"));
    assert!(err("phone").contains("电话"));
    assert!(err("industry_id").contains("有效的选项"));
    assert!(err("parent_q").contains("找不到该客户"));
    assert!(err("budget").contains("数字"));
    assert!(err("grade").contains("选项"));
    assert_eq!(r.attr("input[name=short_name]", "value").as_deref(), Some("留着我"));
    assert_eq!(r.attr("input[name=cf_budget]", "value").as_deref(), Some("很多"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0, "nothing half-written");
}

#[tokio::test]
async fn editing_records_readable_history_and_keeps_status_for_approval() {
    let (app, mut c) = setup().await;
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await;
    let mut rep_client = app.login("rep").await;
    rep_client.post("/customers", &[("name", "上海宏达"), ("kind", "enterprise")]).await;
    let id = id_of(&app, "上海宏达").await;
    let potential = dict_item(&app, "customer_status", "潜在客户").await.to_string();
    // A rep changes the level but cannot set the status directly.
    rep_client
        .post(
            &format!("/customers/{id}"),
            &[("name", "上海宏达实业"), ("kind", "enterprise"), ("level", "4"), ("status_id", &potential)],
        )
        .await;
    let (name, level, status): (String, i16, String) = sqlx::query_as(
        "SELECT c.name, c.level, s.code FROM customers c JOIN dict_items s ON s.id = c.status_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((name.as_str(), level, status.as_str()), ("上海宏达实业", 4, "invalid"));
    let history = rep_client.get(&format!("/customers/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("用户rep 把 客户级别 从 1 改为 4"), "{history}");
    assert!(history.contains("把 客户名称 从 上海宏达 改为 上海宏达实业"));
    // A super admin may set it, and that is written down too.
    c.post(
        &format!("/customers/{id}"),
        &[("name", "上海宏达实业"), ("kind", "enterprise"), ("level", "4"), ("status_id", &potential)],
    )
    .await;
    let status: String =
        sqlx::query_scalar("SELECT s.code FROM customers c JOIN dict_items s ON s.id = c.status_id WHERE c.id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, "potential");
    assert!(
        c.get(&format!("/customers/{id}?tab=history"))
            .await
            .text_of("#tab-history")
            .contains("把 客户状态 从 无效客户 改为 潜在客户")
    );
    let _ = rep;
}

#[tokio::test]
async fn a_parent_cannot_become_its_own_descendant() {
    let (app, mut c) = setup().await;
    c.post("/customers", &[("name", "集团"), ("kind", "enterprise")]).await;
    c.post("/customers", &[("name", "子公司"), ("kind", "enterprise"), ("parent_q", "集团")]).await;
    let group = id_of(&app, "集团").await;
    let r = c
        .post(&format!("/customers/{group}"), &[("name", "集团"), ("kind", "enterprise"), ("parent_q", "子公司")])
        .await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("不能把自身或下级客户设为上级客户"));
}

#[tokio::test]
async fn duplicate_names_block_and_phones_warn_until_confirmed() {
    let (app, mut c) = setup().await;
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await;
    customer(&app, "上海ABC科技", Some(rep)).await;
    sqlx::query("UPDATE customers SET phone = '021-66668888'").execute(&app.db).await.unwrap();
    // Name: blocked (default rule), matched loosely.
    let r = c.post("/customers", &[("name", " 上海ＡＢＣ 科技 "), ("kind", "enterprise")]).await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("用户rep"), "names the owner: {}", r.text_of(".field-error"));
    // Phone: a warning that can be confirmed.
    let r = c.post("/customers", &[("name", "另一家公司"), ("kind", "enterprise"), ("phone", "02166668888")]).await;
    r.assert_status(200);
    assert!(r.has("#dup-warnings"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
    let r = c
        .post(
            "/customers",
            &[("name", "另一家公司"), ("kind", "enterprise"), ("phone", "02166668888"), ("confirm_dup", "1")],
        )
        .await;
    assert!(r.status.is_redirection());
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 2);
}

#[tokio::test]
async fn creating_beyond_the_ownership_cap_is_refused() {
    let (app, mut c) = setup().await;
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 1)")
        .bind(admin)
        .execute(&app.db)
        .await
        .unwrap();
    c.post("/customers", &[("name", "第一家"), ("kind", "enterprise")]).await;
    let r = c.post("/customers", &[("name", "第二家"), ("kind", "enterprise")]).await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("上限"), "{}", r.text_of(".field-error"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
}

#[tokio::test]
async fn unique_custom_fields_refuse_a_repeated_value() {
    let (app, mut c) = setup().await;
    c.post(
        "/admin/fields",
        &[
            ("entity", "customer"),
            ("key", "tax_no"),
            ("label_zh", "税号"),
            ("label_en", "Tax no."),
            ("kind", "text"),
            ("is_unique", "1"),
        ],
    )
    .await;
    c.post("/customers", &[("name", "甲公司"), ("kind", "enterprise"), ("cf_tax_no", "91310000X")]).await;
    let r = c.post("/customers", &[("name", "乙公司"), ("kind", "enterprise"), ("cf_tax_no", "91310000X")]).await;
    r.assert_status(422);
    assert!(r.text_of("[data-custom=cf_tax_no] .field-error").contains("不能重复"));
    // Editing the first keeps its own value.
    let first = id_of(&app, "甲公司").await;
    c.post(
        &format!("/customers/{first}"),
        &[("name", "甲公司"), ("kind", "enterprise"), ("level", "2"), ("cf_tax_no", "91310000X")],
    )
    .await
    .assert_redirect(&format!("/customers/{first}"));
}

#[tokio::test]
async fn a_deactivated_fields_value_survives_editing_and_returns_with_the_field() {
    let (app, mut c) = setup().await;
    define_fields(&mut c).await;
    c.post(
        "/customers",
        &[("name", "华信科技"), ("kind", "enterprise"), ("cf_wechat", "hx-sales"), ("cf_budget", "5000")],
    )
    .await;
    let id = id_of(&app, "华信科技").await;
    let wechat: i64 = sqlx::query_scalar("SELECT id FROM field_defs WHERE entity = 'customer' AND key = 'wechat'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    c.post(&format!("/admin/fields/{wechat}/toggle"), &[]).await;

    // The edit form no longer shows the field; saving it keeps the hidden value.
    let form = c.get(&format!("/customers/{id}/edit")).await;
    assert!(!form.has("input[name=cf_wechat]"));
    c.post(&format!("/customers/{id}"), &[("name", "华信科技股份"), ("kind", "enterprise"), ("cf_budget", "6000")])
        .await;
    let custom: serde_json::Value =
        sqlx::query_scalar("SELECT custom FROM customers WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert_eq!(custom, serde_json::json!({"wechat": "hx-sales", "budget": "6000", "vip": false}));

    // Reactivated, the field shows the value again.
    c.post(&format!("/admin/fields/{wechat}/toggle"), &[]).await;
    let form = c.get(&format!("/customers/{id}/edit")).await;
    assert_eq!(form.attr("input[name=cf_wechat]", "value").as_deref(), Some("hx-sales"));
}

/// An individual customer with every dictionary field and the personal fields: stored, shown on
/// the detail page, and back in the edit form.
#[tokio::test]
async fn an_individual_customer_with_every_dictionary_and_personal_field() {
    let (app, mut c) = setup().await;
    // Every dictionary field but the region (a city below, shown as "province / city").
    let dicts = crm::modules::customers::model::DICT_FIELDS.iter().filter(|(f, _)| *f != "region_id");
    let mut chosen = Vec::new();
    for &(field, dict) in dicts {
        let (id, label): (i64, String) = sqlx::query_as(
            "SELECT id, label_zh FROM dict_items WHERE dict = $1 AND enabled ORDER BY parent_id NULLS FIRST, position DESC LIMIT 1",
        )
        .bind(dict)
        .fetch_one(&app.db)
        .await
        .unwrap();
        chosen.push((field, id.to_string(), label));
    }
    let city = dict_item(&app, "region", "杭州").await.to_string();
    let mut form: Vec<(&str, &str)> = chosen.iter().map(|(f, id, _)| (*f, id.as_str())).collect();
    form.extend([
        ("name", "李明"),
        ("kind", "individual"),
        ("region_id", city.as_str()),
        ("gender", "male"),
        ("birth_date", "1985-06-15"),
        ("id_number", "330106198506150011"),
        ("native_place", "浙江绍兴"),
        ("ethnicity", "汉族"),
        ("mobile", "13800001111"),
        ("fax", "0571-8765 4321"),
    ]);
    c.post("/customers", &form).await.assert_status(303);
    let id = id_of(&app, "李明").await;
    let row: (String, Option<String>, Option<chrono::NaiveDate>, Option<String>, Option<String>, Option<String>) =
        sqlx::query_as("SELECT kind, gender, birth_date, id_number, native_place, fax FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(row.0, "individual");
    assert_eq!(row.1.as_deref(), Some("male"));
    assert_eq!(row.2.map(|d| d.to_string()).as_deref(), Some("1985-06-15"));
    assert_eq!(
        (row.3.as_deref(), row.4.as_deref(), row.5.as_deref()),
        (Some("330106198506150011"), Some("浙江绍兴"), Some("0571-8765 4321"))
    );

    let basic = c.get(&format!("/customers/{id}")).await.text_of("#tab-basic");
    for expected in ["1985-06-15", "330106198506150011", "浙江绍兴", "汉族", "0571-8765 4321", "杭州"] {
        assert!(basic.contains(expected), "detail shows {expected}: {basic}");
    }
    let edit = c.get(&format!("/customers/{id}/edit")).await;
    for (field, item, label) in &chosen {
        assert!(basic.contains(label.as_str()), "detail shows {field} {label}: {basic}");
        assert_eq!(
            edit.attr(&format!("select[name={field}] option[selected]"), "value").as_deref(),
            Some(item.as_str()),
            "edit form keeps {field}"
        );
    }
    assert_eq!(edit.attr("input[name=id_number]", "value").as_deref(), Some("330106198506150011"));
    assert_eq!(edit.attr("input[name=birth_date]", "value").as_deref(), Some("1985-06-15"));
}

/// A parent the editor cannot see (another team's group company) stays when the form comes back
/// unchanged; choosing it anew for another record is still refused, and it can be cleared.
#[tokio::test]
async fn editing_keeps_an_unchanged_parent_the_editor_cannot_see() {
    let (app, _) = setup().await;
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await;
    let group = customer(&app, "看不见的集团", Some(admin)).await;
    let child = customer(&app, "子公司甲", Some(rep)).await;
    let other = customer(&app, "另一家", Some(rep)).await;
    sqlx::query("UPDATE customers SET parent_id = $1 WHERE id = $2")
        .bind(group)
        .bind(child)
        .execute(&app.db)
        .await
        .unwrap();
    let parent_of = |id: i64| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>("SELECT parent_id FROM customers WHERE id = $1")
                .bind(id)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let mut r = app.login("rep").await;
    r.get(&format!("/customers/{group}")).await.assert_status(404);
    let form = r.get(&format!("/customers/{child}/edit")).await;
    assert_eq!(form.attr("input[name=parent_q]", "value").as_deref(), Some("看不见的集团"));
    let pid = form.attr("input[name=parent_id]", "value").unwrap();
    r.post(
        &format!("/customers/{child}"),
        &[
            ("name", "子公司甲改"),
            ("kind", "enterprise"),
            ("level", "1"),
            ("parent_q", "看不见的集团"),
            ("parent_id", &pid),
        ],
    )
    .await
    .assert_redirect(&format!("/customers/{child}"));
    assert_eq!(parent_of(child).await, Some(group));
    // Picking it for another customer is a new choice: it must be visible.
    let r2 = r
        .post(
            &format!("/customers/{other}"),
            &[
                ("name", "另一家"),
                ("kind", "enterprise"),
                ("level", "1"),
                ("parent_q", "看不见的集团"),
                ("parent_id", &pid),
            ],
        )
        .await;
    r2.assert_status(422);
    assert_eq!(parent_of(other).await, None);
    // Clearing the field removes it.
    r.post(
        &format!("/customers/{child}"),
        &[("name", "子公司甲改"), ("kind", "enterprise"), ("level", "1"), ("parent_q", "")],
    )
    .await
    .assert_redirect(&format!("/customers/{child}"));
    assert_eq!(parent_of(child).await, None);
}

/// A rep has no owner field, so the ownership cap's refusal is shown at the top of the form.
#[tokio::test]
async fn a_rep_at_the_ownership_cap_is_told_at_the_top_of_the_form() {
    let (app, _) = setup().await;
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await;
    customer(&app, "已有一家", Some(rep)).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 1)")
        .bind(rep)
        .execute(&app.db)
        .await
        .unwrap();
    let mut r = app.login("rep").await;
    let page = r.post("/customers", &[("name", "第二家"), ("kind", "enterprise")]).await;
    page.assert_status(422);
    let top = page.text_of("#form-errors");
    assert!(top.contains("上限") && top.contains("用户rep"), "{top}");
    assert_eq!(page.attr("input[name=name]", "value").as_deref(), Some("第二家"), "what was typed is kept");
    // Without the transfer permission there is no owner field at all: the top still says why.
    sqlx::query("DELETE FROM role_permissions WHERE module = 'customers' AND action = 'transfer'")
        .execute(&app.db)
        .await
        .unwrap();
    let page = r.post("/customers", &[("name", "第二家"), ("kind", "enterprise")]).await;
    page.assert_status(422);
    assert!(!page.has("select[name=owner_id]"));
    assert!(page.text_of("#form-errors").contains("上限"), "{}", page.text_of("#form-errors"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
}

/// Duplicate rules on an edit look only at fields whose normalised value changed: a record that
/// already shares its name and phone with another can still be edited under a blocking rule.
#[tokio::test]
async fn an_edit_checks_duplicates_only_for_the_fields_it_changes() {
    let (app, _) = setup().await;
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await;
    let theirs = customer(&app, "重名公司", Some(admin)).await;
    let mine = customer(&app, "重名公司", Some(rep)).await;
    customer(&app, "别家公司", Some(admin)).await;
    sqlx::query("UPDATE customers SET phone = '021-66668888' WHERE id = ANY($1)")
        .bind(vec![theirs, mine])
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE dup_rules SET enabled = true, effect = 'block' WHERE entity = 'customer' AND field IN ('name', 'phone')")
        .execute(&app.db)
        .await
        .unwrap();
    let mut r = app.login("rep").await;
    let edit = |name: &'static str, phone: &'static str, description: &'static str| {
        vec![("name", name), ("kind", "enterprise"), ("level", "1"), ("phone", phone), ("description", description)]
    };
    // Same name and phone (written differently, normalised equal), new description: saved.
    r.post(&format!("/customers/{mine}"), &edit(" 重名 公司", "02166668888", "改了备注"))
        .await
        .assert_redirect(&format!("/customers/{mine}"));
    let desc: Option<String> = sqlx::query_scalar("SELECT description FROM customers WHERE id = $1")
        .bind(mine)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(desc.as_deref(), Some("改了备注"));
    // Changing the name to another existing one is checked, and blocked.
    let page = r.post(&format!("/customers/{mine}"), &edit("别家公司", "02166668888", "")).await;
    page.assert_status(422);
    assert!(page.text_of(".field-error").contains("用户admin"), "{}", page.text_of(".field-error"));
}

/// Several typed addresses are kept in order, shown on the detail page, offered again by the
/// edit form, and an edit that drops one keeps the rest.
#[tokio::test]
async fn several_typed_addresses_round_trip() {
    let (app, mut c) = setup().await;
    let t = |label: &'static str| dict_item(&app, "address_type", label);
    let (office, billing, shipping) =
        (t("办公地址").await.to_string(), t("开票地址").await.to_string(), t("收货地址").await.to_string());
    let (sz, bj) =
        (dict_item(&app, "region", "深圳").await.to_string(), dict_item(&app, "region", "北京").await.to_string());
    let mut form: Vec<(&str, &str)> = vec![("name", "多地址公司"), ("kind", "enterprise")];
    for (ty, region, detail, postcode) in [
        (office.as_str(), sz.as_str(), "南山区一号", "518000"),
        (billing.as_str(), bj.as_str(), "朝阳区二号", ""),
        (shipping.as_str(), sz.as_str(), "宝安区三号", "518100"),
    ] {
        form.extend([("addr_type", ty), ("addr_region", region), ("addr_detail", detail), ("addr_postcode", postcode)]);
    }
    c.post("/customers", &form).await;
    let id = id_of(&app, "多地址公司").await;
    let stored = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (i64, String, Option<String>)>(
                "SELECT type_id, detail, postcode FROM customer_addresses WHERE customer_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(&db)
            .await
            .unwrap()
        }
    };
    let rows = stored(&app).await;
    let details: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(details, ["南山区一号", "朝阳区二号", "宝安区三号"]);
    assert_eq!(rows[1].0.to_string(), billing);
    assert_eq!(rows[1].2, None, "an empty postcode is no postcode");
    let basic = c.get(&format!("/customers/{id}")).await.text_of("#tab-basic");
    for part in ["办公地址", "深圳 南山区一号 · 518000", "开票地址", "北京 朝阳区二号", "收货地址", "宝安区三号"]
    {
        assert!(basic.contains(part), "{part}: {basic}");
    }
    // The edit form offers the three and one blank row.
    let edit = c.get(&format!("/customers/{id}/edit")).await;
    assert_eq!(edit.count("#addresses .address-row"), 4);
    assert_eq!(
        edit.attr("#addresses .address-row:nth-of-type(2) input[name=addr_detail]", "value").as_deref(),
        Some("朝阳区二号")
    );
    assert!(edit.has(&format!(
        "#addresses .address-row:nth-of-type(2) select[name=addr_type] option[value=\"{billing}\"][selected]"
    )));
    // Saving without the middle one keeps the other two, in order.
    let mut form: Vec<(&str, &str)> = vec![("name", "多地址公司"), ("kind", "enterprise"), ("level", "1")];
    for (ty, region, detail, postcode) in [
        (office.as_str(), sz.as_str(), "南山区一号", "518000"),
        (shipping.as_str(), sz.as_str(), "宝安区三号", "518100"),
    ] {
        form.extend([("addr_type", ty), ("addr_region", region), ("addr_detail", detail), ("addr_postcode", postcode)]);
    }
    c.post(&format!("/customers/{id}"), &form).await.assert_redirect(&format!("/customers/{id}"));
    let details: Vec<String> = stored(&app).await.into_iter().map(|r| r.1).collect();
    assert_eq!(details, ["南山区一号", "宝安区三号"]);
}

/// The website takes http(s) addresses only (`https://` in front when no scheme is typed) and
/// shows as a link that gives the other site nothing: no opener, no referrer, no follow.
#[tokio::test]
async fn the_website_is_an_http_link_or_refused() {
    let (app, mut c) = setup().await;
    for bad in [
        "javascript:alert(1)//x.cn",
        "JavaScript:alert(1)//x.cn",
        "data:text/html,<script>alert(1)</script>//x.cn",
        "ftp://files.example.cn",
        "https://bank.example.cn@evil.example",
    ] {
        let r = c.post("/customers", &[("name", "网址公司"), ("kind", "enterprise"), ("website", bad)]).await;
        r.assert_status(422);
        assert!(r.text_of(".field-error").contains("http://"), "{bad}: {}", r.text_of(".field-error"));
    }
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
    c.post("/customers", &[("name", "网址公司"), ("kind", "enterprise"), ("website", "www.example.cn/about")])
        .await
        .assert_status(303);
    let id = id_of(&app, "网址公司").await;
    let stored: Option<String> =
        sqlx::query_scalar("SELECT website FROM customers WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert_eq!(stored.as_deref(), Some("https://www.example.cn/about"));
    let page = c.get(&format!("/customers/{id}")).await;
    assert_eq!(page.attr("#website a", "href").as_deref(), Some("https://www.example.cn/about"));
    assert_eq!(page.attr("#website a", "rel").as_deref(), Some("noopener noreferrer nofollow"));
    // An edit keeps to the same rule.
    let r = c
        .post(
            &format!("/customers/{id}"),
            &[("name", "网址公司"), ("kind", "enterprise"), ("website", "javascript:alert(1)//x.cn")],
        )
        .await;
    r.assert_status(422);
    // A value stored before addresses were checked is shown as text, never as a link.
    sqlx::query("UPDATE customers SET website = 'javascript:alert(1)//x.cn' WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let page = c.get(&format!("/customers/{id}")).await;
    assert!(!page.has("#website a"));
    assert_eq!(page.text_of("#website"), "javascript:alert(1)//x.cn");
}

/// Bidirectional controls (U+202E and friends) are dropped from single-line input, whatever
/// form takes it: a name cannot read backwards. Text with line breaks keeps them.
#[tokio::test]
async fn bidi_controls_are_dropped_from_single_line_input() {
    let (app, mut c) = setup().await;
    let name = "invoice\u{202E}fdp.exe\u{2066}公司\u{2069}\u{200F}";
    let description = "第一行\u{202B}\n第二行";
    c.post(
        "/customers",
        &[("name", name), ("short_name", "\u{202D}简称\u{202C}"), ("kind", "enterprise"), ("description", description)],
    )
    .await
    .assert_status(303);
    let (stored, short, desc): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT name, short_name, description FROM customers").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored, "invoicefdp.exe公司");
    assert_eq!(short.as_deref(), Some("简称"));
    assert_eq!(desc.as_deref(), Some(description), "multi-line text is kept as typed");
    // A typed admin form too (department names).
    let root = app.root_dept().await.to_string();
    c.post("/admin/departments", &[("name", "\u{202E}部售销"), ("parent_id", &root)]).await;
    assert_eq!(app.count("SELECT count(*) FROM departments WHERE name = '部售销'").await, 1);
    // And filters: the keyword finds the record.
    let list = c.get("/customers?q=invoice%E2%80%AEfdp").await;
    assert!(list.text_of("#list-table").contains("invoicefdp.exe公司"), "{}", list.text_of("#list-table"));
}
