//! Importing contacts, leads and products from real .xlsx files, end to end through the pages:
//! upload, the mapping page's automatic column choice, the batch run by the worker, and what
//! became of every row — created, updated or skipped as duplicates in each mode, refused with a
//! message naming the bad value (unknown or out-of-scope customer, a dictionary value, a missing
//! required field) — and who may import at all.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use super::common::{Client, TestApp};
use super::customer;

/// A workbook of one sheet ("Sheet1") and its number of data rows: the first row is the header.
/// A cell "n:123" is written as a number, "dt:2026-04-01 10:30:00" as an Excel date-time;
/// anything else as text.
fn xlsx(rows: &[&[&str]]) -> (Vec<u8>, usize) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            if let Some(n) = v.strip_prefix("n:") {
                ws.write_number(r, c, n.parse::<f64>().unwrap()).unwrap();
            } else if let Some(t) = v.strip_prefix("dt:") {
                let dt = ExcelDateTime::parse_from_str(t).unwrap();
                ws.write_datetime_with_format(r, c, &dt, &when).unwrap();
            } else if !v.is_empty() {
                ws.write_string(r, c, *v).unwrap();
            }
        }
    }
    (wb.save_to_buffer().unwrap(), rows.len() - 1)
}

/// What a batch came to.
#[derive(Debug, PartialEq)]
struct Counts {
    created: i32,
    updated: i32,
    skipped: i32,
    failed: i32,
}

fn counts(created: i32, updated: i32, skipped: i32, failed: i32) -> Counts {
    Counts { created, updated, skipped, failed }
}

