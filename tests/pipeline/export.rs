//! Exports of the pipeline's lists (src/exports): opportunities, contracts, payments, the pool
//! and products — as many rows as each user's list, and typed amounts, rates and dates.

use calamine::{Data, DataType};

use super::common::files::{col, export_all, list_total};
use super::{Org, customer, default_pool, org};

/// Reps may export the pipeline's lists too (by default only managers may).
async fn reps_export(o: &Org) {
    sqlx::query(
        "INSERT INTO role_permissions (role_id, module, action)
         SELECT r.id, m, 'export' FROM roles r, unnest(ARRAY['opportunities', 'contracts', 'payments']) m
          WHERE r.code = 'rep' ON CONFLICT DO NOTHING",
    )
    .execute(&o.app.db)
    .await
    .unwrap();
}

/// Per owner: a customer with an opportunity and an approved contract paid 250.50 on.
async fn seed(o: &Org) {
    for (owner, n) in [(o.rep1, 2), (o.rep2, 1), (o.north_rep, 3), (o.mgr, 1)] {
        for i in 0..n {
            let cu = customer(&o.app, &format!("客户{owner}-{i}"), Some(owner)).await;
            o.app.opportunity(cu, &format!("商机{owner}-{i}"), owner).await;
            let k = o.app.contract(cu, &format!("合同{owner}-{i}"), owner, "approved").await;
            sqlx::query(
                "INSERT INTO payments (number, contract_id, customer_id, amount, paid_on, status, owner_id)
                 VALUES ('HK-' || $1, $1, $2, 250.50, '2026-03-15', 'approved', $3)",
            )
            .bind(k)
            .bind(cu)
            .bind(owner)
            .execute(&o.app.db)
            .await
            .unwrap();
        }
    }
}

#[tokio::test]
async fn pipeline_exports_have_the_rows_each_user_sees() {
    let o = org().await;
    reps_export(&o).await;
    seed(&o).await;
    let mut totals = Vec::new();
    for login in ["rep1", "mgr", "admin"] {
        let mut c = o.app.login(login).await;
        for code in ["opportunities", "contracts", "payments"] {
            let total = list_total(&mut c, &format!("/{code}?scene=all")).await;
            let rows = export_all(&o.app, &mut c, code, "scene=all", "csv").await.csv_rows().len();
            assert_eq!(rows, total, "{login} exports {code}");
            totals.push((login, code, rows));
        }
    }
    assert!(totals.contains(&("rep1", "contracts", 2)), "{totals:?}");
    assert!(totals.contains(&("mgr", "contracts", 4)), "{totals:?}");
    assert!(totals.contains(&("admin", "payments", 7)), "{totals:?}");
}

#[tokio::test]
async fn amounts_rates_and_dates_are_typed() {
    let o = org().await;
    seed(&o).await;
    let mut c = o.app.login("admin").await;
    let rows = export_all(&o.app, &mut c, "opportunities", "scene=all", "xlsx").await.sheet();
    assert_eq!(rows[1][col(&rows, "商机金额")], Data::Float(1000.0));
    let rate = &rows[1][col(&rows, "赢率")];
    assert!(matches!(rate, Data::Float(r) if (0.0..=1.0).contains(r)), "a rate is a fraction shown as %: {rate:?}");
    assert_eq!(rows[1][col(&rows, "状态")], Data::String("进行中".into()));
    let rows = export_all(&o.app, &mut c, "contracts", "scene=all", "xlsx").await.sheet();
    assert!(rows[1][col(&rows, "下单日期")].is_datetime());
    assert_eq!(rows[1][col(&rows, "合同金额")], Data::Float(1000.0));
    assert_eq!(rows[1][col(&rows, "未回款")], Data::Float(1000.0), "approved, nothing received yet");
    let rows = export_all(&o.app, &mut c, "payments", "scene=all", "xlsx").await.sheet();
    assert_eq!(rows[1][col(&rows, "回款金额")], Data::Float(250.5));
    assert_eq!(rows[1][col(&rows, "回款日期")].as_date(), chrono::NaiveDate::from_ymd_opt(2026, 3, 15));
    let csv = export_all(&o.app, &mut c, "payments", "scene=all", "csv").await;
    assert!(csv.csv_rows()[0].contains(",250.50,2026-03-15,"), "{:?}", csv.csv_rows());
}

#[tokio::test]
async fn the_pool_exports_the_pool_the_list_shows() {
    let o = org().await;
    let pool = default_pool(&o.app).await;
    for i in 0..4 {
        let id = customer(&o.app, &format!("公海客户{i}"), None).await;
        sqlx::query("UPDATE customers SET pool_id = $2, pool_entered_at = now() WHERE id = $1")
            .bind(id)
            .bind(pool)
            .execute(&o.app.db)
            .await
            .unwrap();
    }
    customer(&o.app, "有主客户", Some(o.mgr)).await;
    let mut c = o.app.login("mgr").await;
    let list = c.get(&format!("/pool?pool={pool}")).await;
    assert_eq!(list.attr("#export-button", "href"), Some(format!("/export/pool?pool={pool}")));
    let total = list_total(&mut c, &format!("/pool?pool={pool}")).await;
    let f = export_all(&o.app, &mut c, "pool", &format!("pool={pool}"), "csv").await;
    assert_eq!((f.csv_rows().len(), total), (4, 4));
    assert!(!f.text().contains("有主客户"));
    // Reps may not export the pool by default.
    let mut rep = o.app.login("rep1").await;
    assert!(!rep.get("/pool").await.has("#export-button"));
    rep.get("/export/pool").await.assert_status(403);
}

#[tokio::test]
async fn the_cost_price_is_exported_only_to_those_who_may_see_it() {
    let o = org().await;
    sqlx::query("INSERT INTO products (code, name, price, cost_price) VALUES ('P-1', '服务器', 9999.90, 7000)")
        .execute(&o.app.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO role_permissions (role_id, module, action) SELECT id, 'products', 'export' FROM roles
          WHERE code = 'rep' ON CONFLICT DO NOTHING",
    )
    .execute(&o.app.db)
    .await
    .unwrap();
    let mut mgr = o.app.login("mgr").await;
    let rows = export_all(&o.app, &mut mgr, "products", "", "xlsx").await.sheet();
    assert_eq!(rows[1][col(&rows, "成本价")], Data::Float(7000.0));
    assert_eq!(rows[1][col(&rows, "标准价格")], Data::Float(9999.9));
    let mut rep = o.app.login("rep1").await;
    let rows = export_all(&o.app, &mut rep, "products", "", "xlsx").await.sheet();
    assert!(!rows[0].iter().any(|h| h.to_string() == "成本价"), "{:?}", rows[0]);
}
