//! Opportunities: product lines priced in Decimal, off-shelf products, the stage bar and its
//! history, closing and reopening, scope on every page (detail, board, bulk, forecast, search),
//! the customer side (tab, delete refused, transfer cascade, follow-ups) and the pool rules on
//! real opportunities.

use chrono::Utc;
use crm::modules::pool::rules;
use rust_decimal::Decimal;
use std::str::FromStr;

use super::common::{Client, Resp, TestApp};
use super::{customer, default_pool, dict_id, org, owner_of};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// A product on the shelf at `price`, inserted directly; returns (id, code).
pub async fn product(app: &TestApp, name: &str, price: &str) -> (i64, String) {
    let code = format!("P-{name}");
    let id = sqlx::query_scalar("INSERT INTO products (code, name, price) VALUES ($1, $2, $3) RETURNING id")
        .bind(&code)
        .bind(name)
        .bind(dec(price))
        .fetch_one(&app.db)
        .await
        .unwrap();
    (id, code)
}

/// The default group's stages, in order.
async fn stages(app: &TestApp) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT s.id FROM stages s JOIN stage_groups g ON g.id = s.group_id AND g.is_default ORDER BY s.position",
    )
    .fetch_all(&app.db)
    .await
    .unwrap()
}

/// A line of the form: (product code, price, quantity, discount); "" leaves a field empty.
type Line<'a> = (&'a str, &'a str, &'a str, &'a str);

/// The opportunity form's fields for `name` on `customer` with `lines` and a discount on the total.
fn form<'a>(name: &'a str, customer: &'a str, lines: &[Line<'a>], discount: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![("name", name), ("customer_id", customer), ("customer_q", ""), ("discount", discount)];
    for (code, price, qty, disc) in lines {
        f.extend([
            ("line_id", ""),
            ("line_product", *code),
            ("line_price", *price),
            ("line_qty", *qty),
            ("line_discount", *disc),
        ]);
    }
    f
}

/// Create an opportunity through the form; its id.
async fn create(c: &mut Client, app: &TestApp, fields: &[(&str, &str)]) -> i64 {
    let r = c.post("/opportunities", fields).await;
    assert_eq!(r.status.as_u16(), 303, "created: {}", r.text_of(".field-error, .flash"));
    let id: i64 = r.location().trim_start_matches("/opportunities/").parse().unwrap();
    assert!(app.count(&format!("SELECT count(*) FROM opportunities WHERE id = {id}")).await == 1);
    id
}

async fn amount(app: &TestApp, id: i64) -> Decimal {
    sqlx::query_scalar("SELECT amount FROM opportunities WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap()
}

async fn status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM opportunities WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap()
}

async fn stage_of(app: &TestApp, id: i64) -> i64 {
    sqlx::query_scalar("SELECT stage_id FROM opportunities WHERE id = $1").bind(id).fetch_one(&app.db).await.unwrap()
}

/// The list's rows (opportunity ids) for a query.
fn listed(page: &Resp) -> Vec<String> {
    page.html()
        .select(&scraper::Selector::parse("#list-table tbody tr[data-id]").unwrap())
        .filter_map(|e| e.value().attr("data-id").map(str::to_string))
        .collect()
}

