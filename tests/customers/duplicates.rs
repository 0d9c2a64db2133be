//! Duplicate rules that hold (issue 21): look-alike names folded to one key, stored keys
//! recomputed when the normaliser changes, concurrent saves of one new name serialised (real
//! HTTP requests to a served app), and the rules of contacts and leads on their forms and the
//! admin page.

use std::net::SocketAddr;

use crm::modules::customers::dup;
use crm::records::normalize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::common::{Client, TestApp};
use super::{customer, id_of};

async fn setup() -> (TestApp, Client) {
    super::common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let c = app.login("admin").await;
    (app, c)
}

async fn set_rule(app: &TestApp, entity: &str, field: &str, effect: &str) {
    sqlx::query("UPDATE dup_rules SET enabled = true, scope = 'company', effect = $3 WHERE entity = $1 AND field = $2")
        .bind(entity)
        .bind(field)
        .bind(effect)
        .execute(&app.db)
        .await
        .unwrap();
}

// ---------- item 2: look-alike names ----------

#[tokio::test]
async fn look_alike_names_are_refused_under_the_block_rule() {
    let (app, mut c) = setup().await;
    for name in ["北京星辰科技有限公司", "Acme Books", "客户管理有限公司", "Jean-Luc Trading", "Café Lumière"]
    {
        c.post("/customers", &[("name", name), ("kind", "enterprise")]).await.assert_status(303);
    }
    let variants = [
        "北京星辰\u{200B}科技有限公司",
        "北京星辰科技\u{200D}有限公司",
        "北京星\u{00AD}辰科技有限公司",
        "\u{FEFF}北京星辰科技有限公司",
        "北京\u{2060}星辰科技有限公司",
        "\u{202E}北京星辰科技有限公司",
        "北京星辰科技（有限公司）",
        "北京星辰科技(有限公司)",
        "Cafe\u{0301} Lumie\u{0300}re",
        "Jean\u{2010}Luc Trading",
        "\u{0410}\u{0441}m\u{0435} B\u{043E}oks",
        "𝐀𝐜𝐦𝐞 𝐁𝐨𝐨𝐤𝐬",
        "客戶管理有限公司",
    ];
    for typed in variants {
        let r = c.post("/customers", &[("name", typed), ("kind", "enterprise")]).await;
        assert_eq!(r.status.as_u16(), 422, "{typed:?} was accepted");
        assert!(r.has(".has-error input[name=name]"), "{typed:?}: the error is next to the name");
        let msg = r.text_of(".field-error");
        assert!(msg.contains("客户名称") && msg.contains("重复"), "{typed:?}: {msg}");
        // What was typed, but for a bidi override: the input layer drops those from one-line text.
        let kept = typed.replace('\u{202E}', "");
        assert_eq!(
            r.attr("input[name=name]", "value").as_deref(),
            Some(kept.as_str()),
            "the form keeps what was typed"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 5);
    // English too.
    c.post("/lang", &[("lang", "en"), ("back", "/")]).await;
    let r = c.post("/customers", &[("name", "客戶管理有限公司"), ("kind", "enterprise")]).await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("duplicates"), "{}", r.text_of(".field-error"));
    // A different name is still fine.
    c.post("/customers", &[("name", "北京星辰网络有限公司"), ("kind", "enterprise")]).await.assert_status(303);
}

