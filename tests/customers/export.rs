//! Export (src/exports): exactly the rows each user sees on a list, the columns they chose or all
//! fields, typed cells read back from the .xlsx, the CSV's BOM, neutralised formulas, the export
//! right, the audit row, and a real spreadsheet program reading the file.

use calamine::{Data, DataType};

use super::common::files::{col, download, export_all as export, list_total};
use super::common::{Client, TestApp};
use super::{customer, dict_item};

/// A company: 华东 (manager with two reps) and 华南 (one rep), an admin; reps may export.
struct Org {
    app: TestApp,
    admin: i64,
    manager: i64,
    rep1: i64,
    rep2: i64,
    rep3: i64,
}

async fn org() -> Org {
    super::common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let east = app.dept("华东", None).await;
    let south = app.dept("华南", None).await;
    let manager = app.user("m1", east, None, &["manager"]).await;
    let rep1 = app.user("r1", east, Some(manager), &["rep"]).await;
    let rep2 = app.user("r2", east, Some(manager), &["rep"]).await;
    let rep3 = app.user("r3", south, None, &["rep"]).await;
    sqlx::query(
        "INSERT INTO role_permissions (role_id, module, action)
         SELECT r.id, m, 'export' FROM roles r, unnest(ARRAY['customers', 'contacts', 'leads']) m WHERE r.code = 'rep'
         ON CONFLICT DO NOTHING",
    )
    .execute(&app.db)
    .await
    .unwrap();
    Org { app, admin, manager, rep1, rep2, rep3 }
}

impl Org {
    /// Customers (each with a contact) and leads: rep1 3, rep2 2, rep3 4, the manager 1, the admin 1.
    async fn seed(&self) {
        let owners = [(self.rep1, 3), (self.rep2, 2), (self.rep3, 4), (self.manager, 1), (self.admin, 1)];
        for (owner, n) in owners {
            for i in 0..n {
                let id = customer(&self.app, &format!("客户{owner}-{i}"), Some(owner)).await;
                sqlx::query("INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(format!("联系人{owner}-{i}"))
                    .bind(owner)
                    .execute(&self.app.db)
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO leads (name, owner_id) VALUES ($1, $2)")
                    .bind(format!("线索{owner}-{i}"))
                    .bind(owner)
                    .execute(&self.app.db)
                    .await
                    .unwrap();
            }
        }
    }
}

#[tokio::test]
async fn an_export_has_exactly_the_rows_the_list_shows_each_user() {
    let o = org().await;
    o.seed().await;
    let app = &o.app;
    let mut seen = Vec::new();
    for login in ["r1", "m1", "admin"] {
        let mut c = app.login(login).await;
        for (code, filter) in [("customers", "scene=all"), ("contacts", "scene=all"), ("leads", "scene=all")] {
            let total = list_total(&mut c, &format!("/{code}?{filter}")).await;
            let rows = export(app, &mut c, code, filter, "csv").await.csv_rows().len();
            assert_eq!(rows, total, "{login} exports {code}: as many rows as the list has");
            seen.push((login, code, rows));
        }
        // A scene and a filter narrow the export as they narrow the list.
        let total = list_total(&mut c, "/customers?scene=mine").await;
        assert_eq!(export(app, &mut c, "customers", "scene=mine", "csv").await.csv_rows().len(), total);
        let filtered = "scene=all&q=%E5%AE%A2%E6%88%B7".to_string() + &o.rep3.to_string();
        let total = list_total(&mut c, &format!("/customers?{filtered}")).await;
        assert_eq!(export(app, &mut c, "customers", &filtered, "csv").await.csv_rows().len(), total);
    }
    // The scopes differ: a rep sees their own 3, the admin all 11.
    assert!(seen.contains(&("r1", "customers", 3)), "{seen:?}");
    assert!(seen.contains(&("admin", "customers", 11)), "{seen:?}");
    assert!(seen.contains(&("admin", "leads", 11)), "{seen:?}");
    let manager = seen.iter().find(|s| s.0 == "m1" && s.1 == "customers").unwrap().2;
    assert!(manager > 3 && manager < 11, "the manager sees the team: {manager}");
    let _ = (o.rep2, o.admin);
}

#[tokio::test]
async fn ticked_rows_are_exported_only_when_the_user_sees_them() {
    let o = org().await;
    let app = &o.app;
    let own = customer(app, "自己的客户", Some(o.rep1)).await;
    let other = customer(app, "自己的另一个", Some(o.rep1)).await;
    let foreign = customer(app, "别的团队的客户", Some(o.rep3)).await;
    let mut c = app.login("r1").await;
    // The bulk bar offers the export and its page counts the ticked rows the user sees.
    let list = c.get("/customers").await;
    assert!(list.has(".bulk-actions button[formaction=\"/export/customers\"]"), "export among the bulk actions");
    let page = c
        .post("/export/customers", &[("filter", "scene=all"), ("ids", &own.to_string()), ("ids", &foreign.to_string())])
        .await;
    page.assert_status(200);
    assert_eq!(page.count("#export-options input[name=ids]"), 1, "the forged id is dropped on the options page");
    let f = download(
        app,
        &mut c,
        "/export/customers",
        &[
            ("filter", "scene=all"),
            ("ids", &own.to_string()),
            ("ids", &foreign.to_string()),
            ("rows", "selected"),
            ("columns", "all"),
            ("format", "csv"),
        ],
    )
    .await;
    assert_eq!(f.status, 200);
    let rows = f.csv_rows();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("自己的客户"));
    assert!(!f.text().contains("别的团队的客户") && !f.text().contains("自己的另一个"));
    let _ = other;
}

