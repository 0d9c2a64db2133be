//! Every registered record kind, walked from the registry: a rep sees and may change their own
//! record through every shared route, and a record outside their scope looks like one that does
//! not exist — 404 on its page and on every action — while the recycle bin's restore and purge
//! leave it alone. A new record kind fails here until it has a fixture below.

use super::common::{Client, TestApp};

/// A live record of `entity` owned by `owner`, inserted directly; None for a kind nobody wrote
/// a fixture for yet.
pub(super) async fn fixture(app: &TestApp, entity: &str, owner: i64) -> Option<i64> {
    let name = format!("{entity} of {owner}");
    Some(match entity {
        "customer" => super::customer(app, &name, Some(owner)).await,
        "contact" => {
            let customer = super::customer(app, &format!("customer of {name}"), Some(owner)).await;
            sqlx::query_scalar("INSERT INTO contacts (customer_id, name, owner_id) VALUES ($1, $2, $3) RETURNING id")
                .bind(customer)
                .bind(&name)
                .bind(owner)
                .fetch_one(&app.db)
                .await
                .unwrap()
        }
        "lead" => sqlx::query_scalar("INSERT INTO leads (name, owner_id) VALUES ($1, $2) RETURNING id")
            .bind(&name)
            .bind(owner)
            .fetch_one(&app.db)
            .await
            .unwrap(),
        "task" => {
            sqlx::query_scalar("INSERT INTO tasks (title, owner_id, created_by) VALUES ($1, $2, $2) RETURNING id")
                .bind(&name)
                .bind(owner)
                .fetch_one(&app.db)
                .await
                .unwrap()
        }
        // The catalogue has no owners (`owner` only makes the code unique).
        "product" => sqlx::query_scalar("INSERT INTO products (code, name, price) VALUES ($1, $2, 100) RETURNING id")
            .bind(format!("P-{owner}-{}", rand_suffix()))
            .bind(&name)
            .fetch_one(&app.db)
            .await
            .unwrap(),
        "opportunity" => {
            let customer = super::customer(app, &format!("customer of {name}"), Some(owner)).await;
            app.opportunity(customer, &name, owner).await
        }
        "contract" => {
            let customer = super::customer(app, &format!("customer of {name}"), Some(owner)).await;
            app.contract(customer, &name, owner, "draft").await
        }
        // A rejected payment (only those may be deleted) on an approved contract.
        "payment" => {
            let customer = super::customer(app, &format!("customer of {name}"), Some(owner)).await;
            let contract = app.contract(customer, &name, owner, "approved").await;
            sqlx::query_scalar(
                "INSERT INTO payments (number, contract_id, customer_id, amount, paid_on, status, owner_id, created_by)
                 VALUES ('HK-' || md5(random()::text), $1, $2, 100, current_date, 'rejected', $3, $3) RETURNING id",
            )
            .bind(contract)
            .bind(customer)
            .bind(owner)
            .fetch_one(&app.db)
            .await
            .unwrap()
        }
        // A daily log (a day of its own: one log per author and period).
        "worklog" => sqlx::query_scalar(
            "INSERT INTO worklogs (kind, period_start, period_end, done, owner_id, created_by)
             SELECT 'daily', d, d, $1, $2, $2 FROM (SELECT current_date - $3::int AS d) x RETURNING id",
        )
        .bind(&name)
        .bind(owner)
        .bind(rand_suffix() as i32)
        .fetch_one(&app.db)
        .await
        .unwrap(),
        "event" => sqlx::query_scalar(
            "INSERT INTO events (title, starts_at, ends_at, owner_id, created_by)
             VALUES ($1, now(), now() + interval '1 hour', $2, $2) RETURNING id",
        )
        .bind(&name)
        .bind(owner)
        .fetch_one(&app.db)
        .await
        .unwrap(),
        _ => return None,
    })
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

struct World {
    app: TestApp,
    /// A rep in another department: sees only their own records.
    rep: i64,
    other: i64,
}

async fn world() -> World {
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let east = app.dept("华东", Some(root)).await;
    let north = app.dept("华北", Some(root)).await;
    let rep = app.user("rep", east, None, &["rep"]).await;
    let other = app.user("other", north, None, &["rep"]).await;
    World { app, rep, other }
}

async fn live(app: &TestApp, table: &str, id: i64) -> bool {
    app.count(&format!("SELECT count(*) FROM {table} WHERE id = {id} AND deleted_at IS NULL")).await == 1
}

/// Every shared route a record kind has, as (method, path) for record `id`.
fn routes(def: &crm::records::RecordDef, id: i64) -> Vec<(&'static str, String)> {
    let url = def.url(id);
    let mut out = vec![("GET", url.clone()), ("POST", format!("{url}/star")), ("POST", format!("{url}/delete"))];
    let f = def.features;
    if f.timeline {
        out.push(("POST", format!("{url}/followups")));
    }
    if f.transfer {
        out.push(("GET", format!("{url}/transfer")));
        out.push(("POST", format!("{url}/transfer")));
    }
    if f.team {
        out.push(("POST", format!("{url}/team")));
    }
    if f.share {
        out.push(("POST", format!("{url}/shares")));
    }
    if f.attachments {
        out.push(("GET", format!("{url}/attachments/1")));
    }
    out
}

async fn call(c: &mut Client, method: &str, path: &str, new_owner: i64) -> u16 {
    let owner = new_owner.to_string();
    match method {
        "GET" => c.get(path).await.status.as_u16(),
        _ => c.post(path, &[("new_owner", &owner), ("content", "x"), ("user_id", &owner)]).await.status.as_u16(),
    }
}

#[tokio::test]
async fn every_record_kind_hides_what_is_out_of_scope_on_every_shared_route() {
    let w = world().await;
    let registry = crm::app::install();
    let mut rep = w.app.login("rep").await;
    let mut checked = 0;
    for def in registry.records() {
        if !def.owned {
            company_wide(&w, def).await;
            checked += 1;
            continue;
        }
        let theirs = fixture(&w.app, def.entity, w.other).await;
        let theirs = theirs.unwrap_or_else(|| panic!("add a fixture for the record kind {:?} here", def.entity));
        let mine = fixture(&w.app, def.entity, w.rep).await.unwrap();

        // Their record: as if it did not exist, on every route; nothing changes.
        for (method, path) in routes(def, theirs) {
            assert_eq!(call(&mut rep, method, &path, w.rep).await, 404, "{} {method} {path}", def.entity);
        }
        assert!(live(&w.app, def.table, theirs).await, "{}: still live", def.entity);
        let owner: i64 = sqlx::query_scalar(&format!("SELECT owner_id FROM {} WHERE id = $1", def.table))
            .bind(theirs)
            .fetch_one(&w.app.db)
            .await
            .unwrap();
        assert_eq!(owner, w.other, "{}: not transferred", def.entity);

        // Their record in the recycle bin: not listed, not restored, not purged.
        sqlx::query(&format!("UPDATE {} SET deleted_at = now() WHERE id = $1", def.table))
            .bind(theirs)
            .execute(&w.app.db)
            .await
            .unwrap();
        let bin = rep.get(&format!("{}/recycle", def.path)).await;
        assert!(!bin.has(&format!("#recycle-table tr[data-id=\"{theirs}\"]")), "{}: listed in the bin", def.entity);
        let id = theirs.to_string();
        rep.post(&format!("{}/recycle/restore", def.path), &[("ids", &id)]).await;
        assert!(!live(&w.app, def.table, theirs).await, "{}: restored by an outsider", def.entity);
        rep.post(&format!("{}/recycle/purge", def.path), &[("ids", &id)]).await;
        let left = w.app.count(&format!("SELECT count(*) FROM {} WHERE id = {theirs}", def.table)).await;
        assert_eq!(left, 1, "{}: purged by an outsider", def.entity);

        // Their own record: the page opens, and it goes to the bin and comes back.
        rep.get(&def.url(mine)).await.assert_status(200);
        rep.post(&format!("{}/delete", def.url(mine)), &[]).await.assert_redirect(def.path);
        assert!(!live(&w.app, def.table, mine).await, "{}: the owner deletes it", def.entity);
        let bin = rep.get(&format!("{}/recycle", def.path)).await;
        assert!(bin.has(&format!("#recycle-table tr[data-id=\"{mine}\"]")), "{}: in the owner's bin", def.entity);
        rep.post(&format!("{}/recycle/restore", def.path), &[("ids", &mine.to_string())]).await;
        assert!(live(&w.app, def.table, mine).await, "{}: the owner restores it", def.entity);
        checked += 1;
    }
    assert!(checked >= 5, "customers, contacts, leads, products and opportunities at least");
}

/// A kind without owners (the product catalogue): the module's permissions alone decide. A user
/// without them gets 403 on every route; a rep who may only view opens the page but cannot
/// delete; whoever may delete sends it to the bin and brings it back.
async fn company_wide(w: &World, def: &crm::records::RecordDef) {
    let app = &w.app;
    let id = fixture(app, def.entity, w.rep).await.unwrap_or_else(|| panic!("add a fixture for {:?} here", def.entity));
    let root = app.root_dept().await;
    app.user("nobody", root, None, &[]).await;
    app.user("boss", root, None, &["director"]).await;
    let mut nobody = app.login("nobody").await;
    for (method, path) in routes(def, id) {
        assert_eq!(call(&mut nobody, method, &path, w.rep).await, 403, "{} {method} {path}", def.entity);
    }
    let mut rep = app.login("rep").await;
    rep.get(&def.url(id)).await.assert_status(200);
    assert_eq!(
        rep.post(&format!("{}/delete", def.url(id)), &[]).await.status.as_u16(),
        403,
        "{}: a viewer deletes",
        def.entity
    );
    assert!(live(app, def.table, id).await, "{}: still live", def.entity);
    let mut boss = app.login("boss").await;
    boss.post(&format!("{}/delete", def.url(id)), &[]).await.assert_redirect(def.path);
    assert!(!live(app, def.table, id).await, "{}: deleted", def.entity);
    boss.post(&format!("{}/recycle/restore", def.path), &[("ids", &id.to_string())]).await;
    assert!(live(app, def.table, id).await, "{}: restored", def.entity);
}

async fn owner(app: &TestApp, table: &str, id: i64) -> i64 {
    sqlx::query_scalar(&format!("SELECT owner_id FROM {table} WHERE id = $1"))
        .bind(id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Every kind that can be transferred, walked from the registry: a read-write team place (on the
/// record, or on its parent for a child that follows it) lets the rep edit someone else's record
/// but never give it away — not from its page, not ticked in a bulk transfer, not among "all
/// matching" — while their own records of the kind still go.
#[tokio::test]
async fn a_read_write_team_member_cannot_transfer_what_they_do_not_own() {
    let w = world().await;
    let app = &w.app;
    let registry = crm::app::install();
    let mut rep = app.login("rep").await;
    let (me, them) = (w.rep.to_string(), w.other.to_string());
    let mut checked = Vec::new();
    for def in registry.records().filter(|d| d.owned && d.features.transfer) {
        let theirs = fixture(app, def.entity, w.other).await.unwrap();
        // The team place that lets the rep write: on the record, or on its parent.
        let place = if def.features.team {
            Some((def.entity, theirs))
        } else {
            match def.parent.as_ref().filter(|p| p.follows_scope) {
                Some(p) if registry.records().any(|r| r.entity == p.entity && r.features.team) => {
                    let parent: i64 =
                        sqlx::query_scalar(&format!("SELECT {} FROM {} WHERE id = $1", p.column, def.table))
                            .bind(theirs)
                            .fetch_one(&app.db)
                            .await
                            .unwrap();
                    Some((p.entity, parent))
                }
                _ => None,
            }
        };
        let Some((entity, record)) = place else { continue };
        sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ($1, $2, $3, 'write')")
            .bind(entity)
            .bind(record)
            .bind(w.rep)
            .execute(&app.db)
            .await
            .unwrap();
        let mine = fixture(app, def.entity, w.rep).await.unwrap();
        let url = def.url(theirs);
        // They see it and may edit it, but are offered no transfer.
        let page = rep.get(&url).await;
        page.assert_status(200);
        assert!(!page.body.contains(&format!("{url}/transfer")), "{}: transfer offered", def.entity);
        assert_eq!(rep.get(&format!("{url}/transfer")).await.status.as_u16(), 403, "{}: transfer page", def.entity);
        let r = rep.post(&format!("{url}/transfer"), &[("new_owner", &me)]).await;
        assert_eq!(r.status.as_u16(), 403, "{}: transfer", def.entity);
        let bulk = format!("{}/bulk/transfer", def.path);
        rep.post(&bulk, &[("ids", &theirs.to_string()), ("new_owner", &me)]).await;
        assert_eq!(owner(app, def.table, theirs).await, w.other, "{}: ticked in a bulk transfer", def.entity);
        // "All matching": their record stays, the rep's own goes.
        rep.post(&bulk, &[("all", "1"), ("filter", ""), ("new_owner", &them)]).await;
        assert_eq!(owner(app, def.table, theirs).await, w.other, "{}: among all matching", def.entity);
        assert_eq!(owner(app, def.table, mine).await, w.other, "{}: the rep's own record goes", def.entity);
        checked.push(def.entity);
    }
    for kind in ["customer", "contact", "opportunity", "contract"] {
        assert!(checked.contains(&kind), "{kind} checked: {checked:?}");
    }
}