/// Upload `file` to `{path}/import`, keep the columns as the mapping page matched them (each
/// header must have found its field: `expect` lists the keys in column order), preview, start
/// the batch with `dup` and the owner rule `owner` (extra fields such as `owner_user`), and wait
/// for the worker. Returns the batch id and its counts.
async fn import(
    app: &TestApp,
    c: &mut Client,
    path: &str,
    file: (Vec<u8>, usize),
    expect: &[&str],
    dup: &str,
    owner: &[(&str, &str)],
) -> (i64, Counts) {
    let (file, rows) = file;
    let mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let r = c.post_multipart(&format!("{path}/import"), &[], &[("file", "导入.xlsx", mime, file)]).await;
    r.assert_status(303);
    let mapping = r.location();
    assert!(mapping.starts_with(&format!("{path}/import/")), "{mapping}");
    let page = c.get(&mapping).await;
    page.assert_status(200);
    let cols: Vec<(String, String)> = expect
        .iter()
        .enumerate()
        .map(|(i, want)| {
            let name = format!("col_{i}");
            let got = page.attr(&format!("select[name={name}] option[selected]"), "value").unwrap_or_default();
            assert_eq!(&got, want, "column {i} of {path} maps to {want:?}");
            (name, got)
        })
        .collect();
    let mut form: Vec<(&str, &str)> =
        vec![("sheet", "Sheet1"), ("sheets", "Sheet1"), ("dup", dup), ("action", "start")];
    form.extend(cols.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if owner.is_empty() {
        form.push(("owner", "me"));
    }
    form.extend_from_slice(owner);
    // The preview writes the first rows as the batch would, and keeps none of them.
    let batches = app.count("SELECT count(*) FROM import_batches").await;
    let preview: Vec<(&str, &str)> =
        form.iter().map(|&(k, v)| if k == "action" { (k, "preview") } else { (k, v) }).collect();
    let p = c.post(&mapping, &preview).await;
    p.assert_status(200);
    assert_eq!(p.count("#preview-table tbody tr"), rows.min(10), "{}", p.text_of("#preview-table"));
    assert_eq!(app.count("SELECT count(*) FROM import_batches").await, batches);
    let r = c.post(&mapping, &form).await;
    assert!(r.status.is_redirection(), "start refused: {}", r.text_of("main"));
    let id: i64 = r.location().trim_start_matches("/imports/").parse().expect("one batch");
    (id, wait(app, id).await)
}

/// Wait for the worker (a task of this test's runtime) to finish the batch.
async fn wait(app: &TestApp, id: i64) -> Counts {
    for _ in 0..600 {
        let (status, message, created, updated, skipped, failed): (String, Option<String>, i32, i32, i32, i32) =
            sqlx::query_as(
                "SELECT status, message, created, updated, skipped, failed FROM import_batches WHERE id = $1",
            )
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
        match status.as_str() {
            "done" => return counts(created, updated, skipped, failed),
            "failed" => panic!("batch {id} stopped: {message:?}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    panic!("batch {id} did not finish");
}

/// Row number → (outcome, message) of a batch's rows.
async fn rows(app: &TestApp, id: i64) -> Vec<(i32, String, String)> {
    sqlx::query_as(
        "SELECT row_no, coalesce(outcome, ''), coalesce(message, '') FROM import_rows WHERE batch_id = $1 ORDER BY row_no",
    )
    .bind(id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

#[track_caller]
fn row<'a>(all: &'a [(i32, String, String)], no: i32) -> (&'a str, &'a str) {
    let r = all.iter().find(|r| r.0 == no).unwrap_or_else(|| panic!("no row {no}"));
    (r.1.as_str(), r.2.as_str())
}

struct World {
    app: TestApp,
    /// Manager of 华东 (imports contacts and leads; sees the department).
    mgr: i64,
    rep: i64,
    rep2: i64,
    /// A customer of `rep`'s, in the manager's scope.
    customer: i64,
    customer_code: String,
}

async fn world() -> World {
    super::common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let east = app.dept("华东", None).await;
    let south = app.dept("华南", None).await;
    let mgr = app.user("mgr", east, None, &["manager"]).await;
    let rep = app.user("rep", east, Some(mgr), &["rep"]).await;
    let rep2 = app.user("rep2", east, Some(mgr), &["rep"]).await;
    let far = app.user("far", south, None, &["rep"]).await;
    app.user("dir", app.root_dept().await, None, &["director"]).await;
    customer(&app, "远方贸易", Some(far)).await;
    let ours = customer(&app, "华信科技", Some(rep)).await;
    let customer_code: String =
        sqlx::query_scalar("SELECT code FROM customers WHERE id = $1").bind(ours).fetch_one(&app.db).await.unwrap();
    World { app, mgr, rep, rep2, customer: ours, customer_code }
}

const CONTACT_HEADER: &[&str] = &["姓名", "*所属客户", "称谓", "手机", "邮箱", "生日", "关键决策人", "职务"];
const CONTACT_KEYS: &[&str] =
    &["name", "customer_q", "salutation_id", "mobile", "email", "birthday", "decision_maker", "position"];

#[tokio::test]
async fn contacts_import_with_row_errors_scope_and_duplicates_skipped() {
    let w = world().await;
    let app = &w.app;
    let mut c = app.login("mgr").await;
    let file = xlsx(&[
        CONTACT_HEADER,
        &["张三", "华信科技", "先生", "n:13800138000", "zs@example.com", "1990/5/6", "是", "工程师"],
        &["李四", &w.customer_code, "女士", "13900139000", "", "", "否", ""],
        &["王五", "不存在公司", "", "", "", "", "", ""],
        &["赵六", "远方贸易", "", "", "", "", "", ""],
        &["钱七", "华信科技", "皇帝", "", "", "", "", ""],
        &["", "华信科技", "", "13700137000", "", "", "", ""],
        &["张三丰", "华信科技", "", "138-0013-8000", "", "", "", ""],
        &["孙八", "华信科技", "", "", "", "", "", ""],
        &["孙 八", "华信科技", "", "", "", "", "", "经理"],
    ]);
    let (batch, n) = import(app, &mut c, "/contacts", file, CONTACT_KEYS, "skip", &[]).await;
    assert_eq!(n, counts(3, 0, 2, 4));
    let all = rows(app, batch).await;
    assert_eq!(row(&all, 2).0, "created");
    assert_eq!(row(&all, 3).0, "created", "named by the customer's code");
    let (o, m) = row(&all, 4);
    assert!(o == "failed" && m.contains("不存在公司"), "unknown customer: {m}");
    let (o, m) = row(&all, 5);
    assert!(o == "failed" && m.contains("远方贸易"), "a customer outside the importer's scope: {m}");
    let (o, m) = row(&all, 6);
    assert!(o == "failed" && m.contains("皇帝"), "bad dictionary value: {m}");
    let (o, m) = row(&all, 7);
    assert!(o == "failed" && m.contains("姓名"), "missing name: {m}");
    let (o, m) = row(&all, 8);
    assert!(o == "skipped" && m.contains("张三"), "same mobile, written otherwise: {m}");
    assert_eq!(row(&all, 9).0, "created");
    let (o, m) = row(&all, 10);
    assert!(o == "skipped" && m.contains("孙八"), "same name as a row before it in the file: {m}");

    // The contacts as the form would have saved them, owned by their customer's owner.
    let (salutation, birthday, decision, mobile, owner, primary, batch_of): (
        String,
        String,
        bool,
        String,
        i64,
        bool,
        i64,
    ) = sqlx::query_as(
        "SELECT s.label_zh, ct.birthday::text, ct.decision_maker, ct.mobile, ct.owner_id, ct.is_primary,
                ct.import_batch_id
           FROM contacts ct JOIN dict_items s ON s.id = ct.salutation_id WHERE ct.name = '张三'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (salutation.as_str(), birthday.as_str(), decision, mobile.as_str(), owner, primary, batch_of),
        ("先生", "1990-05-06", true, "13800138000", w.rep, true, batch)
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM contacts WHERE customer_id = (SELECT id FROM customers WHERE name = '远方贸易')"
        )
        .await,
        0
    );
    // One history row per record, written by the import, none by the form's save.
    assert_eq!(
        app.count("SELECT count(*) FROM operation_logs WHERE entity = 'contact' AND action = 'import'").await,
        3
    );
    assert_eq!(
        app.count("SELECT count(*) FROM operation_logs WHERE entity = 'contact' AND action <> 'import'").await,
        0
    );

    // The batch as a list filter.
    let list = c.get(&format!("/contacts?batch={batch}")).await;
    list.assert_status(200);
    assert_eq!(list.count("#list-table tbody tr[data-id]"), 3);
    assert_eq!(c.get(&format!("/contacts?batch={}", batch + 1)).await.count("#list-table tbody tr[data-id]"), 0);
}

#[tokio::test]
async fn contact_duplicates_are_updated_or_created_anyway() {
    let w = world().await;
    let app = &w.app;
    let mut c = app.login("mgr").await;
    let header: &[&str] = &["姓名", "所属客户", "手机", "邮箱", "职务"];
    let keys = &["name", "customer_q", "mobile", "email", "position"];
    let first = xlsx(&[header, &["张三", "华信科技", "13800138000", "zs@example.com", "工程师"]]);
    let (_, n) = import(app, &mut c, "/contacts", first, keys, "skip", &[]).await;
    assert_eq!(n, counts(1, 0, 0, 0));
    let zhang: i64 =
        sqlx::query_scalar("SELECT id FROM contacts WHERE name = '张三'").fetch_one(&app.db).await.unwrap();

    // Update: the file's values over the stored ones; an empty cell keeps what was there. A row
    // that repeats one created earlier in the same file updates it too.
    let again = xlsx(&[
        header,
        &["张三", "华信科技", "13800138000", "", "经理"],
        &["周九", "华信科技", "", "", ""],
        &["周九", "华信科技", "", "zj@example.com", "顾问"],
    ]);
    let (batch, n) = import(app, &mut c, "/contacts", again, keys, "update", &[]).await;
    assert_eq!(n, counts(1, 2, 0, 0), "{:?}", rows(app, batch).await);
    let (email, position): (String, String) = sqlx::query_as("SELECT email, position FROM contacts WHERE id = $1")
        .bind(zhang)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!((email.as_str(), position.as_str()), ("zs@example.com", "经理"));
    let (email, position): (String, String) =
        sqlx::query_as("SELECT email, position FROM contacts WHERE name = '周九'").fetch_one(&app.db).await.unwrap();
    assert_eq!((email.as_str(), position.as_str()), ("zj@example.com", "顾问"));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM operation_logs WHERE entity = 'contact' AND entity_id = {zhang} AND action = 'import_update'"
        ))
        .await,
        1
    );
    // Updated records stay out of the batch's list: it shows what the batch created.
    assert_eq!(app.count(&format!("SELECT count(*) FROM contacts WHERE import_batch_id = {batch}")).await, 1);

    // Create anyway: a second 张三.
    let third = xlsx(&[header, &["张三", "华信科技", "13800138000", "", ""]]);
    let (_, n) = import(app, &mut c, "/contacts", third, keys, "create", &[]).await;
    assert_eq!(n, counts(1, 0, 0, 0));
    assert_eq!(app.count("SELECT count(*) FROM contacts WHERE name = '张三' AND deleted_at IS NULL").await, 2);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM contacts WHERE customer_id = {} AND is_primary", w.customer)).await,
        1,
        "still one primary contact"
    );
}