#[tokio::test]
async fn stale_name_keys_are_recomputed_once_without_touching_updated_at() {
    let (app, _c) = setup().await;
    // Rows keyed by the old normaliser (case and spaces only), and a lead from before leads had keys.
    let old = customer(&app, "客戶管理（有限公司）", None).await;
    let lead: i64 = sqlx::query_scalar("INSERT INTO leads (name) VALUES ('星辰\u{200B}科技') RETURNING id")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    // Written as the old code left them (the touch triggers off, to date them in the past).
    sqlx::query("SET LOCAL crm.rekeying = 'on'").execute(&mut *tx).await.unwrap();
    sqlx::query("UPDATE customers SET name_norm = lower(name), updated_at = '2020-01-02' WHERE id = $1")
        .bind(old)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE leads SET name_norm = NULL, updated_at = '2020-01-02' WHERE id = $1")
        .bind(lead)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let viewer = crm::access::DataScope { user_id: 0, dept_id: 0, owners: None, extras: None };
    let cand = |name| dup::Candidate { exclude_id: None, name, phone: None, mobile: None, email: None, owner_id: None };
    let mut conn = app.db.acquire().await.unwrap();
    assert!(dup::find(&mut conn, &cand("客户管理有限公司"), &viewer).await.unwrap().is_empty(), "stale key");

    // As migration 0036 leaves it: the stored keys' version unknown.
    sqlx::query("DELETE FROM app_meta WHERE key = 'name_key_version'").execute(&app.db).await.unwrap();
    let changed = normalize::rekey(&app.db, false).await.unwrap();
    assert!(changed >= 2, "changed {changed}");
    let key: String =
        sqlx::query_scalar("SELECT name_norm FROM customers WHERE id = $1").bind(old).fetch_one(&app.db).await.unwrap();
    assert_eq!(key, normalize::name("客户管理有限公司"));
    let lead_key: String =
        sqlx::query_scalar("SELECT name_norm FROM leads WHERE id = $1").bind(lead).fetch_one(&app.db).await.unwrap();
    assert_eq!(lead_key, normalize::name("星辰科技"));
    let untouched =
        app.count("SELECT count(*) FROM customers WHERE updated_at = '2020-01-02' UNION ALL SELECT 0 LIMIT 1").await;
    assert_eq!(untouched, 1, "re-keying is not an edit");
    assert_eq!(app.count("SELECT count(*) FROM leads WHERE updated_at = '2020-01-02'").await, 1);
    let hits = dup::find(&mut conn, &cand("客户管理有限公司"), &viewer).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.record_id()).collect::<Vec<_>>(), [old]);
    // Once done, it is not done again.
    assert_eq!(normalize::rekey(&app.db, false).await.unwrap(), 0);
}

/// How many demo rows (customers, leads) change duplicate status between the old normaliser
/// (width, spaces and case only) and the new one. Run by hand; the number is reported in issue 21.
#[tokio::test]
#[ignore]
async fn demo_rows_changing_duplicate_status() {
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    fn old(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '\u{3000}' => ' ',
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            })
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    }
    let mut total = 0;
    for table in ["customers", "leads"] {
        let names: Vec<String> = sqlx::query_scalar(&format!("SELECT name FROM {table} WHERE deleted_at IS NULL"))
            .fetch_all(&app.db)
            .await
            .unwrap();
        let dup_status = |key: fn(&str) -> String| -> Vec<bool> {
            let keys: Vec<String> = names.iter().map(|n| key(n)).collect();
            keys.iter().map(|k| keys.iter().filter(|o| *o == k).count() > 1).collect()
        };
        let (before, after) = (dup_status(old), dup_status(normalize::name));
        let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        println!("{table}: {} live rows, {changed} changed duplicate status", names.len());
        total += changed;
    }
    println!("demo rows that changed duplicate status: {total}");
}

// ---------- item 3: concurrent saves ----------

/// The app served on a local port, and a raw HTTP/1.1 POST to it with `client`'s session.
struct Served {
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Served {
    async fn start(app: &TestApp) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app.router.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        Served { addr, server }
    }

