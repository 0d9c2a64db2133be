//! Contracts: created from an opportunity with its lines, submitted through a configured flow
//! with amount conditions, approved (customer dealt), rejected with comments and resubmitted
//! with a new amount, the credit warning and its confirmation, void and delete by state, and
//! what another region's rep cannot see or do — through every route.

use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::str::FromStr;

use super::common::{Client, Resp, TestApp};
use super::customer;
use super::opportunities::product;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Replace the contract flow with: the owner's superior, then (above `over` only) the admin.
pub async fn contract_flow(app: &TestApp, subject: &str, admin: i64, over: &str) {
    sqlx::query("DELETE FROM approval_flows WHERE subject = $1").bind(subject).execute(&app.db).await.unwrap();
    let flow: i64 = sqlx::query_scalar(
        "INSERT INTO approval_flows (subject, name, enabled, resubmit_from) VALUES ($1, '测试', true, 'first') RETURNING id",
    )
    .bind(subject)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let steps: [(&str, Vec<i64>, Option<Value>); 2] =
        [("superior", vec![], None), ("users", vec![admin], Some(json!({ "amount_gt": over })))];
    for (i, (kind, users, condition)) in steps.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO approval_steps (flow_id, seq, kind, mode, user_ids, level, condition)
             VALUES ($1, $2, $3, 'any', $4, 1, $5)",
        )
        .bind(flow)
        .bind(i as i32 + 1)
        .bind(kind)
        .bind(&users)
        .bind(condition)
        .execute(&app.db)
        .await
        .unwrap();
    }
}

pub async fn status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM contracts WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap()
}

