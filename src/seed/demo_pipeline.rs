//! The demo company's catalogue and pipeline: products on and off the shelf (one with a price
//! change), and opportunities of the demo customers at every stage and outcome, with product
//! lines, a stage history, and one left to stall — so the list, board and forecast have
//! something to show. Contracts and payments follow (`demo_contracts`).

use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::money;

/// (name, category code, unit code, price, cost, spec, on shelf); codes come from the numbering rule.
#[allow(clippy::type_complexity)]
const PRODUCTS: &[(&str, &str, &str, i64, Option<i64>, &str, bool)] = &[
    ("云CRM 标准版", "saas", "year", 12_000, Some(3_000), "50 用户 / 年", true),
    ("云CRM 专业版", "saas", "year", 24_000, Some(5_000), "200 用户 / 年，含审批流", true),
    ("私有化部署授权", "license", "set", 180_000, Some(40_000), "不限用户，含一年升级", true),
    ("移动端授权", "license", "item", 600, None, "每用户", true),
    ("机架式服务器 R740", "server", "piece", 45_000, Some(36_000), "2×Xeon / 128G / 4T", true),
    ("智能终端 T10", "terminal", "piece", 3_200, Some(2_100), "10 寸 / 4G", true),
    ("实施服务", "implement", "day", 2_500, Some(1_200), "顾问现场实施", true),
    ("数据迁移服务", "implement", "set", 30_000, Some(12_000), "历史数据清洗与导入", true),
    ("年度运维支持", "support", "year", 20_000, Some(6_000), "7×24 响应", true),
    ("培训服务", "support", "day", 1_800, Some(700), "最多 20 人 / 天", true),
    ("旧版报表插件", "license", "set", 5_000, None, "已停售", false),
];

/// (customer index in demo::CUSTOMERS, name, outcome: stage position 1–5 or "won" / "lost" /
/// "invalid", lines: (index in PRODUCTS, quantity, discount %), days until expected close, days
/// at the current stage)
#[allow(clippy::type_complexity)]
const OPPORTUNITIES: &[(usize, &str, &str, &[(usize, i64, i64)], i64, i64)] = &[
    (0, "华信科技 CRM 升级", "3", &[(1, 1, 0), (6, 10, 10)], 25, 6),
    (0, "华信科技 移动端扩容", "1", &[(3, 120, 5)], 60, 2),
    (1, "云帆网络 私有化部署", "4", &[(2, 1, 8), (4, 2, 0), (6, 30, 10)], 12, 9),
    (2, "精工机械 车间终端", "2", &[(5, 40, 12)], 45, 4),
    (3, "金陵医药 门店 SaaS", "5", &[(0, 3, 0), (9, 4, 0)], 5, 3),
    (4, "港联物流 数据迁移", "won", &[(7, 1, 0), (6, 8, 0)], -10, 12),
    (5, "博远教育 标准版试用转正", "2", &[(0, 1, 0)], 30, 48),
    (6, "海河新材 运维续约", "3", &[(8, 1, 5)], 20, 10),
    (7, "恒通建设 项目管理模块", "lost", &[(1, 1, 15)], -20, 30),
    (8, "泉城食品 渠道管理", "1", &[], 90, 1),
    (9, "蓝海电子 服务器采购", "4", &[(4, 4, 6)], 15, 5),
    (10, "前海金服 合规审批", "won", &[(1, 2, 10), (8, 1, 0)], -5, 20),
    (11, "南方传媒 重复询价", "invalid", &[(0, 1, 0)], 10, 8),
    (3, "金陵医药 总部私有化", "2", &[(2, 1, 10), (7, 1, 0)], 75, 15),
];

pub async fn seed(tx: &mut PgConnection) -> anyhow::Result<()> {
    let products = seed_products(tx).await?;
    seed_opportunities(tx, &products).await?;
    // Contracts, plans and payments (some from the won opportunities above).
    super::demo_contracts::seed(tx, &products).await
}