    /// POST a form over TCP as `client`'s session (its cookie and CSRF token); the status code.
    async fn post(&self, client: &Client, path: &str, form: &[(&str, &str)]) -> u16 {
        let token = client.csrf_token().expect("a CSRF token");
        let session = client.session_id().expect("a session");
        let body: String =
            form_urlencoded::Serializer::new(String::new()).append_pair("_csrf", &token).extend_pairs(form).finish();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost\r\nCookie: {}={session}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            crm::app::SESSION_COOKIE,
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        let head = String::from_utf8_lossy(&response[..response.len().min(64)]).to_string();
        head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {head:?}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `n` simultaneous POSTs of the same form; their status codes, sorted.
async fn at_once(
    served: &std::sync::Arc<Served>,
    client: &Client,
    path: &str,
    forms: Vec<Vec<(&'static str, String)>>,
) -> Vec<u16> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(forms.len()));
    let mut tasks = Vec::new();
    for (i, form) in forms.into_iter().enumerate() {
        let (served, client, barrier) = (served.clone(), client.clone(), barrier.clone());
        let path = if path.contains("{i}") { path.replace("{i}", &i.to_string()) } else { path.to_string() };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            served.post(&client, &path, &form).await
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    codes.sort_unstable();
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_new_name_have_exactly_one_winner() {
    let (app, mut c) = setup().await;
    c.get("/customers/new").await;
    let served = std::sync::Arc::new(Served::start(&app).await);
    for round in 0..3 {
        let name = format!("并发科技{round}有限公司");
        // Five at once, spelt as a double-click and its look-alikes would be.
        let forms = (0..5)
            .map(|i| {
                let typed = if i % 2 == 0 { name.clone() } else { format!("{name}\u{200B}") };
                vec![("name", typed), ("kind", "enterprise".to_string())]
            })
            .collect();
        let codes = at_once(&served, &c, "/customers", forms).await;
        assert_eq!(codes, [303, 422, 422, 422, 422], "round {round}");
        let like = format!("SELECT count(*) FROM customers WHERE name LIKE '并发科技{round}%'");
        assert_eq!(app.count(&like).await, 1);
    }
    // Leads under a blocking name rule: the same.
    set_rule(&app, "lead", "name", "block").await;
    let forms = (0..5).map(|_| vec![("name", "并发线索".to_string()), ("level", "1".to_string())]).collect();
    assert_eq!(at_once(&served, &c, "/leads", forms).await, [303, 422, 422, 422, 422]);
    assert_eq!(app.count("SELECT count(*) FROM leads WHERE name = '并发线索'").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_renames_to_one_name_have_exactly_one_winner() {
    let (app, mut c) = setup().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let name = format!("改名前{i}");
        c.post("/customers", &[("name", &name), ("kind", "enterprise")]).await.assert_status(303);
        ids.push(id_of(&app, &name).await);
    }
    let served = std::sync::Arc::new(Served::start(&app).await);
    // /customers/{i} with i = 0..4 mapped to the ids below.
    let forms = (0..4).map(|_| vec![("name", "改名后".to_string()), ("kind", "enterprise".to_string())]).collect();
    let path = "/customers/ID{i}";
    let codes = {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(4));
        let mut tasks = Vec::new();
        for (i, form) in Vec::<Vec<(&'static str, String)>>::into_iter(forms).enumerate() {
            let (served, client, barrier) = (served.clone(), c.clone(), barrier.clone());
            let path = path.replace("ID{i}", &ids[i].to_string());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
                served.post(&client, &path, &form).await
            }));
        }
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await.unwrap());
        }
        codes.sort_unstable();
        codes
    };
    assert_eq!(codes, [303, 422, 422, 422]);
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE name = '改名后'").await, 1);
}

// ---------- item 4: contacts and leads ----------

