//! The access matrix for customers: for each scope, a user sees and changes exactly the right
//! records through every route; records outside scope give 404 with nothing leaked.

use std::collections::{BTreeMap, BTreeSet};

use super::common::{Client, TestApp};
use super::customer;

struct World {
    app: TestApp,
    /// customer name → id
    c: BTreeMap<&'static str, i64>,
}

/// 销售部 ─ {华东, 华北}. director (销售总监, all); east_mgr (销售经理, 华东 and below);
/// east1, east2, north1 (销售代表, own); lead (只读, self + subordinates: east1 reports to lead).
/// Customers: one each for east1, east2, north1; north1's "team_r" has east1 as a read-only
/// member, "team_rw" as read-write, "team_old" as an expired member; "shared_east" is shared with
/// the 华东 department.
async fn world() -> World {
    super::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let sales = app.dept("销售部", Some(root)).await;
    let east = app.dept("华东", Some(sales)).await;
    let north = app.dept("华北", Some(sales)).await;
    let director = app.user("director", sales, None, &["director"]).await;
    let lead = app.user("lead", sales, Some(director), &["readonly"]).await;
    let east_mgr = app.user("east_mgr", east, Some(director), &["manager"]).await;
    let east1 = app.user("east1", east, Some(lead), &["rep"]).await;
    let east2 = app.user("east2", east, Some(east_mgr), &["rep"]).await;
    let north1 = app.user("north1", north, Some(director), &["rep"]).await;
    let mut c = BTreeMap::new();
    for (name, owner) in [
        ("east1_own", east1),
        ("east2_own", east2),
        ("north1_own", north1),
        ("team_r", north1),
        ("team_rw", north1),
        ("team_old", north1),
        ("shared_east", north1),
        ("director_own", director),
    ] {
        c.insert(name, customer(&app, name, Some(owner)).await);
    }
    for (name, access, expired) in [("team_r", "read", false), ("team_rw", "write", false), ("team_old", "write", true)]
    {
        sqlx::query(
            "INSERT INTO record_members (entity, record_id, user_id, access, expires_at)
             VALUES ('customer', $1, $2, $3, CASE WHEN $4 THEN now() - interval '1 day' END)",
        )
        .bind(c[name])
        .bind(east1)
        .bind(access)
        .bind(expired)
        .execute(&app.db)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO record_shares (entity, record_id, dept_id) VALUES ('customer', $1, $2)")
        .bind(c["shared_east"])
        .bind(east)
        .execute(&app.db)
        .await
        .unwrap();
    let _ = (east_mgr, north);
    World { app, c }
}

fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
    names.iter().copied().collect()
}

/// (user, visible customers, customers they may change)
fn expectations() -> Vec<(&'static str, BTreeSet<&'static str>, BTreeSet<&'static str>)> {
    let all =
        set(&["east1_own", "east2_own", "north1_own", "team_r", "team_rw", "team_old", "shared_east", "director_own"]);
    vec![
        ("director", all.clone(), all),
        ("east_mgr", set(&["east1_own", "east2_own", "shared_east"]), set(&["east1_own", "east2_own"])),
        ("east1", set(&["east1_own", "team_r", "team_rw", "shared_east"]), set(&["east1_own", "team_rw"])),
        ("east2", set(&["east2_own", "shared_east"]), set(&["east2_own"])),
        (
            "north1",
            set(&["north1_own", "team_r", "team_rw", "team_old", "shared_east"]),
            set(&["north1_own", "team_r", "team_rw", "team_old", "shared_east"]),
        ),
        // 只读: view only, own and subordinates' (east1 reports to lead).
        ("lead", set(&["east1_own"]), set(&[])),
    ]
}

fn listed(r: &super::common::Resp) -> BTreeSet<String> {
    r.html()
        .select(&scraper::Selector::parse("#list-table tbody tr[data-id] td a[href^=\"/customers/\"]").unwrap())
        .map(|e| e.text().collect::<String>())
        .collect()
}

