//! Leads: create, scope, transfer, recycle bin, and conversion into customers (fields mapped,
//! contact created, follow-ups and attachments carried over, duplicates, caps, twice refused).

use super::common::{Client, TestApp};
use super::{Org, customer, dict_id, notifications, org};

fn id_from(location: &str, prefix: &str) -> i64 {
    location
        .strip_prefix(prefix)
        .and_then(|s| s.split(['?', '/']).next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{location} is not under {prefix}"))
}

/// A lead created through the form as `login`'s client; returns its id.
async fn new_lead(c: &mut Client, fields: &[(&str, &str)]) -> i64 {
    let r = c.post("/leads", fields).await;
    assert!(r.status.is_redirection(), "lead not created: {}", r.text_of("main"));
    id_from(&r.location(), "/leads/")
}

async fn lead_state(app: &TestApp, id: i64) -> (bool, Option<i64>) {
    sqlx::query_as("SELECT converted_at IS NOT NULL, customer_id FROM leads WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn define_field(app: &TestApp, entity: &str, key: &str, kind: &str, options: &str) {
    sqlx::query(
        "INSERT INTO field_defs (entity, key, label_zh, label_en, kind, options) VALUES ($1, $2, $2, $2, $3, $4::jsonb)",
    )
    .bind(entity)
    .bind(key)
    .bind(kind)
    .bind(options)
    .execute(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn conversion_maps_the_fields_creates_the_contact_and_carries_follow_ups_and_attachments() {
    let o = org().await;
    let app = &o.app;
    define_field(app, "lead", "budget", "text", "[]").await;
    define_field(app, "customer", "budget", "text", "[]").await;
    define_field(app, "lead", "channel", "text", "[]").await;
    let tier = r#"[{"value": "a", "zh": "甲", "en": "A"}, {"value": "b", "zh": "乙", "en": "B"}]"#;
    define_field(app, "lead", "tier", "select", tier).await;
    define_field(app, "customer", "tier", "select", tier).await;
    let website = dict_id(app, "lead_source", "website").await;
    let it = dict_id(app, "industry", "it").await;
    let shanghai = dict_id(app, "region", "310000").await;
    let mut rep1 = app.login("rep1").await;
    let id = new_lead(
        &mut rep1,
        &[
            ("name", "上海星辰软件有限公司"),
            ("contact_name", "周经理"),
            ("phone", "021-66668888"),
            ("mobile", "13912345678"),
            ("email", "zhou@xingchen.example"),
            ("address", "浦东新区张江路 100 号"),
            ("source_id", &website.to_string()),
            ("industry_id", &it.to_string()),
            ("region_id", &shanghai.to_string()),
            ("level", "3"),
            ("notes", "展会上留的名片"),
            ("cf_budget", "五十万"),
            ("cf_channel", "展会"),
            ("cf_tier", "b"),
        ],
    )
    .await;
    let method = dict_id(app, "followup_method", "phone").await;
    rep1.post(
        &format!("/leads/{id}/followups"),
        &[("method_id", &method.to_string()), ("content", "初次电话沟通需求")],
    )
    .await
    .assert_redirect(&format!("/leads/{id}?tab=timeline"));
    let r = rep1
        .post_multipart(
            &format!("/leads/{id}/attachments"),
            &[],
            &[("file", "需求.txt", "text/plain", b"needs".to_vec())],
        )
        .await;
    assert!(r.status.is_redirection());

    let page = rep1.get(&format!("/leads/{id}/convert")).await;
    page.assert_status(200);
    assert!(page.text_of("#convert-preview").contains("周经理"));
    assert!(page.text_of("#dup-hits").contains("没有找到重复的客户"));
    let r = rep1.post(&format!("/leads/{id}/convert"), &[("mode", "new")]).await;
    assert!(r.status.is_redirection(), "{}", r.text_of("main"));
    let cid = id_from(&r.location(), "/customers/");

    // Fields mapped.
    #[derive(sqlx::FromRow)]
    struct Row {
        name: String,
        level: i16,
        source: Option<String>,
        industry_id: Option<i64>,
        region_id: Option<i64>,
        phone: Option<String>,
        mobile: Option<String>,
        email: Option<String>,
        description: Option<String>,
        owner_id: Option<i64>,
        lead_id: Option<i64>,
        custom: serde_json::Value,
        last_followup_at: Option<chrono::DateTime<chrono::Utc>>,
    }
    let c: Row = sqlx::query_as(
        "SELECT c.name, c.level, s.code AS source, c.industry_id, c.region_id, c.phone, c.mobile, c.email, c.description,
                c.owner_id, c.lead_id, c.custom, c.last_followup_at
         FROM customers c LEFT JOIN dict_items s ON s.id = c.source_id WHERE c.id = $1",
    )
    .bind(cid)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(c.name, "上海星辰软件有限公司");
    assert_eq!(c.level, 3);
    assert_eq!(c.source.as_deref(), Some("website"), "lead source maps to the customer source of the same code");
    assert_eq!((c.industry_id, c.region_id), (Some(it), Some(shanghai)));
    assert_eq!(c.phone.as_deref(), Some("021-66668888"));
    assert_eq!(c.mobile.as_deref(), Some("13912345678"));
    assert_eq!(c.email.as_deref(), Some("zhou@xingchen.example"));
    assert_eq!(c.description.as_deref(), Some("展会上留的名片"));
    assert_eq!(c.owner_id, Some(o.rep1));
    assert_eq!(c.lead_id, Some(id), "the customer links back to the lead");
    assert_eq!(c.custom, serde_json::json!({ "budget": "五十万", "tier": "b" }), "custom fields map by key");
    assert!(c.last_followup_at.is_some());
    assert_eq!(app.count(&format!("SELECT count(*) FROM customer_addresses WHERE customer_id = {cid}")).await, 1);

    // A primary contact from the lead.
    let (cname, primary, cmobile, cowner): (String, bool, Option<String>, Option<i64>) =
        sqlx::query_as("SELECT name, is_primary, mobile, owner_id FROM contacts WHERE customer_id = $1")
            .bind(cid)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (cname.as_str(), primary, cmobile.as_deref(), cowner),
        ("周经理", true, Some("13912345678"), Some(o.rep1))
    );

    // Follow-ups and attachments carried over; the lead is converted, read-only and linked.
    assert_eq!(app.count(&format!("SELECT count(*) FROM followups WHERE customer_id = {cid}")).await, 1);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM attachments WHERE entity = 'customer' AND record_id = {cid}")).await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM attachments WHERE entity = 'lead'").await, 0);
    let timeline = rep1.get(&format!("/customers/{cid}?tab=timeline")).await;
    assert!(timeline.text_of("#timeline").contains("初次电话沟通需求"));
    let shown = rep1.get(&format!("/customers/{cid}")).await;
    assert_eq!(shown.attr("#lead-link", "href"), Some(format!("/leads/{id}")));
    assert_eq!(lead_state(app, id).await, (true, Some(cid)));
    let lead_page = rep1.get(&format!("/leads/{id}")).await;
    assert_eq!(lead_page.attr("#customer-link", "href"), Some(format!("/customers/{cid}")));
    assert!(!lead_page.has("#convert-btn"), "no second conversion offered");
    rep1.get(&format!("/leads/{id}/edit")).await.assert_status(409);
    rep1.post(&format!("/leads/{id}/followups"), &[("method_id", &method.to_string()), ("content", "再跟进")])
        .await
        .assert_status(409);
    let history = rep1.get(&format!("/customers/{cid}?tab=history")).await;
    assert!(history.text_of("#tab-history").contains("由线索转化创建了客户"), "{}", history.text_of("#tab-history"));
    let lead_history = rep1.get(&format!("/leads/{id}?tab=history")).await;
    assert!(lead_history.text_of("#tab-history").contains("把线索转化为客户"));
}

#[tokio::test]
async fn converting_twice_is_refused_even_at_the_same_moment() {
    let o = org().await;
    let mut rep1 = o.app.login("rep1").await;
    let id = new_lead(&mut rep1, &[("name", "重复转化公司"), ("level", "1")]).await;
    rep1.post(&format!("/leads/{id}/convert"), &[("mode", "new")]).await;
    let again = rep1.post(&format!("/leads/{id}/convert"), &[("mode", "new")]).await;
    again.assert_status(409);
    assert!(again.text_of("main").contains("已转化"));
    assert_eq!(o.app.count("SELECT count(*) FROM customers").await, 1);

    // Two conversions racing: one customer.
    let other = new_lead(&mut rep1, &[("name", "并发转化公司"), ("level", "1")]).await;
    let mut a = rep1.clone();
    let mut b = rep1.clone();
    let path = format!("/leads/{other}/convert");
    let (ra, rb) = tokio::join!(a.post(&path, &[("mode", "new")]), b.post(&path, &[("mode", "new")]));
    let ok = [&ra, &rb].iter().filter(|r| r.status.is_redirection()).count();
    assert_eq!(ok, 1, "exactly one conversion wins: {} / {}", ra.status, rb.status);
    assert_eq!(o.app.count("SELECT count(*) FROM customers WHERE name = '并发转化公司'").await, 1);
}

#[tokio::test]
async fn duplicates_block_or_warn_and_the_lead_can_be_attached_instead() {
    let o = org().await;
    let app = &o.app;
    let existing = customer(app, "华信科技", Some(o.rep1)).await;
    let others = customer(app, "北方重工", Some(o.north_rep)).await;
    let mut rep1 = app.login("rep1").await;

    // Same name: the default rule blocks; attaching is offered.
    let lead = new_lead(&mut rep1, &[("name", "华信科技"), ("contact_name", "吴总"), ("level", "2")]).await;
    let method = dict_id(app, "followup_method", "visit").await;
    rep1.post(&format!("/leads/{lead}/followups"), &[("method_id", &method.to_string()), ("content", "上门拜访")])
        .await;
    let page = rep1.get(&format!("/leads/{lead}/convert")).await;
    assert!(page.has("#convert-blocked"));
    assert!(page.has(&format!("#dup-hits li[data-customer=\"{existing}\"] form.attach-form")));
    let refused = rep1.post(&format!("/leads/{lead}/convert"), &[("mode", "new"), ("confirm_dup", "1")]).await;
    refused.assert_status(422);
    assert!(refused.text_of("#convert-error").contains("华信科技"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 2);
    let r = rep1
        .post(&format!("/leads/{lead}/convert"), &[("mode", "attach"), ("customer_id", &existing.to_string())])
        .await;
    r.assert_redirect(&format!("/customers/{existing}"));
    assert_eq!(lead_state(app, lead).await, (true, Some(existing)));
    let lead_id: Option<i64> = sqlx::query_scalar("SELECT lead_id FROM customers WHERE id = $1")
        .bind(existing)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(lead_id, Some(lead));
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM contacts WHERE customer_id = {existing} AND name = '吴总'")).await,
        1
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM followups WHERE customer_id = {existing}")).await, 1);

    // A customer the user cannot change is not offered, and cannot be attached to by hand.
    let lead2 = new_lead(&mut rep1, &[("name", "北方重工"), ("level", "1")]).await;
    let page = rep1.get(&format!("/leads/{lead2}/convert")).await;
    assert!(page.text_of("#dup-hits").contains("用户north_rep"), "the owner is named: {}", page.text_of("#dup-hits"));
    assert!(!page.has("form.attach-form"));
    rep1.post(&format!("/leads/{lead2}/convert"), &[("mode", "attach"), ("customer_id", &others.to_string())])
        .await
        .assert_status(404);

    // Same phone: a warning; confirming goes ahead.
    sqlx::query("UPDATE customers SET phone = '021-12345678' WHERE id = $1")
        .bind(existing)
        .execute(&app.db)
        .await
        .unwrap();
    let lead3 = new_lead(&mut rep1, &[("name", "华信分公司"), ("phone", "021 1234 5678"), ("level", "1")]).await;
    let warned = rep1.post(&format!("/leads/{lead3}/convert"), &[("mode", "new")]).await;
    warned.assert_status(200);
    assert!(warned.text_of("#convert-error").contains("可能与已有客户重复"));
    assert!(warned.has("input[name=confirm_dup]"));
    assert_eq!(lead_state(app, lead3).await, (false, None));
    let r = rep1.post(&format!("/leads/{lead3}/convert"), &[("mode", "new"), ("confirm_dup", "1")]).await;
    assert!(r.location().starts_with("/customers/"));
    assert!(lead_state(app, lead3).await.0);
}

#[tokio::test]
async fn the_owners_cap_refuses_conversion_single_and_bulk() {
    let o = org().await;
    let app = &o.app;
    customer(app, "已有客户", Some(o.rep1)).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 1)")
        .bind(o.rep1)
        .execute(&app.db)
        .await
        .unwrap();
    let mut rep1 = app.login("rep1").await;
    let lead = new_lead(&mut rep1, &[("name", "超出上限公司"), ("level", "1")]).await;
    let r = rep1.post(&format!("/leads/{lead}/convert"), &[("mode", "new")]).await;
    r.assert_status(422);
    assert!(r.text_of("#convert-error").contains("上限"), "{}", r.text_of("#convert-error"));
    assert_eq!(lead_state(app, lead).await, (false, None));

    // Bulk: the clean lead would convert, but the cap stops it too; lifting it lets both through.
    let lead2 = new_lead(&mut rep1, &[("name", "第二家公司"), ("level", "1")]).await;
    let r = rep1.post("/leads/bulk/convert", &[("ids", &lead.to_string()), ("ids", &lead2.to_string())]).await;
    assert!(r.status.is_redirection());
    let flash = rep1.get("/leads").await.text_of(".flash-error");
    assert!(flash.contains("上限"), "{flash}");
    assert_eq!(app.count("SELECT count(*) FROM leads WHERE converted_at IS NOT NULL").await, 0);
    sqlx::query("UPDATE customer_caps SET max_owned = 10").execute(&app.db).await.unwrap();
    rep1.post("/leads/bulk/convert", &[("ids", &lead.to_string()), ("ids", &lead2.to_string())]).await;
    assert!(rep1.get("/leads").await.text_of(".flash-success").contains("已转化 2 条线索"));
    assert_eq!(app.count("SELECT count(*) FROM leads WHERE converted_at IS NOT NULL").await, 2);
}

#[tokio::test]
async fn bulk_conversion_skips_possible_duplicates() {
    let o = org().await;
    let app = &o.app;
    customer(app, "已在系统", Some(o.rep2)).await;
    let mut rep1 = app.login("rep1").await;
    let clean = new_lead(&mut rep1, &[("name", "全新客户甲"), ("level", "1")]).await;
    let dup = new_lead(&mut rep1, &[("name", "已在系统"), ("level", "1")]).await;
    rep1.post("/leads/bulk/convert", &[("ids", &clean.to_string()), ("ids", &dup.to_string())]).await;
    let page = rep1.get("/leads").await;
    assert!(page.text_of(".flash-success").contains("已转化 1 条线索"));
    assert!(page.text_of(".flash-error").contains("已在系统"));
    assert!(lead_state(app, clean).await.0);
    assert_eq!(lead_state(app, dup).await, (false, None));
}

/// The unfiltered list's total comes from the owner counters; it must equal a real count, for
/// leads with and without an owner, through transfer, sharing and the recycle bin.
#[tokio::test]
async fn unfiltered_totals_match_a_real_count() {
    let Org { app, rep1, rep2, .. } = org().await;
    let mut admin = app.login("admin").await;
    let mut c1 = app.login("rep1").await;
    let mut c2 = app.login("rep2").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(new_lead(&mut c1, &[("name", &format!("计数线索{i}")), ("level", "1")]).await);
    }
    new_lead(&mut c2, &[("name", "计数线索x"), ("level", "1")]).await;
    sqlx::query("UPDATE leads SET owner_id = NULL WHERE id = $1").bind(ids[3]).execute(&app.db).await.unwrap();
    c1.post(&format!("/leads/{}/delete", ids[0]), &[]).await;
    c1.post(&format!("/leads/{}/transfer", ids[1]), &[("new_owner", &rep2.to_string())]).await;
    sqlx::query("INSERT INTO record_shares (entity, record_id, user_id) VALUES ('lead', $1, $2)")
        .bind(ids[2])
        .bind(rep2)
        .execute(&app.db)
        .await
        .unwrap();
    let total =
        |r: &super::common::Resp| r.text_of(".pager > span").split_whitespace().nth(1).unwrap_or("").to_string();
    for (who, c, n, mine) in [("admin", &mut admin, "4", "0"), ("rep1", &mut c1, "1", "1"), ("rep2", &mut c2, "3", "2")]
    {
        let fast = total(&c.get("/leads?scene=all").await);
        // A filter that matches everything takes the counting path.
        let counted = total(&c.get("/leads?scene=all&created_from=2000-01-01").await);
        assert_eq!((who, fast.as_str(), counted.as_str()), (who, n, n));
        assert_eq!((who, total(&c.get("/leads?scene=mine").await).as_str()), (who, mine));
    }
    let _ = rep1;
}