#[tokio::test]
async fn contact_numbers_warn_then_block_and_an_unchanged_number_may_be_kept() {
    let (app, mut c) = setup().await;
    let acme = customer(&app, "联系人测试公司", None).await.to_string();
    let other = customer(&app, "另一家公司", None).await.to_string();
    let first = [
        ("name", "王经理"),
        ("customer_q", "联系人测试公司"),
        ("customer_id", acme.as_str()),
        ("mobile", "13912345678"),
    ];
    c.post("/contacts", &first).await.assert_status(303);

    // The default rule warns: the form comes back with the warning and what was typed.
    let second = [
        ("name", "李经理"),
        ("customer_q", "另一家公司"),
        ("customer_id", other.as_str()),
        ("mobile", "139 1234 5678"),
    ];
    let r = c.post("/contacts", &second).await;
    r.assert_status(200);
    assert!(r.has("#dup-warnings"), "warned");
    assert!(r.text_of("#dup-warnings").contains("王经理"), "{}", r.text_of("#dup-warnings"));
    assert_eq!(r.attr("input[name=mobile]", "value").as_deref(), Some("139 1234 5678"));
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, 1);
    let mut confirmed = second.to_vec();
    confirmed.push(("confirm_dup", "1"));
    c.post("/contacts", &confirmed).await.assert_status(303);
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, 2);

    // Blocking: refused next to the field, in both languages.
    set_rule(&app, "contact", "mobile", "block").await;
    let third =
        [("name", "赵经理"), ("customer_q", "另一家公司"), ("customer_id", other.as_str()), ("mobile", "13912345678")];
    let r = c.post("/contacts", &third).await;
    r.assert_status(422);
    assert!(r.has(".has-error input[name=mobile]"));
    assert!(r.text_of(".field-error").contains("手机"), "{}", r.text_of(".field-error"));
    c.post("/lang", &[("lang", "en"), ("back", "/")]).await;
    let r = c.post("/contacts", &third).await;
    r.assert_status(422);
    assert!(r.text_of(".field-error").contains("Mobile"), "{}", r.text_of(".field-error"));
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, 2);

    // The duplicate already saved can still be edited while it keeps its number.
    let li: i64 = sqlx::query_scalar("SELECT id FROM contacts WHERE name = '李经理'").fetch_one(&app.db).await.unwrap();
    let edit =
        [("name", "李总"), ("customer_q", "另一家公司"), ("customer_id", other.as_str()), ("mobile", "139 1234 5678")];
    c.post(&format!("/contacts/{li}"), &edit).await.assert_status(303);
    // E-mail: off by default, then blocking, compared without case.
    set_rule(&app, "contact", "email", "block").await;
    let e1 =
        [("name", "钱"), ("customer_q", "另一家公司"), ("customer_id", other.as_str()), ("email", "Qian@Example.com")];
    c.post("/contacts", &e1).await.assert_status(303);
    let e2 =
        [("name", "孙"), ("customer_q", "另一家公司"), ("customer_id", other.as_str()), ("email", "qian@example.COM")];
    c.post("/contacts", &e2).await.assert_status(422);
}

#[tokio::test]
async fn lead_company_names_warn_then_block_with_the_same_normalisation() {
    let (app, mut c) = setup().await;
    c.post("/leads", &[("name", "客户科技（上海）有限公司"), ("level", "1")]).await.assert_status(303);
    let look_alike = [("name", "客戶科技上海有限公司"), ("level", "1")];
    let r = c.post("/leads", &look_alike).await;
    r.assert_status(200);
    assert!(r.text_of("#dup-warnings").contains("客户科技（上海）有限公司"), "{}", r.text_of("#dup-warnings"));
    assert_eq!(r.attr("input[name=name]", "value").as_deref(), Some("客戶科技上海有限公司"));
    assert_eq!(app.count("SELECT count(*) FROM leads").await, 1);

    set_rule(&app, "lead", "name", "block").await;
    let r = c.post("/leads", &[("name", "客戶科技\u{200B}上海有限公司"), ("level", "1"), ("confirm_dup", "1")]).await;
    r.assert_status(422);
    assert!(r.has(".has-error input[name=name]"));
    assert!(r.text_of(".field-error").contains("公司/姓名"), "{}", r.text_of(".field-error"));
    // Phone: a blocking rule on the digits.
    set_rule(&app, "lead", "phone", "block").await;
    c.post("/leads", &[("name", "甲"), ("level", "1"), ("phone", "021-6888 1234")]).await.assert_status(303);
    let r = c.post("/leads", &[("name", "乙"), ("level", "1"), ("phone", "02168881234")]).await;
    r.assert_status(422);
    assert!(r.has(".has-error input[name=phone]"));
    // A rep who cannot see the lead learns only its owner.
    let dept = app.dept("华南", None).await;
    app.user("rep", dept, None, &["rep"]).await;
    let mut rep = app.login("rep").await;
    let r = rep.post("/leads", &[("name", "客户科技(上海)有限公司"), ("level", "1")]).await;
    r.assert_status(422);
    let msg = r.text_of(".field-error");
    assert!(!msg.contains("客户科技（上海）"), "the lead's name stays hidden: {msg}");
}