#[tokio::test]
async fn without_the_export_right_there_is_no_button_and_the_route_refuses() {
    let o = org().await;
    customer(&o.app, "某客户", Some(o.rep1)).await;
    let mut admin = o.app.login("admin").await;
    let r = admin.get("/customers?scene=all").await;
    assert_eq!(r.attr("#export-button", "href").as_deref(), Some("/export/customers?scene=all"));
    sqlx::query("DELETE FROM role_permissions WHERE action = 'export' AND module = 'customers'")
        .execute(&o.app.db)
        .await
        .unwrap();
    let mut rep = o.app.login("r1").await;
    let r = rep.get("/customers").await;
    r.assert_status(200);
    assert!(!r.has("#export-button"), "no Export button without the right");
    assert!(!r.has(".bulk-actions button[formaction=\"/export/customers\"]"));
    rep.get("/export/customers").await.assert_status(403);
    let f = download(&o.app, &mut rep, "/export/customers", &[("rows", "all"), ("format", "csv")]).await;
    assert_eq!(f.status, 403);
    // Contacts still may be exported: the right is per list.
    assert!(rep.get("/contacts").await.has("#export-button"));
    // Users are exported by those who manage the organisation.
    let r = rep.get("/admin/users").await;
    assert_eq!(r.status, 403);
    assert!(admin.get("/admin/users").await.has("#export-button"));
}

/// Custom fields on customers, made through the admin page.
async fn custom_fields(c: &mut Client) {
    for (key, label, kind, opts) in [
        ("budget", "预算", "decimal", ""),
        ("signed", "签约日", "date", ""),
        ("grade", "等级", "select", "a|甲等|Grade A\nb|乙等|Grade B"),
    ] {
        c.post(
            "/admin/fields",
            &[
                ("entity", "customer"),
                ("key", key),
                ("label_zh", label),
                ("label_en", key),
                ("kind", kind),
                ("options", opts),
            ],
        )
        .await;
    }
}

/// One customer with values of every kind of cell, and one whose name is a formula.
async fn typed_customers(app: &TestApp, owner: i64) -> i64 {
    let id = customer(app, "华信科技", Some(owner)).await;
    let gz = dict_item(app, "region", "广州").await;
    sqlx::query(
        "UPDATE customers SET phone = '013800000000', mobile = '13800000000', credit_limit = 1234567.89,
                birth_date = '1990-05-17', created_at = '2026-01-31T17:00:00Z', region_id = $2,
                custom = '{\"budget\": \"1234.5\", \"signed\": \"2026-03-04\", \"grade\": \"a\"}'
          WHERE id = $1",
    )
    .bind(id)
    .bind(gz)
    .execute(&app.db)
    .await
    .unwrap();
    customer(app, "=HYPERLINK(\"http://evil.example\",\"点我\")", Some(owner)).await;
    customer(app, "@SUM(1+1)", Some(owner)).await;
    id
}

