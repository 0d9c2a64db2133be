//! Products: the price history, cost prices only for those who may see them, category and price
//! filters, shelf state (one and bulk), and deletes refused while an opportunity line uses one.

use super::common::{Client, TestApp};
use super::opportunities::product;
use super::{customer, dict_id, org};

async fn prices(app: &TestApp, id: i64) -> i64 {
    app.count(&format!("SELECT count(*) FROM product_prices WHERE product_id = {id}")).await
}

#[tokio::test]
async fn prices_are_kept_and_costs_shown_only_to_those_who_may_see_them() {
    let o = org().await;
    let app = &o.app;
    app.user("boss", o.root, None, &["director"]).await;
    let mut boss = app.login("boss").await;
    let unit = dict_id(app, "product_unit", "set").await.to_string();
    let r = boss
        .post(
            "/products",
            &[
                ("name", "私有化授权"),
                ("code", ""),
                ("unit_id", &unit),
                ("price", "180,000"),
                ("cost_price", "40000.5"),
                ("on_shelf", "1"),
            ],
        )
        .await;
    let id: i64 = r.location().trim_start_matches("/products/").parse().unwrap();
    let code: String =
        sqlx::query_scalar("SELECT code FROM products WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap();
    assert!(code.starts_with("CP"), "numbered by the rule: {code}");
    assert_eq!(prices(app, id).await, 1);
    let edit = |price: &'static str, name: &'static str| {
        let unit = unit.clone();
        let code = code.clone();
        move || {
            vec![
                ("name", name.to_string()),
                ("code", code.clone()),
                ("unit_id", unit.clone()),
                ("price", price.to_string()),
                ("cost_price", "40000.50".to_string()),
                ("on_shelf", "1".to_string()),
            ]
        }
    };
    for (price, name, history) in [("180000", "私有化部署授权", 1), ("168000", "私有化部署授权", 2)] {
        let fields = edit(price, name)();
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        boss.post(&format!("/products/{id}"), &fields).await.assert_redirect(&format!("/products/{id}"));
        assert_eq!(prices(app, id).await, history, "a rename alone keeps the history as it is");
    }
    let history = boss.get(&format!("/products/{id}?tab=prices")).await;
    let text = history.text_of("#price-history");
    assert!(text.contains("168,000.00") && text.contains("180,000.00") && text.contains("40,000.50"), "{text}");
    // The audit history says what changed, and never the cost.
    let log = boss.get(&format!("/products/{id}?tab=history")).await.text_of("#tab-history");
    assert!(log.contains("168,000.00") && !log.contains("40,000.50"), "{log}");

    // A rep sees the product and its prices, but no cost anywhere; a manager may see costs.
    let mut rep = app.login("rep1").await;
    let page = rep.get(&format!("/products/{id}")).await;
    page.assert_status(200);
    assert!(!page.has("#cost-price") && !page.text_of("main").contains("40,000.50"));
    assert!(!rep.get(&format!("/products/{id}?tab=prices")).await.text_of("#price-history").contains("40,000.50"));
    assert!(!rep.get("/products/columns").await.text_of("main").contains("成本价"));
    rep.get("/products/new").await.assert_status(403);
    rep.post(&format!("/products/{id}/shelf/off"), &[]).await.assert_status(403);
    let mut mgr = app.login("mgr").await;
    assert!(mgr.get(&format!("/products/{id}")).await.text_of("#cost-price").contains("40,000.50"));
    assert!(mgr.get("/products/columns").await.text_of("main").contains("成本价"));

    // A taken code is an error next to the field, with what was typed kept.
    let r = boss.post("/products", &[("name", "重复编码"), ("code", &code), ("price", "1")]).await;
    r.assert_status(422);
    assert!(r.text_of("label.has-error").contains("已被使用"));
    assert_eq!(r.attr("input[name=name]", "value").as_deref(), Some("重复编码"));
}

#[tokio::test]
async fn the_list_filters_by_category_with_sub_categories_by_price_and_shelf() {
    let o = org().await;
    let app = &o.app;
    let (saas, _) = product(app, "订阅服务", "1200").await;
    let (licence, _) = product(app, "软件授权", "50000").await;
    let (server, _) = product(app, "服务器", "45000").await;
    for (id, category) in [(saas, "saas"), (licence, "license"), (server, "server")] {
        sqlx::query("UPDATE products SET category_id = (SELECT id FROM dict_items WHERE dict = 'product_category' AND code = $2) WHERE id = $1")
            .bind(id)
            .bind(category)
            .execute(&app.db)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE products SET on_shelf = false WHERE id = $1").bind(server).execute(&app.db).await.unwrap();
    let software = dict_id(app, "product_category", "software").await;
    let mut rep = app.login("rep1").await;
    let soft = names(&mut rep, &format!("category={software}")).await;
    assert_eq!(soft, vec!["订阅服务", "软件授权"], "a category finds its sub-categories' products");
    let cheap = names(&mut rep, "price_min=1000&price_max=45000").await;
    assert_eq!(cheap, vec!["服务器", "订阅服务"]);
    assert_eq!(names(&mut rep, "shelf=off").await, vec!["服务器"]);
}

/// The product names a list query shows, sorted.
async fn names(c: &mut Client, q: &str) -> Vec<String> {
    let page = c.get(&format!("/products?scene=all&{q}")).await;
    let cells = scraper::Selector::parse("#list-table tbody tr[data-id] td a").unwrap();
    let mut out: Vec<String> = page
        .html()
        .select(&cells)
        .filter(|a| a.value().attr("href").is_some_and(|h| h.starts_with("/products/")))
        .map(|a| a.text().collect::<String>())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn shelf_in_bulk_and_no_delete_while_a_line_uses_it() {
    let o = org().await;
    let app = &o.app;
    app.user("boss", o.root, None, &["director"]).await;
    let (used, _) = product(app, "在用产品", "100").await;
    let (spare, _) = product(app, "闲置产品", "100").await;
    let cust = customer(app, "用户公司", Some(o.rep1)).await;
    let opp = app.opportunity(cust, "使用它的商机", o.rep1).await;
    sqlx::query(
        "INSERT INTO opportunity_lines (opportunity_id, product_id, price, quantity, subtotal, position) VALUES ($1, $2, 100, 1, 100, 1)",
    )
    .bind(opp)
    .bind(used)
    .execute(&app.db)
    .await
    .unwrap();
    let mut boss = app.login("boss").await;

    // Off the shelf in bulk: both, one audit row each.
    let (u, s) = (used.to_string(), spare.to_string());
    boss.post("/products/bulk/shelf/off", &[("ids", &u), ("ids", &s)]).await.assert_redirect("/products");
    assert_eq!(app.count("SELECT count(*) FROM products WHERE on_shelf").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM operation_logs WHERE entity = 'product' AND action = 'update'").await,
        2
    );
    assert!(boss.get("/products").await.text_of(".flash").contains("已下架 2 个产品"));
    boss.post(&format!("/products/{spare}/shelf/on"), &[]).await;
    assert!(boss.get(&format!("/products/{spare}")).await.text_of("#shelf-badge").contains("已上架"));

    // The used one stays, the refusal says where it is used; the spare one goes to the bin.
    boss.post("/products/bulk/delete", &[("ids", &u), ("ids", &s)]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM products WHERE id = {used} AND deleted_at IS NULL")).await, 1);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM products WHERE id = {spare} AND deleted_at IS NOT NULL")).await,
        1
    );
    let flash = boss.get("/products").await.text_of(".flash");
    assert!(flash.contains("“在用产品”已用于 1 个商机、0 个合同"), "{flash}");
    // Even when its opportunity is in the recycle bin (purging the product would break the line).
    sqlx::query("UPDATE opportunities SET deleted_at = now() WHERE id = $1").bind(opp).execute(&app.db).await.unwrap();
    boss.post(&format!("/products/{used}/delete"), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM products WHERE id = {used} AND deleted_at IS NULL")).await, 1);
    // The product page lists where it was sold to those who see the opportunity.
    sqlx::query("UPDATE opportunities SET deleted_at = NULL WHERE id = $1").bind(opp).execute(&app.db).await.unwrap();
    let mut rep = app.login("rep1").await;
    assert!(rep.get(&format!("/products/{used}?tab=sold")).await.text_of("#sold-in").contains("使用它的商机"));
    let mut north = app.login("north_rep").await;
    let sold = north.get(&format!("/products/{used}?tab=sold")).await;
    assert!(!sold.text_of("#sold-in").contains("使用它的商机") && sold.text_of("#tab-sold").contains("另有 1 条"));
}