#[tokio::test]
async fn the_rules_page_sets_contact_and_lead_rules_and_audits_them() {
    let (app, mut c) = setup().await;
    let r = c.get("/admin/customer-rules").await;
    r.assert_status(200);
    assert_eq!(r.count("table[data-kind=contact] tbody tr"), 3);
    assert_eq!(r.count("table[data-kind=lead] tbody tr"), 4);
    assert!(r.has("input[name=contact_mobile_enabled][checked]"));
    let mut form = vec![
        ("name_enabled", "1"),
        ("name_scope", "company"),
        ("name_effect", "block"),
        ("phone_enabled", "1"),
        ("phone_scope", "company"),
        ("phone_effect", "warn"),
        ("mobile_enabled", "1"),
        ("mobile_scope", "company"),
        ("mobile_effect", "warn"),
        ("email_scope", "company"),
        ("email_effect", "warn"),
    ];
    for (f, on, effect) in [("phone", false, "warn"), ("mobile", true, "block"), ("email", true, "warn")] {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        if on {
            form.push((leak(format!("contact_{f}_enabled")), "1"));
        }
        form.push((leak(format!("contact_{f}_scope")), "dept"));
        form.push((leak(format!("contact_{f}_effect")), effect));
    }
    for f in ["name", "phone", "mobile", "email"] {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        form.push((leak(format!("lead_{f}_scope")), "company"));
        form.push((leak(format!("lead_{f}_effect")), "warn"));
    }
    c.post("/admin/customer-rules/dup", &form).await.assert_redirect("/admin/customer-rules");
    let rows: Vec<(String, String, bool, String, String)> = sqlx::query_as(
        "SELECT entity, field, enabled, scope, effect FROM dup_rules WHERE entity <> 'customer' ORDER BY entity, field",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let rows: Vec<(&str, &str, bool, &str, &str)> =
        rows.iter().map(|r| (r.0.as_str(), r.1.as_str(), r.2, r.3.as_str(), r.4.as_str())).collect();
    assert_eq!(
        rows,
        [
            ("contact", "email", true, "dept", "warn"),
            ("contact", "mobile", true, "dept", "block"),
            ("contact", "phone", false, "dept", "warn"),
            ("lead", "email", false, "company", "warn"),
            ("lead", "mobile", false, "company", "warn"),
            ("lead", "name", false, "company", "warn"),
            ("lead", "phone", false, "company", "warn"),
        ]
    );
    // One history row per changed rule: contacts 12–14, leads 21 (name) and 23 (mobile) turned off.
    let logged: Vec<i64> =
        sqlx::query_scalar("SELECT entity_id FROM operation_logs WHERE entity = 'customer_rule' ORDER BY entity_id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(logged, [12, 13, 14, 21, 23]);
    c.get("/admin/logs").await.assert_contains("联系人手机重复时");
    // A bad code is refused next to its row, the form keeps what was chosen.
    let mut bad = form.clone();
    bad.retain(|(k, _)| *k != "lead_mobile_effect");
    bad.push(("lead_mobile_effect", "explode"));
    let r = c.post("/admin/customer-rules/dup", &bad).await;
    r.assert_status(422);
    assert!(r.text_of("table[data-kind=lead] tr[data-field=mobile]").contains("格式不正确"));
    assert_eq!(r.attr("select[name=contact_mobile_effect] option[selected]", "value").as_deref(), Some("block"));
}

/// The serialisation itself, step by step: a save that checked a name under a blocking rule
/// holds it until it commits; a second check of the same name (a create, or an edit renaming
/// another record) waits, then sees the first one's row.
#[tokio::test]
async fn a_second_check_of_a_blocked_name_waits_for_the_first_save_to_commit() {
    let (app, _c) = setup().await;
    let other = customer(&app, "另一个名字", None).await;
    let viewer = crm::access::DataScope { user_id: 0, dept_id: 0, owners: None, extras: None };
    let cand = |exclude_id| dup::Candidate {
        exclude_id,
        name: "锁定科技",
        phone: None,
        mobile: None,
        email: None,
        owner_id: None,
    };
    let mut first = app.db.begin().await.unwrap();
    assert!(dup::find(&mut first, &cand(None), &viewer).await.unwrap().is_empty());
    let id = customer(&app, "临时", None).await;
    sqlx::query("UPDATE customers SET name = '锁定科技', name_norm = $2 WHERE id = $1")
        .bind(id)
        .bind(normalize::name("锁定科技"))
        .execute(&mut *first)
        .await
        .unwrap();
    let db = app.db.clone();
    let second = tokio::spawn(async move {
        let mut tx = db.begin().await.unwrap();
        let viewer = crm::access::DataScope { user_id: 0, dept_id: 0, owners: None, extras: None };
        let cand = dup::Candidate {
            exclude_id: Some(other),
            name: "锁定\u{200B}科技",
            phone: None,
            mobile: None,
            email: None,
            owner_id: None,
        };
        dup::find(&mut tx, &cand, &viewer).await.unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second check waits for the first save");
    first.commit().await.unwrap();
    let hits = second.await.unwrap();
    assert_eq!(hits.iter().map(|h| (h.record_id(), h.blocks())).collect::<Vec<_>>(), [(id, true)]);
}

/// Upgrading a populated database: tables at migration 0035 with rows keyed the old way, then
/// `db::migrate` (0036 and the re-keying) — the customers' keys recomputed, leads keyed, the
/// contact and lead rules present, and a look-alike of an old row now found.
#[tokio::test]
async fn an_upgraded_database_is_rekeyed_by_migrate() {
    use sqlx::Connection;
    let app = TestApp::new().await;
    let name = format!("crm_up_{}_{}", std::process::id(), chrono::Utc::now().timestamp_micros());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&app.db).await.unwrap();
    let url = format!("{}/{name}", app.db_url.rsplit_once('/').unwrap().0);
    let db = crm::db::connect(&url, 2).await.unwrap();
    let old = sqlx::migrate::Migrator {
        migrations: crm::db::MIGRATOR.migrations.iter().filter(|m| m.version <= 35).cloned().collect(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    old.run(&db).await.unwrap();
    let status: i64 =
        sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1")
            .fetch_one(&db)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO customers (code, name, name_norm, status_id, updated_at)
         VALUES ('U1', '客戶管理（有限公司）', '客戶管理（有限公司）', $1, '2020-01-02')",
    )
    .bind(status)
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO leads (name, mobile) VALUES ('星辰 科技', '138-0000-0000')").execute(&db).await.unwrap();
    crm::db::migrate(&db).await.unwrap();
    let (key, updated): (String, String) =
        sqlx::query_as("SELECT name_norm, to_char(updated_at, 'YYYY') FROM customers WHERE code = 'U1'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!((key, updated.as_str()), (normalize::name("客户管理有限公司"), "2020"));
    let (lead_key, mobile): (String, String) =
        sqlx::query_as("SELECT name_norm, mobile_norm FROM leads").fetch_one(&db).await.unwrap();
    assert_eq!((lead_key, mobile.as_str()), (normalize::name("星辰科技"), "13800000000"));
    let rules: i64 = sqlx::query_scalar("SELECT count(*) FROM dup_rules").fetch_one(&db).await.unwrap();
    assert_eq!(rules, 11);
    db.close().await;
    let mut admin = sqlx::PgConnection::connect(&app.db_url).await.unwrap();
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await.unwrap();
}

/// Migration 0038 cleans names stored before the input layer dropped bidi controls: a name that
/// reads backwards loses its override, a clean one is left alone (and keeps its updated_at).
#[tokio::test]
async fn stored_names_lose_their_bidi_controls() {
    let (app, _) = setup().await;
    let dirty = crate::customer(&app, "invoice\u{202E}fdp.exe 公司", None).await;
    let clean = crate::customer(&app, "干净的名字", None).await;
    // (The touch trigger would set updated_at to now: it steps aside while re-keying.)
    sqlx::raw_sql(&format!(
        "BEGIN; SET LOCAL crm.rekeying = 'on'; UPDATE customers SET updated_at = '2020-01-01' WHERE id = {clean}; COMMIT;"
    ))
    .execute(&app.db)
    .await
    .unwrap();
    sqlx::raw_sql(include_str!("../../migrations/0038_strip_bidi.sql")).execute(&app.db).await.unwrap();
    let name: String =
        sqlx::query_scalar("SELECT name FROM customers WHERE id = $1").bind(dirty).fetch_one(&app.db).await.unwrap();
    assert_eq!(name, "invoicefdp.exe 公司");
    let untouched: bool = sqlx::query_scalar("SELECT updated_at = '2020-01-01' FROM customers WHERE id = $1")
        .bind(clean)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(untouched, "a clean row is not rewritten");
}
