//! The list mechanism on customers: filters, custom-field filters, sorting, paging, scenes,
//! column choice, bulk actions on ticked rows and on everything matching.

use super::common::{Client, TestApp};
use super::{customer, dict_item, id_of};

async fn setup() -> (TestApp, Client, i64) {
    super::common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let c = app.login("admin").await;
    (app, c, admin)
}

fn names(r: &super::common::Resp) -> Vec<String> {
    r.html()
        .select(&scraper::Selector::parse("#list-table tbody tr[data-id] td:nth-child(2) a").unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

#[tokio::test]
async fn filters_narrow_the_list() {
    let (app, mut c, admin) = setup().await;
    let (gd, sz, bj) = (
        dict_item(&app, "region", "广东").await,
        dict_item(&app, "region", "深圳").await,
        dict_item(&app, "region", "北京").await,
    );
    let potential = dict_item(&app, "customer_status", "潜在客户").await;
    for (name, region, status, phone) in [
        ("深圳一号", sz, None, "0755-1"),
        ("广东二号", gd, Some(potential), "020-2"),
        ("北京三号", bj, Some(potential), "010-3"),
    ] {
        let id = customer(&app, name, Some(admin)).await;
        sqlx::query(
            "UPDATE customers SET region_id = $2, status_id = COALESCE($3, status_id), phone = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(region)
        .bind(status)
        .bind(phone)
        .execute(&app.db)
        .await
        .unwrap();
    }
    // A province includes its cities.
    let r = c.get(&format!("/customers?region={gd}")).await;
    let mut n = names(&r);
    n.sort();
    assert_eq!(n, ["广东二号", "深圳一号"]);
    let r = c.get(&format!("/customers?region={gd}&status={potential}")).await;
    assert_eq!(names(&r), ["广东二号"]);
    assert_eq!(names(&c.get("/customers?q=0755").await), ["深圳一号"], "keyword matches phones");
    assert_eq!(names(&c.get("/customers?q=北京").await), ["北京三号"]);
    assert!(names(&c.get("/customers?q=%25").await).is_empty(), "% is a literal, not a wildcard");
    // Date ranges are local days.
    sqlx::query("UPDATE customers SET created_at = '2026-01-31T17:00:00Z' WHERE name = '北京三号'")
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(
        names(&c.get("/customers?created_from=2026-02-01&created_to=2026-02-01").await),
        ["北京三号"],
        "17:00Z is Feb 1st in +08:00"
    );
    // The filter form keeps what was chosen.
    let r = c.get(&format!("/customers?region={gd}&q=号")).await;
    assert_eq!(r.attr("#customer-filters input[name=q]", "value").as_deref(), Some("号"));
    assert!(r.has(&format!("select[name=region] option[value=\"{gd}\"][selected]")));
}

#[tokio::test]
async fn custom_fields_are_filters_and_columns() {
    let (app, mut c, admin) = setup().await;
    for (key, kind, opts) in [("budget", "decimal", ""), ("grade", "select", "a|甲|A\nb|乙|B"), ("note", "text", "")]
    {
        c.post(
            "/admin/fields",
            &[
                ("entity", "customer"),
                ("key", key),
                ("label_zh", key),
                ("label_en", key),
                ("kind", kind),
                ("options", opts),
            ],
        )
        .await;
    }
    for (name, budget, grade, note) in
        [("小单", "500", "b", "普通"), ("中单", "5000", "a", "重点跟进"), ("大单", "50000", "a", "重点")]
    {
        let id = customer(&app, name, Some(admin)).await;
        sqlx::query("UPDATE customers SET custom = jsonb_build_object('budget', $2::text, 'grade', $3::text, 'note', $4::text) WHERE id = $1")
            .bind(id).bind(budget).bind(grade).bind(note).execute(&app.db).await.unwrap();
    }
    let mut got = names(&c.get("/customers?cf_budget_from=1000&cf_budget_to=10000").await);
    got.sort();
    assert_eq!(got, ["中单"], "numeric range, not text comparison");
    let mut got = names(&c.get("/customers?cf_grade=a").await);
    got.sort();
    assert_eq!(got, ["中单", "大单"]);
    assert_eq!(names(&c.get("/customers?cf_note=跟进").await), ["中单"]);
    // The filter panel offers them.
    assert!(c.get("/customers").await.has("select[name=cf_grade] option[value=a]"));

    // Show the custom column, put it first.
    let form = c.get("/customers/columns").await;
    assert!(form.has("tr[data-column=\"cf:budget\"]"));
    c.post(
        "/customers/columns",
        &[
            ("key", "name"),
            ("order", "2"),
            ("key", "cf:budget"),
            ("order", "1"),
            ("show", "name"),
            ("show", "cf:budget"),
        ],
    )
    .await
    .assert_redirect("/customers");
    let list = c.get("/customers?sort=name&dir=asc").await;
    assert_eq!(list.text_of("#list-table thead th:nth-child(2)"), "budget");
    assert_eq!(list.count("#list-table thead th"), 3, "checkbox + two chosen columns");
    assert!(list.text_of("#list-table tbody").contains("50,000.00"));
    // Another user still sees the defaults.
    let other = app.user("other", app.root_dept().await, None, &["super"]).await;
    let _ = other;
    let mut o = app.login("other").await;
    assert!(o.get("/customers").await.count("#list-table thead th") > 5);
    // Reset.
    c.post("/customers/columns/reset", &[]).await;
    assert!(c.get("/customers").await.count("#list-table thead th") > 5);
}

#[tokio::test]
async fn sorting_and_paging_keep_the_filter() {
    let (app, mut c, admin) = setup().await;
    for i in 0..45 {
        customer(&app, &format!("客户{i:02}"), Some(admin)).await;
    }
    let r = c.get("/customers?q=客户&sort=name&dir=asc&per_page=20&page=3").await;
    assert_eq!(names(&r), ["客户40", "客户41", "客户42", "客户43", "客户44"]);
    assert!(r.text_of(".pager").contains("45"));
    let prev = r.attr("a[rel=prev]", "href").unwrap();
    assert!(prev.contains("q=%E5%AE%A2%E6%88%B7") && prev.contains("sort=name") && prev.contains("page=2"), "{prev}");
    // An unknown sort key falls back to the default instead of reaching SQL.
    c.get("/customers?sort=name;drop%20table%20users&dir=asc").await.assert_status(200);
    let r = c.get("/customers?sort=name&dir=desc").await;
    assert_eq!(names(&r)[0], "客户44");
}

#[tokio::test]
async fn scenes_are_saved_renamed_made_default_and_deleted() {
    let (app, mut c, admin) = setup().await;
    let potential = dict_item(&app, "customer_status", "潜在客户").await;
    let a = customer(&app, "潜在甲", Some(admin)).await;
    customer(&app, "无效乙", Some(admin)).await;
    sqlx::query("UPDATE customers SET status_id = $1 WHERE id = $2")
        .bind(potential)
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();

    let q = format!("status={potential}&page=2");
    c.post("/customers/scenes", &[("name", "潜在客户"), ("query", &q)]).await;
    let scene: (i64, String) = sqlx::query_as("SELECT id, query FROM list_scenes").fetch_one(&app.db).await.unwrap();
    assert_eq!(scene.1, format!("status={potential}"), "paging is not part of a scene");
    let list = c.get("/customers?scene=all").await;
    assert!(list.text_of(".scene-tabs").contains("潜在客户"));
    let r = c.get(&format!("/customers?status={potential}")).await;
    assert!(r.text_of(".scene-tabs a.active").contains("潜在客户"), "the saved scene is highlighted");

    c.post(&format!("/customers/scenes/{}/rename", scene.0), &[("name", "我的潜在")]).await;
    c.post(&format!("/customers/scenes/{}/default", scene.0), &[]).await;
    // Opening the list without a filter applies the default scene.
    let r = c.get("/customers").await;
    r.assert_redirect(&format!("/customers?status={potential}"));
    assert_eq!(names(&c.get(&r.location()).await), ["潜在甲"]);
    // Other users do not see it.
    app.user("other", app.root_dept().await, None, &["super"]).await;
    let mut o = app.login("other").await;
    o.get("/customers").await.assert_status(200);
    assert!(!o.get("/customers").await.text_of(".scene-tabs").contains("我的潜在"));
    o.post(&format!("/customers/scenes/{}/delete", scene.0), &[]).await;
    assert_eq!(app.count("SELECT count(*) FROM list_scenes").await, 1, "cannot delete someone else's scene");
    c.post(&format!("/customers/scenes/{}/delete", scene.0), &[]).await;
    assert_eq!(app.count("SELECT count(*) FROM list_scenes").await, 0);
    c.get("/customers").await.assert_status(200);
}

#[tokio::test]
async fn system_scenes_mine_starred_and_shared() {
    let (app, mut c, admin) = setup().await;
    let other = app.user("other", app.root_dept().await, None, &["rep"]).await;
    let mine = customer(&app, "我的客户", Some(admin)).await;
    let theirs = customer(&app, "别人的客户", Some(other)).await;
    assert_eq!(names(&c.get("/customers?scene=mine").await), ["我的客户"]);
    c.post(&format!("/customers/{theirs}/star"), &[]).await;
    assert_eq!(names(&c.get("/customers?scene=starred").await), ["别人的客户"]);
    sqlx::query("INSERT INTO record_shares (entity, record_id, user_id) VALUES ('customer', $1, $2)")
        .bind(mine)
        .bind(other)
        .execute(&app.db)
        .await
        .unwrap();
    let mut o = app.login("other").await;
    let mut shared = names(&o.get("/customers?scene=shared").await);
    shared.sort();
    assert_eq!(shared, ["我的客户"]);
    let mut all = names(&o.get("/customers?scene=all").await);
    all.sort();
    assert_eq!(all, ["别人的客户", "我的客户"], "own plus shared");
}

#[tokio::test]
async fn bulk_actions_on_ticked_rows_and_on_everything_matching() {
    let (app, mut c, admin) = setup().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(customer(&app, &format!("批量{i:02}"), Some(admin)).await);
    }
    customer(&app, "不相干", Some(admin)).await;
    let (a, b) = (ids[0].to_string(), ids[1].to_string());
    c.post("/customers/bulk/star", &[("ids", &a), ("ids", &b), ("filter", "scene=all")])
        .await
        .assert_redirect("/customers?scene=all");
    assert_eq!(app.count("SELECT count(*) FROM stars").await, 2);
    // Everything matching the filter, beyond the first page.
    let r = c.post("/customers/bulk/delete", &[("all", "1"), ("filter", "q=批量&per_page=20")]).await;
    assert!(r.location().starts_with("/customers?q="));
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE deleted_at IS NOT NULL").await, 30);
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE deleted_at IS NULL").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM operation_logs WHERE action = 'delete' AND entity = 'customer'").await,
        30
    );
    let _ = id_of;
}

