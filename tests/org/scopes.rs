//! Data scopes: owner sets for each scope kind on a fixture organisation, union over roles,
//! immediate effect of org changes, and the SQL predicate with team members and shares.

use crm::access::scope::{DataScope, owners_for};
use crm::access::{Module, ScopeKind};

use super::common::TestApp;

struct Org {
    app: TestApp,
    ids: std::collections::HashMap<&'static str, i64>,
}

impl Org {
    fn id(&self, name: &str) -> i64 {
        self.ids[name]
    }
    fn set(&self, names: &[&str]) -> Vec<i64> {
        let mut v: Vec<i64> = names.iter().map(|n| self.id(n)).collect();
        v.sort();
        v
    }
    async fn owners(&self, who: &str, kinds: &[ScopeKind]) -> Option<Vec<i64>> {
        let u = self.id(who);
        let dept: i64 = sqlx::query_scalar("SELECT dept_id FROM users WHERE id = $1")
            .bind(u)
            .fetch_one(&self.app.db)
            .await
            .unwrap();
        owners_for(&self.app.db, u, dept, kinds).await.unwrap()
    }
}

/// 办公室 ─ 销售部 ─ {华东, 华北}; 财务部. Superiors: ceo → director → {east_mgr, north_mgr, sales_admin};
/// east_mgr → {east_rep1, east_rep2}; east_rep1 → east_intern; north_mgr → north_rep.
async fn org() -> Org {
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let sales = app.dept("销售部", Some(root)).await;
    let east = app.dept("华东", Some(sales)).await;
    let north = app.dept("华北", Some(sales)).await;
    let fin = app.dept("财务部", Some(root)).await;
    let mut ids = std::collections::HashMap::new();
    let ceo = app.user("ceo", root, None, &["director"]).await;
    let director = app.user("director", sales, Some(ceo), &["manager"]).await;
    let east_mgr = app.user("east_mgr", east, Some(director), &["manager"]).await;
    let east_rep1 = app.user("east_rep1", east, Some(east_mgr), &["rep"]).await;
    let east_rep2 = app.user("east_rep2", east, Some(east_mgr), &["rep"]).await;
    let east_intern = app.user("east_intern", east, Some(east_rep1), &["rep"]).await;
    let north_mgr = app.user("north_mgr", north, Some(director), &["manager"]).await;
    let north_rep = app.user("north_rep", north, Some(north_mgr), &["rep"]).await;
    let sales_admin = app.user("sales_admin", sales, Some(director), &["rep", "readonly"]).await;
    let fin_user = app.user("fin", fin, None, &["readonly"]).await;
    for (k, v) in [
        ("ceo", ceo),
        ("director", director),
        ("east_mgr", east_mgr),
        ("east_rep1", east_rep1),
        ("east_rep2", east_rep2),
        ("east_intern", east_intern),
        ("north_mgr", north_mgr),
        ("north_rep", north_rep),
        ("sales_admin", sales_admin),
        ("fin", fin_user),
        ("dept_sales", sales),
        ("dept_east", east),
        ("dept_north", north),
        ("dept_fin", fin),
    ] {
        ids.insert(k, v);
    }
    Org { app, ids }
}

#[tokio::test]
async fn each_scope_kind_yields_exactly_the_right_owners() {
    let o = org().await;
    use ScopeKind::*;
    assert_eq!(o.owners("east_rep1", &[SelfOnly]).await, Some(o.set(&["east_rep1"])));
    assert_eq!(o.owners("east_rep1", &[SelfAndSubordinates]).await, Some(o.set(&["east_rep1", "east_intern"])));
    assert_eq!(
        o.owners("director", &[SelfAndSubordinates]).await,
        Some(o.set(&[
            "director",
            "east_mgr",
            "east_rep1",
            "east_rep2",
            "east_intern",
            "north_mgr",
            "north_rep",
            "sales_admin"
        ]))
    );
    assert_eq!(
        o.owners("east_rep2", &[Dept]).await,
        Some(o.set(&["east_mgr", "east_rep1", "east_rep2", "east_intern"]))
    );
    assert_eq!(
        o.owners("sales_admin", &[DeptAndSub]).await,
        Some(o.set(&[
            "director",
            "east_mgr",
            "east_rep1",
            "east_rep2",
            "east_intern",
            "north_mgr",
            "north_rep",
            "sales_admin"
        ]))
    );
    assert_eq!(o.owners("north_rep", &[DeptAndSub]).await, Some(o.set(&["north_mgr", "north_rep"])));
    assert_eq!(o.owners("fin", &[All]).await, None);
    // A union is the widest of both: department plus own subordinates elsewhere.
    sqlx::query("UPDATE users SET superior_id = $1 WHERE id = $2")
        .bind(o.id("east_rep2"))
        .bind(o.id("north_rep"))
        .execute(&o.app.db)
        .await
        .unwrap();
    assert_eq!(
        o.owners("east_rep2", &[Dept, SelfAndSubordinates]).await,
        Some(o.set(&["east_mgr", "east_rep1", "east_rep2", "east_intern", "north_rep"]))
    );
}

