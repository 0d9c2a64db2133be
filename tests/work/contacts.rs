//! Contacts: CRUD with custom fields and validation, the primary contact, visibility through the
//! customer's scope, team and shares, list filters, recycle bin, transfer, follow-ups.

use std::collections::{BTreeMap, BTreeSet};

use super::common::{self, Client, Resp, TestApp};

/// A customer inserted directly (fixtures), at the first status.
async fn customer(app: &TestApp, name: &str, owner: Option<i64>) -> i64 {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         VALUES ($1, $2, lower(replace($2, ' ', '')),
                 (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $3)
         RETURNING id",
    )
    .bind(format!("C{n:06}-{}", std::process::id()))
    .bind(name)
    .bind(owner)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// A contact inserted directly, owned like its customer.
async fn contact(app: &TestApp, customer_id: i64, name: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO contacts (customer_id, name, owner_id)
         SELECT id, $2, owner_id FROM customers WHERE id = $1 RETURNING id",
    )
    .bind(customer_id)
    .bind(name)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn contact_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM contacts WHERE name = $1").bind(name).fetch_one(&app.db).await.unwrap()
}

async fn primaries(app: &TestApp, customer_id: i64) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM contacts WHERE customer_id = $1 AND is_primary AND deleted_at IS NULL ORDER BY name",
    )
    .bind(customer_id)
    .fetch_all(&app.db)
    .await
    .unwrap()
}

