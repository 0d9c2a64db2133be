//! Working a customer: team (read vs read-write, expiry), sharing (department, expiry, revoke),
//! transfer (options, cap, scope), lock and freeze.

use super::common::{Client, TestApp};

pub struct Org {
    pub app: TestApp,
    pub east: i64,
    pub north: i64,
    pub rep1: i64,
    pub rep2: i64,
    pub north_rep: i64,
    pub mgr: i64,
}

/// 华东 (mgr, rep1, rep2) and 华北 (north_rep). rep1 owns "甲公司".
pub async fn org() -> Org {
    super::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let east = app.dept("华东", Some(root)).await;
    let north = app.dept("华北", Some(root)).await;
    let mgr = app.user("mgr", east, None, &["manager"]).await;
    let rep1 = app.user("rep1", east, Some(mgr), &["rep"]).await;
    let rep2 = app.user("rep2", east, Some(mgr), &["rep"]).await;
    let north_rep = app.user("north_rep", north, None, &["rep"]).await;
    Org { app, east, north, rep1, rep2, north_rep, mgr }
}

pub async fn customer(app: &TestApp, name: &str, owner: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
         VALUES ('C-' || $1, $1, $1, (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $2)
         RETURNING id",
    )
    .bind(name)
    .bind(owner)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn notifications(app: &TestApp, user: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2")
        .bind(user)
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

fn edit_form(name: &str) -> Vec<(&str, &str)> {
    vec![("name", name), ("kind", "enterprise"), ("level", "2")]
}

#[tokio::test]
async fn team_members_read_or_write_until_they_expire() {
    let o = org().await;
    let id = customer(&o.app, "甲公司", o.rep1).await;
    let mut owner: Client = o.app.login("rep1").await;
    let mut north = o.app.login("north_rep").await;
    north.get(&format!("/customers/{id}")).await.assert_status(404);

    owner.post(&format!("/customers/{id}/team"), &[("user_id", &o.north_rep.to_string()), ("access", "read")]).await;
    assert_eq!(notifications(&o.app, o.north_rep, "team_added").await, 1);
    north.get(&format!("/customers/{id}")).await.assert_status(200);
    north.post(&format!("/customers/{id}"), &edit_form("改名")).await.assert_status(403);

    // Upgrade to read-write: edits go through.
    owner.post(&format!("/customers/{id}/team"), &[("user_id", &o.north_rep.to_string()), ("access", "write")]).await;
    north.post(&format!("/customers/{id}"), &edit_form("甲公司")).await.assert_redirect(&format!("/customers/{id}"));
    let team = owner.get(&format!("/customers/{id}?tab=team")).await;
    assert!(team.text_of("#team-members").contains("读写"));

    // Expired: access ends without any job.
    sqlx::query("UPDATE record_members SET expires_at = now() - interval '1 second'").execute(&o.app.db).await.unwrap();
    north.get(&format!("/customers/{id}")).await.assert_status(404);
    // A past date is refused.
    owner
        .post(
            &format!("/customers/{id}/team"),
            &[("user_id", &o.rep2.to_string()), ("access", "read"), ("until", "2020-01-01")],
        )
        .await;
    assert!(owner.get(&format!("/customers/{id}?tab=team")).await.text_of(".flash-error").contains("不能早于今天"));
    // Remove.
    owner.post(&format!("/customers/{id}/team/{}/remove", o.north_rep), &[]).await;
    assert_eq!(o.app.count("SELECT count(*) FROM record_members").await, 0);
    assert!(o.app.count("SELECT count(*) FROM operation_logs WHERE action IN ('team_add', 'team_remove')").await >= 3);
}

#[tokio::test]
async fn shares_with_a_department_are_read_only_expire_and_can_be_revoked() {
    let o = org().await;
    let id = customer(&o.app, "乙公司", o.north_rep).await;
    let mut owner = o.app.login("north_rep").await;
    let mut rep2 = o.app.login("rep2").await;
    rep2.get(&format!("/customers/{id}")).await.assert_status(404);
    owner.post(&format!("/customers/{id}/shares"), &[("dept_ids", &o.east.to_string())]).await;
    // Everyone active in 华东 is told.
    assert_eq!(notifications(&o.app, o.rep2, "shared").await, 1);
    assert_eq!(notifications(&o.app, o.mgr, "shared").await, 1);
    rep2.get(&format!("/customers/{id}")).await.assert_status(200);
    rep2.get(&format!("/customers/{id}/edit")).await.assert_status(403);
    let shared = rep2.get("/customers?scene=shared").await;
    assert!(shared.text_of("#list-table").contains("乙公司"));
    // Expiry ends it.
    sqlx::query("UPDATE record_shares SET expires_at = now() - interval '1 second'").execute(&o.app.db).await.unwrap();
    rep2.get(&format!("/customers/{id}")).await.assert_status(404);
    // Revoke.
    let share_id: i64 = sqlx::query_scalar("SELECT id FROM record_shares").fetch_one(&o.app.db).await.unwrap();
    owner.post(&format!("/customers/{id}/shares/{share_id}/revoke"), &[]).await;
    assert_eq!(o.app.count("SELECT count(*) FROM record_shares").await, 0);
    // Nobody chosen: a clear message, nothing stored.
    owner.post(&format!("/customers/{id}/shares"), &[("until", "")]).await;
    assert!(owner.get(&format!("/customers/{id}?tab=team")).await.text_of(".flash-error").contains("至少选择"));
}

#[tokio::test]
async fn transfer_moves_contacts_and_keeps_the_old_owner_as_asked() {
    let o = org().await;
    let id = customer(&o.app, "丙公司", o.rep1).await;
    for (name, locked) in [("联系人甲", false), ("联系人乙", true)] {
        sqlx::query("INSERT INTO contacts (customer_id, name, owner_id, owner_locked) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(name)
            .bind(if locked { o.rep2 } else { o.rep1 })
            .bind(locked)
            .execute(&o.app.db)
            .await
            .unwrap();
    }
    let mut mgr = o.app.login("mgr").await;
    let r = mgr
        .post(
            &format!("/customers/{id}/transfer"),
            &[("new_owner", &o.rep2.to_string()), ("move_contacts", "1"), ("keep_old", "read")],
        )
        .await;
    r.assert_redirect(&format!("/customers/{id}"));
    let owner: i64 =
        sqlx::query_scalar("SELECT owner_id FROM customers WHERE id = $1").bind(id).fetch_one(&o.app.db).await.unwrap();
    assert_eq!(owner, o.rep2);
    let contact_owners: Vec<(String, i64)> =
        sqlx::query_as("SELECT name, owner_id FROM contacts ORDER BY name").fetch_all(&o.app.db).await.unwrap();
    assert_eq!(contact_owners, vec![("联系人乙".to_string(), o.rep2), ("联系人甲".to_string(), o.rep2)]);
    let kept: String = sqlx::query_scalar("SELECT access FROM record_members WHERE user_id = $1")
        .bind(o.rep1)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert_eq!(kept, "read");
    assert_eq!(notifications(&o.app, o.rep2, "transfer_in").await, 1);
    // The old owner still sees it (read-only team place) but cannot edit.
    let mut rep1 = o.app.login("rep1").await;
    rep1.get(&format!("/customers/{id}")).await.assert_status(200);
    rep1.get(&format!("/customers/{id}/edit")).await.assert_status(403);
    let history = mgr.get(&format!("/customers/{id}?tab=history")).await.text_of("#tab-history");
    assert!(history.contains("把 负责人 从 用户rep1 改为 用户rep2"), "{history}");

    // Without options: contacts stay, no team place.
    let id2 = customer(&o.app, "丁公司", o.rep1).await;
    sqlx::query("INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, '联系人丙', $2)")
        .bind(id2)
        .bind(o.rep1)
        .execute(&o.app.db)
        .await
        .unwrap();
    mgr.post(&format!("/customers/{id2}/transfer"), &[("new_owner", &o.rep2.to_string()), ("keep_old", "")]).await;
    let c_owner: i64 =
        sqlx::query_scalar("SELECT owner_id FROM contacts WHERE name = '联系人丙'").fetch_one(&o.app.db).await.unwrap();
    assert_eq!(c_owner, o.rep1);
    assert_eq!(o.app.count(&format!("SELECT count(*) FROM record_members WHERE record_id = {id2}")).await, 0);
}

#[tokio::test]
async fn transfer_respects_caps_and_scope() {
    let o = org().await;
    let a = customer(&o.app, "戊公司", o.rep1).await;
    let b = customer(&o.app, "己公司", o.rep1).await;
    customer(&o.app, "北方公司", o.north_rep).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned) VALUES ($1, 1)")
        .bind(o.north_rep)
        .execute(&o.app.db)
        .await
        .unwrap();
    let mut mgr = o.app.login("mgr").await;
    let r = mgr.post(&format!("/customers/{a}/transfer"), &[("new_owner", &o.north_rep.to_string())]).await;
    r.assert_status(422);
    assert!(r.text_of("#transfer-error").contains("上限"));
    // Bulk: both refused together (the cap covers the whole batch).
    let ids = [a.to_string(), b.to_string()];
    mgr.post(
        "/customers/bulk/transfer",
        &[("ids", &ids[0]), ("ids", &ids[1]), ("new_owner", &o.north_rep.to_string()), ("filter", "")],
    )
    .await;
    assert_eq!(o.app.count(&format!("SELECT count(*) FROM customers WHERE owner_id = {}", o.north_rep)).await, 1);
    // Out of scope: a rep cannot transfer another rep's customer (404), nor reach it by bulk.
    let mut rep2 = o.app.login("rep2").await;
    rep2.post(&format!("/customers/{a}/transfer"), &[("new_owner", &o.rep2.to_string())]).await.assert_status(404);
    rep2.post("/customers/bulk/transfer", &[("ids", &ids[0]), ("new_owner", &o.rep2.to_string())]).await;
    let owner: i64 =
        sqlx::query_scalar("SELECT owner_id FROM customers WHERE id = $1").bind(a).fetch_one(&o.app.db).await.unwrap();
    assert_eq!(owner, o.rep1);
    // Bulk transfer without a new owner shows the options page first.
    let page = mgr.post("/customers/bulk/transfer", &[("ids", &ids[0]), ("ids", &ids[1])]).await;
    page.assert_status(200);
    assert!(page.has("#bulk-options select[name=new_owner]"));
    assert_eq!(page.count("#bulk-options input[name=ids]"), 2);
    mgr.post("/customers/bulk/transfer", &[("ids", &ids[0]), ("ids", &ids[1]), ("new_owner", &o.rep2.to_string())])
        .await;
    assert_eq!(o.app.count(&format!("SELECT count(*) FROM customers WHERE owner_id = {}", o.rep2)).await, 2);
}

#[tokio::test]
async fn transfer_counts_dealt_customers_only_when_the_cap_says_so_and_respects_the_lock_cap() {
    let o = org().await;
    let dealt = customer(&o.app, "成交公司", o.rep1).await;
    let locked = customer(&o.app, "锁定公司", o.rep1).await;
    customer(&o.app, "北方公司", o.north_rep).await;
    sqlx::query("UPDATE customers SET deal_status = 'dealt' WHERE id = $1")
        .bind(dealt)
        .execute(&o.app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE customers SET locked = true WHERE id = $1").bind(locked).execute(&o.app.db).await.unwrap();
    // north_rep is full (1 of 1) but dealt customers do not count; they may lock nothing.
    sqlx::query("INSERT INTO customer_caps (user_id, max_owned, count_dealt, max_locked) VALUES ($1, 1, false, 0)")
        .bind(o.north_rep)
        .execute(&o.app.db)
        .await
        .unwrap();
    let mut mgr = o.app.login("mgr").await;
    let north = o.north_rep.to_string();
    let to_north = [("new_owner", north.as_str())];
    mgr.post(&format!("/customers/{dealt}/transfer"), &to_north).await.assert_status(303);
    let owner = |id: i64| {
        let db = o.app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT owner_id FROM customers WHERE id = $1")
                .bind(id)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(owner(dealt).await, o.north_rep);

    // A locked customer would pass the lock cap: refused with the reason, nothing moves.
    sqlx::query("UPDATE customer_caps SET max_owned = NULL WHERE user_id = $1")
        .bind(o.north_rep)
        .execute(&o.app.db)
        .await
        .unwrap();
    let r = mgr.post(&format!("/customers/{locked}/transfer"), &to_north).await;
    r.assert_status(422);
    assert!(r.text_of("#transfer-error").contains("锁定的客户已达上限"), "{}", r.text_of("#transfer-error"));
    assert_eq!(owner(locked).await, o.rep1);
}

#[tokio::test]
async fn a_frozen_customer_refuses_every_write_until_unfrozen() {
    let o = org().await;
    let id = customer(&o.app, "冻结公司", o.rep1).await;
    let mut rep1 = o.app.login("rep1").await;
    // The first status (无效客户) may not be frozen.
    rep1.post(&format!("/customers/{id}/freeze"), &[]).await;
    assert!(
        !sqlx::query_scalar::<_, bool>("SELECT frozen FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&o.app.db)
            .await
            .unwrap()
    );
    sqlx::query("UPDATE customers SET status_id = (SELECT id FROM dict_items WHERE dict = 'customer_status' AND code = 'potential') WHERE id = $1")
        .bind(id)
        .execute(&o.app.db)
        .await
        .unwrap();
    rep1.post(&format!("/customers/{id}/freeze"), &[]).await;
    let page = rep1.get(&format!("/customers/{id}")).await;
    assert!(page.has(".banner"), "a banner says it is frozen");
    assert!(!page.has("a[href$=\"/edit\"]"));
    let method: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' LIMIT 1")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    let writes: Vec<(String, Vec<(&str, String)>)> = vec![
        (format!("/customers/{id}"), vec![("name", "改".into()), ("kind", "enterprise".into())]),
        (format!("/customers/{id}/followups"), vec![("method_id", method.to_string()), ("content", "打了电话".into())]),
        (format!("/customers/{id}/transfer"), vec![("new_owner", o.rep2.to_string())]),
        (format!("/customers/{id}/team"), vec![("user_id", o.rep2.to_string()), ("access", "read".into())]),
        (format!("/customers/{id}/shares"), vec![("user_ids", o.rep2.to_string())]),
        (format!("/customers/{id}/lock"), vec![]),
    ];
    for (path, form) in &writes {
        let f: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = rep1.post(path, &f).await;
        assert_eq!(r.status.as_u16(), 409, "{path} on a frozen customer");
    }
    rep1.post(&format!("/customers/{id}/delete"), &[]).await;
    rep1.get(&format!("/customers/{id}/edit")).await.assert_status(409);
    assert_eq!(o.app.count("SELECT count(*) FROM followups").await, 0);
    assert_eq!(o.app.count("SELECT count(*) FROM record_members").await, 0);
    assert_eq!(o.app.count("SELECT count(*) FROM customers WHERE deleted_at IS NOT NULL").await, 0);
    rep1.post(&format!("/customers/{id}/unfreeze"), &[]).await;
    rep1.post(&format!("/customers/{id}"), &edit_form("冻结公司")).await.assert_redirect(&format!("/customers/{id}"));
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM operation_logs WHERE entity_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&o.app.db)
        .await
        .unwrap();
    assert!(actions.contains(&"freeze".to_string()) && actions.contains(&"unfreeze".to_string()));
}

#[tokio::test]
async fn the_lock_cap_is_respected() {
    let o = org().await;
    let a = customer(&o.app, "锁一", o.rep1).await;
    let b = customer(&o.app, "锁二", o.rep1).await;
    sqlx::query("INSERT INTO customer_caps (user_id, max_locked) VALUES ($1, 1)")
        .bind(o.rep1)
        .execute(&o.app.db)
        .await
        .unwrap();
    let mut rep1 = o.app.login("rep1").await;
    rep1.post(&format!("/customers/{a}/lock"), &[]).await;
    // Locking it again at the cap is no error: it takes no further place.
    rep1.post(&format!("/customers/{a}/lock"), &[]).await.assert_redirect(&format!("/customers/{a}"));
    let page = rep1.get(&format!("/customers/{a}")).await;
    assert!(!page.has(".flash-error") && page.has(".flash-success"), "{}", page.text_of(".flash"));
    assert_eq!(o.app.count("SELECT count(*) FROM operation_logs WHERE action = 'lock'").await, 1);
    rep1.post(&format!("/customers/{b}/lock"), &[]).await;
    assert!(rep1.get(&format!("/customers/{b}")).await.text_of(".flash-error").contains("上限"));
    assert_eq!(o.app.count("SELECT count(*) FROM customers WHERE locked").await, 1);
    rep1.post(&format!("/customers/{a}/unlock"), &[]).await;
    rep1.post(&format!("/customers/{b}/lock"), &[]).await;
    let locked: Vec<String> =
        sqlx::query_scalar("SELECT name FROM customers WHERE locked").fetch_all(&o.app.db).await.unwrap();
    assert_eq!(locked, ["锁二"]);
    let _ = (o.north, o.mgr);
}

/// "All matching" with the owner typed by name (the search box wide scopes get) reaches only that
/// owner's customers, exactly as the list shows them: transfer, team and share.
#[tokio::test]
async fn bulk_actions_on_all_matching_keep_to_an_owner_typed_by_name() {
    let o = org().await;
    let a = customer(&o.app, "甲一", o.rep1).await;
    let b = customer(&o.app, "甲二", o.rep1).await;
    let other = customer(&o.app, "乙一", o.rep2).await;
    let north = customer(&o.app, "北一", o.north_rep).await;
    let mut mgr = o.app.login("mgr").await;
    let filter = "scene=all&owner_q=%E7%94%A8%E6%88%B7rep1";
    let listed = mgr.get(&format!("/customers?{filter}")).await.text_of("#list-table tbody");
    assert!(listed.contains("甲一") && listed.contains("甲二") && !listed.contains("乙一"), "{listed}");
    let owner_of = |id: i64| {
        let db = o.app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT owner_id FROM customers WHERE id = $1")
                .bind(id)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    // The options page counts what the action will touch.
    let page = mgr.post("/customers/bulk/transfer", &[("all", "1"), ("filter", filter)]).await;
    page.assert_status(200);
    let count = page.text_of(".page-head .sub");
    assert!(count.contains('2') && !count.contains('3'), "{count}");
    let north_id = o.north_rep.to_string();
    mgr.post("/customers/bulk/team", &[("all", "1"), ("filter", filter), ("user_id", &north_id), ("access", "read")])
        .await;
    mgr.post("/customers/bulk/share", &[("all", "1"), ("filter", filter), ("user_ids", &north_id)]).await;
    let rep2 = o.rep2.to_string();
    mgr.post("/customers/bulk/transfer", &[("all", "1"), ("filter", filter), ("new_owner", &rep2)]).await;
    assert_eq!((owner_of(a).await, owner_of(b).await), (o.rep2, o.rep2));
    assert_eq!(owner_of(other).await, o.rep2, "rep2's own customer stays theirs");
    assert_eq!(owner_of(north).await, o.north_rep, "outside the manager's scope");
    let touched = |table: &'static str| {
        let db = o.app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT record_id FROM {table} ORDER BY record_id"))
                .fetch_all(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(touched("record_members").await, [a, b], "team places only on rep1's customers");
    assert_eq!(touched("record_shares").await, [a, b], "shares only on rep1's customers");
    // A name nobody has matches nothing.
    let rep1 = o.rep1.to_string();
    mgr.post("/customers/bulk/transfer", &[("all", "1"), ("filter", "owner_q=nobody"), ("new_owner", &rep1)]).await;
    assert_eq!(o.app.count(&format!("SELECT count(*) FROM customers WHERE owner_id = {}", o.rep1)).await, 0);
}

/// Bulk share and bulk team-add tell each recipient once for the whole batch ("3 customers
/// shared with you"), as a bulk transfer does; one customer still names it and links to it.
#[tokio::test]
async fn bulk_share_and_team_add_send_one_notification_per_recipient() {
    let o = org().await;
    let ids: Vec<String> = [
        customer(&o.app, "批一", o.rep1).await,
        customer(&o.app, "批二", o.rep1).await,
        customer(&o.app, "批三", o.rep1).await,
    ]
    .iter()
    .map(i64::to_string)
    .collect();
    let mut rep1 = o.app.login("rep1").await;
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
    let north_dept = o.north.to_string();
    let rep2 = o.rep2.to_string();
    let mut share = form.clone();
    share.extend([("user_ids", rep2.as_str()), ("dept_ids", north_dept.as_str())]);
    rep1.post("/customers/bulk/share", &share).await;
    assert_eq!(o.app.count("SELECT count(*) FROM record_shares").await, 6);
    for user in [o.rep2, o.north_rep] {
        assert_eq!(notifications(&o.app, user, "shared_n").await, 1);
        assert_eq!(notifications(&o.app, user, "shared").await, 0);
    }
    let mut north = o.app.login("north_rep").await;
    let inbox = north.get("/notifications").await.text_of("main");
    assert!(inbox.contains("向您共享了 3 个客户"), "{inbox}");
    let north_id = o.north_rep.to_string();
    form.extend([("user_id", north_id.as_str()), ("access", "read")]);
    rep1.post("/customers/bulk/team", &form).await;
    assert_eq!(o.app.count("SELECT count(*) FROM record_members").await, 3);
    assert_eq!(notifications(&o.app, o.north_rep, "team_added_n").await, 1);
    assert_eq!(notifications(&o.app, o.north_rep, "team_added").await, 0);
    // A single customer: named, with its link.
    rep1.post(&format!("/customers/{}/shares", ids[0]), &[("user_ids", &o.mgr.to_string())]).await;
    let link: Option<String> =
        sqlx::query_scalar("SELECT link FROM notifications WHERE user_id = $1 AND kind = 'shared'")
            .bind(o.mgr)
            .fetch_one(&o.app.db)
            .await
            .unwrap();
    assert_eq!(link, Some(format!("/customers/{}", ids[0])));
}

/// A share with a department reaches its own members, not its sub-departments' — and the page,
/// the "shared with me" scene and the notification all agree on who that is.
#[tokio::test]
async fn a_department_share_reaches_its_own_members_only_everywhere_alike() {
    let o = org().await;
    let sub = o.app.dept("华东一组", Some(o.east)).await;
    let sub_rep = o.app.user("sub_rep", sub, None, &["rep"]).await;
    let id = customer(&o.app, "部门共享", o.north_rep).await;
    let mut owner = o.app.login("north_rep").await;
    owner.post(&format!("/customers/{id}/shares"), &[("dept_ids", &o.east.to_string())]).await;
    for (login, user, reached) in [("rep2", o.rep2, true), ("sub_rep", sub_rep, false)] {
        let mut c = o.app.login(login).await;
        let page = c.get(&format!("/customers/{id}")).await;
        assert_eq!(page.status.as_u16(), if reached { 200 } else { 404 }, "{login}: page");
        let scene = c.get("/customers?scene=shared").await.text_of("#list-table");
        assert_eq!(scene.contains("部门共享"), reached, "{login}: shared scene");
        assert_eq!(notifications(&o.app, user, "shared").await, i64::from(reached), "{login}: notified");
    }
}

/// Bulk delete says which rows were skipped for being frozen, apart from those the user has no
/// right to.
#[tokio::test]
async fn bulk_delete_names_frozen_rows_as_frozen() {
    let o = org().await;
    let free = customer(&o.app, "能删的", o.rep1).await;
    let frozen = customer(&o.app, "冻住的", o.rep1).await;
    let theirs = customer(&o.app, "别人的", o.rep2).await;
    sqlx::query("UPDATE customers SET frozen = true WHERE id = $1").bind(frozen).execute(&o.app.db).await.unwrap();
    // rep2's customer is visible to rep1 through a read-only team place.
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('customer', $1, $2, 'read')")
        .bind(theirs)
        .bind(o.rep1)
        .execute(&o.app.db)
        .await
        .unwrap();
    let mut rep1 = o.app.login("rep1").await;
    let ids = [free.to_string(), frozen.to_string(), theirs.to_string()];
    rep1.post("/customers/bulk/delete", &[("ids", &ids[0]), ("ids", &ids[1]), ("ids", &ids[2])]).await;
    let flash = rep1.get("/customers").await.text_of(".flash");
    assert!(flash.contains("1 个客户已冻结"), "{flash}");
    assert!(flash.contains("1 个客户无权操作"), "{flash}");
    let deleted: Vec<String> = sqlx::query_scalar("SELECT name FROM customers WHERE deleted_at IS NOT NULL")
        .fetch_all(&o.app.db)
        .await
        .unwrap();
    assert_eq!(deleted, ["能删的"]);
}

/// Frozen means read-only for every route that changes the customer, not only the form: unlock
/// (like lock) waits for unfreezing, put-back is refused, bulk actions skip it, and follow-ups on
/// its contacts are refused.
#[tokio::test]
async fn a_frozen_customer_also_refuses_unlock_put_back_bulk_actions_and_follow_ups_on_its_contacts() {
    let o = org().await;
    let id = customer(&o.app, "冻结的", o.rep1).await;
    let contact: i64 = sqlx::query_scalar(
        "INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, '冻结联系人', $2) RETURNING id",
    )
    .bind(id)
    .bind(o.rep1)
    .fetch_one(&o.app.db)
    .await
    .unwrap();
    sqlx::query("UPDATE customers SET locked = true, frozen = true WHERE id = $1")
        .bind(id)
        .execute(&o.app.db)
        .await
        .unwrap();
    let method: i64 = sqlx::query_scalar("SELECT id FROM dict_items WHERE dict = 'followup_method' LIMIT 1")
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    let method = method.to_string();
    let pool: i64 = sqlx::query_scalar("SELECT id FROM pools WHERE is_default").fetch_one(&o.app.db).await.unwrap();
    let pool = pool.to_string();
    let mut rep1 = o.app.login("rep1").await;
    let page = rep1.get(&format!("/customers/{id}")).await;
    assert!(!page.has("#lock-toggle"), "no lock button while frozen");
    for (path, form) in [
        (format!("/customers/{id}/unlock"), vec![]),
        (format!("/customers/{id}/put-back"), vec![("pool_id", pool.as_str()), ("reason", "不要了")]),
        (format!("/contacts/{contact}/followups"), vec![("method_id", method.as_str()), ("content", "联系人跟进")]),
    ] {
        assert_eq!(rep1.post(&path, &form).await.status.as_u16(), 409, "{path} on a frozen customer");
    }
    let ids = id.to_string();
    let rep2 = o.rep2.to_string();
    for (path, extra) in [
        ("/customers/bulk/transfer", ("new_owner", rep2.as_str())),
        ("/customers/bulk/team", ("user_id", rep2.as_str())),
        ("/customers/bulk/share", ("user_ids", rep2.as_str())),
        ("/customers/bulk/delete", ("filter", "")),
    ] {
        rep1.post(path, &[("ids", ids.as_str()), extra]).await;
        rep1.post(path, &[("all", "1"), ("filter", "scene=all"), extra]).await;
    }
    let (owner, locked, deleted): (i64, bool, bool) =
        sqlx::query_as("SELECT owner_id, locked, deleted_at IS NOT NULL FROM customers WHERE id = $1")
            .bind(id)
            .fetch_one(&o.app.db)
            .await
            .unwrap();
    assert_eq!((owner, locked, deleted), (o.rep1, true, false));
    for table in ["record_members", "record_shares", "followups", "notifications"] {
        assert_eq!(o.app.count(&format!("SELECT count(*) FROM {table}")).await, 0, "{table}");
    }
}

/// Removing a team member ends their access at once; a read-only member may not remove anyone.
#[tokio::test]
async fn removing_a_team_member_ends_their_access_and_needs_write_rights() {
    let o = org().await;
    let id = customer(&o.app, "团队公司", o.rep1).await;
    let mut owner = o.app.login("rep1").await;
    for (user, access) in [(o.north_rep, "write"), (o.rep2, "read")] {
        owner.post(&format!("/customers/{id}/team"), &[("user_id", &user.to_string()), ("access", access)]).await;
    }
    let mut north = o.app.login("north_rep").await;
    let mut rep2 = o.app.login("rep2").await;
    north.get(&format!("/customers/{id}")).await.assert_status(200);
    // The read-only member cannot remove the other one.
    rep2.post(&format!("/customers/{id}/team/{}/remove", o.north_rep), &[]).await.assert_status(403);
    assert_eq!(o.app.count("SELECT count(*) FROM record_members").await, 2);
    owner
        .post(&format!("/customers/{id}/team/{}/remove", o.north_rep), &[])
        .await
        .assert_redirect(&format!("/customers/{id}?tab=team"));
    north.get(&format!("/customers/{id}")).await.assert_status(404);
    north.post(&format!("/customers/{id}"), &edit_form("改名")).await.assert_status(404);
    assert!(!owner.get(&format!("/customers/{id}?tab=team")).await.text_of("#team-members").contains("用户north_rep"));
    assert_eq!(o.app.count("SELECT count(*) FROM operation_logs WHERE action = 'team_remove'").await, 1);
}

/// Revoking a live share ends the access at once; a share id of another customer revokes nothing.
#[tokio::test]
async fn revoking_a_share_ends_access_at_once_and_only_on_its_own_customer() {
    let o = org().await;
    let id = customer(&o.app, "共享公司", o.rep1).await;
    let other = customer(&o.app, "另一个", o.rep1).await;
    let mut owner = o.app.login("rep1").await;
    owner.post(&format!("/customers/{id}/shares"), &[("user_ids", &o.north_rep.to_string())]).await;
    let mut north = o.app.login("north_rep").await;
    north.get(&format!("/customers/{id}")).await.assert_status(200);
    let share: i64 = sqlx::query_scalar("SELECT id FROM record_shares").fetch_one(&o.app.db).await.unwrap();
    owner.post(&format!("/customers/{other}/shares/{share}/revoke"), &[]).await;
    north.get(&format!("/customers/{id}")).await.assert_status(200);
    owner.post(&format!("/customers/{id}/shares/{share}/revoke"), &[]).await;
    north.get(&format!("/customers/{id}")).await.assert_status(404);
    assert!(!north.get("/customers?scene=shared").await.text_of("#list-table").contains("共享公司"));
    assert_eq!(o.app.count("SELECT count(*) FROM operation_logs WHERE action = 'unshare'").await, 1);
}

/// Keeping the old owner on the team as read-write lets them go on editing the customer.
#[tokio::test]
async fn a_transfer_keeping_the_old_owner_read_write_lets_them_edit() {
    let o = org().await;
    let id = customer(&o.app, "交接公司", o.rep1).await;
    let mut mgr = o.app.login("mgr").await;
    mgr.post(&format!("/customers/{id}/transfer"), &[("new_owner", &o.rep2.to_string()), ("keep_old", "write")])
        .await
        .assert_redirect(&format!("/customers/{id}"));
    let mut rep1 = o.app.login("rep1").await;
    rep1.get(&format!("/customers/{id}/edit")).await.assert_status(200);
    rep1.post(&format!("/customers/{id}"), &edit_form("交接公司（续）"))
        .await
        .assert_redirect(&format!("/customers/{id}"));
    let (name, owner): (String, i64) = sqlx::query_as("SELECT name, owner_id FROM customers WHERE id = $1")
        .bind(id)
        .fetch_one(&o.app.db)
        .await
        .unwrap();
    assert_eq!((name.as_str(), owner), ("交接公司（续）", o.rep2));
}