/// Unfiltered totals come from per-owner counters; they must always equal a real count.
#[tokio::test]
async fn unfiltered_totals_match_a_real_count_through_every_change() {
    let (app, mut c, admin) = setup().await;
    let root = app.root_dept().await;
    let rep = app.user("rep", root, None, &["rep"]).await;
    let mut r = app.login("rep").await;
    let total = |body: &super::common::Resp| -> String {
        body.text_of(".pager > span").split_whitespace().nth(1).unwrap_or("").to_string()
    };
    let check = |c: &mut super::common::Client| {
        let mut c = c.clone();
        async move {
            let fast = c.get("/customers?scene=all").await;
            // A filter that matches everything takes the counting path.
            let counted = c.get("/customers?scene=all&created_from=2000-01-01").await;
            (total(&fast), total(&counted))
        }
    };
    for i in 0..5 {
        super::customer(&app, &format!("计数{i}"), Some(if i < 3 { admin } else { rep })).await;
    }
    let (fast, counted) = check(&mut c).await;
    assert_eq!((fast.as_str(), counted.as_str()), ("5", "5"));
    let (fast, counted) = check(&mut r).await;
    assert_eq!((fast.as_str(), counted.as_str()), ("2", "2"));
    // Delete, transfer, share: the counters follow.
    let a = id_of(&app, "计数0").await;
    c.post(&format!("/customers/{a}/delete"), &[]).await;
    let b = id_of(&app, "计数1").await;
    c.post(&format!("/customers/{b}/transfer"), &[("new_owner", &rep.to_string())]).await;
    let s = id_of(&app, "计数2").await;
    c.post(&format!("/customers/{s}/shares"), &[("user_ids", &rep.to_string())]).await;
    let (fast, counted) = check(&mut c).await;
    assert_eq!((fast.as_str(), counted.as_str()), ("4", "4"));
    let (fast, counted) = check(&mut r).await;
    assert_eq!((fast.as_str(), counted.as_str()), ("4", "4"), "own three plus one shared");
    let mine = r.get("/customers?scene=mine").await;
    assert_eq!(total(&mine), "3");
    c.post("/customers/recycle/restore", &[("ids", &a.to_string())]).await;
    let (fast, counted) = check(&mut c).await;
    assert_eq!((fast.as_str(), counted.as_str()), ("5", "5"));
}