/// The latest approval instance of a record of `subject`.
pub async fn instance(app: &TestApp, subject: &str, id: i64) -> i64 {
    sqlx::query_scalar("SELECT max(id) FROM approval_instances WHERE subject = $1 AND record_id = $2")
        .bind(subject)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// A draft contract through the form: name, customer, typed amount; its id.
pub async fn draft(c: &mut Client, customer: i64, customer_name: &str, amount: &str) -> i64 {
    let cid = customer.to_string();
    let r = c
        .post(
            "/contracts",
            &[("name", "测试合同"), ("customer_id", &cid), ("customer_q", customer_name), ("amount", amount)],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "created: {}", r.text_of(".field-error, .flash"));
    r.location().trim_start_matches("/contracts/").parse().unwrap()
}

fn location_is(r: &Resp, to: &str) {
    assert_eq!(r.status.as_u16(), 303, "{}", r.text_of(".field-error, .flash"));
    assert_eq!(r.location(), to);
}

#[tokio::test]
async fn from_an_opportunity_through_approval_to_a_dealt_customer() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "长江贸易", Some(o.rep1)).await;
    let (p, code) = product(app, "标准版", "800.00").await;
    let opp = app.opportunity(cu, "长江贸易采购", o.rep1).await;
    sqlx::query(
        "INSERT INTO opportunity_lines (opportunity_id, product_id, price, quantity, discount, subtotal, position)
         VALUES ($1, $2, 800, 3, 10, 2160, 1)",
    )
    .bind(opp)
    .bind(p)
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE products SET on_shelf = false WHERE id = $1").bind(p).execute(&app.db).await.unwrap();
    contract_flow(app, "contract", o.admin, "100000").await;
    let mut rep = app.login("rep1").await;

    // The new form copies the opportunity: customer, lines (kept though off the shelf), amount.
    let form = rep.get(&format!("/contracts/new?opportunity_id={opp}")).await;
    form.assert_status(200);
    let line_id = form.attr("input[name=line_id]", "value").unwrap();
    let label = form.attr("input[name=line_product]", "value").unwrap();
    assert!(label.contains(&code), "{label}");
    assert_eq!(form.attr("input[name=customer_id]", "value").as_deref(), Some(cu.to_string().as_str()));
    let (cid, oid) = (cu.to_string(), opp.to_string());
    let r = rep
        .post(
            "/contracts",
            &[
                ("name", "长江贸易采购合同"),
                ("customer_id", &cid),
                ("customer_q", "长江贸易"),
                ("opportunity_id", &oid),
                ("discount", "0"),
                ("line_id", &line_id),
                ("line_product", &label),
                ("line_price", "800.00"),
                ("line_qty", "3"),
                ("line_discount", "10"),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text_of(".field-error, .flash"));
    let id: i64 = r.location().trim_start_matches("/contracts/").parse().unwrap();
    let (amount, number): (Decimal, String) =
        sqlx::query_as("SELECT amount, number FROM contracts WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert_eq!(amount, dec("2160.00"));
    assert!(number.starts_with("HT"), "numbered by the rule: {number}");
    assert_eq!(status(app, id).await, "draft");

    // Under the admin's threshold only the superior is asked.
    let page = rep.get(&format!("/contracts/{id}/submit")).await;
    assert_eq!(page.count("#flow-steps li"), 1, "{}", page.text_of("#flow-steps"));
    location_is(&rep.post(&format!("/contracts/{id}/submit"), &[]).await, &format!("/contracts/{id}"));
    assert_eq!(status(app, id).await, "pending");

    // Pending: no edit, no delete, no void, no second submission.
    rep.get(&format!("/contracts/{id}/edit")).await.assert_status(409);
    rep.post(&format!("/contracts/{id}"), &[("name", "改名")]).await.assert_status(409);
    rep.post(&format!("/contracts/{id}/submit"), &[]).await.assert_status(409);
    rep.post(&format!("/contracts/{id}/delete"), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM contracts WHERE id = {id} AND deleted_at IS NULL")).await, 1);

    let inst = instance(app, "contract", id).await;
    let mut mgr = app.login("mgr").await;
    mgr.post(&format!("/approvals/{inst}/approve"), &[("comment", "同意")]).await;
    assert_eq!(status(app, id).await, "approved");
    let (deal, dealt_at, receivable): (String, Option<chrono::DateTime<chrono::Utc>>, Decimal) =
        sqlx::query_as("SELECT deal_status, dealt_at, receivable FROM customers WHERE id = $1")
            .bind(cu)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((deal.as_str(), dealt_at.is_some(), receivable), ("dealt", true, dec("2160.00")));

    // Approved: the page offers to close the still-open opportunity as won; edits are refused.
    let page = rep.get(&format!("/contracts/{id}")).await;
    assert!(page.has("#win-offer"), "asks about the opportunity");
    assert_eq!(page.text_of("#status-badge"), "已通过");
    rep.post(&format!("/contracts/{id}"), &[("name", "改名")]).await.assert_status(409);
    let flash = rep.post(&format!("/contracts/{id}/delete"), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM contracts WHERE id = {id} AND deleted_at IS NULL")).await, 1);
    drop(flash);
    // The customer and the opportunity list it on their Contracts tabs.
    let tab = rep.get(&format!("/customers/{cu}?tab=contracts")).await;
    assert!(tab.has(&format!("#parent-contracts tr[data-id=\"{id}\"]")));
    let tab = rep.get(&format!("/opportunities/{opp}?tab=contracts")).await;
    assert!(tab.has(&format!("#parent-contracts tr[data-id=\"{id}\"]")));
    // The print view names both parties and writes the amount in capitals.
    let print = rep.get(&format!("/contracts/{id}/print")).await;
    assert_eq!(print.text_of("#capitals"), "贰仟壹佰陆拾元整");
    assert_eq!(print.text_of("#party-a"), "长江贸易");
}

#[tokio::test]
async fn rejection_shows_the_comments_and_a_resubmission_asks_about_the_new_amount() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "黄河机电", Some(o.rep1)).await;
    contract_flow(app, "contract", o.admin, "5000").await;
    let mut rep = app.login("rep1").await;
    let id = draft(&mut rep, cu, "黄河机电", "1000").await;
    rep.post(&format!("/contracts/{id}/submit"), &[]).await;
    let inst = instance(app, "contract", id).await;
    let mut mgr = app.login("mgr").await;
    mgr.post(&format!("/approvals/{inst}/reject"), &[("comment", "价格太低")]).await;
    assert_eq!(status(app, id).await, "rejected");
    let page = rep.get(&format!("/contracts/{id}")).await;
    assert!(page.text_of("#approval-strip").contains("价格太低"), "{}", page.text_of("#approval-strip"));

    // Rejected is editable again; the new amount passes the admin's threshold.
    let cid = cu.to_string();
    let r = rep
        .post(
            &format!("/contracts/{id}"),
            &[("name", "测试合同"), ("customer_id", &cid), ("customer_q", ""), ("amount", "9000")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text_of(".field-error"));
    assert_eq!(rep.get(&format!("/contracts/{id}/submit")).await.count("#flow-steps li"), 2);
    rep.post(&format!("/contracts/{id}/submit"), &[]).await;
    assert_eq!(status(app, id).await, "pending");
    assert_eq!(instance(app, "contract", id).await, inst, "the same approval, a second round");
    let (round, amount): (i32, Value) =
        sqlx::query_as("SELECT round, payload->'amount' FROM approval_instances WHERE id = $1")
            .bind(inst)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((round, amount), (2, json!("9000.00")));
    mgr.post(&format!("/approvals/{inst}/approve"), &[("comment", "")]).await;
    assert_eq!(status(app, id).await, "pending", "the admin's step comes next");
    let mut admin = app.login("admin").await;
    admin.post(&format!("/approvals/{inst}/approve"), &[("comment", "")]).await;
    assert_eq!(status(app, id).await, "approved");

    // Withdrawn: back to editable; a withdrawn contract can be deleted.
    let other = draft(&mut rep, cu, "黄河机电", "100").await;
    rep.post(&format!("/contracts/{other}/submit"), &[]).await;
    let inst = instance(app, "contract", other).await;
    rep.post(&format!("/approvals/{inst}/withdraw"), &[]).await;
    assert_eq!(status(app, other).await, "withdrawn");
    rep.post(&format!("/contracts/{other}/delete"), &[]).await;
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM contracts WHERE id = {other} AND deleted_at IS NULL")).await,
        0
    );
}

#[tokio::test]
async fn a_contract_over_the_credit_limit_needs_a_confirmation_and_shows_its_figures() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "珠江实业", Some(o.rep1)).await;
    sqlx::query("UPDATE customers SET credit_limit = 5000, receivable = 4000 WHERE id = $1")
        .bind(cu)
        .execute(&app.db)
        .await
        .unwrap();
    contract_flow(app, "contract", o.admin, "100000").await;
    let mut rep = app.login("rep1").await;
    let id = draft(&mut rep, cu, "珠江实业", "2000").await;
    let page = rep.get(&format!("/contracts/{id}/submit")).await;
    let warning = page.text_of("#credit-warning");
    assert!(warning.contains("5,000.00") && warning.contains("4,000.00") && warning.contains("6,000.00"), "{warning}");
    let r = rep.post(&format!("/contracts/{id}/submit"), &[]).await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("勾选确认"), "{}", r.text_of(".field-error"));
    assert_eq!(status(app, id).await, "draft");
    rep.post(&format!("/contracts/{id}/submit"), &[("confirm_credit", "1")]).await;
    assert_eq!(status(app, id).await, "pending");

    // The approver sees the badge and the figures.
    let mut mgr = app.login("mgr").await;
    let page = mgr.get(&format!("/contracts/{id}")).await;
    assert!(page.has("#credit-badge"));
    assert!(page.text_of("#credit-figures").contains("6,000.00"));
    let inst = instance(app, "contract", id).await;
    mgr.post(&format!("/approvals/{inst}/approve"), &[("comment", "")]).await;
    // Now over the limit: listed and flagged.
    let over = mgr.get("/contracts/over-credit").await;
    assert!(over.has(&format!("#over-credit tr[data-id=\"{cu}\"]")));
    assert!(mgr.get(&format!("/customers/{cu}")).await.has("#over-credit-badge"));
    let north = app.login("north_rep").await.get("/contracts/over-credit").await;
    assert!(!north.has(&format!("#over-credit tr[data-id=\"{cu}\"]")), "not in the north's scope");
}

