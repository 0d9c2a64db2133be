//! Real `crm serve` processes on one database: killed with SIGKILL in the middle of bulk writes
//! (nothing half-done afterwards), and two instances side by side (a session from one is valid on
//! the other; a pool claim raced across them has one winner). That the periodic jobs run once
//! with several instances is covered by `pipeline::pool::two_app_instances_running_the_job_at_once_recycle_each_customer_once`
//! and `work::notifications::concurrent_runners_deliver_each_reminder_exactly_once`.

use std::time::Duration;

use crate::common::process::{Http, Server, poll};
use crate::common::{PASSWORD, TestApp};

async fn serve(app: &TestApp) -> Server {
    Server::start(&[("DATABASE_URL", &app.db_url)]).await
}

async fn logged_in(server: &Server, login: &str) -> Http {
    let mut http = server.http();
    http.login(login, PASSWORD).await;
    http
}

async fn ids(app: &TestApp, sql: &str) -> Vec<i64> {
    sqlx::query_scalar(sql).fetch_all(&app.db).await.unwrap()
}

/// Fire `path` with `form` from a task and SIGKILL the server as soon as `started` (a SQL count)
/// reaches `at`. Returns the count when it was killed.
async fn kill_during(
    app: &TestApp,
    server: Server,
    http: &Http,
    path: &str,
    form: Vec<(String, String)>,
    started: &str,
    at: i64,
) -> i64 {
    let mut http = http.clone();
    let path = path.to_string();
    let request = tokio::spawn(async move {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let _ = http.post(&path, &form).await;
    });
    let begun = std::time::Instant::now();
    let seen = loop {
        let n: i64 = sqlx::query_scalar(started).fetch_one(&app.db).await.unwrap();
        if n >= at {
            break n;
        }
        assert!(begun.elapsed() < Duration::from_secs(120), "the bulk action never got going: {n}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    server.kill9();
    // The request ends with the connection; its transactions are rolled back by the server.
    let _ = tokio::time::timeout(Duration::from_secs(60), request).await;
    seen
}

/// SIGKILL during a bulk transfer (one transaction for the whole selection: all or none), then
/// during a bulk lead conversion (one transaction per lead: each all or none, and the page says
/// so): after a restart no record is half-moved or half-converted, and the rest can be done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_bulk_writes_leaves_no_record_half_done() {
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    app.admin().await;
    let rep1 = app.user("rep1", root, None, &["rep"]).await;
    let rep2 = app.user("rep2", root, None, &["rep"]).await;
    const N: i64 = 1500;
    sqlx::query(
        "WITH c AS (
           INSERT INTO customers (code, name, name_norm, status_id, owner_id)
           SELECT 'K-' || i, '转移客户' || i, '转移客户' || i,
                  (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $1
             FROM generate_series(1, $2) i RETURNING id, owner_id)
         INSERT INTO contacts (customer_id, name, owner_id, is_primary) SELECT id, '联系人', owner_id, true FROM c",
    )
    .bind(rep1)
    .bind(N)
    .execute(&app.db)
    .await
    .unwrap();
    let customers = ids(&app, "SELECT id FROM customers WHERE name LIKE '转移客户%'").await;

    // Bulk transfer, killed once the server is writing it.
    let server = serve(&app).await;
    let admin = logged_in(&server, "admin").await;
    let mut form = vec![("new_owner".to_string(), rep2.to_string()), ("move_contacts".into(), "1".into())];
    form.extend(customers.iter().map(|id| ("ids".to_string(), id.to_string())));
    let writing = "SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND state <> 'idle' AND query LIKE 'UPDATE contacts SET owner_id%'";
    kill_during(&app, server, &admin, "/customers/bulk/transfer", form, writing, 1).await;
    // The killed server's transaction is gone once its connections are.
    poll(Duration::from_secs(60), || async {
        app.count(
            "SELECT count(*) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
        )
        .await
            == 0
    })
    .await;
    let moved =
        app.count(&format!("SELECT count(*) FROM customers WHERE name LIKE '转移客户%' AND owner_id = {rep2}")).await;
    let consistent = app
        .count(&format!(
            "SELECT count(*) FROM customers c
              WHERE c.name LIKE '转移客户%'
                AND (c.owner_id = {rep2}) = EXISTS (SELECT 1 FROM contacts k WHERE k.customer_id = c.id AND k.owner_id = {rep2})
                AND (c.owner_id = {rep2}) = EXISTS (SELECT 1 FROM operation_logs l
                                                      WHERE l.entity = 'customer' AND l.entity_id = c.id AND l.action LIKE '%transfer')"
        ))
        .await;
    assert_eq!(consistent, N, "every customer moved with its contact and its history row, or not at all");
    assert!(moved == 0 || moved == N, "a bulk transfer is one transaction: {moved} of {N} moved");
    eprintln!("bulk transfer killed: {moved} of {N} moved");

    // Bulk lead conversion, killed part-way.
    const L: i64 = 400;
    sqlx::query(
        "INSERT INTO leads (name, name_norm, contact_name, mobile, owner_id)
         SELECT '线索公司' || i, '线索公司' || i, '联系人' || i, '139' || lpad(i::text, 8, '0'), $1 FROM generate_series(1, $2) i",
    )
    .bind(rep1)
    .bind(L)
    .execute(&app.db)
    .await
    .unwrap();
    let leads = ids(&app, "SELECT id FROM leads WHERE name LIKE '线索公司%' ORDER BY id").await;
    let server = serve(&app).await;
    let admin = logged_in(&server, "admin").await;
    let form: Vec<(String, String)> = leads.iter().map(|id| ("ids".to_string(), id.to_string())).collect();
    let converted = "SELECT count(*) FROM leads WHERE converted_at IS NOT NULL";
    kill_during(&app, server, &admin, "/leads/bulk/convert", form.clone(), converted, 10).await;
    let lead_state = || async {
        app.count(
            "SELECT count(*) FROM leads l
              WHERE l.name LIKE '线索公司%'
                AND (l.converted_at IS NOT NULL) = (l.customer_id IS NOT NULL)
                AND (SELECT count(*) FROM customers c WHERE c.lead_id = l.id) = (l.customer_id IS NOT NULL)::int
                AND (SELECT count(*) FROM contacts k JOIN customers c ON c.id = k.customer_id WHERE c.lead_id = l.id)
                    = (l.customer_id IS NOT NULL)::int
                AND (SELECT count(*) FROM operation_logs o WHERE o.entity = 'lead' AND o.entity_id = l.id AND o.action = 'convert')
                    = (l.customer_id IS NOT NULL)::int
                AND (SELECT count(*) FROM operation_logs o JOIN customers c ON c.id = o.entity_id
                      WHERE o.entity = 'customer' AND o.action = 'convert_from_lead' AND c.lead_id = l.id)
                    = (l.customer_id IS NOT NULL)::int",
        )
        .await
    };
    assert_eq!(lead_state().await, L, "each lead converted whole (customer, contact, both histories) or not at all");
    let done = app.count(converted).await;
    assert!(done >= 10 && done < L, "killed part-way: {done} of {L} converted");
    eprintln!("bulk conversion killed: {done} of {L} converted");

    // After a restart the rest converts; the page says each lead is converted on its own.
    let server = serve(&app).await;
    let mut admin = logged_in(&server, "admin").await;
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = admin.post("/leads/bulk/convert", &form).await.unwrap();
    assert_eq!(r.status, 303);
    let page = admin.get("/leads").await.unwrap();
    assert!(page.body.contains("逐条转化"), "the flash says the conversion is per lead");
    assert_eq!(app.count(converted).await, L);
    assert_eq!(lead_state().await, L);
    assert_eq!(app.count("SELECT count(*) FROM customers WHERE lead_id IS NOT NULL").await, L);
}

/// Two instances on one database: a session made on A is valid on B (and a write through B with
/// A's token is accepted), logging out on B ends it on A; pool claims raced across the instances
/// have exactly one winner each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_and_a_claim_race_has_one_winner() {
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    app.admin().await;
    let rep1 = app.user("rep1", root, None, &["rep"]).await;
    let rep2 = app.user("rep2", root, None, &["rep"]).await;
    let (a, b) = tokio::join!(serve(&app), serve(&app));

    // Log in on A, use the cookie on B.
    let mut on_a = logged_in(&a, "rep1").await;
    let mut on_b = on_a.with_base(&b.base);
    let r = on_b.get("/customers").await.unwrap();
    assert_eq!(r.status, 200, "A's session is valid on B");
    let r = on_b.post("/customers", &[("name", "两实例客户"), ("kind", "enterprise")]).await.unwrap();
    assert_eq!(r.status, 303, "a write on B with the session and token from A");
    assert!(on_a.get(&r.location).await.unwrap().body.contains("两实例客户"));

    // Claim races: rep1 through A, rep2 through B, at once.
    let pool: i64 = app.count("SELECT id FROM pools WHERE is_default").await;
    let mut claimer_a = logged_in(&a, "rep1").await;
    let mut claimer_b = logged_in(&b, "rep2").await;
    for round in 0..8 {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO customers (code, name, name_norm, status_id, owner_id, pool_id)
             VALUES ('P-' || $1, '公海争抢' || $1, '公海争抢' || $1,
                     (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), NULL, $2)
             RETURNING id",
        )
        .bind(round)
        .bind(pool)
        .fetch_one(&app.db)
        .await
        .unwrap();
        let path = format!("/pool/customers/{id}/claim");
        let (ra, rb) = tokio::join!(claimer_a.post(&path, &[]), claimer_b.post(&path, &[]));
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let won = format!("/customers/{id}");
        let winners = [&ra, &rb].iter().filter(|r| r.location == won).count();
        assert_eq!(winners, 1, "round {round}: {ra:?} / {rb:?}");
        assert_eq!(app.count(&format!("SELECT count(*) FROM pool_claims WHERE customer_id = {id}")).await, 1);
        let owner = app.count(&format!("SELECT owner_id FROM customers WHERE id = {id}")).await;
        assert_eq!(owner, if ra.location == won { rep1 } else { rep2 }, "round {round}");
        assert_eq!(
            app.count(&format!("SELECT count(*) FROM operation_logs WHERE entity = 'customer' AND entity_id = {id}"))
                .await,
            1,
            "one history row of the claim"
        );
    }

    // Logging out on B ends the session on A too.
    let r = on_b.post("/logout", &[]).await.unwrap();
    assert_eq!(r.status, 303);
    let mut stale = on_b.with_base(&a.base);
    stale.cookies = on_a.cookies.clone();
    let r = stale.get("/customers").await.unwrap();
    assert_eq!(r.status, 303, "the session ended on B is gone on A");
    assert!(r.location.starts_with("/login"));
}