/// Two Chinese characters are found through the name bigram index, three or more through trigrams.
#[tokio::test]
async fn short_chinese_terms_find_names_and_short_names() {
    let (app, mut c, admin) = setup().await;
    let a = customer(&app, "深圳华信科技有限公司", Some(admin)).await;
    customer(&app, "北京博远教育", Some(admin)).await;
    let b = customer(&app, "宏达实业", Some(admin)).await;
    sqlx::query("UPDATE customers SET short_name = '华信宏达' WHERE id = $1").bind(b).execute(&app.db).await.unwrap();
    let mut got = names(&c.get("/customers?scene=all&q=华信").await);
    got.sort();
    assert_eq!(got, ["宏达实业", "深圳华信科技有限公司"]);
    assert_eq!(names(&c.get("/customers?scene=all&q=华信科技").await), ["深圳华信科技有限公司"]);
    // Across the gap between name and short name there is no match.
    assert!(names(&c.get("/customers?scene=all&q=业华").await).is_empty());
    let search = c.get("/search?q=华信").await;
    assert!(search.text_of(".search-hits").contains("深圳华信科技有限公司"));
    let _ = a;
}

/// Two characters find contacts and leads by name too (their own pair indexes), in their lists
/// and in the top bar's search; one character is refused with a message beside the field, on
/// every list and in the top bar's search, and lists nothing.
#[tokio::test]
async fn two_characters_find_contacts_and_leads_and_one_is_too_short() {
    let (app, mut c, admin) = setup().await;
    let id = customer(&app, "远航物流有限公司", Some(admin)).await;
    sqlx::query("INSERT INTO contacts (customer_id, name, owner_id, is_primary) VALUES ($1, '欧阳明月', $2, true)")
        .bind(id)
        .bind(admin)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO leads (name, contact_name, owner_id) VALUES ('星辰数码科技', '司马光', $1)")
        .bind(admin)
        .execute(&app.db)
        .await
        .unwrap();
    let search = c.get("/search?q=%E6%98%8E%E6%9C%88").await; // 明月
    assert!(search.text_of("[data-group=contacts] .search-hits").contains("欧阳明月"));
    let search = c.get("/search?q=%E5%8F%B8%E9%A9%AC").await; // 司马: the lead's contact
    assert!(search.text_of("[data-group=leads] .search-hits").contains("星辰数码科技"));
    let contacts = c.get("/contacts?scene=all&q=%E6%AC%A7%E9%98%B3").await; // 欧阳
    assert!(contacts.text_of("#list-table").contains("欧阳明月"));
    let leads = c.get("/leads?scene=all&q=%E6%95%B0%E7%A0%81").await; // 数码
    assert!(leads.text_of("#list-table").contains("星辰数码科技"));

    for path in ["/customers?scene=all&q=", "/contacts?scene=all&q=", "/leads?scene=all&q=", "/pool?q="] {
        let r = c.get(&format!("{path}%E8%BF%9C")).await; // 远
        r.assert_status(200);
        assert!(r.text_of(".filters .field-error").contains("请至少输入 2 个字"), "{path}");
        assert_eq!(r.count("#list-table tbody tr[data-id]"), 0, "{path} lists nothing");
    }
    let search = c.get("/search?q=%E8%BF%9C").await;
    assert!(search.text_of(".filters .field-error").contains("请至少输入 2 个字"));
    assert_eq!(search.count(".search-group"), 0);
}