#[tokio::test]
async fn lines_add_up_exactly_and_the_amount_follows_them() {
    let o = org().await;
    let app = &o.app;
    let (_, a) = product(app, "软件A", "19.99").await;
    let (_, b) = product(app, "服务B", "10.01").await;
    let cust = customer(app, "华信科技", Some(o.rep1)).await.to_string();
    let mut rep = app.login("rep1").await;
    // 19.99 × 3 − 15% = 50.9745 → 50.97; 10.01 × 0.5 = 5.005 → 5.01 (half up, at the list price
    // since the price is left empty); 55.98 − 10% = 50.382 → 50.38.
    let lines = [(a.as_str(), "", "3", "15"), (b.as_str(), "", "0.5", "")];
    let id = create(&mut rep, app, &form("CRM 升级", &cust, &lines, "10")).await;
    let subtotals: Vec<(Decimal, Decimal)> =
        sqlx::query_as("SELECT price, subtotal FROM opportunity_lines WHERE opportunity_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(subtotals, vec![(dec("19.99"), dec("50.97")), (dec("10.01"), dec("5.01"))]);
    assert_eq!(amount(app, id).await, dec("50.38"));

    // Weighted at the first stage (10%): 5.038 → 5.04, on the page and in the list's footer.
    let page = rep.get(&format!("/opportunities/{id}")).await;
    assert_eq!(page.text_of("#amount"), "50.38");
    assert_eq!(page.text_of("#weighted"), "5.04");
    let lines_tab = rep.get(&format!("/opportunities/{id}?tab=lines")).await;
    assert_eq!(lines_tab.text_of("#lines-total"), "55.98");
    let list = rep.get("/opportunities?scene=all").await;
    assert_eq!(list.text_of("#footer-amount"), "50.38");
    assert_eq!(list.text_of("#footer-weighted"), "5.04");

    // A second one without lines: the typed amount. Footer totals add both, weighted exactly.
    let id2 = create(&mut rep, app, &[("name", "框架协议"), ("customer_id", &cust), ("amount", "1,234.5")]).await;
    assert_eq!(amount(app, id2).await, dec("1234.50"));
    let list = rep.get("/opportunities?scene=all").await;
    assert_eq!(list.text_of("#footer-amount"), "1,284.88");
    // (50.38 + 1234.50) × 10% = 128.488 → 128.49.
    assert_eq!(list.text_of("#footer-weighted"), "128.49");
    // The same from the rows (a filter turns the counters off).
    let filtered = rep.get("/opportunities?scene=all&amount_min=0").await;
    assert_eq!(filtered.text_of("#footer-weighted"), "128.49");

    // Bad input keeps what was typed and says where.
    let bad = rep.post("/opportunities", &form("坏数量", &cust, &[(a.as_str(), "19.999", "0", "")], "120")).await;
    bad.assert_status(422);
    assert!(bad.text_of(".line-row .field-error").contains("两位小数"), "{}", bad.text_of(".line-row"));
    assert!(bad.text_of("label.has-error").contains("百分比"), "{}", bad.text_of("label.has-error"));
    assert_eq!(bad.attr("input[name=line_price]", "value").as_deref(), Some("19.999"));
    assert_eq!(app.count("SELECT count(*) FROM opportunities").await, 2, "nothing half-written");
}

#[tokio::test]
async fn off_shelf_products_stay_on_their_lines_but_go_on_no_new_one() {
    let o = org().await;
    let app = &o.app;
    app.user("boss", o.root, None, &["director"]).await;
    let (pid, code) = product(app, "旧版插件", "500").await;
    let (_, other) = product(app, "新版插件", "800").await;
    let cust = customer(app, "精工机械", Some(o.rep1)).await.to_string();
    let mut rep = app.login("rep1").await;
    let id = create(&mut rep, app, &form("插件", &cust, &[(code.as_str(), "450", "2", "")], "")).await;

    let mut boss = app.login("boss").await;
    boss.post(&format!("/products/{pid}/shelf/off"), &[]).await.assert_redirect(&format!("/products/{pid}"));
    assert!(!rep.get("/opportunities/new").await.text_of("#product-options").contains("旧版插件"), "not offered");

    // The line it is on stays, with the price it was added at.
    let line: String = sqlx::query_scalar("SELECT id::text FROM opportunity_lines WHERE opportunity_id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let label = format!("旧版插件（{code}）");
    let keep = vec![
        ("name", "插件"),
        ("customer_id", cust.as_str()),
        ("line_id", line.as_str()),
        ("line_product", label.as_str()),
        ("line_price", "450"),
        ("line_qty", "3"),
        ("line_discount", ""),
    ];
    rep.post(&format!("/opportunities/{id}"), &keep).await.assert_redirect(&format!("/opportunities/{id}"));
    assert_eq!(amount(app, id).await, dec("1350.00"));

    // A new line with it is refused, next to the line; nothing changes.
    let mut add = keep.clone();
    add.extend([
        ("line_id", ""),
        ("line_product", code.as_str()),
        ("line_price", ""),
        ("line_qty", "1"),
        ("line_discount", ""),
    ]);
    let r = rep.post(&format!("/opportunities/{id}"), &add).await;
    r.assert_status(422);
    assert!(r.text_of(".line-row.has-error").contains("已下架"), "{}", r.text_of("#line-table"));
    assert_eq!(amount(app, id).await, dec("1350.00"));
    // So is a new opportunity with it; one on the shelf goes through.
    let r = rep.post("/opportunities", &form("再买插件", &cust, &[(code.as_str(), "", "1", "")], "")).await;
    r.assert_status(422);
    create(&mut rep, app, &form("买新插件", &cust, &[(other.as_str(), "", "1", "")], "")).await;
}

#[tokio::test]
async fn stage_moves_keep_their_history_and_closing_needs_a_reason() {
    let o = org().await;
    let app = &o.app;
    let cust = customer(app, "云帆网络", Some(o.rep1)).await.to_string();
    let mut rep = app.login("rep1").await;
    let id = create(&mut rep, app, &[("name", "私有化部署"), ("customer_id", &cust), ("amount", "100000")]).await;
    let s = stages(app).await;
    assert_eq!(stage_of(app, id).await, s[0], "new ones start at the first stage");
    sqlx::query("UPDATE opportunities SET stage_changed_at = now() - interval '3 days 2 hours' WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();

    let to = s[2].to_string();
    rep.post(&format!("/opportunities/{id}/stage"), &[("stage_id", &to), ("note", "方案已发")])
        .await
        .assert_redirect(&format!("/opportunities/{id}"));
    assert_eq!(stage_of(app, id).await, s[2]);
    let spent: i64 = sqlx::query_scalar(
        "SELECT seconds_before FROM opportunity_stage_log WHERE opportunity_id = $1 AND from_stage_id IS NOT NULL",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!((3 * 86_400 + 7_000..3 * 86_400 + 7_400).contains(&spent), "time in the previous stage: {spent}");
    let log = rep.get(&format!("/opportunities/{id}?tab=stages")).await;
    let text = log.text_of("#stage-log");
    assert!(
        text.contains("初步接洽 → 方案报价") && text.contains("3 天 2 小时") && text.contains("方案已发"),
        "{text}"
    );
    assert!(text.contains("创建于“初步接洽”"), "{text}");
    assert!(rep.get(&format!("/opportunities/{id}?tab=history")).await.text_of("#tab-history").contains("方案报价"));

    // Closing: a reason from the outcome's dictionary and a date not after today are required.
    let won = dict_id(app, "win_reason", "price").await.to_string();
    let lost = dict_id(app, "lost_reason", "price").await.to_string();
    let today = Utc::now().with_timezone(&app.config.timezone).date_naive();
    let (today_s, tomorrow) = (today.to_string(), today.succ_opt().unwrap().to_string());
    let close = format!("/opportunities/{id}/close");
    rep.post(&close, &[("status", "won"), ("closed_on", &today_s)]).await.assert_status(400);
    rep.post(&close, &[("status", "won"), ("reason_id", &lost), ("closed_on", &today_s)]).await.assert_status(400);
    rep.post(&close, &[("status", "won"), ("reason_id", &won), ("closed_on", &tomorrow)]).await.assert_status(400);
    assert_eq!(status(app, id).await, "open");
    rep.post(&close, &[("status", "won"), ("reason_id", &won), ("closed_on", &today_s), ("note", "签了")])
        .await
        .assert_redirect(&format!("/opportunities/{id}"));
    assert_eq!(status(app, id).await, "won");
    let page = rep.get(&format!("/opportunities/{id}")).await;
    assert!(page.text_of("#closed-line").contains("价格有优势"), "{}", page.text_of("#closed-line"));
    assert_eq!(page.text_of("#weighted"), "100,000.00", "won counts at 100%");
    // A closed one does not move; reopening brings it back where it was.
    rep.post(&format!("/opportunities/{id}/stage"), &[("stage_id", &s[3].to_string())]).await.assert_status(409);

    // Status filters.
    let ids = |p: &Resp| listed(p);
    assert_eq!(ids(&rep.get("/opportunities?scene=all&status=won").await), vec![id.to_string()]);
    assert!(ids(&rep.get("/opportunities?scene=all&status=lost").await).is_empty());
    assert_eq!(ids(&rep.get("/opportunities?scene=all&status=closed").await), vec![id.to_string()]);
    assert!(ids(&rep.get("/opportunities?scene=all&status=open").await).is_empty());

    rep.post(&format!("/opportunities/{id}/reopen"), &[]).await.assert_redirect(&format!("/opportunities/{id}"));
    assert_eq!(status(app, id).await, "open");
    assert_eq!(stage_of(app, id).await, s[2]);
    let entries = app.count(&format!("SELECT count(*) FROM opportunity_stage_log WHERE opportunity_id = {id}")).await;
    assert_eq!(entries, 4, "created, moved, won, reopened");
    let audit = app
        .count(&format!(
            "SELECT count(*) FROM operation_logs WHERE entity = 'opportunity' AND entity_id = {id} AND action IN ('stage', 'close', 'reopen')"
        ))
        .await;
    assert_eq!(audit, 3);
}

#[tokio::test]
async fn a_rep_cannot_see_or_move_another_regions_opportunities() {
    let o = org().await;
    let app = &o.app;
    let mine_c = customer(app, "东方客户", Some(o.rep1)).await;
    let theirs_c = customer(app, "北方客户", Some(o.north_rep)).await;
    let mine = app.opportunity(mine_c, "东方商机", o.rep1).await;
    let theirs = app.opportunity(theirs_c, "北方商机", o.north_rep).await;
    // An opportunity of the north on the rep's own customer: its tab says one is hidden.
    let hidden = app.opportunity(mine_c, "北方人的东方商机", o.north_rep).await;
    for id in [mine, theirs, hidden] {
        sqlx::query("UPDATE opportunities SET expected_close = current_date + 10, amount = 1000 WHERE id = $1")
            .bind(id)
            .execute(&app.db)
            .await
            .unwrap();
    }
    let s = stages(app).await;
    let next = s[1].to_string();
    let mut rep = app.login("rep1").await;

    rep.get(&format!("/opportunities/{theirs}")).await.assert_status(404);
    rep.get(&format!("/opportunities/{theirs}/edit")).await.assert_status(404);
    rep.post(&format!("/opportunities/{theirs}/stage"), &[("stage_id", &next)]).await.assert_status(404);
    rep.post(&format!("/opportunities/{theirs}/close"), &[("status", "lost")]).await.assert_status(404);
    assert_eq!(stage_of(app, theirs).await, s[0]);

    let board = rep.get("/opportunities/board").await;
    assert!(board.has(&format!(".board-card[data-id=\"{mine}\"]")));
    assert!(!board.has(&format!(".board-card[data-id=\"{theirs}\"]")) && !board.text_of("#board").contains("北方"));
    let list = rep.get("/opportunities?scene=all").await;
    assert_eq!(listed(&list), vec![mine.to_string()]);
    let forecast = rep.get("/opportunities/forecast").await;
    assert_eq!(forecast.text_of("#forecast-grand strong"), "1,000.00", "only the rep's own");

    // The customer's tab shows the visible one and counts the other.
    let tab = rep.get(&format!("/customers/{mine_c}?tab=opportunities")).await;
    assert!(!tab.text_of("#customer-opportunities").contains("北方人"), "{}", tab.text_of("#tab-opportunities"));
    assert!(tab.text_of("#tab-opportunities").contains("另有 1 个"), "{}", tab.text_of("#tab-opportunities"));

    // The top bar's search finds opportunities within scope.
    let found = rep.get(&format!("/search?q={}", "%E5%95%86%E6%9C%BA")).await; // 商机
    assert!(found.text_of("[data-group=\"opportunities\"]").contains("东方商机"));
    assert!(!found.text_of("[data-group=\"opportunities\"]").contains("北方商机"));

    // Bulk delete and transfer of ticked rows skip what is not theirs (even every matching row).
    let (t, m) = (theirs.to_string(), mine.to_string());
    rep.post("/opportunities/bulk/delete", &[("ids", &t)]).await;
    rep.post("/opportunities/bulk/transfer", &[("ids", &t), ("new_owner", &o.rep1.to_string())]).await;
    let still: (Option<i64>, bool) =
        sqlx::query_as("SELECT owner_id, deleted_at IS NULL FROM opportunities WHERE id = $1")
            .bind(theirs)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(still, (Some(o.north_rep), true));
    rep.post(
        "/opportunities/bulk/transfer",
        &[("all", "1"), ("filter", "scene=all"), ("new_owner", &o.rep2.to_string())],
    )
    .await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM opportunities WHERE owner_id = {} ", o.rep2)).await, 1);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM opportunities WHERE id = {m} AND owner_id = {}", o.rep2)).await,
        1
    );

    // The manager of 华东 sees the east's (now rep2's) on the board and forecast, not the north's.
    let mut mgr = app.login("mgr").await;
    let board = mgr.get("/opportunities/board").await;
    assert!(
        board.has(&format!(".board-card[data-id=\"{mine}\"]"))
            && !board.has(&format!(".board-card[data-id=\"{theirs}\"]"))
    );
    assert_eq!(mgr.get("/opportunities/forecast").await.text_of("#forecast-grand strong"), "1,000.00");

    // A place on the north's team shows it on the rep's board, list and forecast; once the place
    // has expired it is gone again.
    sqlx::query(
        "INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('opportunity', $1, $2, 'read')",
    )
    .bind(theirs)
    .bind(o.rep1)
    .execute(&app.db)
    .await
    .unwrap();
    let board = rep.get("/opportunities/board").await;
    assert!(
        board.has(&format!(".board-card[data-id=\"{theirs}\"]"))
            && !board.has(&format!(".board-card[data-id=\"{mine}\"]"))
    );
    assert_eq!(listed(&rep.get("/opportunities?scene=all").await), vec![theirs.to_string()]);
    assert_eq!(rep.get("/opportunities/forecast").await.text_of("#forecast-grand strong"), "1,000.00");
    sqlx::query("UPDATE record_members SET expires_at = now() - interval '1 day' WHERE record_id = $1")
        .bind(theirs)
        .execute(&app.db)
        .await
        .unwrap();
    assert!(!rep.get("/opportunities/board").await.has(&format!(".board-card[data-id=\"{theirs}\"]")));
    assert_eq!(rep.get("/opportunities/forecast").await.text_of("#forecast-grand strong"), "0.00");
}

#[tokio::test]
async fn the_customer_side_tab_delete_transfer_and_follow_ups() {
    let o = org().await;
    let app = &o.app;
    let cust = customer(app, "港联物流", Some(o.rep1)).await;
    let c = cust.to_string();
    let mut rep = app.login("rep1").await;
    let page = rep.get(&format!("/customers/{cust}")).await;
    assert_eq!(
        page.attr("#customer-new-opportunity", "href").as_deref(),
        Some(&*format!("/opportunities/new?customer_id={cust}"))
    );
    let new = rep.get(&format!("/opportunities/new?customer_id={cust}")).await;
    assert_eq!(new.attr("input[name=customer_q]", "value").as_deref(), Some("港联物流"));
    let before: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT last_opportunity_at FROM customers WHERE id = $1")
            .bind(cust)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(before.is_none());
    let id = create(&mut rep, app, &[("name", "数据迁移"), ("customer_id", &c), ("amount", "30000")]).await;
    let after: Option<chrono::DateTime<Utc>> =
        sqlx::query_scalar("SELECT last_opportunity_at FROM customers WHERE id = $1")
            .bind(cust)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(after.is_some(), "creating one sets the customer's last-opportunity time");
    assert!(
        rep.get(&format!("/customers/{cust}?tab=opportunities"))
            .await
            .text_of("#customer-opportunities")
            .contains("数据迁移")
    );

    // A follow-up on the opportunity shows on the customer's timeline too.
    let phone = dict_id(app, "followup_method", "phone").await.to_string();
    rep.post(&format!("/opportunities/{id}/followups"), &[("method_id", &phone), ("content", "演示了迁移方案")]).await;
    let on_customer = format!("SELECT count(*) FROM followups WHERE entity = 'opportunity' AND customer_id = {cust}");
    assert_eq!(app.count(&on_customer).await, 1);
    assert!(
        rep.get(&format!("/opportunities/{id}?tab=timeline")).await.text_of("#tab-timeline").contains("演示了迁移方案")
    );
    assert!(
        rep.get(&format!("/customers/{cust}?tab=timeline")).await.text_of("#tab-timeline").contains("演示了迁移方案")
    );

    // The customer cannot go to the recycle bin while it has opportunities.
    rep.post(&format!("/customers/{cust}/delete"), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM customers WHERE id = {cust} AND deleted_at IS NULL")).await, 1);
    let flash = rep.get(&format!("/customers/{cust}")).await;
    assert!(flash.text_of(".flash").contains("还有 1 个商机"), "{}", flash.text_of(".flash"));

    // Transfer: the opportunities follow only when ticked.
    let rep2 = o.rep2.to_string();
    rep.post(&format!("/customers/{cust}/transfer"), &[("new_owner", &rep2)]).await;
    assert_eq!(owner_of(app, cust).await, Some(o.rep2));
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM opportunities WHERE id = {id} AND owner_id = {}", o.rep1)).await,
        1
    );
    let mut mgr = app.login("mgr").await;
    mgr.post(&format!("/customers/{cust}/transfer"), &[("new_owner", &o.rep1.to_string())]).await;
    // A colleague's opportunity on the same customer stays theirs: only the previous owner's move.
    let colleagues = app.opportunity(cust, "同事的商机", o.mgr).await;
    mgr.post(&format!("/customers/{cust}/transfer"), &[("new_owner", &rep2), ("move_opportunities", "1")]).await;
    let moved = format!("SELECT count(*) FROM opportunities WHERE id = {id} AND owner_id = {}", o.rep2);
    assert_eq!(app.count(&moved).await, 1);
    let theirs = format!("SELECT count(*) FROM opportunities WHERE id = {colleagues} AND owner_id = {}", o.mgr);
    assert_eq!(app.count(&theirs).await, 1);
    mgr.post(&format!("/opportunities/{colleagues}/delete"), &[]).await;

    // Once its opportunity is in the recycle bin, the customer may go too; the opportunity comes
    // back only with its customer.
    mgr.post(&format!("/opportunities/{id}/delete"), &[]).await.assert_redirect("/opportunities");
    mgr.post(&format!("/customers/{cust}/delete"), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM customers WHERE id = {cust} AND deleted_at IS NULL")).await, 0);
    mgr.post("/opportunities/recycle/restore", &[("ids", &id.to_string())]).await;
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM opportunities WHERE id = {id} AND deleted_at IS NULL")).await,
        0
    );
    assert!(mgr.get("/opportunities/recycle").await.text_of(".flash").contains("请先恢复该客户"));
}

/// A customer of `owner` created and owned 90 days ago, followed up yesterday.
async fn aged(app: &TestApp, name: &str, owner: i64) -> i64 {
    let id = customer(app, name, Some(owner)).await;
    sqlx::query(
        "UPDATE customers SET created_at = now() - interval '90 days', owner_since = now() - interval '90 days',
                last_followup_at = now() - interval '1 day' WHERE id = $1",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn pool_rules_read_real_opportunities() {
    let o = org().await;
    let app = &o.app;
    let pool = default_pool(app).await;
    sqlx::query("INSERT INTO pool_rules (pool_id, kind, days, exempt_open_opportunities) VALUES ($1, 'no_opportunity', 60, false), ($1, 'no_followup', 30, true)")
        .bind(pool)
        .execute(&app.db)
        .await
        .unwrap();
    // No opportunity for 60 days: recycled; one created today through the form: kept.
    let none = aged(app, "从无商机", o.rep1).await;
    let fresh = aged(app, "今天新建商机", o.rep1).await;
    let mut rep = app.login("rep1").await;
    create(&mut rep, app, &[("name", "新需求"), ("customer_id", &fresh.to_string()), ("amount", "1")]).await;
    // No follow-up for 30 days: recycled unless an open opportunity exempts it.
    let quiet_open = aged(app, "有进行中商机", o.rep1).await;
    let quiet_lost = aged(app, "只有输单商机", o.rep1).await;
    let quiet_binned = aged(app, "商机在回收站", o.rep1).await;
    for (c, status) in [(quiet_open, "open"), (quiet_lost, "lost"), (quiet_binned, "open")] {
        let id = app.opportunity(c, "商机", o.rep1).await;
        sqlx::query(
            "UPDATE opportunities SET status = $2, closed_on = CASE WHEN $2 = 'open' THEN NULL ELSE current_date END,
                    deleted_at = CASE WHEN $3 THEN now() END WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(c == quiet_binned)
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query(
        "UPDATE customers SET last_followup_at = now() - interval '40 days', last_opportunity_at = now() - interval '10 days'
          WHERE id = ANY($1)",
    )
    .bind(vec![quiet_open, quiet_lost, quiet_binned])
    .execute(&app.db)
    .await
    .unwrap();

    rules::recycle(&app.db, Utc::now()).await.unwrap();
    assert_eq!(owner_of(app, none).await, None, "no opportunity for 60 days");
    assert_eq!(owner_of(app, fresh).await, Some(o.rep1), "a new opportunity restarts the clock");
    assert_eq!(owner_of(app, quiet_open).await, Some(o.rep1), "an open opportunity exempts it");
    assert_eq!(owner_of(app, quiet_lost).await, None, "a lost one does not");
    assert_eq!(owner_of(app, quiet_binned).await, None, "one in the recycle bin does not");
}

#[tokio::test]
async fn the_board_moves_cards_and_comes_back_to_its_filter() {
    let o = org().await;
    let app = &o.app;
    let cust = customer(app, "蓝海电子", Some(o.rep1)).await;
    let id = app.opportunity(cust, "服务器采购", o.rep1).await;
    let s = stages(app).await;
    let mut rep = app.login("rep1").await;
    let board = rep.get("/opportunities/board?q=%E6%9C%8D%E5%8A%A1%E5%99%A8").await; // 服务器
    let card = format!(".board-card[data-id=\"{id}\"]");
    assert!(board.has(&card));
    assert!(board.text_of(&format!(".board-col[data-stage=\"{}\"] .board-count", s[0])).contains('1'));
    let back = board.attr(&format!("{card} input[name=back]"), "value").unwrap();
    rep.post(&format!("/opportunities/{id}/stage"), &[("stage_id", &s[1].to_string()), ("back", &back)])
        .await
        .assert_redirect(&back);
    assert_eq!(stage_of(app, id).await, s[1]);
    let board = rep.get(&back).await;
    assert!(board.has(&format!(".board-col[data-stage=\"{}\"] {card}", s[1])));
    // A foreign "back" is not followed.
    rep.post(
        &format!("/opportunities/{id}/stage"),
        &[("stage_id", &s[2].to_string()), ("back", "https://evil.example/")],
    )
    .await
    .assert_redirect(&format!("/opportunities/{id}"));
}

#[tokio::test]
async fn stage_groups_follow_departments_and_stages_in_use_stay() {
    let o = org().await;
    let app = &o.app;
    let mut admin = app.login("admin").await;
    let r = admin.post("/admin/stages", &[("name", "大客户流程")]).await;
    let group: i64 = r.location().trim_start_matches("/admin/stages/").parse().unwrap();
    let copied = app.count(&format!("SELECT count(*) FROM stages WHERE group_id = {group}")).await;
    assert_eq!(copied, 5, "a new group starts with the default group's stages");
    admin.post("/admin/stages", &[("name", "大客户流程")]).await.assert_status(422);
    admin
        .post(&format!("/admin/stages/{group}"), &[("name", "大客户流程"), ("dept_ids", &o.north.to_string())])
        .await
        .assert_redirect(&format!("/admin/stages/{group}"));

    // The north's new opportunities use it; the east's the default group.
    let north_c = customer(app, "北方大客户", Some(o.north_rep)).await.to_string();
    let east_c = customer(app, "东方客户", Some(o.rep1)).await.to_string();
    let mut north = app.login("north_rep").await;
    let n = create(&mut north, app, &[("name", "大单"), ("customer_id", &north_c)]).await;
    let mut rep = app.login("rep1").await;
    let e = create(&mut rep, app, &[("name", "小单"), ("customer_id", &east_c)]).await;
    let group_of = |id: i64| format!("SELECT count(*) FROM opportunities WHERE id = {id} AND group_id = {group}");
    assert_eq!(app.count(&group_of(n)).await, 1);
    assert_eq!(app.count(&group_of(e)).await, 0);

    // Renaming, re-rating and reordering keep the opportunity where it is; a new stage is added.
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM stages WHERE group_id = $1 ORDER BY position")
        .bind(group)
        .fetch_all(&app.db)
        .await
        .unwrap();
    let (first, second) = (ids[0].to_string(), ids[1].to_string());
    let mut fields: Vec<(&str, String)> = vec![
        ("stage_id", second.clone()),
        ("order", "1".into()),
        ("name_zh", "立项".into()),
        ("name_en", "Qualified".into()),
        ("win_rate", "20".into()),
        ("stage_id", first.clone()),
        ("order", "2".into()),
        ("name_zh", "接洽".into()),
        ("name_en", "Contact".into()),
        ("win_rate", "15".into()),
    ];
    for id in &ids[2..] {
        fields.extend([
            ("stage_id", id.to_string()),
            ("order", "5".into()),
            ("name_zh", format!("阶段{id}")),
            ("name_en", format!("Stage {id}")),
            ("win_rate", "60".into()),
        ]);
    }
    fields.extend([
        ("stage_id", String::new()),
        ("order", "9".into()),
        ("name_zh", "验收".into()),
        ("name_en", "Acceptance".into()),
        ("win_rate", "95".into()),
    ]);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    admin
        .post(&format!("/admin/stages/{group}/stages"), &borrowed)
        .await
        .assert_redirect(&format!("/admin/stages/{group}"));
    let order: Vec<(String, i16)> =
        sqlx::query_as("SELECT name_zh, win_rate FROM stages WHERE group_id = $1 ORDER BY position")
            .bind(group)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(order.first(), Some(&("立项".to_string(), 20)));
    assert_eq!(order.get(1), Some(&("接洽".to_string(), 15)));
    assert_eq!(order.last(), Some(&("验收".to_string(), 95)));
    assert_eq!(stage_of(app, n).await, ids[0], "still at the renamed stage");
    let page = north.get(&format!("/opportunities/{n}")).await;
    assert!(page.text_of("#stage-bar").contains("接洽"), "{}", page.text_of("#stage-bar"));

    // A win rate over 100 is refused with what was typed kept.
    let mut bad = borrowed.clone();
    bad[4] = ("win_rate", "120");
    let r = admin.post(&format!("/admin/stages/{group}/stages"), &bad).await;
    r.assert_status(422);
    assert!(r.text_of("#stages .field-error").contains("0–100"), "{}", r.text_of("#stages"));

    // A stage in use stays, saying how many use it; an unused one goes.
    admin.post(&format!("/admin/stages/{group}/stages/{}/delete", ids[0]), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM stages WHERE id = {}", ids[0])).await, 1);
    let flash = admin.get(&format!("/admin/stages/{group}")).await;
    assert!(flash.text_of(".flash").contains("还有 1 个商机"), "{}", flash.text_of(".flash"));
    admin.post(&format!("/admin/stages/{group}/stages/{}/delete", ids[1]), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM stages WHERE id = {}", ids[1])).await, 0);
    // The group itself stays while an opportunity uses it.
    admin.post(&format!("/admin/stages/{group}/delete"), &[]).await;
    assert_eq!(app.count(&format!("SELECT count(*) FROM stage_groups WHERE id = {group}")).await, 1);

    // Reps do not reach the admin pages.
    rep.get("/admin/stages").await.assert_status(403);
    rep.post(&format!("/admin/stages/{group}/stages/{}/delete", ids[2]), &[]).await.assert_status(403);
}
