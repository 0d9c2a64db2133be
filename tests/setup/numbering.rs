//! Numbering rules: unique numbers under concurrent creation, reset periods across local
//! month/year boundaries, preview and batches, and the admin page (list, edit, validation, access).

use std::collections::BTreeSet;

use chrono::{DateTime, FixedOffset, Utc};
use crm::numbering::{self, DatePart, Reset, Rule};

use super::common::{self, Client, TestApp};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

async fn app() -> TestApp {
    common::init_logging();
    TestApp::new().await
}

async fn admin() -> (TestApp, Client) {
    let app = app().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

/// One number in its own committed transaction.
async fn issue(app: &TestApp, kind: &str, when: DateTime<Utc>) -> String {
    let mut tx = app.db.begin().await.unwrap();
    let n = numbering::next(&mut tx, kind, when, china()).await.unwrap();
    tx.commit().await.unwrap();
    n
}

async fn set_rule(app: &TestApp, kind: &str, prefix: &str, date: &str, width: i32, reset: &str) {
    sqlx::query("UPDATE number_rules SET prefix = $2, date_part = $3, width = $4, reset = $5 WHERE kind = $1")
        .bind(kind)
        .bind(prefix)
        .bind(date)
        .bind(width)
        .bind(reset)
        .execute(&app.db)
        .await
        .unwrap();
}

type StoredRule = (String, String, i32, String);

async fn stored(app: &TestApp, kind: &str) -> StoredRule {
    sqlx::query_as("SELECT prefix, date_part, width, reset FROM number_rules WHERE kind = $1")
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn fifty_concurrent_creations_get_fifty_distinct_well_formed_numbers() {
    let app = app().await;
    let tz = app.config.timezone;
    let now = Utc::now();
    let month = now.with_timezone(&tz).format("%Y%m").to_string();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let db = app.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let n = numbering::next(&mut tx, "customer", now, tz).await.unwrap();
            tx.commit().await.unwrap();
            n
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    let distinct: BTreeSet<&String> = numbers.iter().collect();
    assert_eq!(distinct.len(), 50, "{numbers:?}");
    let mut counters = Vec::new();
    for n in &numbers {
        let rest = n.strip_prefix(&format!("KH{month}")).unwrap_or_else(|| panic!("{n} lacks KH{month}"));
        assert!(rest.len() == 5 && rest.chars().all(|c| c.is_ascii_digit()), "{n}");
        counters.push(rest.parse::<i64>().unwrap());
    }
    counters.sort();
    assert_eq!(counters, (1..=50).collect::<Vec<_>>(), "no gaps without rollbacks");
}

#[tokio::test]
async fn a_rolled_back_creation_gives_its_number_back() {
    let app = app().await;
    let when = at("2026-11-23T10:00:00+08:00");
    assert_eq!(issue(&app, "customer", when).await, "KH20261100001");
    let mut tx = app.db.begin().await.unwrap();
    let lost = numbering::next(&mut tx, "customer", when, china()).await.unwrap();
    assert_eq!(lost, "KH20261100002");
    tx.rollback().await.unwrap();
    assert_eq!(issue(&app, "customer", when).await, "KH20261100002");
}

#[tokio::test]
async fn monthly_and_daily_counters_restart_at_the_local_boundary() {
    let app = app().await;
    let jan_end = at("2026-01-31T23:59:00+08:00");
    let feb_start = at("2026-02-01T00:01:00+08:00");
    assert_eq!(issue(&app, "customer", jan_end).await, "KH20260100001");
    assert_eq!(issue(&app, "customer", jan_end).await, "KH20260100002");
    assert_eq!(issue(&app, "customer", feb_start).await, "KH20260200001");
    // Still January in UTC, but already 1 February 00:30 in +08:00.
    assert_eq!(issue(&app, "customer", at("2026-01-31T16:30:00Z")).await, "KH20260200002");
    // 15:59 UTC is 23:59 local: the January counter carries on.
    assert_eq!(issue(&app, "customer", at("2026-01-31T15:59:00Z")).await, "KH20260100003");

    // Contracts reset daily.
    assert_eq!(issue(&app, "contract", jan_end).await, "HT202601310001");
    assert_eq!(issue(&app, "contract", jan_end).await, "HT202601310002");
    assert_eq!(issue(&app, "contract", feb_start).await, "HT202602010001");
    assert_eq!(issue(&app, "payment", feb_start).await, "HK202602010001");

    let periods: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT kind, period, value FROM number_counters ORDER BY kind, period")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let expect = |k: &str, p: &str, v: i64| (k.to_string(), p.to_string(), v);
    assert_eq!(
        periods,
        vec![
            expect("contract", "20260131", 2),
            expect("contract", "20260201", 1),
            expect("customer", "202601", 3),
            expect("customer", "202602", 2),
            expect("payment", "20260201", 1),
        ]
    );
}

#[tokio::test]
async fn yearly_counters_restart_at_new_year_and_never_reset_ones_continue() {
    let app = app().await;
    set_rule(&app, "contract", "HT", "yyyy", 4, "yearly").await;
    let dec_end = at("2026-12-31T23:59:00+08:00");
    let jan_start = at("2027-01-01T00:01:00+08:00");
    assert_eq!(issue(&app, "contract", dec_end).await, "HT20260001");
    assert_eq!(issue(&app, "contract", dec_end).await, "HT20260002");
    assert_eq!(issue(&app, "contract", jan_start).await, "HT20270001");
    assert_eq!(issue(&app, "contract", at("2026-12-31T16:30:00Z")).await, "HT20270002", "already 2027 in +08:00");

    // Never reset: one counter across years, whatever the date part shows.
    set_rule(&app, "payment", "HK", "yyyy", 4, "never").await;
    assert_eq!(issue(&app, "payment", dec_end).await, "HK20260001");
    assert_eq!(issue(&app, "payment", jan_start).await, "HK20270002");
    assert_eq!(issue(&app, "payment", dec_end).await, "HK20260003");
    set_rule(&app, "customer", "C-", "none", 3, "never").await;
    assert_eq!(issue(&app, "customer", dec_end).await, "C-001");
    assert_eq!(issue(&app, "customer", jan_start).await, "C-002");
}

#[tokio::test]
async fn a_reset_finer_than_the_date_part_cannot_be_stored() {
    let app = app().await;
    let r = sqlx::query("UPDATE number_rules SET date_part = 'yyyyMM', reset = 'daily' WHERE kind = 'contract'")
        .execute(&app.db)
        .await;
    assert!(r.is_err(), "the table refuses a daily reset without a day");
    assert!(Reset::Daily.fits(DatePart::Day));
    assert!(!Reset::Daily.fits(DatePart::Month));
    assert!(Reset::Monthly.fits(DatePart::Day) && Reset::Monthly.fits(DatePart::Month));
    assert!(!Reset::Monthly.fits(DatePart::Year));
    assert!(Reset::Yearly.fits(DatePart::Year) && !Reset::Yearly.fits(DatePart::None));
    assert!(DatePart::ALL.iter().all(|d| Reset::Never.fits(*d)));
}

#[tokio::test]
async fn preview_does_not_consume_and_batches_are_consecutive() {
    let app = app().await;
    let when = at("2026-11-23T10:00:00+08:00");
    let tz = china();
    let preview = numbering::preview(&app.db, "customer", when, tz).await.unwrap();
    assert_eq!(preview, "KH20261100001");
    assert_eq!(numbering::preview(&app.db, "customer", when, tz).await.unwrap(), preview);
    assert_eq!(issue(&app, "customer", when).await, "KH20261100001");
    assert_eq!(numbering::preview(&app.db, "customer", when, tz).await.unwrap(), "KH20261100002");

    let mut tx = app.db.begin().await.unwrap();
    let batch = numbering::next_batch(&mut tx, "customer", 5, when, tz).await.unwrap();
    assert!(numbering::next_batch(&mut tx, "customer", 0, when, tz).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    assert_eq!(batch, (2..=6).map(|i| format!("KH202611{i:05}")).collect::<Vec<_>>());
    assert_eq!(issue(&app, "customer", when).await, "KH20261100007");

    // Unknown kinds are errors, not numbers.
    let mut conn = app.db.acquire().await.unwrap();
    assert!(numbering::next(&mut conn, "nothing", when, tz).await.is_err());
    assert!(numbering::preview(&app.db, "nothing", when, tz).await.is_err());
}

#[test]
fn rules_format_numbers_and_periods() {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let rule = |date_part, width, reset| Rule { kind: "x".into(), prefix: "KH".into(), date_part, width, reset };
    assert_eq!(rule(DatePart::Month, 5, Reset::Monthly).format(day, 1), "KH20261100001");
    assert_eq!(rule(DatePart::Day, 4, Reset::Daily).format(day, 12), "KH202611230012");
    assert_eq!(rule(DatePart::Year, 3, Reset::Yearly).format(day, 7), "KH2026007");
    assert_eq!(rule(DatePart::None, 2, Reset::Never).format(day, 123), "KH123");
    assert_eq!(rule(DatePart::None, 2, Reset::Never).period(day), "");
    assert_eq!(rule(DatePart::Day, 2, Reset::Yearly).period(day), "2026");
    assert_eq!(rule(DatePart::Day, 2, Reset::Monthly).period(day), "202611");
    assert_eq!(rule(DatePart::Day, 2, Reset::Daily).period(day), "20261123");
}

#[tokio::test]
async fn the_admin_page_lists_every_rule_with_its_next_number() {
    let (app, mut c) = admin().await;
    let now = Utc::now().with_timezone(&app.config.timezone);
    let month = now.format("%Y%m").to_string();
    let day = now.format("%Y%m%d").to_string();
    issue(&app, "customer", Utc::now()).await;

    let page = c.get("/admin/numbering").await;
    page.assert_status(200);
    assert_eq!(page.count("#number-rules tbody tr"), 4);
    assert!(page.text_of("#number-rules tr[data-kind=\"product\"]").contains("产品编码"));
    let row = |kind: &str| page.text_of(&format!("#number-rules tr[data-kind=\"{kind}\"]"));
    assert!(row("customer").contains("客户编号"), "{}", row("customer"));
    assert!(row("customer").contains("每月重置"), "{}", row("customer"));
    assert_eq!(page.text_of("tr[data-kind=\"customer\"] .next-number"), format!("KH{month}00002"));
    assert!(row("contract").contains("合同编号"));
    assert_eq!(page.text_of("tr[data-kind=\"contract\"] .next-number"), format!("HT{day}0001"));
    assert!(row("payment").contains("回款编号"));
    assert!(page.has("a[href=\"/admin/numbering/payment/edit\"]"));
    // Looking does not use numbers up.
    c.get("/admin/numbering").await;
    assert_eq!(issue(&app, "customer", Utc::now()).await, format!("KH{month}00002"));

    let form = c.get("/admin/numbering/customer/edit").await;
    form.assert_status(200);
    assert_eq!(form.attr("input[name=prefix]", "value").unwrap(), "KH");
    assert!(form.has("select[name=date_part] option[value=yyyyMM][selected]"));
    assert!(form.has("select[name=reset] option[value=monthly][selected]"));
    assert_eq!(form.attr("input[name=width]", "value").unwrap(), "5");
    assert_eq!(form.text_of("#number-example"), format!("KH{month}00001"));
    assert_eq!(form.text_of("#number-next"), format!("KH{month}00003"));
    assert!(form.text_of("form").contains("只影响之后新建的单据"));

    c.get("/admin/numbering/nothing/edit").await.assert_status(404);

    c.headers.push(("accept-language".into(), "en-US,en;q=0.9".into()));
    let page = c.get("/admin/numbering").await;
    page.assert_contains("<html lang=\"en\">");
    assert!(page.text_of("tr[data-kind=\"customer\"]").contains("Customer code"));
}

#[tokio::test]
async fn editing_a_rule_changes_the_next_number_but_not_issued_ones() {
    let (app, mut c) = admin().await;
    let tz = app.config.timezone;
    let local = Utc::now().with_timezone(&tz);
    let (year, month) = (local.format("%Y").to_string(), local.format("%Y%m").to_string());
    let issued = issue(&app, "customer", Utc::now()).await;
    assert_eq!(issued, format!("KH{month}00001"));

    c.post(
        "/admin/numbering/customer",
        &[("prefix", "CU-"), ("date_part", "yyyy"), ("width", "6"), ("reset", "yearly")],
    )
    .await
    .assert_redirect("/admin/numbering");
    assert_eq!(stored(&app, "customer").await, ("CU-".into(), "yyyy".into(), 6, "yearly".into()));
    let page = c.get("/admin/numbering").await;
    assert!(page.text_of(".flash").contains("客户编号规则已保存"), "{}", page.text_of(".flash"));
    assert_eq!(page.text_of("tr[data-kind=\"customer\"] .next-number"), format!("CU-{year}000001"));
    assert!(page.text_of("tr[data-kind=\"customer\"]").contains("用户admin"));
    assert_eq!(issue(&app, "customer", Utc::now()).await, format!("CU-{year}000001"));
    // The number handed out under the old rule stays counted in its own period.
    let old: i64 = sqlx::query_scalar("SELECT value FROM number_counters WHERE kind = 'customer' AND period = $1")
        .bind(&month)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(old, 1);

    // The change is in the operation log, field by field, against the rule's surrogate id.
    let rule_id: i64 =
        sqlx::query_scalar("SELECT id FROM number_rules WHERE kind = 'customer'").fetch_one(&app.db).await.unwrap();
    let (entity_id, changes): (i64, serde_json::Value) = sqlx::query_as(
        "SELECT entity_id, changes FROM operation_logs WHERE entity = 'number_rule' AND action = 'update'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(entity_id, rule_id);
    let fields: Vec<&str> = changes.as_array().unwrap().iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["prefix", "date_part", "width", "reset"]);
    assert_eq!(changes[0]["old"], "KH");
    assert_eq!(changes[0]["new"], "CU-");
    assert_eq!(changes[2]["new"], 6);

    // Back to the old rule: the month's counter carries on, no number repeats.
    c.post(
        "/admin/numbering/customer",
        &[("prefix", "KH"), ("date_part", "yyyyMM"), ("width", "5"), ("reset", "monthly")],
    )
    .await
    .assert_redirect("/admin/numbering");
    assert_eq!(issue(&app, "customer", Utc::now()).await, format!("KH{month}00002"));

    // Saving without a change writes no log line.
    c.post(
        "/admin/numbering/customer",
        &[("prefix", "KH"), ("date_part", "yyyyMM"), ("width", "5"), ("reset", "monthly")],
    )
    .await
    .assert_redirect("/admin/numbering");
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'number_rule'").await, 2);
}

#[tokio::test]
async fn invalid_rules_get_field_errors_and_change_nothing() {
    let (app, mut c) = admin().await;
    let before = stored(&app, "customer").await;
    let long = "A".repeat(21);
    let cases: Vec<([&str; 4], &str, &str)> = vec![
        (["K H", "yyyyMM", "5", "monthly"], "prefix", "只能包含"),
        (["客户", "yyyyMM", "5", "monthly"], "prefix", "只能包含"),
        (["KH#", "yyyyMM", "5", "monthly"], "prefix", "只能包含"),
        ([&long, "yyyyMM", "5", "monthly"], "prefix", "最多 20 个字符"),
        (["KH", "yyyyMM", "0", "monthly"], "width", "1–12"),
        (["KH", "yyyyMM", "13", "monthly"], "width", "1–12"),
        (["KH", "yyyyMM", "five", "monthly"], "width", "1–12"),
        (["KH", "yyyyMM", "5", "daily"], "reset", "yyyyMMdd"),
        (["KH", "yyyy", "5", "monthly"], "reset", "年月"),
        (["KH", "none", "5", "yearly"], "reset", "含年"),
        (["KH", "yyyyMMddHH", "5", "never"], "date_part", "必填"),
        (["KH", "yyyyMM", "5", "hourly"], "reset", "必填"),
    ];
    for ([prefix, date_part, width, reset], field, message) in cases {
        let r = c
            .post(
                "/admin/numbering/customer",
                &[("prefix", prefix), ("date_part", date_part), ("width", width), ("reset", reset)],
            )
            .await;
        r.assert_status(422);
        assert_eq!(r.count(".field.has-error"), 1, "only {field} is wrong");
        assert!(r.has(&format!(".field.has-error [name={field}]")), "{field}");
        let error = r.text_of(".field-error");
        assert!(error.contains(message), "{prefix:?}/{date_part}/{width}/{reset}: {field} error {error:?}");
        // What was typed is kept.
        assert_eq!(r.attr("input[name=prefix]", "value").unwrap(), prefix);
        assert_eq!(r.attr("input[name=width]", "value").unwrap(), width);
        // The example still shows the saved rule.
        assert!(r.text_of("#number-example").starts_with("KH"));
        assert_eq!(stored(&app, "customer").await, before);
    }
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'number_rule'").await, 0);
    // Surrounding spaces are trimmed rather than refused; an empty prefix is fine.
    c.post("/admin/numbering/payment", &[("prefix", "  "), ("date_part", "none"), ("width", "8"), ("reset", "never")])
        .await
        .assert_redirect("/admin/numbering");
    assert_eq!(stored(&app, "payment").await, ("".into(), "none".into(), 8, "never".into()));
    assert_eq!(issue(&app, "payment", Utc::now()).await, "00000001");
}

#[tokio::test]
async fn a_sales_rep_cannot_reach_any_numbering_route() {
    let app = app().await;
    let root = app.root_dept().await;
    app.user("rep", root, None, &["rep"]).await;
    let mut c = app.login("rep").await;
    c.get("/admin/numbering").await.assert_status(403);
    c.get("/admin/numbering/customer/edit").await.assert_status(403);
    c.post("/admin/numbering/customer", &[("prefix", "X"), ("date_part", "none"), ("width", "3"), ("reset", "never")])
        .await
        .assert_status(403);
    assert_eq!(stored(&app, "customer").await, ("KH".into(), "yyyyMM".into(), 5, "monthly".into()));
}

#[tokio::test]
async fn a_changed_rule_skips_numbers_customers_already_carry() {
    let (app, mut c) = admin().await;
    let month = Utc::now().with_timezone(&app.config.timezone).format("%Y%m").to_string();
    c.post("/customers", &[("name", "华信科技"), ("kind", "enterprise")]).await.assert_status(303);
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE code = 'KH' || to_char(now(), 'YYYYMM') || '00001'").await,
        1
    );

    // Same text, but the counter never resets: its new period starts again at 1, which the first
    // customer already carries. The next customer gets the number after it instead of an error.
    c.post(
        "/admin/numbering/customer",
        &[("prefix", "KH"), ("date_part", "yyyyMM"), ("width", "5"), ("reset", "never")],
    )
    .await
    .assert_redirect("/admin/numbering");
    c.post("/customers", &[("name", "宏达贸易"), ("kind", "enterprise")]).await.assert_status(303);
    let code: String =
        sqlx::query_scalar("SELECT code FROM customers WHERE name = '宏达贸易'").fetch_one(&app.db).await.unwrap();
    assert_eq!(code, format!("KH{month}00002"));
}

#[tokio::test]
async fn the_preview_button_shows_the_typed_rule_without_saving_it() {
    let (app, mut c) = admin().await;
    let local = Utc::now().with_timezone(&app.config.timezone);
    let (year, month) = (local.format("%Y").to_string(), local.format("%Y%m").to_string());
    issue(&app, "customer", Utc::now()).await;
    let before = stored(&app, "customer").await;
    let typed = [("prefix", "CU-"), ("date_part", "yyyy"), ("width", "6"), ("reset", "yearly"), ("preview", "1")];
    let r = c.post("/admin/numbering/customer", &typed).await;
    r.assert_status(200);
    assert_eq!(r.text_of("#number-typed-example"), format!("CU-{year}000001"));
    assert_eq!(r.text_of("#number-typed-next"), format!("CU-{year}000001"), "a new yearly counter");
    assert_eq!(r.attr("input[name=prefix]", "value").as_deref(), Some("CU-"), "the form keeps what was typed");
    assert!(r.has("select[name=reset] option[value=yearly][selected]"));
    assert!(r.text_of("#number-example").starts_with("KH"), "the saved rule is shown too");
    assert_eq!(stored(&app, "customer").await, before, "nothing saved");
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'number_rule'").await, 0);
    // The typed rule's next number counts what the kind has issued in its period.
    let same = [("prefix", "KH"), ("date_part", "yyyyMM"), ("width", "5"), ("reset", "monthly"), ("preview", "1")];
    let r = c.post("/admin/numbering/customer", &same).await;
    assert_eq!(r.text_of("#number-typed-next"), format!("KH{month}00002"));
    assert_eq!(issue(&app, "customer", Utc::now()).await, format!("KH{month}00002"), "preview consumed nothing");
    // A mistake: errors, no preview of the typed rule, and still nothing saved.
    for extra in [Some(("preview", "1")), None] {
        let mut bad = vec![("prefix", "K H"), ("date_part", "yyyy"), ("width", "6"), ("reset", "yearly")];
        bad.extend(extra);
        let r = c.post("/admin/numbering/customer", &bad).await;
        r.assert_status(422);
        assert!(r.has("#number-typed-invalid") && !r.has("#number-typed-next"));
        assert!(r.has(".field.has-error [name=prefix]"));
    }
    assert_eq!(stored(&app, "customer").await, before);
    // Saving (without the preview button) still saves.
    let save = [("prefix", "CU-"), ("date_part", "yyyy"), ("width", "6"), ("reset", "yearly")];
    c.post("/admin/numbering/customer", &save).await.assert_redirect("/admin/numbering");
    assert_eq!(stored(&app, "customer").await, ("CU-".into(), "yyyy".into(), 6, "yearly".into()));
}