/// The products' ids, in the order of PRODUCTS.
async fn seed_products(tx: &mut PgConnection) -> anyhow::Result<Vec<i64>> {
    let admin: i64 = sqlx::query_scalar("SELECT id FROM users WHERE login = 'admin'").fetch_one(&mut *tx).await?;
    let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::FixedOffset::east_opt(0).unwrap());
    let mut ids = Vec::new();
    for (name, category, unit, price, cost, spec, on_shelf) in PRODUCTS {
        let code = crate::numbering::next(tx, "product", chrono::Utc::now(), tz).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO products (code, name, category_id, unit_id, price, cost_price, spec, on_shelf, created_by)
             VALUES ($1, $2, (SELECT id FROM dict_items WHERE dict = 'product_category' AND code = $3),
                     (SELECT id FROM dict_items WHERE dict = 'product_unit' AND code = $4), $5, $6, $7, $8, $9)
             RETURNING id",
        )
        .bind(code)
        .bind(name)
        .bind(category)
        .bind(unit)
        .bind(Decimal::from(*price))
        .bind(cost.map(Decimal::from))
        .bind(spec)
        .bind(on_shelf)
        .bind(admin)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO product_prices (product_id, price, cost_price, changed_by, changed_at)
             VALUES ($1, $2, $3, $4, now() - interval '120 days')",
        )
        .bind(id)
        .bind(Decimal::from(*price))
        .bind(cost.map(Decimal::from))
        .bind(admin)
        .execute(&mut *tx)
        .await?;
        ids.push(id);
    }
    // The standard edition went up last month: its history shows both prices.
    sqlx::query("UPDATE product_prices SET price = 10800 WHERE product_id = $1").bind(ids[0]).execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO product_prices (product_id, price, cost_price, changed_by, changed_at)
         SELECT id, price, cost_price, created_by, now() - interval '30 days' FROM products WHERE id = $1",
    )
    .bind(ids[0])
    .execute(&mut *tx)
    .await?;
    Ok(ids)
}