#[tokio::test]
async fn only_holders_of_the_import_right_import() {
    let w = world().await;
    let app = &w.app;
    let file = || xlsx(&[&["姓名", "所属客户"], &["张三", "华信科技"]]);
    let mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let mut rep = app.login("rep").await;
    for path in ["/contacts/import", "/leads/import", "/products/import"] {
        rep.get(path).await.assert_status(403);
        rep.post_multipart(path, &[], &[("file", "a.xlsx", mime, file().0)]).await.assert_status(403);
    }
    // A manager imports contacts and leads but not products; a director all three.
    let mut mgr = app.login("mgr").await;
    mgr.get("/contacts/import").await.assert_status(200);
    mgr.get("/leads/import").await.assert_status(200);
    mgr.get("/products/import").await.assert_status(403);
    let mut dir = app.login("dir").await;
    for path in ["/contacts/import", "/leads/import", "/products/import"] {
        dir.get(path).await.assert_status(200);
    }
    assert_eq!(app.count("SELECT count(*) FROM import_uploads").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, 0);
}

const LEAD_HEADER: &[&str] = &["公司/姓名", "联系人", "级别", "线索来源", "手机", "下次联系", "备注"];
const LEAD_KEYS: &[&str] = &["name", "contact_name", "level", "source_id", "mobile", "next_contact_at", "notes"];