fn listed(r: &Resp) -> BTreeSet<String> {
    r.html()
        .select(&scraper::Selector::parse("#list-table tbody tr[data-id] td a[href^=\"/contacts/\"]").unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// A query string with its values percent-encoded (Chinese text in URLs).
fn enc(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()),
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

async fn define_fields(c: &mut Client) {
    for (key, kind, options) in
        [("hobby", "text", ""), ("tier", "select", "a|甲类|A\nb|乙类|B"), ("vip", "boolean", "")]
    {
        c.post(
            "/admin/fields",
            &[
                ("entity", "contact"),
                ("key", key),
                ("label_zh", key),
                ("label_en", key),
                ("kind", kind),
                ("options", options),
            ],
        )
        .await
        .assert_redirect("/admin/fields?entity=contact");
    }
}

struct Crud {
    app: TestApp,
    rep: i64,
    cust: i64,
}

async fn crud_world() -> Crud {
    common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let root = app.root_dept().await;
    let rep = app.user("rep", root, None, &["rep"]).await;
    app.user("other", root, None, &["rep"]).await;
    let mut admin = app.login("admin").await;
    define_fields(&mut admin).await;
    let cust = customer(&app, "华信科技", Some(rep)).await;
    Crud { app, rep, cust }
}

#[tokio::test]
async fn create_edit_with_custom_fields_and_validation() {
    let w = crud_world().await;
    let mut c = w.app.login("rep").await;
    let cust = w.cust.to_string();
    let mr: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'salutation' AND code = 'mr'")
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    let mr = mr.to_string();

    // The customer's Contacts tab links here: the customer comes prefilled.
    let new = c.get(&format!("/contacts/new?customer_id={cust}")).await;
    new.assert_status(200);
    assert_eq!(new.attr("input[name=customer_q]", "value").as_deref(), Some("华信科技"));
    assert_eq!(new.attr("input[name=customer_id]", "value").as_deref(), Some(cust.as_str()));

    // Errors: nothing saved, each error next to its field, typed values kept.
    let bad = c
        .post(
            "/contacts",
            &[
                ("name", ""),
                ("customer_q", "华信科技"),
                ("customer_id", &cust),
                ("phone", "12"),
                ("email", "not-an-email"),
                ("birthday", "2001-02-30"),
                ("position", "采购经理"),
                ("cf_hobby", "钓鱼"),
                ("cf_tier", "zzz"),
            ],
        )
        .await;
    bad.assert_status(422);
    assert_eq!(w.app.count("SELECT count(*) FROM contacts").await, 0, "nothing saved on error");
    for field in ["name", "phone", "email", "birthday"] {
        assert!(bad.has(&format!(".has-error input[name={field}]")), "error shown at {field}");
    }
    assert!(bad.has("[data-custom=cf_tier].has-error"), "custom field error");
    assert_eq!(bad.attr("input[name=position]", "value").as_deref(), Some("采购经理"));
    assert_eq!(bad.attr("input[name=email]", "value").as_deref(), Some("not-an-email"));
    assert_eq!(bad.attr("input[name=cf_hobby]", "value").as_deref(), Some("钓鱼"));
    assert_eq!(bad.attr("input[name=customer_q]", "value").as_deref(), Some("华信科技"));

    // No customer, or one that is not there: an error at the customer field.
    let none = c.post("/contacts", &[("name", "张三")]).await;
    none.assert_status(422);
    assert!(none.has(".has-error input[name=customer_q]"));
    let unknown = c.post("/contacts", &[("name", "张三"), ("customer_q", "不存在的公司")]).await;
    unknown.assert_status(422);
    assert!(unknown.has(".has-error input[name=customer_q]"));
    // Another rep's customer is not even found.
    let theirs = customer(&w.app, "别人的客户", Some(w.rep + 1)).await.to_string();
    let r = c.post("/contacts", &[("name", "张三"), ("customer_q", "别人的客户"), ("customer_id", &theirs)]).await;
    r.assert_status(422);
    assert_eq!(w.app.count("SELECT count(*) FROM contacts").await, 0);

    // A good one; the customer typed by name (no picked id) is found too.
    let ok = c
        .post(
            "/contacts",
            &[
                ("name", "张三"),
                ("customer_q", "华信科技"),
                ("salutation_id", &mr),
                ("gender", "male"),
                ("position", "采购经理"),
                ("department", "采购部"),
                ("phone", "021-6888 1234"),
                ("mobile", "１３９１２３４５６７８"),
                ("email", "zhang@huaxin.cn"),
                ("wechat", "zhang_san"),
                ("address", "上海市浦东新区"),
                ("birthday", "1980-05-20"),
                ("decision_maker", "1"),
                ("notes", "喜欢喝茶"),
                ("cf_hobby", "钓鱼"),
                ("cf_tier", "a"),
                ("cf_vip", "1"),
            ],
        )
        .await;
    let id = contact_id(&w.app, "张三").await;
    ok.assert_redirect(&format!("/contacts/{id}"));
    let (owner, customer_id, primary, decision, mobile, custom): (i64, i64, bool, bool, String, serde_json::Value) =
        sqlx::query_as(
            "SELECT owner_id, customer_id, is_primary, decision_maker, mobile, custom FROM contacts WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    assert_eq!((owner, customer_id), (w.rep, w.cust), "owned by the customer's owner");
    assert!(primary, "the customer's first contact is primary");
    assert!(decision);
    assert_eq!(mobile, "13912345678", "full-width digits folded");
    assert_eq!(custom["hobby"], "钓鱼");
    assert_eq!(custom["tier"], "a");
    assert_eq!(custom["vip"], true);

    let page = c.get(&format!("/contacts/{id}")).await;
    page.assert_status(200);
    let basic = page.text_of("#tab-basic");
    for expected in
        ["张三", "华信科技", "先生", "男", "采购经理", "采购部", "zhang@huaxin.cn", "zhang_san", "1980", "喜欢喝茶"]
    {
        assert!(basic.contains(expected), "detail shows {expected}: {basic}");
    }
    let custom_shown = page.text_of("#custom-values");
    assert!(custom_shown.contains("钓鱼") && custom_shown.contains("甲类"), "{custom_shown}");
    assert!(page.has("#primary-badge") && page.has("#decision-badge"));
    assert!(page.has(&format!("#customer-link[href=\"/customers/{}\"]", w.cust)));

    // Edit: the form shows stored values; a bad edit changes nothing; a good one is in the history.
    let edit = c.get(&format!("/contacts/{id}/edit")).await;
    edit.assert_status(200);
    assert_eq!(edit.attr("input[name=position]", "value").as_deref(), Some("采购经理"));
    assert_eq!(edit.attr("input[name=cf_hobby]", "value").as_deref(), Some("钓鱼"));
    let bad =
        c.post(&format!("/contacts/{id}"), &[("name", "张三丰"), ("customer_q", "华信科技"), ("email", "x@")]).await;
    bad.assert_status(422);
    assert_eq!(bad.attr("input[name=name]", "value").as_deref(), Some("张三丰"));
    let name: String =
        sqlx::query_scalar("SELECT name FROM contacts WHERE id = $1").bind(id).fetch_one(&w.app.db).await.unwrap();
    assert_eq!(name, "张三");
    c.post(
        &format!("/contacts/{id}"),
        &[
            ("name", "张三丰"),
            ("customer_q", "华信科技"),
            ("customer_id", &cust),
            ("position", "副总经理"),
            ("cf_hobby", "太极"),
        ],
    )
    .await
    .assert_redirect(&format!("/contacts/{id}"));
    let (name, position, decision, custom): (String, String, bool, serde_json::Value) =
        sqlx::query_as("SELECT name, position, decision_maker, custom FROM contacts WHERE id = $1")
            .bind(id)
            .fetch_one(&w.app.db)
            .await
            .unwrap();
    assert_eq!((name.as_str(), position.as_str(), decision), ("张三丰", "副总经理", false));
    assert_eq!(custom["hobby"], "太极");
    assert!(custom.get("tier").is_none(), "cleared custom value");
    let history = c.get(&format!("/contacts/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("副总经理") && history.contains("采购经理"), "{history}");
    assert!(history.contains("职务"), "field labels read as sentences: {history}");
    assert_eq!(
        w.app
            .count(&format!("SELECT count(*) FROM operation_logs WHERE entity = 'contact' AND entity_id = {id}"))
            .await,
        2,
        "create + update"
    );

    // A frozen customer makes its contacts read-only.
    sqlx::query("UPDATE customers SET frozen = true WHERE id = $1").bind(w.cust).execute(&w.app.db).await.unwrap();
    assert_eq!(c.get(&format!("/contacts/{id}/edit")).await.status.as_u16(), 409);
    assert!(!c.get(&format!("/contacts/{id}")).await.has(&format!("a[href=\"/contacts/{id}/edit\"]")));
    let r = c.post("/contacts", &[("name", "李四"), ("customer_q", "华信科技"), ("customer_id", &cust)]).await;
    r.assert_status(422);
    assert!(r.has(".has-error input[name=customer_q]"));
}

#[tokio::test]
async fn one_primary_contact_per_customer() {
    let w = crud_world().await;
    let mut c = w.app.login("rep").await;
    let cust = w.cust.to_string();
    for name in ["甲", "乙"] {
        c.post("/contacts", &[("name", name), ("customer_q", "华信科技"), ("customer_id", &cust)]).await;
    }
    assert_eq!(primaries(&w.app, w.cust).await, ["甲"], "the first contact becomes primary");
    let (a, b) = (contact_id(&w.app, "甲").await, contact_id(&w.app, "乙").await);

    // Setting another moves the flag (the unique index never trips).
    c.post(&format!("/contacts/{b}/primary"), &[]).await.assert_redirect(&format!("/contacts/{b}"));
    assert_eq!(primaries(&w.app, w.cust).await, ["乙"]);
    assert!(!c.get(&format!("/contacts/{b}")).await.has("#set-primary"));
    assert!(c.get(&format!("/contacts/{a}")).await.has("#set-primary"));

    // "Make primary" ticked on the form of a new contact.
    c.post("/contacts", &[("name", "丙"), ("customer_q", "华信科技"), ("customer_id", &cust), ("make_primary", "1")])
        .await;
    assert_eq!(primaries(&w.app, w.cust).await, ["丙"]);
    // ... and on an edit.
    c.post(&format!("/contacts/{a}"), &[("name", "甲"), ("customer_q", "华信科技"), ("make_primary", "1")])
        .await
        .assert_redirect(&format!("/contacts/{a}"));
    assert_eq!(primaries(&w.app, w.cust).await, ["甲"]);
    let history = c.get(&format!("/contacts/{a}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("首要联系人"), "{history}");

    // Deleting the primary hands the flag to the earliest remaining contact.
    c.post(&format!("/contacts/{a}/delete"), &[]).await.assert_redirect("/contacts");
    assert_eq!(primaries(&w.app, w.cust).await, ["乙"]);
    // Restoring it does not take the flag back.
    c.post("/contacts/recycle/restore", &[("ids", &a.to_string())]).await;
    assert_eq!(primaries(&w.app, w.cust).await, ["乙"]);

    // Moving a contact to another customer: it becomes primary there if it is the first.
    let other = customer(&w.app, "新客户", Some(w.rep)).await.to_string();
    c.post(&format!("/contacts/{b}"), &[("name", "乙"), ("customer_q", "新客户"), ("customer_id", &other)])
        .await
        .assert_redirect(&format!("/contacts/{b}"));
    assert_eq!(primaries(&w.app, other.parse().unwrap()).await, ["乙"]);
    assert_eq!(primaries(&w.app, w.cust).await, ["甲"], "the old customer gets its earliest contact as primary");
}

/// 销售部 ─ {华东, 华北}. east_mgr (manager of 华东), east1, east2 (reps in 华东), north1 (rep in
/// 华北). Customers of north1: "team_r" with east1 as read-only member, "team_rw" read-write,
/// "team_old" expired, "shared_east" shared with 华东, "shared_old" an expired share. Each customer
/// has one contact "ct_<customer>"; "ct_direct" (under north1_own) has east2 on its own team.
struct World {
    app: TestApp,
    ct: BTreeMap<&'static str, i64>,
    users: BTreeMap<&'static str, i64>,
}

async fn world() -> World {
    common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let sales = app.dept("销售部", Some(root)).await;
    let east = app.dept("华东", Some(sales)).await;
    let north = app.dept("华北", Some(sales)).await;
    let east_mgr = app.user("east_mgr", east, None, &["manager"]).await;
    let east1 = app.user("east1", east, Some(east_mgr), &["rep"]).await;
    let east2 = app.user("east2", east, Some(east_mgr), &["rep"]).await;
    let north1 = app.user("north1", north, None, &["rep"]).await;
    let mut cu = BTreeMap::new();
    for (name, owner) in [
        ("east1_own", east1),
        ("east2_own", east2),
        ("north1_own", north1),
        ("team_r", north1),
        ("team_rw", north1),
        ("team_old", north1),
        ("shared_east", north1),
        ("shared_old", north1),
    ] {
        cu.insert(name, customer(&app, name, Some(owner)).await);
    }
    let mut ct = BTreeMap::new();
    for (name, id) in &cu {
        let cname: &'static str = Box::leak(format!("ct_{name}").into_boxed_str());
        ct.insert(cname, contact(&app, *id, cname).await);
    }
    ct.insert("ct_direct", contact(&app, cu["north1_own"], "ct_direct").await);
    for (entity, record, user, access, expired) in [
        ("customer", cu["team_r"], east1, "read", false),
        ("customer", cu["team_rw"], east1, "write", false),
        ("customer", cu["team_old"], east1, "write", true),
        ("contact", ct["ct_direct"], east2, "read", false),
    ] {
        sqlx::query(
            "INSERT INTO record_members (entity, record_id, user_id, access, expires_at)
             VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() - interval '1 day' END)",
        )
        .bind(entity)
        .bind(record)
        .bind(user)
        .bind(access)
        .bind(expired)
        .execute(&app.db)
        .await
        .unwrap();
    }
    for (name, expired) in [("shared_east", false), ("shared_old", true)] {
        sqlx::query(
            "INSERT INTO record_shares (entity, record_id, dept_id, expires_at)
             VALUES ('customer', $1, $2, CASE WHEN $3 THEN now() - interval '1 day' END)",
        )
        .bind(cu[name])
        .bind(east)
        .bind(expired)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let users = BTreeMap::from([("east_mgr", east_mgr), ("east1", east1), ("east2", east2), ("north1", north1)]);
    World { app, ct, users }
}

/// (user, visible contacts, contacts they may change)
fn expectations() -> Vec<(&'static str, BTreeSet<String>, BTreeSet<String>)> {
    let north1_all =
        ["ct_north1_own", "ct_direct", "ct_team_r", "ct_team_rw", "ct_team_old", "ct_shared_east", "ct_shared_old"];
    vec![
        // A rep: their own customers' contacts, plus what the customer's team and shares give.
        (
            "east1",
            set(&["ct_east1_own", "ct_team_r", "ct_team_rw", "ct_shared_east"]),
            set(&["ct_east1_own", "ct_team_rw"]),
        ),
        // A contact's own team place counts too.
        ("east2", set(&["ct_east2_own", "ct_shared_east", "ct_direct"]), set(&["ct_east2_own"])),
        // A manager: the department's.
        ("east_mgr", set(&["ct_east1_own", "ct_east2_own", "ct_shared_east"]), set(&["ct_east1_own", "ct_east2_own"])),
        ("north1", set(&north1_all), set(&north1_all)),
    ]
}

/// The pager's total ("共 N 条").
fn total(r: &Resp) -> String {
    r.text_of(".pager > span").split_whitespace().nth(1).unwrap_or("").to_string()
}

/// The unfiltered list's total is worked out from the owner counters; it must equal a real count
/// for every kind of scope, with contacts reached through teams and shares and contacts hidden
/// with their customer in the recycle bin.
#[tokio::test]
async fn unfiltered_totals_match_a_real_count() {
    let w = world().await;
    w.app.admin().await;
    let binned = customer(&w.app, "binned", Some(w.users["north1"])).await;
    contact(&w.app, binned, "ct_binned").await;
    let kept = customer(&w.app, "kept", Some(w.users["east1"])).await;
    contact(&w.app, kept, "ct_kept").await;
    let mut north1 = w.app.login("north1").await;
    north1.post(&format!("/customers/{binned}/delete"), &[]).await;
    let want = [("east1", 5), ("east2", 3), ("east_mgr", 4), ("north1", 7), ("admin", 10)];
    for (login, n) in want {
        let mut u = w.app.login(login).await;
        let fast = total(&u.get("/contacts?scene=all").await);
        // Every customer code here starts "C00": the same list through the counting path.
        let counted = total(&u.get("/contacts?scene=all&customer=C00").await);
        assert_eq!((fast.as_str(), counted.as_str()), (n.to_string().as_str(), n.to_string().as_str()), "{login}");
    }
}

/// Contacts owned by someone else than their customer's owner (transferred on their own, or left
/// behind when the customer changed hands) stay visible to whoever sees the customer.
#[tokio::test]
async fn a_contact_owned_apart_from_its_customer_is_seen_by_whoever_sees_the_customer() {
    let w = world().await;
    let exec = |sql: String| {
        let db = w.app.db.clone();
        async move { sqlx::query(&sql).execute(&db).await.unwrap() }
    };
    // east1's customer's contact goes to north1 (another department) on its own; east2's customer
    // goes to north1 without its contact.
    exec(format!("UPDATE contacts SET owner_id = {} WHERE id = {}", w.users["north1"], w.ct["ct_east1_own"])).await;
    exec(format!(
        "UPDATE customers SET owner_id = {} WHERE id = (SELECT customer_id FROM contacts WHERE id = {})",
        w.users["north1"], w.ct["ct_east2_own"]
    ))
    .await;
    for (login, sees_east1s, sees_east2s) in
        [("east1", true, false), ("east_mgr", true, true), ("north1", true, true), ("east2", false, true)]
    {
        let mut u = w.app.login(login).await;
        let list = listed(&u.get("/contacts?scene=all&per_page=100").await);
        for (name, sees) in [("ct_east1_own", sees_east1s), ("ct_east2_own", sees_east2s)] {
            assert_eq!(list.contains(name), sees, "{login}: {name} in the list");
            let detail = u.get(&format!("/contacts/{}", w.ct[name])).await;
            assert_eq!(detail.status.as_u16(), if sees { 200 } else { 404 }, "{login}: {name}");
        }
        // The quick total agrees with a real count.
        let fast = total(&u.get("/contacts?scene=all").await);
        let counted = total(&u.get("/contacts?scene=all&customer=C00").await);
        assert_eq!(fast, counted, "{login}: totals");
    }
    // Back together: the flag clears and east2 no longer sees the contact through north1's customer.
    exec(format!("UPDATE contacts SET owner_id = {} WHERE id = {}", w.users["north1"], w.ct["ct_east2_own"])).await;
    assert_eq!(w.app.count("SELECT count(*) FROM contacts WHERE owner_split").await, 1);
    w.app.login("east2").await.get(&format!("/contacts/{}", w.ct["ct_east2_own"])).await.assert_status(404);
}

#[tokio::test]
async fn visibility_follows_the_customers_scope_team_and_shares() {
    let w = world().await;
    for (login, visible, writable) in expectations() {
        let mut u = w.app.login(login).await;
        let list = u.get("/contacts?scene=all&per_page=100").await;
        list.assert_status(200);
        assert_eq!(listed(&list), visible, "{login}: list");
        for (name, id) in &w.ct {
            let (sees, changes) = (visible.contains(*name), writable.contains(*name));
            let detail = u.get(&format!("/contacts/{id}")).await;
            assert_eq!(detail.status.as_u16(), if sees { 200 } else { 404 }, "{login} detail {name}");
            if !sees {
                assert!(!detail.body.contains(name), "{login}: a 404 leaks nothing about {name}");
            } else {
                assert_eq!(
                    detail.has(&format!("a[href=\"/contacts/{id}/edit\"]")),
                    changes,
                    "{login} edit button {name}"
                );
            }
            for tab in ["timeline", "history"] {
                let t = u.get(&format!("/contacts/{id}?tab={tab}")).await;
                assert_eq!(t.status.as_u16(), if sees { 200 } else { 404 }, "{login} {tab} {name}");
            }
            let want = match (sees, changes) {
                (false, _) => 404,
                (true, false) => 403,
                (true, true) => 200,
            };
            assert_eq!(u.get(&format!("/contacts/{id}/edit")).await.status.as_u16(), want, "{login} edit {name}");
            // Saving with the same values: allowed only where writable.
            let customer_name = name.trim_start_matches("ct_");
            let customer_name = if *name == "ct_direct" { "north1_own" } else { customer_name };
            let upd = u.post(&format!("/contacts/{id}"), &[("name", name), ("customer_q", customer_name)]).await;
            if want == 200 {
                upd.assert_redirect(&format!("/contacts/{id}"));
            } else {
                assert_eq!(upd.status.as_u16(), want, "{login} update {name}");
            }
            let fu = u.post(&format!("/contacts/{id}/followups"), &[("content", "x")]).await;
            if want == 200 {
                assert!(fu.status.is_redirection(), "{login} follow-up form on {name}");
            } else {
                assert_eq!(fu.status.as_u16(), want, "{login} follow-up {name}");
            }
            for action in ["primary", "transfer"] {
                if want == 200 {
                    continue; // changes state; covered by their own tests
                }
                let r = u.post(&format!("/contacts/{id}/{action}"), &[("new_owner", "1")]).await;
                assert_eq!(r.status.as_u16(), want, "{login} {action} {name}");
            }
            let star = u.post(&format!("/contacts/{id}/star"), &[]).await;
            assert_eq!(star.status.as_u16(), if sees { 303 } else { 404 }, "{login} star {name}");
            if !changes {
                let del = u.post(&format!("/contacts/{id}/delete"), &[]).await;
                assert_eq!(del.status.as_u16(), if sees { 303 } else { 404 }, "{login} delete {name}");
                let live: bool = sqlx::query_scalar("SELECT deleted_at IS NULL FROM contacts WHERE id = $1")
                    .bind(id)
                    .fetch_one(&w.app.db)
                    .await
                    .unwrap();
                assert!(live, "{login} may not delete {name}");
            }
        }
        // Bulk actions only reach visible (and, to change, writable) rows.
        let all_ids: Vec<String> = w.ct.values().map(|i| i.to_string()).collect();
        let mut form: Vec<(&str, &str)> = all_ids.iter().map(|i| ("ids", i.as_str())).collect();
        form.push(("filter", "scene=all"));
        u.post("/contacts/bulk/unstar", &form).await;
        u.post("/contacts/bulk/star", &form).await;
        let starred: BTreeSet<String> = sqlx::query_scalar(
            "SELECT c.name FROM stars s JOIN contacts c ON c.id = s.record_id WHERE s.entity = 'contact' AND s.user_id = $1",
        )
        .bind(w.users[login])
        .fetch_all(&w.app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
        assert_eq!(starred, visible, "{login}: bulk star reaches the visible ones");
        let starred_scene = listed(&u.get("/contacts?scene=starred&per_page=100").await);
        assert_eq!(starred_scene, visible, "{login}: starred scene");
    }
    // The shared scene: contacts of customers shared with me.
    let mut east2 = w.app.login("east2").await;
    assert_eq!(listed(&east2.get("/contacts?scene=shared").await), set(&["ct_shared_east"]));
    assert_eq!(listed(&east2.get("/contacts?scene=mine").await), set(&["ct_east2_own"]));
}

#[tokio::test]
async fn list_filters() {
    let w = crud_world().await;
    let mut admin = w.app.login("admin").await;
    let a = customer(&w.app, "上海华信", Some(w.rep)).await;
    let b = customer(&w.app, "北京远航", Some(w.rep)).await;
    for (cust, name, decision, birthday, hobby) in [
        (a, "王决策", true, Some("1980-03-15"), "钓鱼"),
        (a, "李普通", false, Some("1985-07-01"), "登山"),
        (b, "赵三月", false, Some("1990-03-02"), ""),
        (b, "钱无生日", true, None, "钓鱼"),
    ] {
        let cid = cust.to_string();
        let mut form = vec![("name", name), ("customer_id", cid.as_str())];
        if decision {
            form.push(("decision_maker", "1"));
        }
        if let Some(d) = birthday {
            form.push(("birthday", d));
        }
        form.push(("cf_hobby", hobby));
        admin.post("/contacts", &form).await.assert_redirect(&format!("/contacts/{}", contact_id(&w.app, name).await));
    }
    let mut c = w.app.login("rep").await;
    for (query, want) in [
        ("scene=all", vec!["王决策", "李普通", "赵三月", "钱无生日"]),
        ("decision=1", vec!["王决策", "钱无生日"]),
        ("decision=0", vec!["李普通", "赵三月"]),
        ("birth_month=3", vec!["王决策", "赵三月"]),
        ("birth_month=7&decision=0", vec!["李普通"]),
        ("customer=华信", vec!["王决策", "李普通"]),
        ("customer=远航&decision=1", vec!["钱无生日"]),
        ("cf_hobby=钓鱼", vec!["王决策", "钱无生日"]),
        ("q=赵三", vec!["赵三月"]),
        ("q=三月", vec!["赵三月"]),
        (&format!("owner={}", w.rep), vec!["王决策", "李普通", "赵三月", "钱无生日"]),
        ("birth_month=13", vec![]),
    ] {
        let r = c.get(&format!("/contacts?{}", enc(query))).await;
        r.assert_status(200);
        assert_eq!(listed(&r), set(&want), "filter {query}");
    }
    // One character is too short to search for: the field says so and nothing is listed.
    let r = c.get(&format!("/contacts?{}", enc("q=赵"))).await;
    assert!(listed(&r).is_empty());
    assert!(r.text_of("#contact-filters .field-error").contains("至少输入 2 个字"));
    // The customer code matches as well.
    let code: String =
        sqlx::query_scalar("SELECT code FROM customers WHERE id = $1").bind(b).fetch_one(&w.app.db).await.unwrap();
    assert_eq!(listed(&c.get(&format!("/contacts?customer={}", enc(&code))).await), set(&["赵三月", "钱无生日"]));
    // The first scene tab speaks of contacts, and a custom field can be a column.
    let page = c.get("/contacts").await;
    assert!(page.text_of(".scene-tabs").contains("全部联系人"));
    c.post("/contacts/columns", &[("key", "name"), ("show", "name"), ("key", "cf:hobby"), ("show", "cf:hobby")])
        .await
        .assert_redirect("/contacts");
    let page = c.get("/contacts?decision=1").await;
    assert!(page.text_of("#list-table").contains("钓鱼"), "custom column shown");
}

#[tokio::test]
async fn delete_to_the_recycle_bin_restore_and_purge() {
    let w = crud_world().await;
    let mut c = w.app.login("rep").await;
    let a = contact(&w.app, w.cust, "要删的").await;
    let b = contact(&w.app, w.cust, "批量删的").await;
    c.post(&format!("/contacts/{a}/star"), &[]).await;
    c.post(&format!("/contacts/{a}/delete"), &[]).await.assert_redirect("/contacts");
    c.post("/contacts/bulk/delete", &[("ids", &b.to_string()), ("filter", "")]).await;
    assert_eq!(listed(&c.get("/contacts?scene=all").await), set(&[]));
    assert_eq!(c.get(&format!("/contacts/{a}")).await.status.as_u16(), 404, "deleted: gone from the detail page");
    let bin = c.get("/contacts/recycle").await;
    bin.assert_status(200);
    assert_eq!(bin.count("#recycle-table tr[data-id]"), 2);
    assert_eq!(
        w.app.count("SELECT count(*) FROM operation_logs WHERE entity = 'contact' AND action = 'delete'").await,
        2,
        "one audit row each"
    );
    c.post("/contacts/recycle/restore", &[("ids", &a.to_string())]).await.assert_redirect("/contacts/recycle");
    assert_eq!(listed(&c.get("/contacts?scene=all").await), set(&["要删的"]));
    // Permanent delete needs its own permission (reps do not have it).
    assert_eq!(c.post("/contacts/recycle/purge", &[("ids", &b.to_string())]).await.status.as_u16(), 403);
    let mut admin = w.app.login("admin").await;
    sqlx::query("INSERT INTO stars (user_id, entity, record_id) VALUES ($1, 'contact', $2)")
        .bind(w.rep)
        .bind(b)
        .execute(&w.app.db)
        .await
        .unwrap();
    admin.post("/contacts/recycle/purge", &[("ids", &b.to_string())]).await.assert_redirect("/contacts/recycle");
    assert_eq!(w.app.count(&format!("SELECT count(*) FROM contacts WHERE id = {b}")).await, 0);
    assert_eq!(
        w.app.count(&format!("SELECT count(*) FROM stars WHERE entity = 'contact' AND record_id = {b}")).await,
        0
    );
    // A live contact cannot be purged.
    admin.post("/contacts/recycle/purge", &[("ids", &a.to_string())]).await;
    assert_eq!(w.app.count(&format!("SELECT count(*) FROM contacts WHERE id = {a}")).await, 1);
}

#[tokio::test]
async fn transfer_to_another_user() {
    let w = crud_world().await;
    let other: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = 'other'").fetch_one(&w.app.db).await.unwrap();
    let a = contact(&w.app, w.cust, "转走的").await;
    let b = contact(&w.app, w.cust, "批量转的").await;
    let mut c = w.app.login("rep").await;
    let page = c.get(&format!("/contacts/{a}")).await;
    assert!(page.has("#transfer-form select[name=new_owner]"));

    // Not an active user: refused, nothing changes.
    c.post(&format!("/contacts/{a}/transfer"), &[("new_owner", "999999")]).await;
    assert_eq!(w.app.count(&format!("SELECT count(*) FROM contacts WHERE id = {a} AND owner_locked")).await, 0);

    c.post(&format!("/contacts/{a}/transfer"), &[("new_owner", &other.to_string())])
        .await
        .assert_redirect(&format!("/contacts/{a}"));
    let (owner, locked): (i64, bool) = sqlx::query_as("SELECT owner_id, owner_locked FROM contacts WHERE id = $1")
        .bind(a)
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    assert_eq!((owner, locked), (other, true), "new owner, transferred on its own");
    let (kind, link, params): (String, String, serde_json::Value) =
        sqlx::query_as("SELECT kind, link, params FROM notifications WHERE user_id = $1")
            .bind(other)
            .fetch_one(&w.app.db)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), link), ("contact_transfer_in", format!("/contacts/{a}")));
    assert_eq!(params["name"], "转走的");
    assert_eq!(
        w.app.count(&format!("SELECT count(*) FROM operation_logs WHERE entity = 'contact' AND entity_id = {a} AND action = 'contact_transfer'")).await,
        1
    );
    let text = crm::notify::render(crm::web::i18n::Lang::Zh, &kind, &params);
    assert!(text.contains("把联系人「转走的」转移给了您"), "catalog text: {text}");
    let mut o = w.app.login("other").await;
    assert_eq!(o.get(&format!("/contacts/{a}")).await.status.as_u16(), 200, "the new owner sees it");
    let history = o.get(&format!("/contacts/{a}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("转移了联系人"), "{history}");

    // Bulk: the options page first, then the transfer.
    let bs = b.to_string();
    let options = c.post("/contacts/bulk/transfer", &[("ids", &bs), ("filter", "scene=all")]).await;
    options.assert_status(200);
    assert!(options.has("#bulk-options select[name=new_owner]"));
    assert_eq!(options.attr("#bulk-options input[name=ids]", "value").as_deref(), Some(bs.as_str()));
    c.post("/contacts/bulk/transfer", &[("ids", &bs), ("filter", "scene=all"), ("new_owner", &other.to_string())])
        .await
        .assert_redirect("/contacts?scene=all");
    assert_eq!(
        w.app
            .count(&format!("SELECT count(*) FROM contacts WHERE id = {b} AND owner_id = {other} AND owner_locked"))
            .await,
        1
    );
    assert_eq!(w.app.count(&format!("SELECT count(*) FROM notifications WHERE user_id = {other}")).await, 2);
}

#[tokio::test]
async fn a_follow_up_on_a_contact_counts_for_its_customer_too() {
    let w = crud_world().await;
    let a = contact(&w.app, w.cust, "跟进对象").await;
    let method: i64 =
        sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' ORDER BY position LIMIT 1")
            .fetch_one(&w.app.db)
            .await
            .unwrap();
    let mut c = w.app.login("rep").await;
    c.post(&format!("/contacts/{a}/followups"), &[("method_id", &method.to_string()), ("content", "电话沟通了报价")])
        .await
        .assert_redirect(&format!("/contacts/{a}?tab=timeline"));
    let (contact_at, customer_at): (Option<chrono::DateTime<chrono::Utc>>, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as(
            "SELECT ct.last_followup_at, cu.last_followup_at FROM contacts ct JOIN customers cu ON cu.id = ct.customer_id
             WHERE ct.id = $1",
        )
        .bind(a)
        .fetch_one(&w.app.db)
        .await
        .unwrap();
    assert!(contact_at.is_some() && customer_at.is_some(), "both followed up");
    let own = c.get(&format!("/contacts/{a}?tab=timeline")).await;
    own.assert_status(200);
    assert!(own.text_of("#timeline").contains("电话沟通了报价"));
    assert!(own.has("#followup-form"), "the writer sees the form");
    // The customer's timeline (what its timeline tab shows) has it, naming the contact.
    let session = tower_sessions::Session::new(None, std::sync::Arc::new(tower_sessions::MemoryStore::default()), None);
    let rep_id = w.app.count("SELECT id FROM users WHERE login = 'rep'").await;
    let rep = crm::auth::fetch_user(&w.app.db, rep_id).await.unwrap().unwrap().0;
    let tl = crm::timeline::TimelineView::load(
        &w.app.db,
        &session,
        (&rep, crm::web::i18n::Lang::Zh),
        "customer",
        w.cust,
        Some(w.cust),
        "",
        false,
        format!("/customers/{}", w.cust),
    )
    .await
    .unwrap();
    let item = tl.items.iter().find(|i| i.lines.iter().any(|l| l.contains("电话沟通了报价")));
    let item = item.expect("the follow-up is on the customer's timeline");
    assert_eq!(item.about, ["跟进对象"], "naming the contact it was written on");
    // A follow-up with errors is refused and nothing is written.
    c.post(&format!("/contacts/{a}/followups"), &[("content", "")]).await;
    assert_eq!(w.app.count("SELECT count(*) FROM followups").await, 1);
}
