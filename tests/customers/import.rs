//! Importing customers from spreadsheets (src/imports): real .xlsx, .xls and .csv files through
//! the pages, the batch job, row errors, duplicates, owners and caps, the error report, undo and
//! merge, who may import, and a batch that survives its process being killed.

use std::time::Duration;

use calamine::{Data, Reader};
use rust_xlsxwriter::Workbook;

use crate::common::{Client, TestApp};

/// A cell of a test workbook.
pub enum C {
    S(&'static str),
    N(f64),
}

/// An .xlsx with one sheet per (name, rows).
pub fn xlsx(sheets: &[(&str, Vec<Vec<C>>)]) -> Vec<u8> {
    let mut book = Workbook::new();
    for (name, rows) in sheets {
        let sheet = book.add_worksheet();
        sheet.set_name(*name).unwrap();
        for (r, row) in rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    C::S("") => {}
                    C::S(s) => {
                        sheet.write_string(r as u32, c as u16, *s).unwrap();
                    }
                    C::N(n) => {
                        sheet.write_number(r as u32, c as u16, *n).unwrap();
                    }
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

fn row(cells: &[&'static str]) -> Vec<C> {
    cells.iter().map(|s| C::S(s)).collect()
}

/// Upload `file` to `{path}/import`; returns the mapping page's path.
pub async fn upload(c: &mut Client, path: &str, name: &str, file: Vec<u8>) -> String {
    let r = c.post_multipart(&format!("{path}/import"), &[], &[("file", name, "application/octet-stream", file)]).await;
    assert!(r.status.is_redirection(), "upload refused: {} {}", r.status, r.text_of(".field-error"));
    r.location()
}

/// The mapping form as the page filled it (auto-mapped columns), with `extra` laid over it.
pub async fn mapping_form(c: &mut Client, map_path: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let page = c.get(map_path).await;
    page.assert_status(200);
    let html = page.html();
    let mut form: Vec<(String, String)> = Vec::new();
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    for input in html.select(&sel("#import-map input[type=hidden]")) {
        let (n, v) = (input.value().attr("name").unwrap(), input.value().attr("value").unwrap_or(""));
        if n != "_csrf" {
            form.push((n.into(), v.into()));
        }
    }
    for select in html.select(&sel("#mapping-table select")) {
        let name = select.value().attr("name").unwrap().to_string();
        let chosen = select.select(&sel("option[selected]")).next().and_then(|o| o.value().attr("value")).unwrap_or("");
        form.push((name, chosen.to_string()));
    }
    for input in html.select(&sel("#import-map input[type=radio][checked], #sheet-choice input[checked]")) {
        form.push((input.value().attr("name").unwrap().into(), input.value().attr("value").unwrap().into()));
    }
    for (k, _) in extra {
        if !k.ends_with("[]") {
            form.retain(|(n, _)| n != k);
        }
    }
    for (k, v) in extra {
        form.push((k.trim_end_matches("[]").to_string(), v.to_string()));
    }
    form
}

/// Start the import from the mapping page; returns the batch id.
pub async fn start(c: &mut Client, map_path: &str, extra: &[(&str, &str)]) -> i64 {
    let mut form = mapping_form(c, map_path, extra).await;
    form.push(("action".into(), "start".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = c.post(map_path, &pairs).await;
    assert!(r.status.is_redirection(), "start refused: {} {}", r.status, r.text_of(".field-error"));
    r.location().trim_start_matches("/imports/").parse().expect("one batch")
}

/// Wait for the batch to leave queued/running; returns (status, created, updated, skipped, failed).
pub async fn finished(app: &TestApp, batch: i64) -> (String, i32, i32, i32, i32) {
    for _ in 0..600 {
        let row: (String, i32, i32, i32, i32) =
            sqlx::query_as("SELECT status, created, updated, skipped, failed FROM import_batches WHERE id = $1")
                .bind(batch)
                .fetch_one(&app.db)
                .await
                .unwrap();
        if row.0 != "queued" && row.0 != "running" {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("batch {batch} did not finish");
}

/// A manager of department 销售一部 (their scope: that department and below).
async fn manager(app: &TestApp) -> (i64, Client) {
    let dept = app.dept("销售一部", None).await;
    let id = app.user("mgr", dept, None, &["manager"]).await;
    (id, app.login("mgr").await)
}

#[tokio::test]
async fn a_customer_sheet_imports_its_good_rows_and_reports_each_bad_one() {
    let app = TestApp::new().await;
    let (mgr, mut c) = manager(&app).await;
    crate::customer(&app, "已存在科技", Some(mgr)).await;
    let file = xlsx(&[(
        "客户",
        vec![
            row(&["*客户名称", "电话", "所属行业", "出生日期", "信用额度", "备注说明", "不认识的列"]),
            vec![
                C::S("星辰科技"),
                C::N(13800138000.0),
                C::S("IT/互联网"),
                C::S(""),
                C::S("12,345.60"),
                C::S("=1+1"),
                C::S("x"),
            ],
            row(&["", "010-1", "", "", "", "", ""]),
            row(&["火星贸易", "", "火星产业", "", "", "", ""]),
            row(&["已存在科技", "", "", "", "", "", ""]),
            row(&["", "", "", "", "", "", ""]),
            row(&["星辰科技", "", "", "", "", "", ""]),
            row(&["个人张三", "", "", "1990年5月6日", "abc", "", ""]),
            row(&["北辰物流", "13900000000", "", "2001/2/3", "", "", ""]),
        ],
    )]);
    let map = upload(&mut c, "/customers", "客户.xlsx", file).await;
    assert!(map.starts_with("/customers/import/"), "{map}");

    // The page matched the headers (the required mark and case do not matter); the unknown column
    // is left out.
    let page = c.get(&map).await;
    assert_eq!(page.attr("select[name=col_0] option[selected]", "value").as_deref(), Some("name"));
    assert_eq!(page.attr("select[name=col_2] option[selected]", "value").as_deref(), Some("industry_id"));
    assert!(page.attr("select[name=col_6] option[selected]", "value").is_none());

    // The preview shows rows as they would be stored, errors in red, and stores nothing.
    let mut form = mapping_form(&mut c, &map, &[]).await;
    form.push(("action".into(), "preview".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let preview = c.post(&map, &pairs).await;
    preview.assert_status(200);
    assert!(
        preview.text_of("#preview-table tr.preview-failed").contains("火星产业"),
        "{}",
        preview.text_of("#preview")
    );
    assert!(preview.text_of("#preview-table tr.preview-created").contains("13800138000"));
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE name = '北辰物流'").await, 0);

    let batch = start(&mut c, &map, &[]).await;
    let (status, created, updated, skipped, failed) = finished(&app, batch).await;
    assert_eq!((status.as_str(), created, updated, skipped, failed), ("done", 2, 0, 2, 3));

    // Values stored exactly: the phone as typed, the amount to the cent, the formula as text.
    let (phone, limit, note, owner, batch_of): (String, String, String, i64, i64) = sqlx::query_as(
        "SELECT phone, credit_limit::text, description, owner_id, import_batch_id FROM customers WHERE name = '星辰科技'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((phone.as_str(), limit.as_str(), note.as_str()), ("13800138000", "12345.60", "=1+1"));
    assert_eq!((owner, batch_of), (mgr, batch));
    let birth: Option<String> = sqlx::query_scalar("SELECT birth_date::text FROM customers WHERE name = '北辰物流'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(birth.as_deref(), Some("2001-02-03"));

    // The batch page: counts, each refused row with its reason, the report.
    let page = c.get(&format!("/imports/{batch}")).await;
    assert_eq!(page.text_of("#count-created"), "2");
    let problems = page.text_of("#problem-table");
    assert!(problems.contains("客户名称：此项必填"), "{problems}");
    assert!(problems.contains("所属行业：“火星产业”不是可选的值"), "{problems}");
    assert!(problems.contains("信用额度"), "{problems}");
    assert!(problems.contains("已存在科技"), "{problems}");

    let report = c.get(&format!("/imports/{batch}/errors.xlsx")).await;
    report.assert_status(200);
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(report.bytes.clone())).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(|d| d.to_string()).collect()).collect();
    assert_eq!(rows.len(), 1 + 5, "header + 3 failed + 2 skipped: {rows:?}");
    assert_eq!(rows[0][0], "*客户名称");
    assert_eq!((rows[0][7].as_str(), rows[0][9].as_str()), ("行号", "原因"));
    let mars = rows.iter().find(|r| r[0] == "火星贸易").expect("the bad row is in the report");
    assert_eq!(mars[7], "4", "its row number in the sheet");
    assert!(matches!(range.get_value((1, 7)), Some(Data::Float(_))), "row numbers are numbers");

    // Each created record has one history entry naming the batch; the operation log shows one
    // line for the batch, not one per record.
    let history = app.count(&format!("SELECT count(*) FROM operation_logs WHERE action = 'import' AND entity = 'customer' AND note LIKE '%#{batch}%'")).await;
    assert_eq!(history, 2);
    let admin_id = app.admin().await;
    let _ = admin_id;
    let mut admin = app.login("admin").await;
    let log = admin.get("/admin/logs").await;
    assert!(log.body.contains("新建 2，更新 0，跳过 2，失败 3"), "{}", log.text_of("table"));

    // The batch as a list filter, then undo: its created customers go to the recycle bin.
    let list = c.get(&format!("/customers?batch={batch}&scene=all")).await;
    assert_eq!(list.count("#list-table tbody tr[data-id]"), 2, "{}", list.text_of("#list-table"));
    let r = c.post(&format!("/imports/{batch}/undo"), &[]).await;
    r.assert_redirect(&format!("/imports/{batch}"));
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE import_batch_id IS NOT NULL AND deleted_at IS NULL").await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE name = '已存在科技' AND deleted_at IS NULL").await, 1);
    let page = c.get(&format!("/imports/{batch}")).await;
    assert_eq!(page.text_of("#batch-status"), "已撤销");
    c.post(&format!("/imports/{batch}/undo"), &[]).await.assert_status(409);
}

#[tokio::test]
async fn duplicates_update_or_create_anyway_as_chosen_and_owners_follow_the_rule() {
    let app = TestApp::new().await;
    let (mgr, mut c) = manager(&app).await;
    let dept: i64 =
        sqlx::query_scalar("SELECT dept_id FROM users WHERE id = $1").bind(mgr).fetch_one(&app.db).await.unwrap();
    let a = app.user("rep_a", dept, Some(mgr), &["rep"]).await;
    let b = app.user("rep_b", dept, Some(mgr), &["rep"]).await;
    let old = crate::customer(&app, "老客户", Some(mgr)).await;
    sqlx::query("UPDATE customers SET phone = '010-1', email = 'keep@x.cn' WHERE id = $1")
        .bind(old)
        .execute(&app.db)
        .await
        .unwrap();

    // Update: the file's non-empty values replace, empty ones keep what is stored.
    // A name twice in the file: the second row updates what the first created.
    let file = xlsx(&[(
        "S",
        vec![
            row(&["客户名称", "电话", "邮箱"]),
            row(&["老客户", "021-66668888", ""]),
            row(&["文件内新客户", "13800000011", ""]),
            row(&["文件内新客户", "13800000012", "new@x.cn"]),
        ],
    )]);
    let map = upload(&mut c, "/customers", "u.xlsx", file).await;
    let batch = start(&mut c, &map, &[("dup", "update")]).await;
    assert_eq!(finished(&app, batch).await, ("done".into(), 1, 2, 0, 0));
    let twice: (String, String) = sqlx::query_as("SELECT phone, email FROM customers WHERE name = '文件内新客户'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(twice, ("13800000012".to_string(), "new@x.cn".to_string()));
    let (phone, email): (String, String) =
        sqlx::query_as("SELECT phone, email FROM customers WHERE id = $1").bind(old).fetch_one(&app.db).await.unwrap();
    assert_eq!((phone.as_str(), email.as_str()), ("021-66668888", "keep@x.cn"));

    // The name rule blocks by default: "create anyway" still skips; four new ones are dealt
    // round-robin to the two chosen reps.
    let file = xlsx(&[(
        "S",
        vec![row(&["客户名称"]), row(&["老客户"]), row(&["甲"]), row(&["乙"]), row(&["丙"]), row(&["丁"])],
    )]);
    let map = upload(&mut c, "/customers", "rr.xlsx", file).await;
    let (sa, sb) = (a.to_string(), b.to_string());
    let batch =
        start(&mut c, &map, &[("dup", "create"), ("owner", "round_robin"), ("owners[]", &sa), ("owners[]", &sb)]).await;
    assert_eq!(finished(&app, batch).await, ("done".into(), 4, 0, 1, 0));
    let per_owner: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT owner_id, count(*) FROM customers WHERE import_batch_id = $1 GROUP BY owner_id ORDER BY owner_id",
    )
    .bind(batch)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(per_owner, vec![(a, 2), (b, 2)]);

    // An owner outside the importer's scope is refused on the form.
    let outsider = app.user("outsider", app.dept("其他部门", None).await, None, &["rep"]).await;
    let file = xlsx(&[("S", vec![row(&["客户名称"]), row(&["戊"])])]);
    let map = upload(&mut c, "/customers", "o.xlsx", file).await;
    let mut form = mapping_form(&mut c, &map, &[("owner", "user"), ("owner_user", &outsider.to_string())]).await;
    form.push(("action".into(), "start".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = c.post(&map, &pairs).await;
    r.assert_status(422);
    assert!(!r.text_of(".field-error").is_empty());
}

#[tokio::test]
async fn ownership_caps_are_reported_per_row_and_the_pool_takes_what_it_is_given() {
    let app = TestApp::new().await;
    let (mgr, mut c) = manager(&app).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 2)")
        .bind(mgr)
        .execute(&app.db)
        .await
        .unwrap();
    let file = xlsx(&[("S", vec![row(&["客户名称"]), row(&["一"]), row(&["二"]), row(&["三"])])]);
    let map = upload(&mut c, "/customers", "cap.xlsx", file).await;
    let batch = start(&mut c, &map, &[]).await;
    let (_, created, _, _, failed) = finished(&app, batch).await;
    assert_eq!((created, failed), (2, 1));
    let page = c.get(&format!("/imports/{batch}")).await;
    assert!(page.text_of("#problem-table").contains("上限"), "{}", page.text_of("#problem-table"));

    let file = xlsx(&[("S", vec![row(&["客户名称"]), row(&["公海一号"])])]);
    let map = upload(&mut c, "/customers", "pool.xlsx", file).await;
    let batch = start(&mut c, &map, &[("owner", "pool")]).await;
    assert_eq!(finished(&app, batch).await.1, 1);
    let (owner, pool): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT owner_id, pool_id FROM customers WHERE name = '公海一号'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(owner.is_none() && pool.is_some());
}

#[tokio::test]
async fn csv_in_gbk_and_utf8_and_a_workbook_of_two_sheets_import() {
    let app = TestApp::new().await;
    let (_, mut c) = manager(&app).await;
    let (gbk, _, _) = encoding_rs::GBK.encode("客户名称,电话\r\n\"华南, 贸易\",020-88886666\r\n华北商行,\r\n");
    let map = upload(&mut c, "/customers", "gbk.csv", gbk.into_owned()).await;
    let batch = start(&mut c, &map, &[]).await;
    assert_eq!(finished(&app, batch).await.1, 2);
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE name = '华南, 贸易' AND phone = '020-88886666'").await,
        1
    );

    let mut utf8 = vec![0xEF, 0xBB, 0xBF];
    utf8.extend("客户名称\n东方红\n".as_bytes());
    let map = upload(&mut c, "/customers", "utf8.csv", utf8).await;
    assert_eq!(finished(&app, start(&mut c, &map, &[]).await).await.1, 1);

    // Two sheets: one batch each.
    let file = xlsx(&[
        ("一月", vec![row(&["客户名称", "电话"]), row(&["一月客户", "13800000001"])]),
        (
            "二月",
            vec![row(&["电话", "客户名称"]), row(&["13800000002", "二月客户"]), row(&["13800000003", "二月客户乙"])],
        ),
    ]);
    let map = upload(&mut c, "/customers", "two.xlsx", file).await;
    let page = c.get(&map).await;
    assert_eq!(page.count("#sheet-choice input[name=sheets]"), 2);
    // The second sheet is the one mapped on the page; the first is matched by its headers.
    let second = format!("{map}?sheet={}", form_urlencoded::byte_serialize("二月".as_bytes()).collect::<String>());
    let mut form = mapping_form(&mut c, &second, &[("sheets[]", "一月")]).await;
    form.push(("action".into(), "start".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    c.post(&map, &pairs).await.assert_redirect("/imports");
    let batches: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM import_batches WHERE file_name = 'two.xlsx' ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(batches.len(), 2);
    for b in &batches {
        finished(&app, *b).await;
    }
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE name IN ('一月客户', '二月客户', '二月客户乙')").await,
        3
    );
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE name = '二月客户' AND phone = '13800000002'").await, 1);

    // Merged: the second batch's records join the first, counts add up.
    let r = c.post("/imports/merge", &[("into", &batches[0].to_string()), ("from", &batches[1].to_string())]).await;
    r.assert_redirect(&format!("/imports/{}", batches[0]));
    assert_eq!(app.count(&format!("SELECT created::bigint FROM import_batches WHERE id = {}", batches[0])).await, 3);
    assert_eq!(app.count(&format!("SELECT count(*) FROM customers WHERE import_batch_id = {}", batches[0])).await, 3);
}

#[tokio::test]
async fn committed_fixtures_read_xls_merged_cells_and_empty_rows() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let xls = std::fs::read(dir.join("customers.xls")).expect("tests/fixtures/customers.xls");
    let rows = crm::imports::read::sheet("customers.xls", &xls, "Sheet1").unwrap();
    assert_eq!(rows[0].1[0], "客户名称");
    assert!(rows.iter().any(|(_, r)| r.first().map(String::as_str) == Some("旧版表格客户")), "{rows:?}");

    let merged = std::fs::read(dir.join("merged.xlsx")).expect("tests/fixtures/merged.xlsx");
    let rows = crm::imports::read::sheet("merged.xlsx", &merged, "客户").unwrap();
    // Rows 3 and 5 of the sheet are empty: left out, numbers kept; the merged industry is on
    // both rows it covers.
    let nos: Vec<i32> = rows.iter().map(|(n, _)| *n).collect();
    assert_eq!(nos, vec![1, 2, 4, 6]);
    assert_eq!(rows[1].1[1], "IT/互联网");
    assert_eq!(rows[2].1[1], "IT/互联网");

    let gbk = std::fs::read(dir.join("customers-gbk.csv")).expect("tests/fixtures/customers-gbk.csv");
    assert!(std::str::from_utf8(&gbk).is_err(), "the fixture is really GBK");
    let rows = crm::imports::read::sheet("customers-gbk.csv", &gbk, "CSV").unwrap();
    assert_eq!(rows[1].1[0], "广州市白云贸易有限公司");
}

#[tokio::test]
async fn the_template_has_every_field_and_its_drop_downs() {
    let app = TestApp::new().await;
    let (_, mut c) = manager(&app).await;
    sqlx::query(
        "INSERT INTO field_defs (entity, key, label_zh, label_en, kind, required, position)
         VALUES ('customer', 'budget', '年度预算', 'Budget', 'decimal', true, 1)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let r = c.get("/customers/import/template.xlsx").await;
    r.assert_status(200);
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(r.bytes.clone())).unwrap();
    assert_eq!(book.sheet_names(), vec!["客户", "填写说明", "Lists"]);
    let header: Vec<String> =
        book.worksheet_range("客户").unwrap().rows().next().unwrap().iter().map(|d| d.to_string()).collect();
    assert_eq!(header[0], "*客户名称");
    assert!(header.contains(&"所属行业".to_string()));
    assert_eq!(header.last().map(String::as_str), Some("*年度预算"));
    // The drop-downs' values sit on the hidden sheet, one column per field.
    let lists = book.worksheet_range("Lists").unwrap();
    let values: Vec<String> = lists.rows().flat_map(|r| r.iter().map(|d| d.to_string())).collect();
    assert!(values.contains(&"企业客户".to_string()) && values.contains(&"广东 / 深圳".to_string()), "{values:?}");
    assert!(values.contains(&"IT/互联网".to_string()), "{values:?}");
}

#[tokio::test]
async fn only_holders_of_import_reach_the_pages_and_batches_are_private() {
    let app = TestApp::new().await;
    let (mgr, mut c) = manager(&app).await;
    let root = app.root_dept().await;
    app.user("rep", root, Some(mgr), &["rep"]).await;
    app.user("mgr2", root, None, &["manager"]).await;
    let mut rep = app.login("rep").await;

    let list = rep.get("/customers").await;
    assert!(!list.has("#import-link"));
    rep.get("/customers/import").await.assert_status(403);
    rep.get("/customers/import/template.xlsx").await.assert_status(403);
    let r = rep.post_multipart("/customers/import", &[], &[("file", "a.csv", "text/csv", b"a\nb\n".to_vec())]).await;
    r.assert_status(403);
    rep.get("/imports").await.assert_status(403);

    assert!(c.get("/customers").await.has("#import-link"));
    let map = upload(&mut c, "/customers", "a.csv", "客户名称\n私有批次\n".as_bytes().to_vec()).await;
    // Someone else's upload and batch are as absent as a missing one.
    let mut other = app.login("mgr2").await;
    other.get(&map).await.assert_status(404);
    let batch = start(&mut c, &map, &[]).await;
    finished(&app, batch).await;
    other.get(&format!("/imports/{batch}")).await.assert_status(404);
    other.get(&format!("/imports/{batch}/errors.xlsx")).await.assert_status(404);
    other.post(&format!("/imports/{batch}/undo"), &[]).await.assert_status(404);
    other.get("/imports/999999").await.assert_status(404);
    assert!(!other.get("/imports").await.body.contains("a.csv"));
    assert!(c.get("/imports").await.body.contains("a.csv"));
    app.admin().await;
    let mut admin = app.login("admin").await;
    admin.get(&format!("/imports/{batch}")).await.assert_status(200);

    // A file that is not a spreadsheet is refused next to the field, nothing stored.
    let r = c.post_multipart("/customers/import", &[], &[("file", "x.pdf", "application/pdf", b"%PDF".to_vec())]).await;
    r.assert_status(422);
    assert!(!r.text_of(".field-error").is_empty());
    let r = c
        .post_multipart("/customers/import", &[], &[("file", "x.xlsx", "application/octet-stream", b"nope".to_vec())])
        .await;
    r.assert_status(422);
    assert_eq!(app.count("SELECT count(*) FROM import_uploads").await, 1);
}

/// The batch runs in a separate `crm serve` process that is killed mid-batch; a second process
/// resumes it. Every row ends up exactly once.
#[tokio::test]
async fn a_batch_killed_mid_run_resumes_and_writes_no_row_twice() {
    let app = TestApp::new().await;
    let (_, mut c) = manager(&app).await;
    let mut rows = vec![row(&["客户名称"])];
    let names: Vec<&'static str> = (0..3000).map(|i| &*Box::leak(format!("续跑客户{i:05}").into_boxed_str())).collect();
    for n in &names {
        rows.push(vec![C::S(n)]);
    }
    let map = upload(&mut c, "/customers", "big.xlsx", xlsx(&[("S", rows)])).await;
    // The batch is queued as the start button queues it, but not run here: only the child
    // processes run it.
    let upload_id: i64 = map.rsplit('/').next().unwrap().parse().unwrap();
    let batch: i64 = sqlx::query_scalar(
        "INSERT INTO import_batches (source, user_id, upload_id, file_name, sheet, options)
         SELECT 'customers', user_id, id, file_name, 'S',
                '{\"mapping\": [\"name\"], \"dup\": \"skip\", \"owner\": \"me\", \"lang\": \"zh-CN\"}'
           FROM import_uploads WHERE id = $1 RETURNING id",
    )
    .bind(upload_id)
    .fetch_one(&app.db)
    .await
    .unwrap();

    /// A server process, killed when dropped (also when an assertion fails first).
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let spawn = || {
        Server(
            std::process::Command::new(env!("CARGO_BIN_EXE_crm"))
                .arg("serve")
                .env("DATABASE_URL", &app.db_url)
                .env("CRM_BIND", "127.0.0.1:0")
                .env("CRM_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let first = spawn();
    // Kill it once it has written some rows but not all.
    let mut done = 0;
    for _ in 0..2400 {
        done = app.count(&format!("SELECT done::bigint FROM import_batches WHERE id = {batch}")).await;
        if done >= 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    drop(first);
    assert!(done > 0 && done < 3000, "killed at {done} rows");
    let written = app.count(&format!("SELECT count(*) FROM customers WHERE import_batch_id = {batch}")).await;
    let settled = app.count(&format!("SELECT done::bigint FROM import_batches WHERE id = {batch}")).await;
    let created = app.count(&format!("SELECT created::bigint FROM import_batches WHERE id = {batch}")).await;
    assert_eq!((written, created), (settled, settled), "the rows written are exactly the rows the batch counts");

    let second = spawn();
    let (status, created, ..) = finished(&app, batch).await;
    drop(second);
    assert_eq!((status.as_str(), created), ("done", 3000));
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE name LIKE '续跑客户%'").await, 3000);
    assert_eq!(app.count("SELECT count(DISTINCT name) FROM customers WHERE name LIKE '续跑客户%'").await, 3000);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM import_rows WHERE batch_id = {batch} AND outcome = 'created'")).await,
        3000
    );
}

/// Rules as the admin page stores them: (field, scope, effect), the rest off.
async fn customer_rules(app: &TestApp, rules: &[(&str, &str, &str)]) {
    sqlx::query("UPDATE dup_rules SET enabled = false WHERE entity = 'customer'").execute(&app.db).await.unwrap();
    for (field, scope, effect) in rules {
        sqlx::query(
            "INSERT INTO dup_rules (entity, field, enabled, scope, effect) VALUES ('customer', $1, true, $2, $3)
             ON CONFLICT (entity, field) DO UPDATE SET enabled = true, scope = $2, effect = $3",
        )
        .bind(field)
        .bind(scope)
        .bind(effect)
        .execute(&app.db)
        .await
        .unwrap();
    }
}

/// A file of several chunks (200 rows each) is written a chunk at a time, set-wise: each row's
/// outcome is still what the form and the rules would give it one by one — duplicates of the
/// database and of earlier rows (in the same chunk or an earlier one), warn and block rules
/// whole-company and per department, an owner's cap reached mid-file, addresses, numbers.
#[tokio::test]
async fn a_file_of_several_chunks_gets_row_by_row_outcomes() {
    let app = TestApp::new().await;
    let (mgr, mut c) = manager(&app).await;
    let dept: i64 =
        sqlx::query_scalar("SELECT dept_id FROM users WHERE id = $1").bind(mgr).fetch_one(&app.db).await.unwrap();
    let a = app.user("rep_a", dept, Some(mgr), &["rep"]).await;
    let b = app.user("rep_b", dept, Some(mgr), &["rep"]).await;
    let far = app.user("far", app.dept("远方部门", None).await, None, &["rep"]).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 150)")
        .bind(a)
        .execute(&app.db)
        .await
        .unwrap();
    customer_rules(&app, &[("name", "company", "block"), ("mobile", "company", "warn"), ("email", "dept", "block")])
        .await;
    crate::customer(&app, "老客户甲", Some(mgr)).await;
    let warned = crate::customer(&app, "手机相同的老客户", Some(far)).await;
    let far_mail = crate::customer(&app, "远方邮箱客户", Some(far)).await;
    let near_mail = crate::customer(&app, "本部门邮箱客户", Some(b)).await;
    for (id, sql) in [
        (warned, "UPDATE customers SET mobile = '13700000001' WHERE id = $1"),
        (far_mail, "UPDATE customers SET email = 'far@x.cn' WHERE id = $1"),
        (near_mail, "UPDATE customers SET email = 'near@x.cn' WHERE id = $1"),
    ] {
        sqlx::query(sql).bind(id).execute(&app.db).await.unwrap();
    }

    let s = |v: String| C::S(Box::leak(v.into_boxed_str()));
    let mut rows = vec![row(&["客户名称", "手机", "邮箱", "所属行业", "详细地址"])];
    for i in 1..=450 {
        let (mut name, mut mobile, mut email, mut industry, mut address) =
            (format!("批量客户{i:03}"), format!("1390000{i:04}"), String::new(), String::new(), String::new());
        match i {
            10 => name = "老客户甲".into(),
            20 => mobile = "137-0000-0001".into(),
            30 => email = "FAR@x.cn".into(),
            40 => email = "near@x.cn".into(),
            50 | 60 => name = "文件内重复".into(),
            199 | 201 => name = "跨块重复".into(),
            300 => industry = "火星产业".into(),
            310 => address = "人民路1号".into(),
            _ => {}
        }
        rows.push(vec![s(name), s(mobile), s(email), s(industry), s(address)]);
    }
    let map = upload(&mut c, "/customers", "many.xlsx", xlsx(&[("S", rows)])).await;
    let (sa, sb) = (a.to_string(), b.to_string());
    let batch =
        start(&mut c, &map, &[("dup", "create"), ("owner", "round_robin"), ("owners[]", &sa), ("owners[]", &sb)]).await;
    let (status, created, updated, skipped, failed) = finished(&app, batch).await;
    assert_eq!(status, "done");

    let outcome = |no: i32| {
        let db = app.db.clone();
        async move {
            sqlx::query_as::<_, (String, Option<String>)>(
                "SELECT outcome, message FROM import_rows WHERE batch_id = $1 AND row_no = $2",
            )
            .bind(batch)
            .bind(no)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    // Sheet row = data row + 1 (the header is row 1).
    let (o, m) = outcome(11).await;
    assert_eq!(o, "skipped", "a blocked name of the database");
    assert!(m.unwrap().contains("老客户甲"));
    assert_eq!(outcome(21).await.0, "created", "a mobile rule that only warns lets the row in");
    assert_eq!(outcome(31).await.0, "created", "a department rule ignores another department's e-mail");
    assert_eq!(outcome(41).await.0, "skipped", "the same department's e-mail blocks");
    assert_eq!(outcome(51).await.0, "created");
    let (o, m) = outcome(61).await;
    assert_eq!(o, "skipped", "an earlier row of the same chunk is a duplicate");
    assert!(m.unwrap().contains("文件内重复"));
    assert_eq!(outcome(200).await.0, "created");
    assert_eq!(outcome(202).await.0, "skipped", "an earlier chunk's row is a duplicate");
    let (o, m) = outcome(301).await;
    assert_eq!(o, "failed");
    assert!(m.unwrap().contains("火星产业"));

    // The cap: rep A's first 150 rows are created, every later one of theirs fails with the cap.
    let a_rows: Vec<(i32, String, Option<String>)> = sqlx::query_as(
        "SELECT row_no, outcome, message FROM import_rows WHERE batch_id = $1 AND row_no % 2 = 0 ORDER BY row_no",
    )
    .bind(batch)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let a_created: Vec<i32> = a_rows.iter().filter(|r| r.1 == "created").map(|r| r.0).collect();
    let capped: Vec<i32> =
        a_rows.iter().filter(|r| r.2.as_deref().is_some_and(|m| m.contains("上限"))).map(|r| r.0).collect();
    assert_eq!(a_created.len(), 150);
    assert!(!capped.is_empty() && a_created.iter().max() < capped.iter().min(), "{a_created:?} {capped:?}");
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM customers WHERE owner_id = {a} AND deleted_at IS NULL")).await,
        150
    );

    // Counts agree with the rows and the records; each record has its number, batch and history.
    assert_eq!(created + updated + skipped + failed, 450);
    assert_eq!(updated, 0);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM customers WHERE import_batch_id = {batch}")).await,
        created as i64
    );
    assert_eq!(
        app.count(&format!("SELECT count(DISTINCT code) FROM customers WHERE import_batch_id = {batch}")).await,
        created as i64
    );
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM operation_logs WHERE action = 'import' AND note LIKE '%#{batch}%'"))
            .await,
        created as i64
    );
    let address: String = sqlx::query_scalar(
        "SELECT a.detail FROM customer_addresses a JOIN customers c ON c.id = a.customer_id WHERE c.name = '批量客户310'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(address, "人民路1号");
}

/// Cells are cleaned as typed text is: a NUL (which Postgres cannot store) and bidi overrides in
/// a one-line cell are dropped; the row imports.
#[tokio::test]
async fn nul_and_bidi_characters_in_cells_are_dropped() {
    let app = TestApp::new().await;
    let (_, mut c) = manager(&app).await;
    let csv = "客户名称,备注说明\r\n星辰\0科技,ok\r\ninvoice\u{202E}fdp.exe 公司,\"两行\r\n备注\"\r\n";
    let map = upload(&mut c, "/customers", "c.csv", csv.as_bytes().to_vec()).await;
    let batch = start(&mut c, &map, &[]).await;
    assert_eq!(finished(&app, batch).await, ("done".into(), 2, 0, 0, 0));
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE name IN ('星辰科技', 'invoicefdp.exe 公司')").await, 2);
}