async fn visible(c: &mut Client, id: i64) -> u16 {
    c.get(&format!("/leads/{id}")).await.status.as_u16()
}

#[tokio::test]
async fn leads_follow_the_scope_move_between_owners_and_go_through_the_recycle_bin() {
    let Org { app, rep1, rep2, .. } = org().await;
    let mut c1 = app.login("rep1").await;
    let mut c2 = app.login("rep2").await;
    let mut mgr = app.login("mgr").await;
    c1.post("/leads", &[("name", "范围测试线索"), ("level", "2"), ("phone", "12")]).await.assert_status(422);
    let r = c1.post("/leads", &[("name", ""), ("level", "9")]).await;
    r.assert_status(422);
    assert!(r.text_of("#lead-form").contains("此项必填"));
    let id = new_lead(&mut c1, &[("name", "范围测试线索"), ("level", "2")]).await;
    assert_eq!(visible(&mut c1, id).await, 200);
    assert_eq!(visible(&mut c2, id).await, 404);
    assert_eq!(visible(&mut mgr, id).await, 200, "the manager sees the department's leads");
    assert!(c1.get("/leads?scene=mine").await.text_of("#list-table").contains("范围测试线索"));
    assert!(!c2.get("/leads").await.text_of("#list-table").contains("范围测试线索"));

    // Edit, then transfer to rep2: rep2 is told and sees it; rep1 no longer does.
    c1.post(&format!("/leads/{id}"), &[("name", "范围测试线索（改）"), ("level", "4")])
        .await
        .assert_redirect(&format!("/leads/{id}"));
    c2.post(&format!("/leads/{id}/transfer"), &[("new_owner", &rep2.to_string())]).await.assert_status(404);
    c1.post(&format!("/leads/{id}/transfer"), &[("new_owner", &rep2.to_string())]).await;
    assert_eq!(notifications(&app, rep2, "lead_transfer_in").await, 1);
    assert_eq!(visible(&mut c2, id).await, 200);
    assert_eq!(visible(&mut c1, id).await, 404);
    let history = c2.get(&format!("/leads/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("转移了线索") && history.contains("级别"), "{history}");

    // Bulk transfer back, then delete to the recycle bin and restore.
    c2.post("/leads/bulk/transfer", &[("ids", &id.to_string()), ("new_owner", &rep1.to_string())]).await;
    assert_eq!(visible(&mut c1, id).await, 200);
    c1.post(&format!("/leads/{id}/delete"), &[]).await.assert_redirect("/leads");
    assert_eq!(visible(&mut c1, id).await, 404);
    assert!(c1.get("/leads/recycle").await.text_of("#recycle-table").contains("范围测试线索"));
    c1.post("/leads/recycle/restore", &[("ids", &id.to_string())]).await;
    assert_eq!(visible(&mut c1, id).await, 200);
    let _ = rep1;
}

#[tokio::test]
async fn a_level_seven_lead_becomes_a_customer_that_asks_for_the_next_status() {
    let o = org().await;
    let mut rep1 = o.app.login("rep1").await;
    let id = new_lead(&mut rep1, &[("name", "七级线索公司"), ("level", "7")]).await;
    let r = rep1.post(&format!("/leads/{id}/convert"), &[("mode", "new")]).await;
    assert!(r.status.is_redirection(), "{}", r.text_of("main"));
    let cid = id_from(&r.location(), "/customers/");
    let level: i16 =
        sqlx::query_scalar("SELECT level FROM customers WHERE id = $1").bind(cid).fetch_one(&o.app.db).await.unwrap();
    assert_eq!(level, 7);
    let (inst, status): (i64, String) = sqlx::query_as(
        "SELECT id, status FROM approval_instances WHERE subject = 'customer_status' AND record_id = $1",
    )
    .bind(cid)
    .fetch_one(&o.app.db)
    .await
    .unwrap();
    assert_eq!(status, "pending", "the upgrade request goes out as when a customer reaches level 7");
    let approvers: Vec<i64> = sqlx::query_scalar("SELECT approver_id FROM approval_tasks WHERE instance_id = $1")
        .bind(inst)
        .fetch_all(&o.app.db)
        .await
        .unwrap();
    assert_eq!(approvers, vec![o.mgr], "the owner's direct superior");
    assert_eq!(notifications(&o.app, o.mgr, "approval_task").await, 1);
    let card = rep1.get(&format!("/customers/{cid}")).await;
    assert!(card.text_of("#approval-badge").starts_with("待审批："), "{}", card.text_of("#approval-badge"));

    // A lead below 7 asks for nothing.
    let low = new_lead(&mut rep1, &[("name", "六级线索公司"), ("level", "6")]).await;
    rep1.post(&format!("/leads/{low}/convert"), &[("mode", "new")]).await;
    assert_eq!(o.app.count("SELECT count(*) FROM approval_instances").await, 1);
}

#[tokio::test]
async fn custom_values_clashing_with_a_unique_customer_field_are_reported() {
    let o = org().await;
    let app = &o.app;
    define_field(app, "lead", "tax_no", "text", "[]").await;
    define_field(app, "customer", "tax_no", "text", "[]").await;
    define_field(app, "lead", "budget", "text", "[]").await;
    define_field(app, "customer", "budget", "text", "[]").await;
    sqlx::query(
        "UPDATE field_defs SET is_unique = true, label_zh = '税号' WHERE entity = 'customer' AND key = 'tax_no'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let other = customer(app, "已有税号公司", Some(o.rep2)).await;
    sqlx::query("UPDATE customers SET custom = '{\"tax_no\": \"91310000X\"}' WHERE id = $1")
        .bind(other)
        .execute(&app.db)
        .await
        .unwrap();
    let mut rep1 = app.login("rep1").await;
    let id = new_lead(
        &mut rep1,
        &[("name", "税号冲突公司"), ("level", "1"), ("cf_tax_no", "91310000X"), ("cf_budget", "十万")],
    )
    .await;
    let r = rep1.post(&format!("/leads/{id}/convert"), &[("mode", "new")]).await;
    assert!(r.status.is_redirection(), "{}", r.text_of("main"));
    let cid = id_from(&r.location(), "/customers/");
    let custom: serde_json::Value =
        sqlx::query_scalar("SELECT custom FROM customers WHERE id = $1").bind(cid).fetch_one(&app.db).await.unwrap();
    assert_eq!(custom, serde_json::json!({ "budget": "十万" }), "the clashing value stays behind");
    let page = rep1.get(&format!("/customers/{cid}")).await;
    let warning = page.text_of(".flash-warning");
    assert!(warning.contains("税号") && warning.contains("已被其他客户使用"), "{}", page.text_of("main"));
    assert!(!warning.contains("budget"));
}

#[tokio::test]
async fn a_converted_lead_refuses_edit_delete_transfer_and_uploads() {
    let o = org().await;
    let app = &o.app;
    let mut rep1 = app.login("rep1").await;
    let id = new_lead(&mut rep1, &[("name", "只读线索公司"), ("level", "2")]).await;
    rep1.post(&format!("/leads/{id}/convert"), &[("mode", "new")]).await;
    let converted = || async {
        sqlx::query_as::<_, (String, i16, Option<i64>, bool)>(
            "SELECT name, level, owner_id, deleted_at IS NOT NULL FROM leads WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
    };
    let before = converted().await;
    rep1.get(&format!("/leads/{id}/edit")).await.assert_status(409);
    rep1.post(&format!("/leads/{id}"), &[("name", "改名"), ("level", "3")]).await.assert_status(409);
    rep1.post(&format!("/leads/{id}/delete"), &[]).await.assert_status(409);
    rep1.post("/leads/bulk/delete", &[("ids", &id.to_string())]).await;
    rep1.get(&format!("/leads/{id}/transfer")).await.assert_status(409);
    rep1.post(&format!("/leads/{id}/transfer"), &[("new_owner", &o.rep2.to_string())]).await.assert_status(409);
    rep1.post("/leads/bulk/transfer", &[("ids", &id.to_string()), ("new_owner", &o.rep2.to_string())]).await;
    let r = rep1
        .post_multipart(
            &format!("/leads/{id}/attachments"),
            &[],
            &[("file", "晚到.txt", "text/plain", b"late".to_vec())],
        )
        .await;
    r.assert_status(403);
    assert_eq!(converted().await, before, "nothing changed");
    assert_eq!(app.count("SELECT count(*) FROM attachments").await, 0);
    assert_eq!(notifications(app, o.rep2, "lead_transfer_in").await, 0);
    // A super admin is refused too.
    let mut admin = app.login("admin").await;
    admin.post(&format!("/leads/{id}/transfer"), &[("new_owner", &o.rep2.to_string())]).await.assert_status(409);
    admin.post(&format!("/leads/{id}/delete"), &[]).await.assert_status(409);
}
