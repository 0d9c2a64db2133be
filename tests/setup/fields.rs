//! Custom fields: admin definitions, each type round-tripping through a form, field-level errors.

use super::common::{Client, TestApp};

async fn setup() -> (TestApp, Client) {
    super::common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

async fn define(c: &mut Client, key: &str, kind: &str, extra: &[(&str, &str)]) {
    let mut form = vec![("entity", "customer"), ("key", key), ("label_zh", key), ("label_en", key), ("kind", kind)];
    form.extend_from_slice(extra);
    c.post("/admin/fields", &form).await.assert_redirect("/admin/fields?entity=customer");
}

#[tokio::test]
async fn every_type_round_trips_through_the_form() {
    let (app, mut c) = setup().await;
    let admin_id: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    for kind in
        ["text", "textarea", "integer", "decimal", "date", "datetime", "boolean", "email", "phone", "url", "user"]
    {
        define(&mut c, &format!("f_{kind}"), kind, &[]).await;
    }
    define(&mut c, "f_select", "select", &[("options", "vip|贵宾|VIP\nnormal|普通|Normal")]).await;
    define(&mut c, "f_multi", "multiselect", &[("options", "红|Red\n绿|Green\n蓝|Blue")]).await;
    let page = c.get("/admin/fields?entity=customer").await;
    assert_eq!(page.count("#field-defs tbody tr"), 13);

    let uid = admin_id.to_string();
    let r = c
        .post(
            "/admin/fields/preview?entity=customer",
            &[
                ("cf_f_text", "  上海  "),
                ("cf_f_textarea", "第一行\n第二行"),
                ("cf_f_integer", "1,200"),
                ("cf_f_decimal", "99.50"),
                ("cf_f_date", "2026-11-23"),
                ("cf_f_datetime", "2026-11-23T09:30"),
                ("cf_f_boolean", "1"),
                ("cf_f_email", "a@b.cn"),
                ("cf_f_phone", "021-12345678"),
                ("cf_f_url", "https://example.com"),
                ("cf_f_user", &uid),
                ("cf_f_select", "vip"),
                ("cf_f_multi", "o1"),
                ("cf_f_multi", "o3"),
            ],
        )
        .await;
    r.assert_status(200);
    let stored: serde_json::Value = serde_json::from_str(&r.text_of("#preview-result pre")).unwrap();
    assert_eq!(stored["f_text"], "上海");
    assert_eq!(stored["f_integer"], 1200);
    assert_eq!(stored["f_decimal"], "99.5");
    assert_eq!(stored["f_date"], "2026-11-23");
    assert_eq!(stored["f_datetime"], "2026-11-23T01:30:00+00:00", "local +08:00 stored as UTC");
    assert_eq!(stored["f_boolean"], true);
    assert_eq!(stored["f_user"], admin_id);
    assert_eq!(stored["f_select"], "vip");
    assert_eq!(stored["f_multi"], serde_json::json!(["o1", "o3"]));
    // The form shows what was submitted, in the right inputs.
    assert!(r.has("select[name=cf_f_select] option[value=vip][selected]"));
    assert!(r.has("input[name=cf_f_multi][value=o3][checked]"));
    assert!(!r.has("input[name=cf_f_multi][value=o2][checked]"));
    assert!(r.has("input[type=datetime-local][name=cf_f_datetime][value=\"2026-11-23T09:30\"]"));
}

#[tokio::test]
async fn invalid_and_missing_values_get_errors_next_to_their_fields() {
    let (_app, mut c) = setup().await;
    define(&mut c, "budget", "decimal", &[("required", "1")]).await;
    define(&mut c, "visits", "integer", &[]).await;
    define(&mut c, "site", "url", &[]).await;
    define(&mut c, "level", "select", &[("options", "a|甲|A")]).await;
    let r = c
        .post(
            "/admin/fields/preview?entity=customer",
            &[("cf_budget", ""), ("cf_visits", "三次"), ("cf_site", "example.com"), ("cf_level", "zzz")],
        )
        .await;
    r.assert_status(422);
    assert!(!r.has("#preview-result"), "nothing accepted");
    let err = |name: &str| r.text_of(&format!("[data-custom=cf_{name}] .field-error"));
    assert_eq!(err("budget"), "此项必填");
    assert_eq!(err("visits"), "请输入整数。");
    assert!(err("site").contains("http://"));
    assert_eq!(err("level"), "请选择列表中的选项。");
    // What was typed stays.
    assert_eq!(r.attr("input[name=cf_visits]", "value").as_deref(), Some("三次"));
}

#[tokio::test]
async fn definitions_validate_and_keep_key_and_type_fixed() {
    let (app, mut c) = setup().await;
    let r = c
        .post(
            "/admin/fields",
            &[
                ("entity", "customer"),
                ("key", "Bad Key"),
                ("label_zh", ""),
                ("label_en", "x"),
                ("kind", "select"),
                ("options", ""),
            ],
        )
        .await;
    r.assert_status(422);
    assert!(r.text_of("label.has-error").contains("标识格式不正确"));
    assert!(r.text_of(".has-error").contains("此项必填"));
    assert!(r.text_of(".has-error").contains("至少需要一个选项"));
    define(&mut c, "wechat", "text", &[]).await;
    let r = c
        .post(
            "/admin/fields",
            &[
                ("entity", "customer"),
                ("key", "wechat"),
                ("label_zh", "微信"),
                ("label_en", "WeChat"),
                ("kind", "text"),
            ],
        )
        .await;
    assert!(r.text_of(".field-error").contains("已被使用"));
    // The same key on another entity is fine.
    c.post(
        "/admin/fields",
        &[("entity", "contact"), ("key", "wechat"), ("label_zh", "微信"), ("label_en", "WeChat"), ("kind", "text")],
    )
    .await
    .assert_redirect("/admin/fields?entity=contact");

    let id: i64 = sqlx::query_scalar("SELECT id FROM field_defs WHERE entity = 'customer' AND key = 'wechat'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    c.post(
        &format!("/admin/fields/{id}"),
        &[("key", "other"), ("kind", "integer"), ("label_zh", "微信号"), ("label_en", "WeChat ID")],
    )
    .await;
    let (key, kind, label): (String, String, String) =
        sqlx::query_as("SELECT key, kind, label_zh FROM field_defs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((key.as_str(), kind.as_str(), label.as_str()), ("wechat", "text", "微信号"));
    assert!(
        app.count("SELECT count(*) FROM operation_logs WHERE entity = 'field_def' AND action = 'update'").await >= 1
    );
}

#[tokio::test]
async fn deactivated_fields_leave_the_form_and_reordering_sticks() {
    let (app, mut c) = setup().await;
    for k in ["a1", "b2", "c3"] {
        define(&mut c, k, "text", &[]).await;
    }
    let id = |k: &'static str| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT id FROM field_defs WHERE key = $1")
                .bind(k)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    c.post(&format!("/admin/fields/{}/move", id("c3").await), &[("dir", "up")]).await;
    let order = c.get("/admin/fields?entity=customer").await;
    let keys: Vec<String> = order
        .html()
        .select(&scraper::Selector::parse("#field-defs tbody tr").unwrap())
        .map(|e| e.value().attr("data-field").unwrap().to_string())
        .collect();
    assert_eq!(keys, ["a1", "c3", "b2"]);
    c.post(&format!("/admin/fields/{}/toggle", id("a1").await), &[]).await;
    let form = c.get("/admin/fields/preview?entity=customer").await;
    assert!(!form.has("[name=cf_a1]") && form.has("[name=cf_b2]"));
    assert!(c.get("/admin/fields?entity=customer").await.text_of("tr[data-field=a1]").contains("已停用"));
}

#[tokio::test]
async fn only_field_admins_reach_the_pages() {
    let (app, _) = setup().await;
    app.user("rep", app.root_dept().await, None, &["rep"]).await;
    let mut rep = app.login("rep").await;
    for path in ["/admin/fields", "/admin/fields/new?entity=customer", "/admin/fields/preview"] {
        rep.get(path).await.assert_status(403);
    }
    rep.post(
        "/admin/fields",
        &[("entity", "customer"), ("key", "x"), ("label_zh", "x"), ("label_en", "x"), ("kind", "text")],
    )
    .await
    .assert_status(403);
    assert_eq!(app.count("SELECT count(*) FROM field_defs").await, 0);
}

/// Create a customer through the real form; its id.
async fn customer(app: &TestApp, c: &mut Client, name: &str, custom: &[(&str, &str)]) -> i64 {
    let mut form = vec![("name", name), ("kind", "enterprise")];
    form.extend_from_slice(custom);
    let r = c.post("/customers", &form).await;
    assert_eq!(r.status.as_u16(), 303, "{name}: {}", r.text_of(".field-error"));
    sqlx::query_scalar("SELECT id FROM customers WHERE name = $1").bind(name).fetch_one(&app.db).await.unwrap()
}

async fn custom_of(app: &TestApp, id: i64) -> serde_json::Value {
    sqlx::query_scalar("SELECT custom FROM customers WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap()
}

/// label → shown value of the detail page's custom field list.
fn shown_values(r: &super::common::Resp) -> std::collections::HashMap<String, String> {
    let html = r.html();
    let dt = scraper::Selector::parse("#custom-values dt").unwrap();
    let dd = scraper::Selector::parse("#custom-values dd").unwrap();
    let text = |e: scraper::ElementRef| e.text().collect::<String>().trim().to_string();
    html.select(&dt).map(text).zip(html.select(&dd).map(text)).collect()
}

async fn field_id(app: &TestApp, key: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM field_defs WHERE entity = 'customer' AND key = $1")
        .bind(key)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_type_is_stored_by_the_customer_form_shown_and_edited() {
    let (app, mut c) = setup().await;
    let admin_id: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    for kind in
        ["text", "textarea", "integer", "decimal", "date", "datetime", "boolean", "email", "phone", "url", "user"]
    {
        define(&mut c, &format!("f_{kind}"), kind, &[]).await;
    }
    define(&mut c, "f_select", "select", &[("options", "vip|贵宾|VIP\nnormal|普通|Normal")]).await;
    define(&mut c, "f_multi", "multiselect", &[("options", "红|Red\n绿|Green\n蓝|Blue")]).await;
    let uid = admin_id.to_string();
    let id = customer(
        &app,
        &mut c,
        "全类型客户",
        &[
            ("cf_f_text", "  上海  "),
            ("cf_f_textarea", "第一行\n第二行"),
            ("cf_f_integer", "1,200"),
            ("cf_f_decimal", "99.5"),
            ("cf_f_date", "2026-11-23"),
            ("cf_f_datetime", "2026-11-23T09:30"),
            ("cf_f_boolean", "1"),
            ("cf_f_email", "a@b.cn"),
            ("cf_f_phone", "021-12345678"),
            ("cf_f_url", "https://example.com/x"),
            ("cf_f_user", &uid),
            ("cf_f_select", "vip"),
            ("cf_f_multi", "o1"),
            ("cf_f_multi", "o3"),
        ],
    )
    .await;
    let want = serde_json::json!({
        "f_text": "上海", "f_textarea": "第一行\n第二行", "f_integer": 1200, "f_decimal": "99.5",
        "f_date": "2026-11-23", "f_datetime": "2026-11-23T01:30:00+00:00", "f_boolean": true,
        "f_email": "a@b.cn", "f_phone": "021-12345678", "f_url": "https://example.com/x",
        "f_user": admin_id, "f_select": "vip", "f_multi": ["o1", "o3"],
    });
    assert_eq!(custom_of(&app, id).await, want);

    // The detail page shows each value for people.
    let shown = shown_values(&c.get(&format!("/customers/{id}")).await);
    let expect = [
        ("f_text", "上海"),
        ("f_textarea", "第一行\n第二行"),
        ("f_integer", "1,200"),
        ("f_decimal", "99.50"),
        ("f_date", "2026-11-23"),
        ("f_datetime", "2026-11-23 09:30"),
        ("f_boolean", "是"),
        ("f_email", "a@b.cn"),
        ("f_phone", "021-12345678"),
        ("f_url", "https://example.com/x"),
        ("f_user", "用户admin"),
        ("f_select", "贵宾"),
        ("f_multi", "红、蓝"),
    ];
    assert_eq!(shown.len(), 13, "{shown:?}");
    for (label, value) in expect {
        assert_eq!(shown.get(label).map(String::as_str), Some(value), "{label}");
    }

    // The edit form shows the stored values in their inputs...
    let form = c.get(&format!("/customers/{id}/edit")).await;
    for (name, value) in [
        ("cf_f_text", "上海"),
        ("cf_f_integer", "1200"),
        ("cf_f_decimal", "99.5"),
        ("cf_f_email", "a@b.cn"),
        ("cf_f_phone", "021-12345678"),
        ("cf_f_url", "https://example.com/x"),
    ] {
        assert_eq!(form.attr(&format!("input[name={name}]"), "value").as_deref(), Some(value), "{name}");
    }
    assert_eq!(form.text_of("textarea[name=cf_f_textarea]"), "第一行 第二行");
    assert!(form.has("input[type=date][name=cf_f_date][value=\"2026-11-23\"]"));
    assert!(form.has("input[type=datetime-local][name=cf_f_datetime][value=\"2026-11-23T09:30\"]"));
    assert!(form.has("input[type=checkbox][name=cf_f_boolean][checked]"));
    assert!(form.has(&format!("select[name=cf_f_user] option[value=\"{admin_id}\"][selected]")));
    assert!(form.has("select[name=cf_f_select] option[value=vip][selected]"));
    assert!(
        form.has("input[name=cf_f_multi][value=o1][checked]") && form.has("input[name=cf_f_multi][value=o3][checked]")
    );
    assert!(!form.has("input[name=cf_f_multi][value=o2][checked]"));
    // ...and saving it as shown changes nothing.
    let same = [
        ("name", "全类型客户"),
        ("kind", "enterprise"),
        ("cf_f_text", "上海"),
        ("cf_f_textarea", "第一行\n第二行"),
        ("cf_f_integer", "1200"),
        ("cf_f_decimal", "99.5"),
        ("cf_f_date", "2026-11-23"),
        ("cf_f_datetime", "2026-11-23T09:30"),
        ("cf_f_boolean", "1"),
        ("cf_f_email", "a@b.cn"),
        ("cf_f_phone", "021-12345678"),
        ("cf_f_url", "https://example.com/x"),
        ("cf_f_user", uid.as_str()),
        ("cf_f_select", "vip"),
        ("cf_f_multi", "o1"),
        ("cf_f_multi", "o3"),
    ];
    c.post(&format!("/customers/{id}"), &same).await.assert_redirect(&format!("/customers/{id}"));
    assert_eq!(custom_of(&app, id).await, want);
}

#[tokio::test]
async fn a_disabled_user_or_removed_option_stays_while_unchanged() {
    let (app, mut c) = setup().await;
    define(&mut c, "u", "user", &[]).await;
    define(&mut c, "pick", "select", &[("options", "a|甲|A\nb|乙|B")]).await;
    define(&mut c, "tags", "multiselect", &[("options", "x|X|X\ny|Y|Y")]).await;
    let leaver = app.user("leaver", app.root_dept().await, None, &["rep"]).await.to_string();
    let stale = [("cf_u", leaver.as_str()), ("cf_pick", "b"), ("cf_tags", "x"), ("cf_tags", "y")];
    let id = customer(&app, &mut c, "老客户", &stale).await;

    // The user leaves; option b and y are taken off the fields.
    sqlx::query("UPDATE users SET status = 'disabled' WHERE login = 'leaver'").execute(&app.db).await.unwrap();
    for (key, options) in [("pick", "a|甲|A"), ("tags", "x|X|X")] {
        let fid = field_id(&app, key).await;
        c.post(&format!("/admin/fields/{fid}"), &[("label_zh", key), ("label_en", key), ("options", options)])
            .await
            .assert_redirect("/admin/fields?entity=customer");
    }

    // The edit form still shows them, marked.
    let form = c.get(&format!("/customers/{id}/edit")).await;
    let sel = format!("select[name=cf_u] option[value=\"{leaver}\"][selected]");
    assert_eq!(form.text_of(&sel), "用户leaver（已停用）");
    assert_eq!(form.text_of("select[name=cf_pick] option[value=b][selected]"), "b（已删除的选项）");
    assert!(form.has("input[name=cf_tags][value=y][checked]"));
    assert!(form.text_of("[data-custom=cf_tags]").contains("y（已删除的选项）"));
    // Saving with them unchanged works and keeps them.
    let mut edit = vec![("name", "老客户（改名）"), ("kind", "enterprise")];
    edit.extend_from_slice(&stale);
    c.post(&format!("/customers/{id}"), &edit).await.assert_redirect(&format!("/customers/{id}"));
    let kept = custom_of(&app, id).await;
    assert_eq!(kept["u"].as_i64().map(|v| v.to_string()), Some(leaver.clone()));
    assert_eq!((kept["pick"].clone(), kept["tags"].clone()), (serde_json::json!("b"), serde_json::json!(["x", "y"])));

    // A new customer is neither offered them nor may take them.
    let new_form = c.get("/customers/new").await;
    assert!(!new_form.has(&format!("select[name=cf_u] option[value=\"{leaver}\"]")));
    assert!(!new_form.has("select[name=cf_pick] option[value=b]") && !new_form.has("input[name=cf_tags][value=y]"));
    for bad in [("cf_u", leaver.as_str()), ("cf_pick", "b"), ("cf_tags", "y")] {
        let r = c.post("/customers", &[("name", "新客户"), ("kind", "enterprise"), bad]).await;
        r.assert_status(422);
        assert!(!r.text_of(&format!("[data-custom={}] .field-error", bad.0)).is_empty(), "{bad:?}");
    }
    // Once changed, the old value cannot come back.
    let mut moved = vec![("name", "老客户（改名）"), ("kind", "enterprise"), ("cf_pick", "a")];
    moved.extend_from_slice(&[("cf_u", leaver.as_str()), ("cf_tags", "x")]);
    c.post(&format!("/customers/{id}"), &moved).await.assert_redirect(&format!("/customers/{id}"));
    let back = [("name", "老客户（改名）"), ("kind", "enterprise"), ("cf_pick", "b")];
    c.post(&format!("/customers/{id}"), &back).await.assert_status(422);
    assert_eq!(custom_of(&app, id).await["pick"], "a");
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
}

#[tokio::test]
async fn unique_fields_hold_under_concurrent_saves_and_cannot_be_set_over_repeats() {
    let (app, mut c) = setup().await;
    define(&mut c, "tax_no", "text", &[("is_unique", "1")]).await;
    let mut c2 = app.login("admin").await;
    c2.get("/customers/new").await;
    for round in 0..3 {
        let value = format!("91310000X{round}");
        let (n1, n2) = (format!("甲{round}"), format!("乙{round}"));
        let f1 = [("name", n1.as_str()), ("kind", "enterprise"), ("cf_tax_no", value.as_str())];
        let f2 = [("name", n2.as_str()), ("kind", "enterprise"), ("cf_tax_no", value.as_str())];
        let (r1, r2) = tokio::join!(c.post("/customers", &f1), c2.post("/customers", &f2));
        let got = [r1.status.as_u16(), r2.status.as_u16()];
        assert!(got.contains(&303) && got.contains(&422), "round {round}: {got:?}");
        let holders =
            app.count(&format!("SELECT count(*) FROM customers WHERE custom @> '{{\"tax_no\": \"{value}\"}}'")).await;
        assert_eq!(holders, 1);
    }

    // A field whose stored values already repeat cannot be made unique.
    define(&mut c, "wechat", "text", &[]).await;
    customer(&app, &mut c, "丙", &[("cf_wechat", "same-id")]).await;
    let other = customer(&app, &mut c, "丁", &[("cf_wechat", "same-id")]).await;
    let fid = field_id(&app, "wechat").await;
    let make_unique = [("label_zh", "微信"), ("label_en", "WeChat"), ("is_unique", "1")];
    let r = c.post(&format!("/admin/fields/{fid}"), &make_unique).await;
    r.assert_status(422);
    let error = r.text_of(".has-error .field-error");
    assert!(error.contains("same-id") && error.contains("不能设为唯一"), "{error}");
    assert_eq!(app.count("SELECT count(*) FROM field_defs WHERE key = 'wechat' AND is_unique").await, 0);
    // Once they differ it can.
    c.post(&format!("/customers/{other}"), &[("name", "丁"), ("kind", "enterprise"), ("cf_wechat", "other-id")])
        .await
        .assert_redirect(&format!("/customers/{other}"));
    c.post(&format!("/admin/fields/{fid}"), &make_unique).await.assert_redirect("/admin/fields?entity=customer");
    assert_eq!(app.count("SELECT count(*) FROM field_defs WHERE key = 'wechat' AND is_unique").await, 1);
}

/// Names in the customer list (second column).
fn listed(r: &super::common::Resp) -> Vec<String> {
    let mut v: Vec<String> = r
        .html()
        .select(&scraper::Selector::parse("#list-table tbody tr[data-id] td:nth-child(2) a").unwrap())
        .map(|e| e.text().collect::<String>())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn list_filters_on_dates_times_numbers_flags_choices_and_users() {
    let (app, mut c) = setup().await;
    let admin = sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE login = 'admin'")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .to_string();
    let rep = app.user("rep", app.root_dept().await, None, &["rep"]).await.to_string();
    define(&mut c, "d", "date", &[]).await;
    define(&mut c, "dt", "datetime", &[]).await;
    define(&mut c, "n", "integer", &[]).await;
    define(&mut c, "b", "boolean", &[]).await;
    define(&mut c, "m", "multiselect", &[("options", "o1|一|One\no2|二|Two\no3|三|Three")]).await;
    define(&mut c, "u", "user", &[]).await;
    let rows: [(&str, &[(&str, &str)]); 4] = [
        (
            "甲",
            &[
                ("cf_d", "2026-01-10"),
                ("cf_dt", "2026-01-10T23:30"),
                ("cf_n", "5"),
                ("cf_b", "1"),
                ("cf_m", "o1"),
                ("cf_m", "o2"),
                ("cf_u", &admin),
            ],
        ),
        // 00:30 on Feb 1st in +08:00 is Jan 31st in UTC: filters go by the local day.
        (
            "乙",
            &[("cf_d", "2026-02-01"), ("cf_dt", "2026-02-01T00:30"), ("cf_n", "50"), ("cf_m", "o2"), ("cf_u", &rep)],
        ),
        ("丙", &[("cf_d", "2026-03-15"), ("cf_dt", "2026-03-15T12:00"), ("cf_n", "-3"), ("cf_b", "1"), ("cf_m", "o3")]),
        ("丁", &[]),
    ];
    for (name, custom) in rows {
        customer(&app, &mut c, name, custom).await;
    }
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("cf_d_from=2026-01-10&cf_d_to=2026-02-01".into(), vec!["乙", "甲"]),
        ("cf_d_from=2026-02-02".into(), vec!["丙"]),
        ("cf_d_to=2026-01-09".into(), vec![]),
        ("cf_dt_from=2026-02-01&cf_dt_to=2026-02-01".into(), vec!["乙"]),
        ("cf_dt_to=2026-01-31".into(), vec!["甲"]),
        ("cf_dt_from=2026-01-11".into(), vec!["丙", "乙"]),
        ("cf_n_from=5&cf_n_to=50".into(), vec!["乙", "甲"]),
        ("cf_n_from=10".into(), vec!["乙"]),
        ("cf_n_to=4".into(), vec!["丙"]),
        ("cf_b=1".into(), vec!["丙", "甲"]),
        ("cf_b=0".into(), vec!["丁", "乙"]),
        ("cf_m=o2".into(), vec!["乙", "甲"]),
        ("cf_m=o3".into(), vec!["丙"]),
        (format!("cf_u={admin}"), vec!["甲"]),
        (format!("cf_u={rep}"), vec!["乙"]),
        ("cf_n_from=abc".into(), vec![]),
    ];
    for (query, want) in cases {
        let got = listed(&c.get(&format!("/customers?scene=all&{query}")).await);
        let mut want: Vec<String> = want.into_iter().map(String::from).collect();
        want.sort();
        assert_eq!(got, want, "{query}");
    }
}