/// The benchmark's data set (`crm seed --scale`) is loaded with the counting triggers off and the
/// counters rebuilt at the end: they must match a real count, and the lists must add up for a
/// generated user.
#[tokio::test]
async fn the_benchmark_data_set_keeps_the_owner_counters_true() {
    super::common::init_logging();
    let app = TestApp::new().await;
    crm::seed::scale::seed(&app.db, 0.0001).await.unwrap();
    for (table, entity) in [("customers", "customer"), ("contacts", "contact"), ("leads", "lead")] {
        let rows = app.count(&format!("SELECT count(*) FROM {table} WHERE deleted_at IS NULL")).await;
        assert!(rows >= 100, "{table}: {rows} generated");
        let wrong = app
            .count(&format!(
                "SELECT count(*) FROM
                   (SELECT coalesce(owner_id, 0) AS o, count(*) AS n FROM {table} WHERE deleted_at IS NULL GROUP BY 1) r
                   FULL JOIN (SELECT owner_id AS o, n FROM owner_counts WHERE entity = '{entity}' AND n <> 0) c
                   USING (o)
                 WHERE r.n IS DISTINCT FROM c.n"
            ))
            .await;
        assert_eq!(wrong, 0, "{table}: owners whose counter is off");
    }
    let mut ceo = app.client();
    ceo.login("b0000", crm::seed::scale::PASSWORD).await;
    let total =
        |r: &super::common::Resp| r.text_of(".pager > span").split_whitespace().nth(1).unwrap_or("").to_string();
    let fast = total(&ceo.get("/customers?scene=all").await);
    let counted = total(&ceo.get("/customers?scene=all&created_from=2000-01-01").await);
    assert!(fast.parse::<i64>().unwrap() > 0);
    assert_eq!(fast, counted);
}