/// The names a group of the search page lists ("customers", "contacts", "leads").
fn search_group(r: &super::common::Resp, group: &str) -> BTreeSet<String> {
    let sel = format!("[data-group={group}] .search-hits li > a");
    r.text_of(&sel).lines().map(str::to_string).filter(|s| !s.is_empty()).collect()
}

#[tokio::test]
async fn every_route_shows_and_changes_exactly_what_the_scope_allows() {
    let w = world().await;
    let term = "%E5%85%A8%E5%91%98%E5%8F%AF%E6%90%9C"; // 全员可搜
    for (login, visible, writable) in expectations() {
        // One term every customer matches (a search needs two characters or more); set again for
        // each user, as the previous one's edits post the form's short name.
        sqlx::query("UPDATE customers SET short_name = '全员可搜'").execute(&w.app.db).await.unwrap();
        let mut u = w.app.login(login).await;
        // List (every scene of "all I can see").
        let list = u.get("/customers?scene=all&per_page=100").await;
        let got: BTreeSet<String> = listed(&list);
        let want: BTreeSet<String> = visible.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "{login}: list");
        let mine = listed(&u.get("/customers?scene=mine").await);
        assert!(mine.iter().all(|n| want.contains(n)), "{login}: mine ⊆ visible");
        // Global search and the picker lookup.
        let search = u.get(&format!("/search?q={term}")).await;
        let found = search_group(&search, "customers");
        assert_eq!(found, want, "{login}: search");
        let lookup: serde_json::Value =
            serde_json::from_str(&u.get(&format!("/customers/lookup?q={term}")).await.body).unwrap();
        let looked: BTreeSet<String> =
            lookup.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(looked, want, "{login}: lookup");

        for (name, id) in &w.c {
            let (sees, changes) = (visible.contains(name), writable.contains(name));
            let detail = u.get(&format!("/customers/{id}")).await;
            assert_eq!(detail.status.as_u16(), if sees { 200 } else { 404 }, "{login} detail {name}");
            if !sees {
                assert!(!detail.body.contains(name), "{login}: a 404 leaks nothing about {name}");
            }
            for tab in ["related", "history"] {
                let t = u.get(&format!("/customers/{id}?tab={tab}")).await;
                assert_eq!(t.status.as_u16(), if sees { 200 } else { 404 }, "{login} {tab} {name}");
            }
            let can_edit_module = login != "lead";
            let edit = u.get(&format!("/customers/{id}/edit")).await;
            let want_edit = match (can_edit_module, sees, changes) {
                (false, _, _) => 403,
                (true, false, _) => 404,
                (true, true, false) => 403,
                (true, true, true) => 200,
            };
            assert_eq!(edit.status.as_u16(), want_edit, "{login} edit {name}");
            let new_name = format!("renamed_{name}");
            let upd = u
                .post(
                    &format!("/customers/{id}"),
                    &[("name", new_name.as_str()), ("kind", "enterprise"), ("level", "2")],
                )
                .await;
            if want_edit == 200 {
                assert!(upd.status.is_redirection(), "{login} may update {name}: {}", upd.status);
                let n: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
                    .bind(id)
                    .fetch_one(&w.app.db)
                    .await
                    .unwrap();
                assert_eq!(n, new_name);
                sqlx::query("UPDATE customers SET name = $1, name_norm = $1 WHERE id = $2")
                    .bind(*name)
                    .bind(id)
                    .execute(&w.app.db)
                    .await
                    .unwrap();
            } else {
                assert_eq!(upd.status.as_u16(), want_edit, "{login} update {name}");
                let n: String = sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
                    .bind(id)
                    .fetch_one(&w.app.db)
                    .await
                    .unwrap();
                assert_eq!(n, *name, "{login} could not rename {name}");
            }
            let star = u.post(&format!("/customers/{id}/star"), &[]).await;
            assert_eq!(star.status.as_u16(), if sees { 303 } else { 404 }, "{login} star {name}");
            // Delete: refused outside scope (404) and without write rights (nothing happens).
            if login != "lead" && !changes {
                let del = u.post(&format!("/customers/{id}/delete"), &[]).await;
                assert_eq!(del.status.as_u16(), if sees { 303 } else { 404 }, "{login} delete {name}");
                let deleted: bool = sqlx::query_scalar("SELECT deleted_at IS NOT NULL FROM customers WHERE id = $1")
                    .bind(id)
                    .fetch_one(&w.app.db)
                    .await
                    .unwrap();
                assert!(!deleted, "{login} must not delete {name}");
            }
        }
        sqlx::query("DELETE FROM stars").execute(&w.app.db).await.unwrap();
    }
}

