//! `crm backup` / `crm restore`: the demo company (with attachments) backed up from a
//! DATABASE_URL database and restored into a new, empty embedded cluster, table by table equal;
//! a non-empty database refused unless `--force`.

use sqlx::PgPool;

use crate::common::TestApp;
use crate::common::process::{Cluster, Server, crm, crm_ok};

/// Every table and sequence of the application's schemas (not the system's).
async fn relations(db: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
            AND c.relkind IN ('r', 'S')
          ORDER BY 1",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

/// Per table: its row count and a digest of all its rows; per sequence: its position.
async fn fingerprint(db: &PgPool) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    for (rel, kind) in relations(db).await {
        let row: (i64, String) = if kind == "S" {
            sqlx::query_as(&format!("SELECT last_value, is_called::text FROM {rel}")).fetch_one(db).await.unwrap()
        } else {
            sqlx::query_as(&format!(
                "SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM {rel} t"
            ))
            .fetch_one(db)
            .await
            .unwrap()
        };
        out.push((rel, row.0, row.1));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_the_demo_company_restores_into_an_empty_cluster_and_only_there() {
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    // Attachments are rows: a binary file with every byte value, a large one, a Chinese name.
    let big: Vec<u8> = (0..600_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let customer: i64 = app.count("SELECT min(id) FROM customers").await;
    let uploader: i64 = app.count("SELECT id FROM users WHERE login = 'admin'").await;
    for (name, data) in [("合同扫描件.pdf", &big), ("bytes.bin", &all_bytes), ("空白.txt", &b"x".to_vec())] {
        sqlx::query(
            "INSERT INTO attachments (entity, record_id, name, size, sha256, data, uploaded_by)
             VALUES ('customer', $1, $2, length($3), encode(sha256($3), 'hex'), $3, $4)",
        )
        .bind(customer)
        .bind(name)
        .bind(data)
        .bind(uploader)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let before = fingerprint(&app.db).await;
    assert!(before.iter().any(|(t, n, _)| t == "public.customers" && *n > 10), "the demo company is there");

    let cluster = Cluster::new("restore");
    let file = cluster.dir.join("demo.backup");
    let file = file.to_str().unwrap();
    let out = crm_ok(&["backup", file], &[("DATABASE_URL", &app.db_url)]);
    assert!(out.contains("backup written"), "{out}");
    assert!(std::fs::metadata(file).unwrap().len() > 10_000);

    // Into a new embedded cluster (created empty by the restore itself).
    let env = cluster.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let out = crm_ok(&["restore", file], &env);
    assert!(out.contains("restored"), "{out}");
    let url = cluster.start();
    let restored = PgPool::connect(&url).await.unwrap();
    let after = fingerprint(&restored).await;
    assert_eq!(before.len(), after.len(), "the same tables and sequences");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b, a, "table or sequence {} differs after the restore", b.0);
    }
    let files = |db: PgPool| async move {
        sqlx::query_as::<_, (i64, String, Vec<u8>)>("SELECT id, name, data FROM attachments ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap()
    };
    let (original, copy) = (files(app.db.clone()).await, files(restored.clone()).await);
    assert_eq!(copy.len(), 3);
    assert!(original == copy, "attachments are byte for byte the same");
    restored.close().await;

    // The restored company serves: the demo admin logs in and downloads the big file.
    {
        let server = Server::start(&env).await;
        let mut http = server.http();
        http.login("admin", "admin123").await;
        let list = http.get("/customers").await.unwrap();
        assert_eq!(list.status, 200);
        let big_id = original.iter().find(|f| f.1 == "合同扫描件.pdf").unwrap().0;
        let r = http.get(&format!("/customers/{customer}/attachments/{big_id}")).await.unwrap();
        assert_eq!(r.status, 200);
        assert!(r.bytes == big, "the downloaded file is the one backed up");
    }

    // A database that holds anything is not overwritten unless told.
    let out = crm(&["restore", file], &env);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not empty") && err.contains("--force"), "{err}");
    let restored = PgPool::connect(&cluster.start()).await.unwrap();
    sqlx::query("DELETE FROM stars").execute(&restored).await.unwrap();
    sqlx::query("UPDATE customers SET name = name || '（改）' WHERE id = $1")
        .bind(customer)
        .execute(&restored)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE stray (x int)").execute(&restored).await.unwrap();
    restored.close().await;
    let out = crm_ok(&["restore", "--force", file], &env);
    assert!(out.contains("restored"), "{out}");
    let restored = PgPool::connect(&cluster.start()).await.unwrap();
    assert_eq!(fingerprint(&restored).await, before, "--force replaces everything with the backup");
    restored.close().await;

    // A file that is not a backup: a clear error, the database untouched.
    let junk = cluster.dir.join("junk.backup");
    std::fs::write(&junk, b"not a dump").unwrap();
    let out = crm(&["restore", "--force", junk.to_str().unwrap()], &env);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pg_restore"));
    let restored = PgPool::connect(&cluster.start()).await.unwrap();
    assert_eq!(fingerprint(&restored).await, before, "a failed restore changes nothing");
    restored.close().await;
}