/// A keyword matching a large part of the table is counted up to 1,000 ("1,000+"), on the list
/// and in the top bar's search; narrower terms get their exact count.
#[tokio::test]
async fn a_common_keyword_is_counted_up_to_a_thousand() {
    let (app, mut c, admin) = setup().await;
    sqlx::query(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         SELECT 'K' || i, '常见科技' || i, '常见科技' || i,
                (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $1
         FROM generate_series(1, 1001) i",
    )
    .bind(admin)
    .execute(&app.db)
    .await
    .unwrap();
    let total =
        |r: &super::common::Resp| r.text_of(".pager > span").split_whitespace().nth(1).unwrap_or("").to_string();
    assert_eq!(total(&c.get("/customers?scene=all&q=%E5%B8%B8%E8%A7%81").await), "1,000+");
    // "常见科技10" matches 10, 100–109 and 1000–1001.
    assert_eq!(total(&c.get("/customers?scene=all&q=%E5%B8%B8%E8%A7%81%E7%A7%91%E6%8A%8010").await), "13");
    let search = c.get("/search?q=%E5%B8%B8%E8%A7%81").await;
    assert!(search.text_of("h2").contains("(1,000+)"), "{}", search.text_of("h2"));
    // Without a keyword the count is exact.
    assert_eq!(total(&c.get("/customers?scene=all").await), "1,001");
}

/// A default scene saved from the unfiltered list has no query: opening the list shows it in
/// place instead of redirecting to `/path?`, which arrives without a query again (a loop). The
/// same kernel serves every list.
#[tokio::test]
async fn a_default_scene_without_a_filter_opens_the_list_without_a_redirect_loop() {
    let (app, mut c, admin) = setup().await;
    customer(&app, "默认场景", Some(admin)).await;
    for path in ["/customers", "/contacts", "/leads", "/pool"] {
        for query in ["", "per_page=50&page=2"] {
            c.post(&format!("{path}/scenes"), &[("name", "全部"), ("query", query)]).await;
            let id: i64 = sqlx::query_scalar("SELECT id FROM list_scenes WHERE module = $1")
                .bind(path.trim_start_matches('/'))
                .fetch_one(&app.db)
                .await
                .unwrap_or_else(|e| panic!("{path}: scene saved: {e}"));
            sqlx::query("UPDATE list_scenes SET is_default = true WHERE id = $1")
                .bind(id)
                .execute(&app.db)
                .await
                .unwrap();
            c.get(path).await.assert_status(200);
            c.get(&format!("{path}?")).await.assert_status(200);
            sqlx::query("DELETE FROM list_scenes").execute(&app.db).await.unwrap();
        }
    }
    // A default that narrows still applies.
    c.post("/customers/scenes", &[("name", "我的"), ("query", "scene=mine")]).await;
    sqlx::query("UPDATE list_scenes SET is_default = true").execute(&app.db).await.unwrap();
    c.get("/customers").await.assert_redirect("/customers?scene=mine");
}

/// Page sizes 50 and 100 and the jump control: the pager's own form carries the filter along.
#[tokio::test]
async fn the_pager_offers_page_sizes_and_jumps_to_a_page_keeping_the_filter() {
    let (app, mut c, admin) = setup().await;
    sqlx::query(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         SELECT 'P' || i, '分页' || lpad(i::text, 3, '0'), '分页' || lpad(i::text, 3, '0'),
                (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $1
         FROM generate_series(1, 120) i",
    )
    .bind(admin)
    .execute(&app.db)
    .await
    .unwrap();
    customer(&app, "不相干", Some(admin)).await;
    let base = "/customers?q=%E5%88%86%E9%A1%B5&sort=name&dir=asc";
    let r = c.get(&format!("{base}&per_page=50")).await;
    assert_eq!(names(&r).len(), 50);
    assert_eq!(r.text_of(".pager-pos"), "1 / 3");
    assert!(r.has(".pager select[name=per_page] option[value=\"50\"][selected]"));
    let next = r.attr("a[rel=next]", "href").unwrap();
    assert!(next.contains("page=2") && next.contains("per_page=50") && next.contains("q="), "{next}");
    let r = c.get(&format!("{base}&per_page=100&page=2")).await;
    assert_eq!(names(&r).len(), 20);
    assert_eq!(names(&r)[0], "分页101");
    assert_eq!(r.text_of(".pager-pos"), "2 / 2");
    // The jump form: hidden fields keep the filter; submitting it as a browser would.
    let hidden: Vec<(String, String)> = r
        .html()
        .select(&scraper::Selector::parse(".pager-jump input[type=hidden]").unwrap())
        .map(|e| (e.value().attr("name").unwrap().to_string(), e.value().attr("value").unwrap().to_string()))
        .collect();
    assert!(hidden.iter().any(|(k, v)| k == "q" && v == "分页"), "{hidden:?}");
    assert!(hidden.iter().any(|(k, v)| k == "sort" && v == "name"), "{hidden:?}");
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(hidden.iter());
    query.append_pair("page", "3").append_pair("per_page", "50");
    let r = c.get(&format!("/customers?{}", query.finish())).await;
    assert_eq!(names(&r).len(), 20);
    assert_eq!(names(&r)[0], "分页101");
    assert_eq!(r.text_of(".pager-pos"), "3 / 3");
    // A page past the end shows the last one; an odd size falls back to 20.
    assert_eq!(c.get(&format!("{base}&per_page=50&page=9")).await.text_of(".pager-pos"), "3 / 3");
    assert_eq!(names(&c.get(&format!("{base}&per_page=37")).await).len(), 20);
}