/// Bulk delete on "all matching" and the recycle bin respect the scope too.
#[tokio::test]
async fn bulk_actions_and_the_recycle_bin_stay_in_scope() {
    for (login, visible, writable) in expectations().into_iter().filter(|(l, _, _)| *l != "lead") {
        let w = world().await;
        let mut u: Client = w.app.login(login).await;
        u.post("/customers/bulk/delete", &[("all", "1"), ("filter", "scene=all")]).await;
        let deleted: BTreeSet<String> =
            sqlx::query_scalar::<_, String>("SELECT name FROM customers WHERE deleted_at IS NOT NULL")
                .fetch_all(&w.app.db)
                .await
                .unwrap()
                .into_iter()
                .collect();
        let want: BTreeSet<String> = writable.iter().map(|s| s.to_string()).collect();
        assert_eq!(deleted, want, "{login}: bulk delete on everything matching deletes only what they may change");
        // Ticked ids outside scope are ignored.
        let outside: Vec<String> =
            w.c.iter().filter(|(n, _)| !visible.contains(*n)).map(|(_, id)| id.to_string()).collect();
        let form: Vec<(&str, &str)> = outside.iter().map(|id| ("ids", id.as_str())).collect();
        u.post("/customers/bulk/delete", &form).await;
        u.post("/customers/bulk/star", &form).await;
        assert_eq!(
            w.app.count("SELECT count(*) FROM customers WHERE deleted_at IS NOT NULL").await as usize,
            want.len()
        );
        assert_eq!(w.app.count("SELECT count(*) FROM stars").await, 0);

        // Now everything is deleted by the director; each user's bin shows their visible ones.
        let mut d = w.app.login("director").await;
        d.post("/customers/bulk/delete", &[("all", "1"), ("filter", "scene=all")]).await;
        let bin = u.get("/customers/recycle").await;
        let in_bin: BTreeSet<String> = bin
            .html()
            .select(&scraper::Selector::parse("#recycle-table tbody tr[data-id] strong").unwrap())
            .map(|e| e.text().collect())
            .collect();
        let vis: BTreeSet<String> = visible.iter().map(|s| s.to_string()).collect();
        assert_eq!(in_bin, vis, "{login}: recycle bin");
        let all_ids: Vec<String> = w.c.values().map(|id| id.to_string()).collect();
        let form: Vec<(&str, &str)> = all_ids.iter().map(|id| ("ids", id.as_str())).collect();
        u.post("/customers/recycle/restore", &form).await;
        let restored: BTreeSet<String> =
            sqlx::query_scalar::<_, String>("SELECT name FROM customers WHERE deleted_at IS NULL")
                .fetch_all(&w.app.db)
                .await
                .unwrap()
                .into_iter()
                .collect();
        assert_eq!(restored, want, "{login}: restores only what they may change");
    }
}