#[tokio::test]
async fn void_needs_the_right_a_reason_and_no_payments() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "泰山建材", Some(o.rep1)).await;
    let id = app.contract(cu, "泰山合同", o.rep1, "approved").await;
    let paid = app.contract(cu, "已回款合同", o.rep1, "approved").await;
    sqlx::query(
        "INSERT INTO payments (number, contract_id, customer_id, amount, paid_on, status, owner_id)
         VALUES ('HK-1', $1, $2, 100, current_date, 'approved', $3)",
    )
    .bind(paid)
    .bind(cu)
    .bind(o.rep1)
    .execute(&app.db)
    .await
    .unwrap();
    // A rep holds no `void`: refused whatever the form says.
    let mut rep = app.login("rep1").await;
    rep.post(&format!("/contracts/{id}/void"), &[("reason", "客户取消")]).await.assert_status(403);
    let mut mgr = app.login("mgr").await;
    mgr.post(&format!("/contracts/{id}/void"), &[("reason", " ")]).await.assert_status(400);
    mgr.post(&format!("/contracts/{paid}/void"), &[("reason", "客户取消")]).await.assert_status(409);
    location_is(
        &mgr.post(&format!("/contracts/{id}/void"), &[("reason", "客户取消")]).await,
        &format!("/contracts/{id}"),
    );
    assert_eq!(status(app, id).await, "void");
    let receivable: Decimal =
        sqlx::query_scalar("SELECT receivable FROM customers WHERE id = $1").bind(cu).fetch_one(&app.db).await.unwrap();
    assert_eq!(receivable, dec("1000.00"), "only the paid contract's 1000 is still owed");
    // Void is final: no second void, no edit, no submit.
    mgr.post(&format!("/contracts/{id}/void"), &[("reason", "x")]).await.assert_status(409);
    mgr.get(&format!("/contracts/{id}/edit")).await.assert_status(409);
    mgr.get(&format!("/contracts/{id}/submit")).await.assert_status(409);
}