async fn seed_opportunities(tx: &mut PgConnection, products: &[i64]) -> anyhow::Result<()> {
    let customers: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, owner_id FROM customers WHERE owner_id IS NOT NULL ORDER BY id")
            .fetch_all(&mut *tx)
            .await?;
    let stages: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.id, s.group_id FROM stages s JOIN stage_groups g ON g.id = s.group_id AND g.is_default ORDER BY s.position",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (customer, name, outcome, lines, close_in, at_stage) in OPPORTUNITIES {
        let Some((customer_id, owner)) = customers.get(*customer).copied() else { continue };
        let (stage_at, status) = match outcome.parse::<usize>() {
            Ok(p) => (p, "open"),
            Err(_) => (4, *outcome),
        };
        let Some((stage_id, group_id)) = stages.get(stage_at - 1).copied() else { continue };
        let mut priced = Vec::new();
        for (product, qty, discount) in *lines {
            let product_id = products[*product];
            let price: Decimal = sqlx::query_scalar("SELECT price FROM products WHERE id = $1")
                .bind(product_id)
                .fetch_one(&mut *tx)
                .await?;
            let (qty, discount) = (Decimal::from(*qty), Decimal::from(*discount));
            priced.push((product_id, price, qty, discount, money::subtotal(price, qty, discount)));
        }
        let amount: Decimal = if priced.is_empty() { Decimal::from(50_000) } else { priced.iter().map(|l| l.4).sum() };
        let closed = status != "open";
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO opportunities (name, customer_id, amount, expected_close, group_id, stage_id, status, closed_on,
                                        close_reason_id, source_id, type_id, owner_id, created_by, created_at,
                                        stage_changed_at, competitors, next_step)
             VALUES ($1, $2, $3, current_date + $4::int, $5, $6, $7,
                     CASE WHEN $8 THEN current_date - $9::int END,
                     (SELECT id FROM dict_items WHERE dict = CASE $7 WHEN 'won' THEN 'win_reason' WHEN 'lost' THEN 'lost_reason'
                                                                       ELSE 'invalid_reason' END
                        AND $8 ORDER BY position LIMIT 1),
                     (SELECT id FROM dict_items WHERE dict = 'opportunity_source' ORDER BY position OFFSET $10 % 4 LIMIT 1),
                     (SELECT id FROM dict_items WHERE dict = 'opportunity_type' ORDER BY position OFFSET $10 % 3 LIMIT 1),
                     $11, $11, now() - make_interval(days => $9 + 20), now() - make_interval(days => $9),
                     CASE WHEN $10 % 3 = 0 THEN '销售易、纷享销客' END,
                     CASE WHEN NOT $8 THEN '安排下周方案演示' END)
             RETURNING id",
        )
        .bind(name)
        .bind(customer_id)
        .bind(amount)
        .bind(*close_in as i32)
        .bind(group_id)
        .bind(stage_id)
        .bind(status)
        .bind(closed)
        .bind(*at_stage as i32)
        .bind(*customer as i32)
        .bind(owner)
        .fetch_one(&mut *tx)
        .await?;
        for (i, (product_id, price, qty, discount, subtotal)) in priced.iter().enumerate() {
            sqlx::query(
                "INSERT INTO opportunity_lines (opportunity_id, product_id, price, quantity, discount, subtotal, position)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(product_id)
            .bind(price)
            .bind(qty)
            .bind(discount)
            .bind(subtotal)
            .bind(i as i32 + 1)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO opportunity_contacts (opportunity_id, contact_id)
             SELECT $1, id FROM contacts WHERE customer_id = $2 AND is_primary",
        )
        .bind(id)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
        seed_history(tx, id, &stages, stage_at, status, owner, *at_stage).await?;
        let created = "UPDATE customers SET last_opportunity_at =
                         greatest(last_opportunity_at, now() - make_interval(days => $2 + 20)) WHERE id = $1";
        sqlx::query(created).bind(customer_id).bind(*at_stage as i32).execute(&mut *tx).await?;
    }
    Ok(())
}

/// The stage history: created at the first stage, one move per stage up to where it is (four
/// days apart), and the close.
async fn seed_history(
    tx: &mut PgConnection,
    id: i64,
    stages: &[(i64, i64)],
    at: usize,
    status: &str,
    actor: i64,
    days_at_stage: i64,
) -> anyhow::Result<()> {
    let log = "INSERT INTO opportunity_stage_log
                 (opportunity_id, from_stage_id, to_stage_id, from_status, to_status, reason_id, seconds_before, actor_id, at)
               VALUES ($1, $2, $3, $4, $5, (SELECT close_reason_id FROM opportunities WHERE id = $1 AND $5 <> 'open'),
                       $6, $7, now() - make_interval(days => $8))";
    let steps = at.max(1);
    let start = days_at_stage + 20;
    sqlx::query(log)
        .bind(id)
        .bind(None::<i64>)
        .bind(stages[0].0)
        .bind(None::<&str>)
        .bind("open")
        .bind(0i64)
        .bind(actor)
        .bind(start as i32)
        .execute(&mut *tx)
        .await?;
    let gap = if steps > 1 { 20 / (steps as i64 - 1).max(1) } else { 0 };
    for s in 1..steps {
        let when = start - gap * s as i64;
        sqlx::query(log)
            .bind(id)
            .bind(stages[s - 1].0)
            .bind(stages[s].0)
            .bind(Some("open"))
            .bind("open")
            .bind(gap * 86_400)
            .bind(actor)
            .bind(when.max(days_at_stage) as i32)
            .execute(&mut *tx)
            .await?;
    }
    if status != "open" {
        sqlx::query(log)
            .bind(id)
            .bind(stages[steps - 1].0)
            .bind(stages[steps - 1].0)
            .bind(Some("open"))
            .bind(status)
            .bind(86_400i64)
            .bind(actor)
            .bind(days_at_stage as i32)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