/// Scopes are resolved on every request: a changed superior, department or role applies to a
/// session that is already logged in, on its very next page.
#[tokio::test]
async fn org_changes_apply_to_open_sessions_on_the_next_request() {
    let w = world().await;
    let db = &w.app.db;
    let exec = |sql: &'static str| async move { sqlx::query(sql).execute(db).await.unwrap() };
    let page = |id: i64| format!("/customers/{id}");

    // lead (self + subordinates) sees east1's customer through the reporting line, until east1
    // reports to someone else.
    let mut lead = w.app.login("lead").await;
    lead.get(&page(w.c["east1_own"])).await.assert_status(200);
    exec("UPDATE users SET superior_id = (SELECT id FROM users WHERE login = 'east_mgr') WHERE login = 'east1'").await;
    lead.get(&page(w.c["east1_own"])).await.assert_status(404);
    assert!(!listed(&lead.get("/customers?scene=all").await).contains("east1_own"));

    // east_mgr (华东 and below) loses east2's customer when east2 moves to 华北, and gets it back.
    let mut mgr = w.app.login("east_mgr").await;
    mgr.get(&page(w.c["east2_own"])).await.assert_status(200);
    exec("UPDATE users SET dept_id = (SELECT id FROM departments WHERE name = '华北') WHERE login = 'east2'").await;
    mgr.get(&page(w.c["east2_own"])).await.assert_status(404);
    exec("UPDATE users SET dept_id = (SELECT id FROM departments WHERE name = '华东') WHERE login = 'east2'").await;
    mgr.get(&page(w.c["east2_own"])).await.assert_status(200);

    // A role granted to east2 (销售总监: all) widens their view at once.
    let mut east2 = w.app.login("east2").await;
    east2.get(&page(w.c["north1_own"])).await.assert_status(404);
    exec("INSERT INTO user_roles (user_id, role_id) SELECT u.id, r.id FROM users u, roles r WHERE u.login = 'east2' AND r.code = 'director'").await;
    east2.get(&page(w.c["north1_own"])).await.assert_status(200);
}

/// Permanent delete is its own permission, and reaches only binned customers the user may change.
#[tokio::test]
async fn permanent_delete_needs_its_permission_and_stays_in_scope() {
    let w = world().await;
    sqlx::query("INSERT INTO role_permissions (role_id, module, action) SELECT id, 'customers', 'purge' FROM roles WHERE code = 'manager'")
        .execute(&w.app.db)
        .await
        .unwrap();
    let mut director = w.app.login("director").await;
    director.post("/customers/bulk/delete", &[("all", "1"), ("filter", "scene=all")]).await;
    let all_ids: Vec<String> = w.c.values().map(|id| id.to_string()).collect();
    let form: Vec<(&str, &str)> = all_ids.iter().map(|id| ("ids", id.as_str())).collect();

    // A rep has no purge permission at all.
    w.app.login("east1").await.post("/customers/recycle/purge", &form).await.assert_status(403);
    assert_eq!(w.app.count("SELECT count(*) FROM customers").await, 8);

    // The manager (华东 and below) purges east1's and east2's, not the one shared with 华东.
    w.app.login("east_mgr").await.post("/customers/recycle/purge", &form).await.assert_status(303);
    let left: BTreeSet<String> = sqlx::query_scalar::<_, String>("SELECT name FROM customers")
        .fetch_all(&w.app.db)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let want: BTreeSet<String> = ["north1_own", "team_r", "team_rw", "team_old", "shared_east", "director_own"]
        .into_iter()
        .map(str::to_string)
        .collect();
    assert_eq!(left, want);
}

/// The system scenes narrow "all I can see": mine, my subordinates', shared with me.
#[tokio::test]
async fn system_scenes_pick_the_right_rows_inside_the_scope() {
    let w = world().await;
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    // director: east_mgr, north1 and (through lead) east1 report to them, east2 through east_mgr.
    let mut director = w.app.login("director").await;
    assert_eq!(listed(&director.get("/customers?scene=mine").await), names(&["director_own"]));
    assert_eq!(
        listed(&director.get("/customers?scene=subordinates&per_page=100").await),
        names(&["east1_own", "east2_own", "north1_own", "team_r", "team_rw", "team_old", "shared_east"])
    );
    // lead (只读, self + subordinates): only east1 reports to them.
    let mut lead = w.app.login("lead").await;
    assert_eq!(listed(&lead.get("/customers?scene=subordinates").await), names(&["east1_own"]));
    // east1 has no subordinates; what 华东 shares with them is "shared with me".
    let mut east1 = w.app.login("east1").await;
    assert_eq!(listed(&east1.get("/customers?scene=subordinates").await), names(&[]));
    assert_eq!(listed(&east1.get("/customers?scene=shared").await), names(&["shared_east"]));
}