#[tokio::test]
async fn roles_combine_to_the_widest_scope_and_org_changes_apply_at_once() {
    let o = org().await;
    let resolve = |login: &'static str| {
        let db = o.app.db.clone();
        let id = o.id(login);
        async move {
            let (user, _) = crm::auth::fetch_user(&db, id).await.unwrap().unwrap();
            DataScope::resolve(&db, &user, Module::Dashboard).await.unwrap().owners
        }
    };
    // sales_admin holds 销售代表 (self) and 只读 (self + subordinates): no subordinates yet.
    assert_eq!(resolve("sales_admin").await, Some(o.set(&["sales_admin"])));
    // Give them a report: the next resolution includes the report's records.
    sqlx::query("UPDATE users SET superior_id = $1 WHERE id = $2")
        .bind(o.id("sales_admin"))
        .bind(o.id("north_rep"))
        .execute(&o.app.db)
        .await
        .unwrap();
    assert_eq!(resolve("sales_admin").await, Some(o.set(&["sales_admin", "north_rep"])));
    // 销售经理 (department and below): moving a rep out of the department takes them out of scope.
    assert_eq!(resolve("east_mgr").await, Some(o.set(&["east_mgr", "east_rep1", "east_rep2", "east_intern"])));
    sqlx::query("UPDATE users SET dept_id = $1 WHERE id = $2")
        .bind(o.id("dept_north"))
        .bind(o.id("east_rep2"))
        .execute(&o.app.db)
        .await
        .unwrap();
    assert_eq!(resolve("east_mgr").await, Some(o.set(&["east_mgr", "east_rep1", "east_intern"])));
    // Changing the role's scope applies too.
    sqlx::query("UPDATE role_scopes SET scope = 'all' WHERE role_id = (SELECT id FROM roles WHERE code = 'manager') AND module = 'dashboard'")
        .execute(&o.app.db)
        .await
        .unwrap();
    assert_eq!(resolve("east_mgr").await, None);
    // The super admin role sees everything whatever its scope rows say.
    let root = o.app.root_dept().await;
    let boss = o.app.user("boss", root, None, &["super"]).await;
    let (user, _) = crm::auth::fetch_user(&o.app.db, boss).await.unwrap().unwrap();
    assert!(DataScope::resolve(&o.app.db, &user, Module::Dashboard).await.unwrap().is_all());
}

/// The one predicate: owner in scope, or an unexpired team member, or shared (unexpired) with
/// the user or their department. Checked against a probe table shaped like a module's.
#[tokio::test]
async fn the_visibility_predicate_honours_team_shares_and_expiry() {
    let o = org().await;
    let db = &o.app.db;
    sqlx::query("CREATE TABLE probe (id bigint PRIMARY KEY, owner_id bigint)").execute(db).await.unwrap();
    // Records 1..=6 owned by various people.
    for (id, owner) in
        [(1, "east_rep1"), (2, "east_rep2"), (3, "north_rep"), (4, "north_rep"), (5, "north_rep"), (6, "fin")]
    {
        sqlx::query("INSERT INTO probe VALUES ($1, $2)").bind(id as i64).bind(o.id(owner)).execute(db).await.unwrap();
    }
    let me = o.id("east_rep1");
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('probe', 3, $1, 'read')")
        .bind(me)
        .execute(db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access, expires_at) VALUES ('probe', 4, $1, 'write', now() - interval '1 minute')").bind(me).execute(db).await.unwrap();
    sqlx::query("INSERT INTO record_shares (entity, record_id, dept_id) VALUES ('probe', 5, $1)")
        .bind(o.id("dept_east"))
        .execute(db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO record_shares (entity, record_id, user_id, expires_at) VALUES ('probe', 6, $1, now() - interval '1 day')").bind(me).execute(db).await.unwrap();
    // Another entity's team row must not leak into this one.
    sqlx::query("INSERT INTO record_members (entity, record_id, user_id, access) VALUES ('other', 2, $1, 'read')")
        .bind(me)
        .execute(db)
        .await
        .unwrap();

    let scope = DataScope { user_id: me, dept_id: o.id("dept_east"), owners: Some(vec![me]), extras: None };
    let mut qb = sqlx::QueryBuilder::new("SELECT p.id FROM probe p WHERE ");
    scope.push_visible(&mut qb, "p", "probe");
    qb.push(" ORDER BY p.id");
    let visible: Vec<i64> = qb.build_query_scalar().fetch_all(db).await.unwrap();
    assert_eq!(visible, vec![1, 3, 5], "own record, live team place, department share");

    // Writes: owner in scope or a live read-write member only.
    let writable = || async {
        let mut qb = sqlx::QueryBuilder::new("SELECT p.id FROM probe p WHERE ");
        scope.push_writable(&mut qb, "p", "probe", None);
        qb.push(" ORDER BY p.id");
        qb.build_query_scalar::<i64>().fetch_all(db).await.unwrap()
    };
    assert_eq!(writable().await, vec![1], "own record; not the read-only (3) or expired (4) member's");
    sqlx::query("UPDATE record_members SET expires_at = now() + interval '1 day' WHERE record_id = 4")
        .execute(db)
        .await
        .unwrap();
    assert_eq!(writable().await, vec![1, 4], "a live read-write member");

    let all = DataScope { user_id: me, dept_id: o.id("dept_east"), owners: None, extras: None };
    let mut qb = sqlx::QueryBuilder::new("SELECT count(*) FROM probe p WHERE ");
    all.push_visible(&mut qb, "p", "probe");
    let n: i64 = qb.build_query_scalar().fetch_one(db).await.unwrap();
    assert_eq!(n, 6);
}