#[tokio::test]
async fn xlsx_cells_are_typed_and_formulas_neutralised() {
    let o = org().await;
    let app = &o.app;
    let mut c = app.login("admin").await;
    custom_fields(&mut c).await;
    typed_customers(app, o.admin).await;
    let f = download(
        app,
        &mut c,
        "/export/customers",
        &[("filter", "scene=all"), ("rows", "all"), ("columns", "all"), ("format", "xlsx")],
    )
    .await;
    assert_eq!(f.status, 200, "{}", String::from_utf8_lossy(&f.bytes));
    assert!(f.content_type.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"));
    assert!(f.disposition.starts_with("attachment;") && f.disposition.contains(".xlsx"), "{}", f.disposition);
    let rows = f.sheet();
    assert_eq!(rows.len(), 4, "header and three customers");
    let header: Vec<String> = rows[0].iter().map(|h| h.to_string()).collect();
    assert_eq!(&header[..3], ["客户编号", "客户名称", "助记名称"]);
    assert!(header.ends_with(&["预算".to_string(), "签约日".to_string(), "等级".to_string()]), "custom fields last");
    let row = rows.iter().find(|r| r[col(&rows, "客户名称")] == Data::String("华信科技".into())).unwrap();
    assert_eq!(row[col(&rows, "电话")], Data::String("013800000000".into()), "a phone stays text");
    assert_eq!(row[col(&rows, "手机")], Data::String("13800000000".into()));
    assert_eq!(row[col(&rows, "信用额度")], Data::Float(1234567.89), "an amount is a number, cents kept");
    let birth = &row[col(&rows, "出生日期")];
    assert!(birth.is_datetime(), "a date is a date: {birth:?}");
    assert_eq!(birth.as_date(), chrono::NaiveDate::from_ymd_opt(1990, 5, 17));
    let created = &row[col(&rows, "创建时间")];
    assert_eq!(
        created.as_datetime().map(|d| d.to_string()).as_deref(),
        Some("2026-02-01 01:00:00"),
        "times are local (+08:00)"
    );
    assert_eq!(row[col(&rows, "所在地区")], Data::String("广东 / 广州".into()), "a region by its path");
    assert_eq!(row[col(&rows, "客户级别")], Data::String("L1".into()));
    assert_eq!(row[col(&rows, "已锁定")], Data::String("否".into()));
    assert_eq!(row[col(&rows, "预算")], Data::Float(1234.5));
    assert_eq!(row[col(&rows, "签约日")].as_date(), chrono::NaiveDate::from_ymd_opt(2026, 3, 4));
    assert_eq!(row[col(&rows, "等级")], Data::String("甲等".into()), "an option by its label");
    let names: Vec<String> = rows.iter().skip(1).map(|r| r[col(&rows, "客户名称")].to_string()).collect();
    assert!(names.contains(&"'=HYPERLINK(\"http://evil.example\",\"点我\")".to_string()), "{names:?}");
    assert!(names.contains(&"'@SUM(1+1)".to_string()), "{names:?}");

    // The columns the list shows, in its order, by default.
    let list = c.get("/customers?scene=all").await;
    let shown: Vec<String> = list
        .html()
        .select(&scraper::Selector::parse("#list-table thead th:not(.check-col)").unwrap())
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect();
    let f = download(
        app,
        &mut c,
        "/export/customers",
        &[("filter", "scene=all"), ("rows", "all"), ("columns", "visible"), ("format", "xlsx")],
    )
    .await;
    let header: Vec<String> = f.sheet()[0].iter().map(|h| h.to_string()).collect();
    assert_eq!(header, shown, "visible columns are the list's");

    // In English the headers and labels follow the reader's language.
    c.post("/lang", &[("lang", "en"), ("back", "/")]).await;
    let f = download(
        app,
        &mut c,
        "/export/customers",
        &[("filter", "scene=all"), ("rows", "all"), ("columns", "all"), ("format", "xlsx")],
    )
    .await;
    let rows = f.sheet();
    assert_eq!(rows[0][0].to_string(), crm::web::i18n::Lang::En.t("customer.code"));
    let row = rows.iter().find(|r| r.iter().any(|c| c.to_string() == "华信科技")).unwrap();
    assert!(row.iter().any(|c| c.to_string() == "Grade A"), "{row:?}");
    assert!(row.iter().any(|c| c.to_string() == "No"), "yes / no in English: {row:?}");
}

#[tokio::test]
async fn a_csv_starts_with_the_bom_and_reads_as_utf8() {
    let o = org().await;
    let app = &o.app;
    let mut c = app.login("admin").await;
    custom_fields(&mut c).await;
    typed_customers(app, o.admin).await;
    let f = export(app, &mut c, "customers", "scene=all", "csv").await;
    assert!(f.content_type.starts_with("text/csv"), "{}", f.content_type);
    assert_eq!(&f.bytes[..3], b"\xEF\xBB\xBF", "UTF-8 byte-order mark");
    let text = f.text();
    assert!(text[3..].starts_with("客户编号,客户名称,助记名称"), "{}", &text[..60]);
    let row = f.csv_rows().into_iter().find(|r| r.contains("华信科技")).unwrap();
    for cell in ["013800000000", "1234567.89", "1990-05-17", "2026-02-01 01:00", "广东 / 广州", "甲等", "1234.5"]
    {
        assert!(row.split(',').any(|c| c == cell), "{cell} in {row}");
    }
    assert!(text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"点我\"\")\""), "quoted and neutralised");
    assert!(text.contains("\r\n'@SUM(1+1),") || text.contains(",'@SUM(1+1),"), "neutralised: {text}");
}