/// The top bar's search finds contacts and leads (here by a phone or e-mail fragment) within each
/// user's scope for those modules, exactly as their lists filtered by the keyword; deleted ones,
/// and contacts of customers in the recycle bin, are found by nobody; without the view
/// permission on a module there is no group for it.
#[tokio::test]
async fn global_search_finds_contacts_and_leads_within_each_users_scope() {
    let w = world().await;
    let app = &w.app;
    let user = |login: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE login = $1")
            .bind(login)
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    let (east1, east2, north1) = (user("east1").await, user("east2").await, user("north1").await);
    let binned = customer(app, "binned", Some(east1)).await;
    sqlx::query("UPDATE customers SET deleted_at = now() WHERE id = $1").bind(binned).execute(&app.db).await.unwrap();
    // (name, customer, mobile, phone, email, deleted); each owned like its customer.
    for (name, cust, mobile, phone, email, deleted) in [
        ("ct_east1", w.c["east1_own"], Some("13900007788"), None, None, false),
        ("ct_east2", w.c["east2_own"], None, None, Some("ct7788@east2.cn"), false),
        ("ct_north1", w.c["north1_own"], None, Some("010-66667788"), None, false),
        ("ct_shared", w.c["shared_east"], Some("13600007788"), None, None, false),
        ("ct_binned", binned, Some("13500007788"), None, None, false),
        ("ct_deleted", w.c["east1_own"], Some("13400007788"), None, None, true),
        ("ct_other", w.c["east1_own"], Some("13900001234"), None, None, false),
    ] {
        sqlx::query(
            "INSERT INTO contacts (customer_id, name, owner_id, mobile, phone, email, deleted_at)
             SELECT id, $2, owner_id, $3, $4, $5, CASE WHEN $6 THEN now() END FROM customers WHERE id = $1",
        )
        .bind(cust)
        .bind(name)
        .bind(mobile)
        .bind(phone)
        .bind(email)
        .bind(deleted)
        .execute(&app.db)
        .await
        .unwrap();
    }
    // (name, owner, contact name, phone, email, deleted)
    for (name, owner, contact, phone, email, deleted) in [
        ("ld_east1", east1, "王经理", Some("021-55557788"), None, false),
        ("ld_east2", east2, "李经理", None, Some("buy7788@east2.cn"), false),
        ("ld_north1", north1, "赵7788", None, None, false),
        ("ld_deleted", east1, "钱经理", Some("021-44447788"), None, true),
        ("ld_other", east1, "孙经理", Some("021-44441234"), None, false),
    ] {
        sqlx::query(
            "INSERT INTO leads (name, owner_id, contact_name, phone, email, deleted_at)
             VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)",
        )
        .bind(name)
        .bind(owner)
        .bind(contact)
        .bind(phone)
        .bind(email)
        .bind(deleted)
        .execute(&app.db)
        .await
        .unwrap();
    }
    // (user, contacts found, leads found): contacts through the customer's scope, team and
    // shares ("shared_east" is shared with 华东), leads by their owner.
    let want: Vec<(&str, &[&str], &[&str])> = vec![
        ("director", &["ct_east1", "ct_east2", "ct_north1", "ct_shared"], &["ld_east1", "ld_east2", "ld_north1"]),
        ("east_mgr", &["ct_east1", "ct_east2", "ct_shared"], &["ld_east1", "ld_east2"]),
        ("lead", &["ct_east1"], &["ld_east1"]),
        ("east1", &["ct_east1", "ct_shared"], &["ld_east1"]),
        ("east2", &["ct_east2", "ct_shared"], &["ld_east2"]),
        ("north1", &["ct_north1", "ct_shared"], &["ld_north1"]),
    ];
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    let listed_as = |r: &super::common::Resp, path: &str| -> BTreeSet<String> {
        let sel = format!("#list-table tbody tr[data-id] td a[href^=\"/{path}/\"]");
        r.html().select(&scraper::Selector::parse(&sel).unwrap()).map(|e| e.text().collect::<String>()).collect()
    };
    for (login, contacts, leads) in want {
        let mut u = w.app.login(login).await;
        let page = u.get("/search?q=7788").await;
        page.assert_status(200);
        for (group, want) in [("contacts", contacts), ("leads", leads)] {
            let found = search_group(&page, group);
            assert_eq!(found, names(want), "{login}: {group} found");
            let head = page.text_of(&format!("[data-group={group}] h2"));
            assert!(head.contains(&format!("({})", want.len())), "{login}: {group} count in {head}");
            // "Show all" opens the module's list filtered by the keyword: the same records.
            let all = page.attr(&format!("[data-group={group}] h2 a"), "href").unwrap();
            assert_eq!(all, format!("/{group}?scene=all&q=7788"));
            assert_eq!(listed_as(&u.get(&all).await, group), found, "{login}: {group} list behind show all");
        }
        // Every match is marked; nothing of another's records leaks into the page.
        let marks = page.text_of("[data-group=contacts] mark, [data-group=leads] mark");
        assert!(marks.lines().all(|m| m == "7788") && !marks.is_empty(), "{login}: marks {marks}");
        for hidden in ["ct_east1", "ct_east2", "ct_north1", "ct_shared", "ld_east1", "ld_east2", "ld_north1"]
            .into_iter()
            .filter(|n| !contacts.contains(n) && !leads.contains(n))
        {
            page.assert_lacks(hidden);
        }
        for never in ["ct_binned", "ct_deleted", "ct_other", "ld_deleted", "ld_other"] {
            page.assert_lacks(never);
        }
    }
    // A contact's row names its customer; the detail shows the matching phone.
    let mut east1_page = w.app.login("east1").await;
    let page = east1_page.get("/search?q=7788").await;
    let detail = page.text_of("[data-group=contacts] .search-hits .muted");
    assert!(detail.lines().any(|d| d.starts_with("east1_own · 13900007788")), "{detail}");

    // Without the view permission on contacts and leads: customers only.
    let role: i64 = sqlx::query_scalar("INSERT INTO roles (name) VALUES ('客户专员') RETURNING id")
        .fetch_one(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO role_permissions (role_id, module, action) VALUES ($1, 'customers', 'view')")
        .bind(role)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO role_scopes (role_id, module, scope) VALUES ($1, 'customers', 'all')")
        .bind(role)
        .execute(&app.db)
        .await
        .unwrap();
    let root = app.root_dept().await;
    let only = app.user("cust_only", root, None, &[]).await;
    sqlx::query("INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)")
        .bind(only)
        .bind(role)
        .execute(&app.db)
        .await
        .unwrap();
    let mut c = w.app.login("cust_only").await;
    let page = c.get("/search?q=7788").await;
    page.assert_status(200);
    assert!(page.has("[data-group=customers]"));
    assert!(!page.has("[data-group=contacts]") && !page.has("[data-group=leads]"));
    page.assert_lacks("ct_east1").assert_lacks("ld_east1");
}

