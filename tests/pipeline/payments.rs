//! Payment plans and payments: terms never add up past the contract, payments are refused when
//! what is confirmed and waiting would exceed it — also when two arrive at the same moment —,
//! only confirmed ones count (contract, term, customer), overdue terms and ageing buckets at
//! their date boundaries in the configured time zone, and the reminder before a term is due.

use chrono::{Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::str::FromStr;

use super::common::TestApp;
use super::contracts::{contract_flow, instance};
use super::{customer, job_ctx, notifications};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn today(app: &TestApp) -> NaiveDate {
    Utc::now().with_timezone(&app.config.timezone).date_naive()
}

async fn money(app: &TestApp, sql: &str) -> Decimal {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.unwrap()
}

#[tokio::test]
async fn plans_and_payments_stay_within_the_contract_and_only_confirmed_ones_count() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "江南纺织", Some(o.rep1)).await;
    let k = app.contract(cu, "江南合同", o.rep1, "approved").await;
    contract_flow(app, "payment", o.admin, "100000").await;
    let mut rep = app.login("rep1").await;
    let yesterday = (today(app) - Days::new(1)).to_string();
    let later = (today(app) + Days::new(30)).to_string();

    let r = rep.post(&format!("/contracts/{k}/plans"), &[("amount", "600"), ("due_date", &yesterday)]).await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text_of(".field-error"));
    let r = rep.post(&format!("/contracts/{k}/plans"), &[("amount", "500"), ("due_date", &later)]).await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("400.00"), "says what is left: {}", r.text_of(".field-error"));
    assert_eq!(r.attr("input[name=amount]", "value").as_deref(), Some("500"), "keeps what was typed");
    rep.post(&format!("/contracts/{k}/plans"), &[("amount", "400"), ("due_date", &later), ("remind_days", "3")]).await;
    let plans: Vec<(i64, i32)> =
        sqlx::query_as("SELECT id, term FROM payment_plans WHERE contract_id = $1 ORDER BY term")
            .bind(k)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(plans.iter().map(|p| p.1).collect::<Vec<_>>(), vec![1, 2]);
    let (first, second) = (plans[0].0.to_string(), plans[1].0.to_string());

    // The first term is overdue (its date passed, nothing received); the second is not yet.
    let tab = rep.get(&format!("/contracts/{k}?tab=plans")).await;
    assert!(tab.text_of("#plans tr[data-term=\"1\"]").contains("已逾期"));
    assert!(!tab.text_of("#plans tr[data-term=\"2\"]").contains("已逾期"));

    let paid_on = today(app).to_string();
    let r = rep
        .post(
            "/payments",
            &[("contract_id", &k.to_string()), ("plan_id", &first), ("amount", "600"), ("paid_on", &paid_on)],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text_of(".field-error, .flash"));
    let pay: i64 = r.location().trim_start_matches("/payments/").parse().unwrap();
    // Waiting: nothing counts yet, but it is reserved.
    assert_eq!(money(app, &format!("SELECT received FROM contracts WHERE id = {k}")).await, dec("0"));
    let r = rep
        .post(
            "/payments",
            &[("contract_id", &k.to_string()), ("plan_id", &second), ("amount", "500"), ("paid_on", &paid_on)],
        )
        .await;
    r.assert_status(422);
    let err = r.text_of(".field-error");
    assert!(err.contains("1,000.00") && err.contains("600.00") && err.contains("400.00"), "{err}");
    // A date in the future is refused beside the field.
    let tomorrow = (today(app) + Days::new(1)).to_string();
    let r = rep.post("/payments", &[("contract_id", &k.to_string()), ("amount", "1"), ("paid_on", &tomorrow)]).await;
    r.assert_status(422);
    assert_eq!(app.count(&format!("SELECT count(*) FROM payments WHERE contract_id = {k}")).await, 1);

    let inst = instance(app, "payment", pay).await;
    app.login("mgr").await.post(&format!("/approvals/{inst}/approve"), &[("comment", "")]).await;
    assert_eq!(money(app, &format!("SELECT received FROM contracts WHERE id = {k}")).await, dec("600.00"));
    assert_eq!(money(app, &format!("SELECT received FROM payment_plans WHERE id = {first}")).await, dec("600.00"));
    assert_eq!(money(app, &format!("SELECT receivable FROM customers WHERE id = {cu}")).await, dec("400.00"));
    let tab = rep.get(&format!("/contracts/{k}?tab=plans")).await;
    assert!(!tab.text_of("#plans tr[data-term=\"1\"]").contains("已逾期"), "fully received is not overdue");
    assert_eq!(rep.get(&format!("/contracts/{k}")).await.text_of("#unreceived"), "400.00");
    // A term with money on it stays; confirmed payments are not deleted.
    rep.post(&format!("/contracts/{k}/plans/{first}/delete"), &[]).await.assert_status(409);
    rep.post(&format!("/payments/{pay}/delete"), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM payments WHERE id = {pay} AND deleted_at IS NULL")).await, 1);
    // A term cannot shrink below what it received.
    let r = rep.post(&format!("/contracts/{k}/plans/{first}"), &[("amount", "500"), ("due_date", &yesterday)]).await;
    r.assert_status(422);

    // The list's footer: unfiltered from the per-owner counters, filtered from the rows; both
    // count a payment recorded by someone out of the manager's scope on a contract in it.
    sqlx::query(
        "INSERT INTO payments (number, contract_id, customer_id, amount, paid_on, status, owner_id)
         VALUES ('HK-X', $1, $2, 50, current_date, 'pending', $3)",
    )
    .bind(k)
    .bind(cu)
    .bind(o.north_rep)
    .execute(&app.db)
    .await
    .unwrap();
    let mut mgr = app.login("mgr").await;
    for path in ["/payments?scene=all", "/payments?scene=all&amount_min=1"] {
        let page = mgr.get(path).await;
        let footer = (page.text_of("#footer-confirmed"), page.text_of("#footer-waiting"));
        assert_eq!(footer, ("600.00".to_string(), "50.00".to_string()), "{path}");
    }
}