#[tokio::test]
async fn every_export_is_in_the_operation_log() {
    let o = org().await;
    let app = &o.app;
    customer(app, "某客户", Some(o.rep1)).await;
    let mut c = app.login("r1").await;
    export(app, &mut c, "customers", "scene=all&level=1", "csv").await;
    let (entity, entity_id, action, changes): (String, Option<i64>, String, serde_json::Value) = sqlx::query_as(
        "SELECT entity, entity_id, action, changes FROM operation_logs WHERE actor_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(o.rep1)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((entity.as_str(), entity_id, action.as_str()), ("customer", None, "export"));
    let change = |f: &str| changes.as_array().unwrap().iter().find(|c| c["field"] == f).map(|c| c["new"].clone());
    assert_eq!(change("export_rows"), Some(serde_json::json!(1)));
    assert_eq!(change("export_filter"), Some(serde_json::json!("scene=all&level=1")));
    assert_eq!(change("export_format"), Some(serde_json::json!("CSV")));
    // The admin reads it in the operation log.
    let mut admin = app.login("admin").await;
    let log = admin.get("/admin/logs?action=export").await;
    log.assert_status(200);
    let text = log.text_of("main");
    assert!(
        text.contains("导出了列表") && text.contains("行数：1") && text.contains("筛选条件：scene=all&level=1"),
        "{text}"
    );
}

#[tokio::test]
async fn the_options_page_counts_rows_and_columns() {
    let o = org().await;
    o.seed().await;
    let mut c = o.app.login("r1").await;
    let r = c.get("/export/customers?scene=all&page=2").await;
    r.assert_status(200);
    assert_eq!(r.attr("#export-options input[name=filter]", "value").as_deref(), Some("scene=all"));
    assert!(r.text_of("#export-options").contains("全部 3 行"), "{}", r.text_of("#export-options"));
    assert!(r.has("input[name=format][value=xlsx][checked]"));
    assert!(r.has("input[name=columns][value=visible][checked]"));
    // The pool, follow-ups and users have options pages too.
    let mut admin = o.app.login("admin").await;
    for path in ["/export/pool", "/export/followups", "/export/users", "/export/products", "/export/payments"] {
        admin.get(path).await.assert_status(200);
    }
}

#[tokio::test]
async fn follow_ups_and_users_export_what_their_pages_list() {
    let o = org().await;
    o.seed().await;
    let app = &o.app;
    let method = dict_item(app, "followup_method", "电话").await;
    for (owner, text) in [(o.rep1, "=cmd|' /C calc'!A0"), (o.rep3, "华南的跟进")] {
        sqlx::query(
            "INSERT INTO followups (entity, entity_id, customer_id, method_id, content, created_by)
             SELECT 'customer', id, id, $2, $3, $1 FROM customers WHERE owner_id = $1 ORDER BY id LIMIT 1",
        )
        .bind(owner)
        .bind(method)
        .bind(text)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let mut rep = app.login("r1").await;
    sqlx::query(
        "INSERT INTO role_permissions (role_id, module, action) SELECT id, 'followups', 'export' FROM roles
          WHERE code = 'rep' ON CONFLICT DO NOTHING",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let page = rep.get("/followups").await;
    assert_eq!(page.attr("#export-button", "href").as_deref(), Some("/export/followups"));
    let f = export(app, &mut rep, "followups", "", "csv").await;
    let rows = f.csv_rows();
    assert_eq!(rows.len(), page.count("#followups tbody tr[data-id]"), "{rows:?}");
    assert_eq!(rows.len(), 1, "only follow-ups on customers the rep sees: {rows:?}");
    assert!(rows[0].contains("'=cmd|' /C calc'!A0") && rows[0].contains("电话"), "{rows:?}");
    let mut admin = app.login("admin").await;
    let users = admin.get("/admin/users?status=active").await;
    let f = export(app, &mut admin, "users", "status=active", "xlsx").await;
    let sheet = f.sheet();
    assert_eq!(sheet.len() - 1, users.count("#users tbody tr[data-user]"));
    assert_eq!(sheet[0][0].to_string(), "姓名");
    assert!(sheet.iter().any(|r| r[col(&sheet, "登录名")] == Data::String("r1".into())));
}

/// LibreOffice (installed by scripts/test: `need_soffice`) converts the .xlsx to CSV: real
/// spreadsheet software reads the file, phones as text, amounts as numbers, Chinese intact.
#[tokio::test]
async fn libreoffice_reads_the_exported_workbook() {
    let soffice = ["soffice", "libreoffice"]
        .into_iter()
        .find(|b| std::process::Command::new("which").arg(b).output().is_ok_and(|o| o.status.success()))
        .expect("LibreOffice (soffice) is not installed: scripts/test installs it (need_soffice in scripts/lib.sh)");
    let o = org().await;
    let app = &o.app;
    let mut c = app.login("admin").await;
    custom_fields(&mut c).await;
    typed_customers(app, o.admin).await;
    let f = download(
        app,
        &mut c,
        "/export/customers",
        &[("filter", "scene=all"), ("rows", "all"), ("columns", "all"), ("format", "xlsx")],
    )
    .await;
    assert_eq!(f.status, 200);
    let dir = std::env::temp_dir().join(format!("crm-export-lo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xlsx = dir.join("customers.xlsx");
    std::fs::write(&xlsx, &f.bytes).unwrap();
    let profile = format!("-env:UserInstallation=file://{}", dir.join("profile").display());
    let out = std::process::Command::new(soffice)
        .args([&profile, "--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir"])
        .arg(&dir)
        .arg(&xlsx)
        .output()
        .expect("running soffice");
    let csv = std::fs::read_to_string(dir.join("customers.csv")).unwrap_or_else(|e| {
        panic!(
            "soffice made no CSV ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(csv.starts_with("客户编号,客户名称"), "{csv}");
    let row = csv.lines().find(|l| l.contains("华信科技")).unwrap_or_else(|| panic!("{csv}"));
    assert!(row.contains(",013800000000,"), "the phone kept its leading zero: {row}");
    assert!(row.contains("1,234,567.89") || row.contains("1234567.89"), "the amount: {row}");
    assert!(row.contains("1990-05-17"), "the date: {row}");
    assert!(csv.contains("'@SUM(1+1)"), "a formula-like name stays text: {csv}");
}