/// SIGKILL during a long approval chain: 30 contracts through a six-step flow (a different
/// manager per step), the six approvers deciding at once through HTTP. Every decision is one
/// transaction: afterwards each request is at a clean stage (its approved tasks, its one pending
/// task, its current step agree), and only the fully approved ones changed their contract and
/// what their customer owes. After a restart the chains finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_during_an_approval_chain_leaves_every_request_at_a_clean_stage() {
    const STEPS: i64 = 6;
    const CONTRACTS: i64 = 30;
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let rep = app.user("rep", root, None, &["rep"]).await;
    let mut approvers = Vec::new();
    for i in 1..=STEPS {
        approvers.push(app.user(&format!("m{i}"), root, None, &["manager"]).await);
    }
    sqlx::query("DELETE FROM approval_flows WHERE subject = 'contract'").execute(&app.db).await.unwrap();
    let flow: i64 = sqlx::query_scalar(
        "INSERT INTO approval_flows (subject, name, enabled, resubmit_from) VALUES ('contract', '六级审批', true, 'first')
         RETURNING id",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    for (i, m) in approvers.iter().enumerate() {
        sqlx::query("INSERT INTO approval_steps (flow_id, seq, kind, mode, user_ids, level) VALUES ($1, $2, 'users', 'any', $3, 1)")
            .bind(flow)
            .bind(i as i32 + 1)
            .bind(vec![*m])
            .execute(&app.db)
            .await
            .unwrap();
    }
    for i in 0..CONTRACTS {
        let customer: i64 = sqlx::query_scalar(
            "INSERT INTO customers (code, name, name_norm, status_id, owner_id)
             VALUES ('A-' || $1, '审批客户' || $1, '审批客户' || $1,
                     (SELECT id FROM dict_items WHERE dict = 'customer_status' ORDER BY position LIMIT 1), $2)
             RETURNING id",
        )
        .bind(i)
        .bind(rep)
        .fetch_one(&app.db)
        .await
        .unwrap();
        let contract = app.contract(customer, &format!("审批合同{i}"), rep, "pending").await;
        let mut tx = app.db.begin().await.unwrap();
        let s = crm::workflow::Submission {
            subject: crm::modules::contracts::subject(),
            record_id: contract,
            submitted_by: rep,
            owner_id: Some(rep),
            payload: serde_json::json!({ "amount": "1000.00" }),
            picks: Default::default(),
        };
        crm::workflow::submit(&mut tx, s, None).await.unwrap();
        tx.commit().await.unwrap();
    }

    // Each approver decides whatever waits for them, until stopped (or the server dies).
    let decide_all = |server: &Server| {
        let base = server.base.clone();
        let approvers = approvers.clone();
        let db = app.db.clone();
        async move {
            let mut tasks = Vec::new();
            for (i, m) in approvers.into_iter().enumerate() {
                let mut http = Http::new(&base);
                http.login(&format!("m{}", i + 1), PASSWORD).await;
                let db = db.clone();
                tasks.push(tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    while started.elapsed() < Duration::from_secs(120) {
                        let waiting: Vec<i64> = sqlx::query_scalar(
                            "SELECT instance_id FROM approval_tasks WHERE approver_id = $1 AND status = 'pending' ORDER BY instance_id",
                        )
                        .bind(m)
                        .fetch_all(&db)
                        .await
                        .unwrap();
                        let left: i64 = sqlx::query_scalar(
                            "SELECT count(*) FROM approval_tasks t JOIN approval_instances i ON i.id = t.instance_id
                              WHERE t.status = 'approved' AND i.subject = 'contract'",
                        )
                        .fetch_one(&db)
                        .await
                        .unwrap();
                        if left == STEPS * CONTRACTS {
                            return;
                        }
                        for id in waiting {
                            if http.post(&format!("/approvals/{id}/approve"), &[("comment", "同意")]).await.is_err() {
                                return; // the server is gone
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }));
            }
            tasks
        }
    };
    let approved_tasks = "SELECT count(*) FROM approval_tasks WHERE status = 'approved'";
    let server = serve(&app).await;
    let tasks = decide_all(&server).await;
    let begun = std::time::Instant::now();
    while app.count(approved_tasks).await < STEPS * CONTRACTS / 3 {
        assert!(begun.elapsed() < Duration::from_secs(120), "the approvers never got going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill9();
    for t in tasks {
        t.abort();
        let _ = t.await;
    }
    let clean = || async {
        app.count(&format!(
            "SELECT count(*) FROM approval_instances i JOIN contracts k ON k.id = i.record_id JOIN customers c ON c.id = k.customer_id
              WHERE i.subject = 'contract'
                AND CASE WHEN i.status = 'approved' THEN
                      (SELECT count(*) FROM approval_tasks t WHERE t.instance_id = i.id AND t.status = 'approved') = {STEPS}
                      AND NOT EXISTS (SELECT 1 FROM approval_tasks t WHERE t.instance_id = i.id AND t.status = 'pending')
                      AND k.status = 'approved' AND k.approved_at IS NOT NULL AND c.receivable = 1000 AND c.deal_status = 'dealt'
                    WHEN i.status = 'pending' THEN
                      (SELECT count(*) FROM approval_tasks t WHERE t.instance_id = i.id AND t.status = 'approved') = i.current_step - 1
                      AND (SELECT array_agg(t.stage) FROM approval_tasks t WHERE t.instance_id = i.id AND t.status = 'pending')
                          = ARRAY[i.current_step]
                      AND k.status = 'pending' AND c.receivable = 0
                    ELSE false END"
        ))
        .await
    };
    assert_eq!(clean().await, CONTRACTS, "every request at a clean stage after the kill");
    let (approved, decided) = (
        app.count("SELECT count(*) FROM approval_instances WHERE subject = 'contract' AND status = 'approved'").await,
        app.count(approved_tasks).await,
    );
    assert!(decided < STEPS * CONTRACTS, "killed mid-chain: {decided} decisions, {approved} requests through");
    eprintln!("approval chain killed after {decided} of {} decisions ({approved} requests through)", STEPS * CONTRACTS);

    // Restarted, the approvers finish the chains.
    let server = serve(&app).await;
    for t in decide_all(&server).await {
        t.await.unwrap();
    }
    assert_eq!(app.count(approved_tasks).await, STEPS * CONTRACTS);
    assert_eq!(clean().await, CONTRACTS);
    assert_eq!(app.count("SELECT count(*) FROM contracts WHERE status = 'approved'").await, CONTRACTS);
}