#[tokio::test]
async fn leads_import_with_owner_duplicates_and_row_errors() {
    let w = world().await;
    let app = &w.app;
    let mut c = app.login("mgr").await;
    let file = xlsx(&[
        LEAD_HEADER,
        &["星河科技", "刘先生", "L3", "展会", "n:13700137000", "dt:2026-04-01 10:30:00", "第一次"],
        &["月光公司", "", "", "火星", "", "", ""],
        &["星河科技", "", "", "", "", "", ""],
        &["新名字", "", "", "", "137 0013 7000", "", ""],
        &["", "王先生", "", "", "", "", ""],
        &["晨曦贸易", "", "9", "", "", "", ""],
        &["晨曦贸易", "", "2", "官网注册", "", "2026/5/6", ""],
    ]);
    let rep = w.rep.to_string();
    let owner = [("owner", "user"), ("owner_user", rep.as_str())];
    let (batch, n) = import(app, &mut c, "/leads", file, LEAD_KEYS, "skip", &owner).await;
    assert_eq!(n, counts(2, 0, 2, 3), "{:?}", rows(app, batch).await);
    let all = rows(app, batch).await;
    let (o, m) = row(&all, 3);
    assert!(o == "failed" && m.contains("火星"), "bad source: {m}");
    let (o, m) = row(&all, 4);
    assert!(o == "skipped" && m.contains("同名"), "same name as a row before it: {m}");
    let (o, m) = row(&all, 5);
    assert!(o == "skipped" && m.contains("手机"), "same mobile, written otherwise: {m}");
    let (o, m) = row(&all, 6);
    assert!(o == "failed" && m.contains("公司/姓名"), "missing name: {m}");
    let (o, m) = row(&all, 7);
    assert!(o == "failed" && m.contains('9'), "no such level: {m}");

    let (level, source, next, owner, created_by): (i16, String, String, i64, i64) = sqlx::query_as(
        "SELECT l.level, s.label_zh, to_char(l.next_contact_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'),
                l.owner_id, l.created_by
           FROM leads l JOIN dict_items s ON s.id = l.source_id WHERE l.name = '星河科技'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (level, source.as_str(), next.as_str(), owner, created_by),
        (3, "展会", "2026-04-01 10:30", w.rep, w.mgr)
    );
    assert_eq!(app.count("SELECT count(*) FROM leads WHERE name = '晨曦贸易' AND level = 2").await, 1);
    let list = c.get(&format!("/leads?batch={batch}")).await;
    assert_eq!(list.count("#list-table tbody tr[data-id]"), 2);

    // A mobile number as stored is a duplicate; update mode changes the stored lead, owner kept,
    // and a round robin deals new ones.
    let again = xlsx(&[
        LEAD_HEADER,
        &["另一个名字", "", "L5", "", "13700137000", "", "更新了"],
        &["新线索甲", "", "", "", "", "", ""],
        &["新线索乙", "", "", "", "", "", ""],
    ]);
    let (rep_s, rep2_s) = (w.rep.to_string(), w.rep2.to_string());
    let owner = [("owner", "round_robin"), ("owners", rep_s.as_str()), ("owners", rep2_s.as_str())];
    let (_, n) = import(app, &mut c, "/leads", again, LEAD_KEYS, "update", &owner).await;
    assert_eq!(n, counts(2, 1, 0, 0));
    let (name, level, notes, owner): (String, i16, String, i64) =
        sqlx::query_as("SELECT name, level, notes, owner_id FROM leads WHERE mobile = '13700137000'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((name.as_str(), level, notes.as_str(), owner), ("另一个名字", 5, "更新了", w.rep));
    let owners: Vec<i64> = sqlx::query_scalar("SELECT owner_id FROM leads WHERE name LIKE '新线索%' ORDER BY name")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(owners.len(), 2);
    assert_ne!(owners[0], owners[1], "dealt in turn");

    // A converted lead is read-only: updating it is a failed row.
    sqlx::query("UPDATE leads SET converted_at = now() WHERE name = '晨曦贸易'").execute(&app.db).await.unwrap();
    let third = xlsx(&[LEAD_HEADER, &["晨曦贸易", "", "L4", "", "", "", ""]]);
    let (batch, n) = import(app, &mut c, "/leads", third, LEAD_KEYS, "update", &[]).await;
    assert_eq!(n, counts(0, 0, 0, 1));
    assert!(row(&rows(app, batch).await, 2).1.contains("转化"));
}

const PRODUCT_HEADER: &[&str] = &["产品名称", "产品编码", "产品分类", "单位", "标准价格", "成本价", "上架状态"];
const PRODUCT_KEYS: &[&str] = &["name", "code", "category_id", "unit_id", "price", "cost_price", "on_shelf"];

#[tokio::test]
async fn products_import_by_code_and_name() {
    let w = world().await;
    let app = &w.app;
    let mut c = app.login("dir").await;
    let file = xlsx(&[
        PRODUCT_HEADER,
        &["云存储", "CP-001", "软件产品", "套", "12,345.60", "n:8000", ""],
        &["服务器", "", "硬件设备", "台", "n:5000", "", "已下架"],
        &["坏价格", "", "", "", "abc", "", ""],
        &["无价格", "", "", "", "", "", ""],
        &["云存储二代", "CP-001", "", "", "n:1", "", ""],
        &["鼠标", "n:10023", "", "斤", "n:20", "", ""],
    ]);
    let (batch, n) = import(app, &mut c, "/products", file, PRODUCT_KEYS, "skip", &[]).await;
    assert_eq!(n, counts(2, 0, 1, 3), "{:?}", rows(app, batch).await);
    let all = rows(app, batch).await;
    let (o, m) = row(&all, 4);
    assert!(o == "failed" && m.contains("abc"), "bad price: {m}");
    let (o, m) = row(&all, 5);
    assert!(o == "failed" && m.contains("标准价格"), "missing price: {m}");
    let (o, m) = row(&all, 6);
    assert!(o == "skipped" && m.contains("CP-001"), "same code: {m}");
    let (o, m) = row(&all, 7);
    assert!(o == "failed" && m.contains("斤"), "no such unit: {m}");

    let (price, cost, shelf, category): (String, String, bool, String) = sqlx::query_as(
        "SELECT p.price::text, p.cost_price::text, p.on_shelf, c.label_zh
           FROM products p JOIN dict_items c ON c.id = p.category_id WHERE p.code = 'CP-001'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((price.as_str(), cost.as_str(), shelf, category.as_str()), ("12345.60", "8000.00", true, "软件产品"));
    let (code, shelf): (String, bool) =
        sqlx::query_as("SELECT code, on_shelf FROM products WHERE name = '服务器'").fetch_one(&app.db).await.unwrap();
    assert!(code.starts_with("CP") && code != "CP-001", "numbered: {code}");
    assert!(!shelf);
    assert_eq!(app.count("SELECT count(*) FROM product_prices").await, 2, "a price line per new product");
    let list = c.get(&format!("/products?batch={batch}")).await;
    assert_eq!(list.count("#list-table tbody tr[data-id]"), 2);

    // Update by code (a new price goes to the history) and by name; create anyway makes a
    // second 服务器 but never a second CP-001.
    let again = xlsx(&[
        PRODUCT_HEADER,
        &["云存储", "CP-001", "", "", "n:99", "", ""],
        &["服务器", "", "", "", "n:4800", "", ""],
    ]);
    let (_, n) = import(app, &mut c, "/products", again, PRODUCT_KEYS, "update", &[]).await;
    assert_eq!(n, counts(0, 2, 0, 0));
    assert_eq!(
        app.count("SELECT count(*) FROM products WHERE code = 'CP-001' AND price = 99 AND cost_price = 8000").await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM products WHERE name = '服务器' AND price = 4800 AND NOT on_shelf").await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM product_prices").await, 4);
    let third =
        xlsx(&[PRODUCT_HEADER, &["云存储", "CP-001", "", "", "n:1", "", ""], &["服务器", "", "", "", "n:1", "", ""]]);
    let (_, n) = import(app, &mut c, "/products", third, PRODUCT_KEYS, "create", &[]).await;
    assert_eq!(n, counts(1, 0, 1, 0));
    assert_eq!(app.count("SELECT count(*) FROM products WHERE name = '服务器'").await, 2);
}

/// The contact and lead duplicate rules apply to imports as on the forms (issue 21): a
/// look-alike lead name or a contact's mobile number already used at another customer.
#[tokio::test]
async fn imports_apply_the_contact_and_lead_duplicate_rules() {
    let w = world().await;
    let app = &w.app;
    let mut c = app.login("mgr").await;
    c.post("/leads", &[("name", "客户科技（上海）有限公司"), ("level", "1")]).await.assert_status(303);
    sqlx::query("UPDATE dup_rules SET enabled = true, effect = 'block' WHERE (entity, field) IN (('lead', 'name'), ('contact', 'mobile'))")
        .execute(&app.db)
        .await
        .unwrap();
    // Created anyway where allowed — but never past a blocking rule.
    let file =
        xlsx(&[LEAD_HEADER, &["客戶科技上海有限公司", "", "", "", "", "", ""], &["别的公司", "", "", "", "", "", ""]]);
    let (batch, n) = import(app, &mut c, "/leads", file, LEAD_KEYS, "create", &[]).await;
    assert_eq!(n, counts(1, 0, 1, 0), "{:?}", rows(app, batch).await);
    let all = rows(app, batch).await;
    let (o, m) = row(&all, 2);
    assert!(o == "skipped" && m.contains("客户科技（上海）有限公司"), "{m}");

    let other = customer(app, "另一家客户", Some(w.rep)).await;
    sqlx::query(
        "INSERT INTO contacts (customer_id, name, mobile, owner_id) VALUES ($1, '老联系人', '13811112222', $2)",
    )
    .bind(other)
    .bind(w.rep)
    .execute(&app.db)
    .await
    .unwrap();
    let file = xlsx(&[CONTACT_HEADER, &["新联系人", &w.customer_code, "", "138 1111 2222", "", "", "", ""]]);
    let (batch, n) = import(app, &mut c, "/contacts", file, CONTACT_KEYS, "create", &[]).await;
    assert_eq!(n, counts(0, 0, 1, 0), "{:?}", rows(app, batch).await);
    assert!(row(&rows(app, batch).await, 2).1.contains("手机"));
    assert_eq!(app.count(&format!("SELECT count(*) FROM contacts WHERE customer_id = {}", w.customer)).await, 0);
}
