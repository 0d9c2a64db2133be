//! The demo company's contracts and money: contracts of the demo customers in every state (two
//! drafts, one waiting for approval, approved ones, one rejected, one voided), some made from
//! opportunities with their lines copied; payment plans on the approved ones with terms paid,
//! overdue and still to come; confirmed payments booked on their terms, a rejected one and one
//! waiting for approval; credit limits on two customers, one of them exceeded.
//!
//! Everything derived is written as the modules would leave it: what contracts and their terms
//! received (confirmed payments only), what customers owe and their deal state, and for the
//! contract and the payment waiting for approval an approval of one stage with a task for the
//! owner's superior (the rejected contract's approval is there too, decided).

use chrono::{Duration, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json;

use crate::money;
use crate::workflow::{Condition, Stage};

/// A term of a contract's plan: (days from today to its due date, share of the contract's amount
/// in percent — the last term of a plan covering 100 % takes the rest —, confirmed on it in
/// percent of the term, waiting for approval in percent of the term, a payment of the whole term
/// was rejected).
type Term = (i64, i64, i64, i64, bool);

struct DemoContract {
    /// Index in demo::CUSTOMERS (its owner owns the contract).
    customer: usize,
    name: &'static str,
    status: &'static str,
    /// The opportunity (by name, of the same customer) whose lines are copied.
    opportunity: Option<&'static str>,
    /// Lines when not copied: (index in demo_pipeline::PRODUCTS, quantity, discount %).
    lines: &'static [(usize, i64, i64)],
    /// The contract's discount on its lines, percent.
    discount: i64,
    /// The amount when there are no lines.
    typed: i64,
    type_code: &'static str,
    /// Days since it was ordered (created), and since it was approved (approved and void ones;
    /// decided for the rejected one, submitted for the pending one).
    ordered: i64,
    decided: i64,
    terms: &'static [Term],
}

const CONTRACTS: &[DemoContract] = &[
    DemoContract {
        customer: 4,
        name: "港联物流 数据迁移项目合同",
        status: "approved",
        opportunity: Some("港联物流 数据迁移"),
        lines: &[],
        discount: 0,
        typed: 0,
        type_code: "service",
        ordered: 64,
        decided: 60,
        // Paid; half paid and overdue (a rejected payment on it too); later.
        terms: &[(-45, 30, 100, 0, false), (-10, 40, 50, 0, true), (40, 30, 0, 0, false)],
    },
    DemoContract {
        customer: 10,
        name: "前海金服 合规审批系统合同",
        status: "approved",
        opportunity: Some("前海金服 合规审批"),
        lines: &[],
        discount: 5,
        typed: 0,
        type_code: "sales",
        ordered: 28,
        decided: 25,
        // Paid; later, half of it waiting for approval.
        terms: &[(-15, 50, 100, 0, false), (60, 50, 0, 50, false)],
    },
    DemoContract {
        customer: 0,
        name: "华信科技 年度运维服务合同",
        status: "approved",
        opportunity: None,
        lines: &[],
        discount: 0,
        typed: 80_000,
        type_code: "maintenance",
        ordered: 205,
        decided: 200,
        // Quarterly: two paid, one due in ten days, one later.
        terms: &[(-170, 25, 100, 0, false), (-80, 25, 100, 0, false), (10, 25, 0, 0, false), (100, 25, 0, 0, false)],
    },
    DemoContract {
        customer: 2,
        name: "精工机械 车间智能终端采购合同",
        status: "approved",
        opportunity: None,
        lines: &[(5, 40, 12)],
        discount: 0,
        typed: 0,
        type_code: "sales",
        ordered: 155,
        decided: 150,
        // Half of the first paid, over 90 days late; the second 60 days late: over its credit limit.
        terms: &[(-120, 50, 50, 0, false), (-60, 50, 0, 0, false)],
    },
    DemoContract {
        customer: 5,
        name: "博远教育 标准版订阅合同",
        status: "approved",
        opportunity: None,
        lines: &[(0, 1, 0), (9, 2, 0)],
        discount: 0,
        typed: 0,
        type_code: "sales",
        ordered: 12,
        decided: 10,
        terms: &[(20, 100, 0, 0, false)],
    },
    DemoContract {
        customer: 3,
        name: "金陵医药 门店 SaaS 合同",
        status: "draft",
        opportunity: None,
        lines: &[(0, 3, 0), (9, 4, 0)],
        discount: 0,
        typed: 0,
        type_code: "sales",
        ordered: 2,
        decided: 0,
        terms: &[],
    },
    DemoContract {
        customer: 1,
        name: "云帆网络 私有化部署合同（草拟）",
        status: "draft",
        opportunity: Some("云帆网络 私有化部署"),
        lines: &[],
        discount: 3,
        typed: 0,
        type_code: "sales",
        ordered: 1,
        decided: 0,
        terms: &[],
    },
    DemoContract {
        customer: 6,
        name: "海河新材 运维续约合同",
        status: "pending",
        opportunity: None,
        lines: &[(8, 1, 5)],
        discount: 0,
        typed: 0,
        type_code: "maintenance",
        ordered: 3,
        decided: 1,
        terms: &[],
    },
    DemoContract {
        customer: 7,
        name: "恒通建设 项目管理模块合同",
        status: "rejected",
        opportunity: None,
        lines: &[(1, 1, 15)],
        discount: 10,
        typed: 0,
        type_code: "sales",
        ordered: 9,
        decided: 6,
        terms: &[],
    },
    DemoContract {
        customer: 9,
        name: "蓝海电子 服务器采购合同",
        status: "void",
        opportunity: None,
        lines: &[(4, 4, 6)],
        discount: 0,
        typed: 0,
        type_code: "sales",
        ordered: 44,
        decided: 40,
        terms: &[],
    },
];

/// Credit limits: (index in demo::CUSTOMERS, limit). 精工机械 owes more than its limit.
const CREDIT_LIMITS: &[(usize, i64)] = &[(0, 200_000), (2, 50_000)];

fn tz() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::FixedOffset::east_opt(0).unwrap())
}