/// Everything that the work routes could change on a customer, to compare before and after.
async fn fingerprint(app: &TestApp) -> Vec<String> {
    let mut out: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws('|', id, owner_id, locked, frozen, name, next_contact_at) FROM customers ORDER BY id",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for table in
        ["record_members", "record_shares", "followups", "attachments", "notifications", "reminders", "operation_logs"]
    {
        out.push(format!("{table}: {}", app.count(&format!("SELECT count(*) FROM {table}")).await));
    }
    out
}

/// Records outside the actor's scope cannot be reached through any work route: transfer, team
/// add / remove, share / revoke, lock / unlock, freeze / unfreeze, follow-up, attachment upload
/// and download all answer 404 (403 first where the role lacks the permission) and change nothing.
#[tokio::test]
async fn work_routes_on_customers_outside_the_scope_are_not_found_and_change_nothing() {
    let w = world().await;
    let app = &w.app;
    let director: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE login = 'director'").fetch_one(&app.db).await.unwrap();
    // Freezable status, a team place, a share and a file on every customer (all for the
    // director, who sees everything anyway, so nobody else's view changes).
    sqlx::query("UPDATE customers SET status_id = (SELECT id FROM dict_items WHERE dict = 'customer_status' AND code = 'potential')")
        .execute(&app.db)
        .await
        .unwrap();
    let mut handles: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for id in w.c.values() {
        sqlx::query(
            "INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, 'read')",
        )
        .bind(id)
        .bind(director)
        .execute(&app.db)
        .await
        .unwrap();
        let share: i64 = sqlx::query_scalar(
            "INSERT INTO record_shares (entity, record_id, user_id) VALUES ('customer', $1, $2) RETURNING id",
        )
        .bind(id)
        .bind(director)
        .fetch_one(&app.db)
        .await
        .unwrap();
        let file: i64 = sqlx::query_scalar(
            "INSERT INTO attachments (entity, record_id, name, content_type, size, sha256, data, uploaded_by)
             VALUES ('customer', $1, 'secret.txt', 'text/plain', 6, 'x', 'secret', $2) RETURNING id",
        )
        .bind(id)
        .bind(director)
        .fetch_one(&app.db)
        .await
        .unwrap();
        handles.insert(*id, (share, file));
    }
    let method: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let method = method.to_string();
    let before = fingerprint(app).await;
    for (login, visible, _) in expectations() {
        let mut u = w.app.login(login).await;
        let me: i64 =
            sqlx::query_scalar("SELECT id FROM users WHERE login = $1").bind(login).fetch_one(&app.db).await.unwrap();
        let me = me.to_string();
        let may_edit = login != "lead";
        for (name, id) in w.c.iter().filter(|(n, _)| !visible.contains(*n)) {
            let (share, file) = handles[id];
            let base = format!("/customers/{id}");
            let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
                (format!("{base}/transfer"), vec![("new_owner", me.as_str()), ("keep_old", "write")]),
                (format!("{base}/team"), vec![("user_id", me.as_str()), ("access", "write")]),
                (format!("{base}/team/{director}/remove"), vec![]),
                (format!("{base}/shares"), vec![("user_ids", me.as_str())]),
                (format!("{base}/shares/{share}/revoke"), vec![]),
                (format!("{base}/lock"), vec![]),
                (format!("{base}/unlock"), vec![]),
                (format!("{base}/freeze"), vec![]),
                (format!("{base}/unfreeze"), vec![]),
                (format!("{base}/followups"), vec![("method_id", method.as_str()), ("content", "越权跟进")]),
                (format!("{base}/attachments/{file}/delete"), vec![]),
            ];
            for (path, form) in &posts {
                let r = u.post(path, form).await;
                assert_eq!(r.status.as_u16(), if may_edit { 404 } else { 403 }, "{login}: POST {path} ({name})");
                assert!(!r.body.contains(name), "{login}: {path} leaks nothing about {name}");
            }
            let r = u.get(&format!("{base}/transfer")).await;
            assert_eq!(r.status.as_u16(), if may_edit { 404 } else { 403 }, "{login}: transfer page ({name})");
            let up = u
                .post_multipart(&format!("{base}/attachments"), &[], &[("file", "x.txt", "text/plain", b"x".to_vec())])
                .await;
            assert_eq!(up.status.as_u16(), if may_edit { 404 } else { 403 }, "{login}: upload ({name})");
            let down = u.get(&format!("{base}/attachments/{file}")).await;
            assert_eq!(down.status.as_u16(), 404, "{login}: download ({name})");
            assert!(!down.body.contains("secret"), "{login}: download leaks nothing");
        }
        assert_eq!(fingerprint(app).await, before, "{login}: nothing changed");
    }
}