#[tokio::test]
async fn two_payments_at_the_same_moment_cannot_together_exceed_the_contract() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "并发客户", Some(o.rep1)).await;
    let k = app.contract(cu, "并发合同", o.rep1, "approved").await.to_string();
    let paid_on = today(app).to_string();
    let (mut a, mut b) = (app.login("rep1").await, app.login("mgr").await);
    let form = [("contract_id", k.as_str()), ("amount", "600"), ("paid_on", paid_on.as_str())];
    let (ra, rb) = tokio::join!(a.post("/payments", &form), b.post("/payments", &form));
    let mut codes = vec![ra.status.as_u16(), rb.status.as_u16()];
    codes.sort();
    assert_eq!(codes, vec![303, 422], "one is taken, the other refused");
    let total = money(app, &format!("SELECT coalesce(sum(amount), 0) FROM payments WHERE contract_id = {k}")).await;
    assert_eq!(total, dec("600.00"));
    // No flow for payments: confirmed at once, and booked exactly once.
    assert_eq!(money(app, &format!("SELECT received FROM contracts WHERE id = {k}")).await, dec("600.00"));
}

#[tokio::test]
async fn ageing_buckets_and_the_due_reminder_follow_the_planned_dates() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "账龄客户", Some(o.rep1)).await;
    let k = app.contract(cu, "账龄合同", o.rep1, "approved").await;
    sqlx::query("UPDATE contracts SET amount = 100000 WHERE id = $1").bind(k).execute(&app.db).await.unwrap();
    let t = today(app);
    // (days before today, amount): 0 and 30 → 0–30; 31 → 31–60; 91 → 90+; -1 → not due.
    for (i, (days, amount)) in [(0i64, 1), (30, 2), (31, 4), (91, 8), (-1, 16)].into_iter().enumerate() {
        let due = if days >= 0 { t - Days::new(days as u64) } else { t + Days::new((-days) as u64) };
        sqlx::query(
            "INSERT INTO payment_plans (contract_id, term, amount, due_date, remind_days) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(k)
        .bind(i as i32 + 1)
        .bind(Decimal::from(amount))
        .bind(due)
        .bind(if days < 0 { 2 } else { 0 })
        .execute(&app.db)
        .await
        .unwrap();
    }
    let page = app.login("mgr").await.get("/payments/ageing").await;
    let cells: Vec<String> = page
        .html()
        .select(&scraper::Selector::parse(&format!("#ageing-customers tr[data-id=\"{cu}\"] td.num")).unwrap())
        .map(|td| td.text().collect::<String>())
        .collect();
    assert_eq!(cells, ["16.00", "3.00", "4.00", "0.00", "8.00", "31.00"], "not due, 0–30, 31–60, 61–90, 90+, total");
    // Another owner's contract leaves the rep's page; a void contract's terms stop counting.
    let rep_page = app.login("rep2").await.get("/payments/ageing").await;
    assert!(!rep_page.has(&format!("#ageing-customers tr[data-id=\"{cu}\"]")));
    sqlx::query("UPDATE contracts SET status = 'void', voided_at = now() WHERE id = $1")
        .bind(k)
        .execute(&app.db)
        .await
        .unwrap();
    let page = app.login("mgr").await.get("/payments/ageing").await;
    assert!(!page.has(&format!("#ageing-customers tr[data-id=\"{cu}\"]")), "void: nothing owed");
    sqlx::query("UPDATE contracts SET status = 'approved', voided_at = NULL WHERE id = $1")
        .bind(k)
        .execute(&app.db)
        .await
        .unwrap();

    // The term due tomorrow (remind 2 days before) is told to its owner once.
    crm::jobs::run_named(job_ctx(app, Utc::now()), &["payment_plan_reminders"]).await;
    assert_eq!(notifications(app, o.rep1, "payment_plan_due").await, 1);
    crm::jobs::run_named(job_ctx(app, Utc::now()), &["payment_plan_reminders"]).await;
    assert_eq!(notifications(app, o.rep1, "payment_plan_due").await, 1, "once per due date");
}
