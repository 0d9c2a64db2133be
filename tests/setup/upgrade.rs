//! Upgrades: the demo company as the last landed version seeded it (a data-only dump made with
//! that version's own `crm seed`: tests/fixtures/upgrade/, by scripts/upgrade-fixture), loaded
//! at that version's schema, then every newer migration and the re-keying applied by
//! `db::migrate` — so a migration that only works on an empty database fails here. When a set
//! of migrations lands, regenerate the fixture from it and move `FROM` on.

use sqlx::{Connection, PgConnection};

use crate::common::TestApp;

/// The last migration of the version the fixture was made with.
const FROM: i64 = 35;
const DUMP: &str = include_str!("../fixtures/upgrade/demo-0035.sql");

/// Tables whose rows an upgrade must keep, one and all.
const KEPT: &[&str] = &[
    "users",
    "departments",
    "customers",
    "contacts",
    "leads",
    "followups",
    "opportunities",
    "contracts",
    "payments",
    "products",
    "tasks",
    "attachments",
    "approval_instances",
    "operation_logs",
];

async fn counts(db: &sqlx::PgPool) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in KEPT {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}")).fetch_one(db).await.unwrap();
        out.push((t.to_string(), n));
    }
    out
}

#[tokio::test]
async fn the_demo_company_of_the_last_version_upgrades_to_this_one() {
    let app = TestApp::new().await;
    let name = format!("crm_upgrade_{}_{}", std::process::id(), chrono::Utc::now().timestamp_micros());
    let mut admin = PgConnection::connect(&app.db_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let url = format!("{}/{name}", app.db_url.rsplit_once('/').unwrap().0);
    let db = crm::db::connect(&url, 4).await.unwrap();
    let old = sqlx::migrate::Migrator {
        migrations: crm::db::MIGRATOR.migrations.iter().filter(|m| m.version <= FROM).cloned().collect(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    old.run(&db).await.unwrap();
    // The dump holds every row, those the migrations insert (dictionaries, roles) included:
    // it goes into empty tables. It sets its own session settings (an empty search_path among
    // them): a connection of its own, closed afterwards.
    sqlx::raw_sql(
        "DO $$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I', tablename), ', ') || ' CASCADE'
                                FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations'); END $$",
    )
    .execute(&db)
    .await
    .unwrap();
    let mut load = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(DUMP).execute(&mut load).await.unwrap();
    load.close().await.unwrap();
    let before = counts(&db).await;
    assert!(before.iter().find(|(t, _)| t == "customers").unwrap().1 > 0, "the fixture holds the demo company");

    crm::db::migrate(&db).await.expect("every newer migration applies to a populated database");
    assert_eq!(counts(&db).await, before, "no rows lost or added by the upgrade");

    // The upgraded company works: a demo rep signs in and opens their customers and one of them.
    let router = crm::router(crm::AppState::new(db.clone(), app.config.clone()));
    let upgraded = TestApp { db: db.clone(), router, config: app.config.clone(), db_url: url.clone() };
    let mut c = upgraded.client();
    let r = c.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;
    r.assert_redirect("/");
    let list = c.get("/customers?scene=mine").await;
    list.assert_status(200);
    let first = list.attr("#list-table tbody tr[data-id]", "data-id").expect("the rep's customers are listed");
    c.get(&format!("/customers/{first}")).await.assert_status(200);

    db.close().await;
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await.unwrap();
}