#[tokio::test]
async fn another_regions_rep_sees_and_changes_none_of_it() {
    let o = super::org().await;
    let app = &o.app;
    let cu = customer(app, "华山重工", Some(o.rep1)).await;
    let id = app.contract(cu, "华山合同", o.rep1, "approved").await;
    let plan: i64 = sqlx::query_scalar(
        "INSERT INTO payment_plans (contract_id, term, amount, due_date) VALUES ($1, 1, 500, current_date - 40) RETURNING id",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let pay: i64 = sqlx::query_scalar(
        "INSERT INTO payments (number, contract_id, customer_id, amount, paid_on, status, owner_id)
         VALUES ('HK-2', $1, $2, 100, current_date, 'rejected', $3) RETURNING id",
    )
    .bind(id)
    .bind(cu)
    .bind(o.rep1)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let mut north = app.login("north_rep").await;
    for path in [
        format!("/contracts/{id}"),
        format!("/contracts/{id}/print"),
        format!("/contracts/{id}/edit"),
        format!("/contracts/{id}/submit"),
        format!("/contracts/{id}/plans/new"),
        format!("/contracts/{id}/plans/{plan}/edit"),
        format!("/payments/new?contract_id={id}"),
        format!("/payments/{pay}"),
        format!("/payments/{pay}/edit"),
    ] {
        north.get(&path).await.assert_status(404);
    }
    let (cid, amount) = (id.to_string(), "10");
    for (path, form) in [
        (format!("/contracts/{id}"), vec![("name", "x")]),
        (format!("/contracts/{id}/submit"), vec![]),
        (format!("/contracts/{id}/plans"), vec![("amount", amount), ("due_date", "2030-01-01")]),
        (format!("/contracts/{id}/plans/{plan}/delete"), vec![]),
        ("/payments".to_string(), vec![("contract_id", cid.as_str()), ("amount", amount), ("paid_on", "2026-01-01")]),
        (format!("/payments/{pay}"), vec![("amount", amount), ("paid_on", "2026-01-01")]),
        (format!("/payments/{pay}/submit"), vec![]),
    ] {
        north.post(&path, &form).await.assert_status(404);
    }
    assert_eq!(app.count(&format!("SELECT count(*) FROM payments WHERE contract_id = {id}")).await, 1);
    assert_eq!(app.count(&format!("SELECT count(*) FROM payment_plans WHERE contract_id = {id}")).await, 1);
    // Lists, the due list and ageing leave it out; the manager of the east has it.
    assert!(!north.get("/contracts?scene=all").await.has(&format!("tr[data-id=\"{id}\"]")));
    assert!(!north.get("/payments?scene=all").await.has(&format!("tr[data-id=\"{pay}\"]")));
    assert!(!north.get("/payments/plans?show=overdue").await.has(&format!("tr[data-plan=\"{plan}\"]")));
    assert!(!north.get("/payments/ageing").await.has(&format!("#ageing-customers tr[data-id=\"{cu}\"]")));
    let found = north.get("/search?q=%E5%8D%8E%E5%B1%B1%E5%90%88%E5%90%8C").await; // 华山合同
    assert!(!found.text_of("[data-group=\"contracts\"]").contains("华山合同"));
    let mut mgr = app.login("mgr").await;
    assert!(mgr.get("/contracts?scene=all").await.has(&format!("tr[data-id=\"{id}\"]")));
    assert!(mgr.get("/payments?scene=all").await.has(&format!("tr[data-id=\"{pay}\"]")));
    assert!(mgr.get("/payments/plans?show=overdue").await.has(&format!("tr[data-plan=\"{plan}\"]")));
    assert!(mgr.get("/payments/ageing").await.has(&format!("#ageing-customers tr[data-id=\"{cu}\"]")));
    let found = mgr.get("/search?q=%E5%8D%8E%E5%B1%B1%E5%90%88%E5%90%8C").await;
    assert!(found.text_of("[data-group=\"contracts\"]").contains("华山合同"));
}