/// `products`: the ids of demo_pipeline::PRODUCTS, in order.
pub async fn seed(tx: &mut PgConnection, products: &[i64]) -> anyhow::Result<()> {
    let customers: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, owner_id FROM customers WHERE owner_id IS NOT NULL ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    let today = Utc::now().with_timezone(&tz()).date_naive();
    for k in CONTRACTS {
        let Some((customer_id, owner)) = customers.get(k.customer).copied() else { continue };
        seed_contract(tx, k, customer_id, owner, products, today).await?;
    }
    for (customer, limit) in CREDIT_LIMITS {
        if let Some((id, _)) = customers.get(*customer) {
            sqlx::query("UPDATE customers SET credit_limit = $2 WHERE id = $1")
                .bind(id)
                .bind(Decimal::from(*limit))
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// (product, price, quantity, discount, subtotal)
type Line = (i64, Decimal, Decimal, Decimal, Decimal);

async fn seed_contract(
    tx: &mut PgConnection,
    k: &DemoContract,
    customer_id: i64,
    owner: i64,
    products: &[i64],
    today: chrono::NaiveDate,
) -> anyhow::Result<()> {
    let now = Utc::now();
    // Lines: copied from the opportunity, or priced from the catalogue.
    let mut opportunity_id = None;
    let mut lines: Vec<Line> = Vec::new();
    if let Some(name) = k.opportunity {
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM opportunities WHERE name = $1 AND customer_id = $2")
            .bind(name)
            .bind(customer_id)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = id {
            opportunity_id = Some(id);
            lines = sqlx::query_as(
                "SELECT product_id, price, quantity, discount, subtotal FROM opportunity_lines
                  WHERE opportunity_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        }
    }
    for (product, qty, discount) in k.lines {
        let product_id = products[*product];
        let price: Decimal =
            sqlx::query_scalar("SELECT price FROM products WHERE id = $1").bind(product_id).fetch_one(&mut *tx).await?;
        let (qty, discount) = (Decimal::from(*qty), Decimal::from(*discount));
        lines.push((product_id, price, qty, discount, money::subtotal(price, qty, discount)));
    }
    let (discount, amount) = if lines.is_empty() {
        (Decimal::ZERO, Decimal::from(k.typed))
    } else {
        let discount = Decimal::from(k.discount);
        (discount, money::discounted(lines.iter().map(|l| l.4).sum(), discount))
    };

    // The terms' amounts and what was confirmed and is waiting on each.
    let planned_all = k.terms.iter().map(|t| t.1).sum::<i64>() == 100;
    let mut terms = Vec::new();
    let mut so_far = Decimal::ZERO;
    for (i, (due, share, paid, waiting, rejected)) in k.terms.iter().enumerate() {
        let term_amount = if planned_all && i + 1 == k.terms.len() {
            amount - so_far
        } else {
            money::cents(amount * Decimal::from(*share) / Decimal::ONE_HUNDRED)
        };
        so_far += term_amount;
        let confirmed = money::cents(term_amount * Decimal::from(*paid) / Decimal::ONE_HUNDRED);
        let pending = money::cents(term_amount * Decimal::from(*waiting) / Decimal::ONE_HUNDRED);
        terms.push((i as i32 + 1, *due, term_amount, confirmed, pending, *rejected));
    }
    let received: Decimal = terms.iter().map(|t| t.3).sum();

    let ordered_at = now - Duration::days(k.ordered) - Duration::hours(2);
    let decided_at = now - Duration::days(k.decided) - Duration::hours(1);
    let approved_at = matches!(k.status, "approved" | "void").then_some(decided_at);
    let voided_at = (k.status == "void").then(|| decided_at + Duration::days(5));
    let superior: Option<i64> =
        sqlx::query_scalar("SELECT superior_id FROM users WHERE id = $1").bind(owner).fetch_one(&mut *tx).await?;
    let updated_at = match k.status {
        "draft" => ordered_at,
        "void" => voided_at.unwrap_or(decided_at),
        _ => decided_at,
    };
    let number = crate::numbering::next(tx, "contract", now, tz()).await?;
    let order_date = today - chrono::Days::new(k.ordered as u64);
    let payment_terms = (!terms.is_empty()).then(|| format!("按回款计划分 {} 期付款，银行转账", terms.len()));
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO contracts (number, name, customer_id, opportunity_id, amount, discount, received, order_date,
                                start_date, end_date, type_id, customer_signer_id, company_signer_id, payment_terms,
                                status, approved_at, void_reason, voided_at, voided_by, owner_id, created_by,
                                created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8 + 364,
                 (SELECT id FROM dict_items WHERE dict = 'contract_type' AND code = $9),
                 (SELECT id FROM contacts WHERE customer_id = $3 AND is_primary ORDER BY id LIMIT 1),
                 $10, $11, $12, $13, CASE WHEN $12 = 'void' THEN '客户预算取消，项目终止' END, $14,
                 CASE WHEN $12 = 'void' THEN $15::bigint END, $10, $10, $16, $17)
         RETURNING id",
    )
    .bind(&number)
    .bind(k.name)
    .bind(customer_id)
    .bind(opportunity_id)
    .bind(amount)
    .bind(discount)
    .bind(received)
    .bind(order_date)
    .bind(k.type_code)
    .bind(owner)
    .bind(payment_terms)
    .bind(k.status)
    .bind(approved_at)
    .bind(voided_at)
    .bind(superior.unwrap_or(owner))
    .bind(ordered_at)
    .bind(updated_at)
    .fetch_one(&mut *tx)
    .await?;
    for (i, (product_id, price, qty, line_discount, subtotal)) in lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO contract_lines (contract_id, product_id, price, quantity, discount, subtotal, position)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(product_id)
        .bind(price)
        .bind(qty)
        .bind(line_discount)
        .bind(subtotal)
        .bind(i as i32 + 1)
        .execute(&mut *tx)
        .await?;
    }

    // Plans and payments (approved contracts only take them).
    for (term, due, term_amount, confirmed, pending, rejected) in terms {
        let due_date = today + Duration::days(due);
        let plan_id: i64 = sqlx::query_scalar(
            "INSERT INTO payment_plans (contract_id, term, amount, received, due_date, method_id, remind_days, created_by,
                                        created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, (SELECT id FROM dict_items WHERE dict = 'payment_method' AND code = 'bank_transfer'),
                     CASE WHEN $5 > current_date THEN 7 ELSE 0 END, $6, $7, $7)
             RETURNING id",
        )
        .bind(id)
        .bind(term)
        .bind(term_amount)
        .bind(confirmed)
        .bind(due_date)
        .bind(owner)
        .bind(decided_at)
        .fetch_one(&mut *tx)
        .await?;
        // Paid two days before its date (or two days ago for a term not due yet).
        let paid_on = (due_date - Duration::days(2)).min(today - Duration::days(2));
        if rejected {
            let p =
                payment(tx, (id, customer_id, owner), plan_id, term_amount, paid_on - Duration::days(3), "rejected")
                    .await?;
            sqlx::query("UPDATE payments SET notes = '金额与银行回单不符，已退回' WHERE id = $1")
                .bind(p)
                .execute(&mut *tx)
                .await?;
            if let Some(s) = superior {
                approval(tx, ("payment", p), owner, s, term_amount, "rejected", paid_on - Duration::days(3)).await?;
            }
        }
        if confirmed > Decimal::ZERO {
            payment(tx, (id, customer_id, owner), plan_id, confirmed, paid_on, "approved").await?;
        }
        if pending > Decimal::ZERO {
            let p =
                payment(tx, (id, customer_id, owner), plan_id, pending, today - Duration::days(1), "pending").await?;
            if let Some(s) = superior {
                approval(tx, ("payment", p), owner, s, pending, "pending", today - Duration::days(1)).await?;
            }
        }
    }

    // The contract's own approval, when it is waiting or was turned down.
    if matches!(k.status, "pending" | "rejected")
        && let Some(s) = superior
    {
        // Submitted the day before it was turned down; the waiting one a day ago.
        let back = if k.status == "rejected" { 1 } else { 0 };
        let submitted = (decided_at - Duration::days(back)).with_timezone(&tz()).date_naive();
        approval(tx, ("contract", id), owner, s, amount, k.status, submitted).await?;
    }
    // What the customer owes and that it dealt (voiding leaves the deal, takes back what was owed).
    if let Some(at) = approved_at {
        let owed = if k.status == "approved" { amount - received } else { Decimal::ZERO };
        sqlx::query(
            "UPDATE customers SET receivable = receivable + $2, deal_status = 'dealt',
                    dealt_at = greatest(dealt_at, $3) WHERE id = $1",
        )
        .bind(customer_id)
        .bind(owed)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// A payment of the contract (owned by the contract's owner) booked on `plan`; confirmed ones
/// are approved the day after they were paid.
async fn payment(
    tx: &mut PgConnection,
    (contract_id, customer_id, owner): (i64, i64, i64),
    plan: i64,
    amount: Decimal,
    paid_on: chrono::NaiveDate,
    status: &str,
) -> anyhow::Result<i64> {
    let number = crate::numbering::next(tx, "payment", Utc::now(), tz()).await?;
    Ok(sqlx::query_scalar(
        "INSERT INTO payments (number, contract_id, customer_id, plan_id, amount, paid_on, method_id, status, approved_at,
                               owner_id, created_by, created_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, (SELECT id FROM dict_items WHERE dict = 'payment_method' AND code = 'bank_transfer'),
                $7, CASE WHEN $7 = 'approved' THEN x.decided END, $8, $8, x.created,
                CASE WHEN $7 = 'pending' THEN x.created ELSE x.decided END
           FROM (SELECT least(now(), $6::date + interval '10 hours') AS created,
                        least(now(), $6::date + interval '1 day 10 hours') AS decided) x
         RETURNING id",
    )
    .bind(number)
    .bind(contract_id)
    .bind(customer_id)
    .bind(plan)
    .bind(amount)
    .bind(paid_on)
    .bind(status)
    .bind(owner)
    .fetch_one(&mut *tx)
    .await?)
}

/// The approval of a record as the engine leaves it: one stage (the owner's direct superior,
/// as the seeded flows have it), submitted by the owner on `on` (decided the day after); pending
/// with the superior's task open, or rejected by the superior.
async fn approval(
    tx: &mut PgConnection,
    (subject, record_id): (&str, i64),
    owner: i64,
    superior: i64,
    amount: Decimal,
    status: &str,
    on: chrono::NaiveDate,
) -> anyhow::Result<()> {
    let plan = vec![Stage {
        step_seq: 1,
        name: String::new(),
        kind: "superior".into(),
        mode: "any".into(),
        level: 1,
        role_id: None,
        user_ids: Vec::new(),
        condition: Condition::default(),
        approvers: vec![superior],
    }];
    let decided = status != "pending";
    let instance: i64 = sqlx::query_scalar(
        "INSERT INTO approval_instances (subject, record_id, flow_id, flow_name, status, current_step, round, resubmit_from,
                                         plan, submitted_by, owner_id, payload, submitted_at, decided_at)
         SELECT $1, $2, f.id, coalesce(f.name, ''), $3, 1, 1, 'first', $4, $5, $5, $6, x.at,
                CASE WHEN $7 THEN least(now() - interval '1 hour', x.at + interval '1 day') END
           FROM (SELECT least(now() - interval '2 hours', $8::date + interval '11 hours') AS at) x
           LEFT JOIN LATERAL (SELECT id, name FROM approval_flows WHERE subject = $1 ORDER BY enabled DESC, id LIMIT 1) f ON true
         RETURNING id",
    )
    .bind(subject)
    .bind(record_id)
    .bind(status)
    .bind(Json(&plan))
    .bind(owner)
    .bind(json!({ "amount": amount.to_string() }))
    .bind(decided)
    .bind(on)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO approval_tasks (instance_id, stage, step_seq, round, approver_id, status, comment, decided_at, created_at)
         SELECT id, 1, 1, 1, $2, $3, $4, decided_at, submitted_at FROM approval_instances WHERE id = $1",
    )
    .bind(instance)
    .bind(superior)
    .bind(status)
    .bind(match (decided, subject) {
        (false, _) => "",
        (true, "contract") => "折扣超出授权范围，请调整后重新提交",
        (true, _) => "金额与银行回单不符，请核对后重新提交",
    })
    .execute(&mut *tx)
    .await?;
    Ok(())
}
