//! The access matrix, generated from the route table and the record registry: every route that
//! takes an id, as a rep outside the record's scope (杨帆 of 华北 in the demo company, the
//! records 张伟's of 华东), answers exactly as it does for an id that does not exist — 404, or
//! 403 where the route is a permission failure — names nothing of the record, and leaves the
//! record, the rows of every table referencing it and the whole database as they were. The
//! other direction: the owner opens every GET route of their record (200), so a suite where
//! everything answered 404 would fail.
//!
//! Routes under a registered kind's `{path}/{id}` take that kind's record; the few other kinds
//! of per-user things with ids (approvals, notifications, scenes, import batches, task tags)
//! are below; any other route with a parameter must be a permission failure for the rep, or
//! this test asks for a fixture.

use std::collections::BTreeMap;

use axum::http::Method;
use crm::records::RecordDef;

use super::common::{Client, TestApp};

const OWNER: &str = "13800000003";
const OUTSIDER: &str = "13800000006";
/// An id no table holds.
const MISSING: i64 = 987_654_321;

/// Owner GET routes that answer something other than 200 for the chosen record because of its
/// state, with why.
const OWNER_STATE_EXCEPTIONS: &[(&str, &str)] = &[
    ("/contracts/{id}/edit", "an approved contract is no longer edited (409); plans need it approved"),
    ("/contracts/{id}/submit", "an approved contract is not submitted again (409)"),
    ("/payments/{id}/edit", "a confirmed payment is no longer edited (409)"),
];

async fn user_id(app: &TestApp, login: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE login = $1").bind(login).fetch_one(&app.db).await.unwrap()
}

async fn login(app: &TestApp, login: &str, password: &str) -> Client {
    let mut c = app.client();
    let r = c.login(login, password).await;
    assert!(r.status.is_redirection(), "login {login}: {}", r.status);
    c
}

/// Tables holding rows about a record of `def`: its own row, rows with a foreign key to its
/// table, and rows naming it by entity and id (stars, attachments, team, shares, follow-ups,
/// links, approvals, history), as (label, SQL of a digest with `$1` the id).
async fn snapshot_sql(app: &TestApp, def: &RecordDef) -> Vec<String> {
    let mut parts = vec![format!("SELECT '{0}', (SELECT to_jsonb(t)::text FROM {0} t WHERE id = $1)", def.table)];
    let fks: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, a.attname::text
           FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
          WHERE c.contype = 'f' AND c.confrelid = $1::regclass AND array_length(c.conkey, 1) = 1",
    )
    .bind(def.table)
    .fetch_all(&app.db)
    .await
    .unwrap();
    for (table, column) in fks {
        parts.push(format!(
            "SELECT '{table}.{column}', (SELECT coalesce(string_agg(to_jsonb(x)::text, '|' ORDER BY to_jsonb(x)::text), '') FROM {table} x WHERE {column} = $1)"
        ));
    }
    let poly: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text,
                EXISTS (SELECT 1 FROM information_schema.columns e
                         WHERE e.table_schema = 'public' AND e.table_name = c.table_name AND e.column_name = 'entity')
           FROM information_schema.columns c
          WHERE table_schema = 'public' AND column_name IN ('record_id', 'entity_id')",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for (table, column, has_entity) in poly {
        let entity = if has_entity { format!(" AND entity = '{}'", def.entity) } else { String::new() };
        parts.push(format!(
            "SELECT '{table}.{column}', (SELECT coalesce(string_agg(to_jsonb(x)::text, '|' ORDER BY to_jsonb(x)::text), '') FROM {table} x WHERE {column} = $1{entity})"
        ));
    }
    parts
}

async fn snapshot(app: &TestApp, parts: &[String], id: i64) -> BTreeMap<String, Option<String>> {
    let sql = parts.join(" UNION ALL ");
    sqlx::query_as::<_, (String, Option<String>)>(&sql).bind(id).fetch_all(&app.db).await.unwrap().into_iter().collect()
}

/// A live record of the kind owned by `owner` the outsider has no team place or share on: the
/// demo's first, else a fixture.
async fn theirs(app: &TestApp, def: &RecordDef, owner: i64, outsider: i64) -> i64 {
    let owned = if def.owned { "t.owner_id = $1" } else { "true" };
    let parent = match &def.parent {
        Some(p) => format!(" AND (SELECT owner_id FROM {} WHERE id = t.{}) = $1", p.table, p.column),
        None => String::new(),
    };
    let sql = format!(
        "SELECT min(t.id) FROM {} t WHERE {owned}{parent} AND t.deleted_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM record_members m WHERE m.entity = '{e}' AND m.record_id = t.id AND m.user_id = $2)
            AND NOT EXISTS (SELECT 1 FROM record_shares s WHERE s.entity = '{e}' AND s.record_id = t.id)",
        def.table,
        e = def.entity
    );
    let found: Option<i64> = sqlx::query_scalar(&sql).bind(owner).bind(outsider).fetch_one(&app.db).await.unwrap();
    match found {
        Some(id) => id,
        None => super::registry::fixture(app, def.entity, owner)
            .await
            .unwrap_or_else(|| panic!("add a fixture for the record kind {:?} in registry.rs", def.entity)),
    }
}

/// A value for a second parameter of a record route: a row of the record's own children where
/// there is one (its attachments, plans, subtasks, team, shares), else one that does not exist.
async fn child(app: &TestApp, def: &RecordDef, id: i64, param: &str) -> String {
    let sql = match param {
        "aid" => format!("SELECT min(id) FROM attachments WHERE entity = '{}' AND record_id = $1", def.entity),
        "user_id" => {
            format!("SELECT min(user_id) FROM record_members WHERE entity = '{}' AND record_id = $1", def.entity)
        }
        "share_id" => format!("SELECT min(id) FROM record_shares WHERE entity = '{}' AND record_id = $1", def.entity),
        "plan" => "SELECT min(id) FROM payment_plans WHERE contract_id = $1".into(),
        "sub" => "SELECT min(id) FROM task_subtasks WHERE task_id = $1".into(),
        _ => return MISSING.to_string(),
    };
    let v: Option<i64> = sqlx::query_scalar(&sql).bind(id).fetch_one(&app.db).await.unwrap_or(None);
    v.unwrap_or(MISSING).to_string()
}

/// `path` with its first parameter `first` and the others from `rest`.
async fn fill(path: &str, first: &str, mut rest: impl AsyncFnMut(&str) -> String) -> String {
    let mut out = String::new();
    let mut remaining = path;
    let mut n = 0;
    while let Some(open) = remaining.find('{') {
        out.push_str(&remaining[..open]);
        let close = open + remaining[open..].find('}').unwrap();
        let param = &remaining[open + 1..close];
        out.push_str(&if n == 0 { first.to_string() } else { rest(param).await });
        n += 1;
        remaining = &remaining[close + 1..];
    }
    out.push_str(remaining);
    out
}

async fn call(c: &mut Client, method: &Method, path: &str, mate: i64) -> (u16, String) {
    let mate = mate.to_string();
    let r = if method == Method::GET {
        c.get(path).await
    } else {
        let form = [
            ("new_owner", mate.as_str()),
            ("user_id", mate.as_str()),
            ("content", "x"),
            ("title", "x"),
            ("name", "x"),
            ("reason", "x"),
            ("comment", "x"),
            ("access", "rw"),
        ];
        c.post(path, &form).await
    };
    (r.status.as_u16(), r.body)
}

/// Per-user things with ids that are not registered record kinds: the path's pattern, the SQL
/// finding one of the owner's (`$1`), and who owns it (imports need the import right).
const OTHER_KINDS: &[(&str, &str, &str)] = &[
    ("/approvals/{id}", "SELECT min(id) FROM approval_instances WHERE submitted_by = $1", OWNER),
    ("/notifications/{id}", "SELECT min(id) FROM notifications WHERE user_id = $1", OWNER),
    ("/imports/{id}", "SELECT min(id) FROM import_batches WHERE user_id = $1", "admin"),
    ("/scenes/{id}", "SELECT min(id) FROM list_scenes WHERE user_id = $1", OWNER),
    ("/tasks/tags/{tag}", "SELECT min(id) FROM task_tags WHERE user_id = $1", OWNER),
    ("/pool/customers/{id}", "SELECT min(id) FROM customers WHERE owner_id = $1", OWNER),
];

#[tokio::test]
async fn outside_its_scope_every_route_with_an_id_answers_as_for_no_record_and_changes_nothing() {
    let started = std::time::Instant::now();
    super::common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let pw = crm::seed::demo::SALES_PASSWORD;
    let (owner, outsider) = (user_id(&app, OWNER).await, user_id(&app, OUTSIDER).await);
    // A colleague of the owner the forms name (team, transfer), never the outsider.
    let mate = user_id(&app, "13800000004").await;
    // Per-user things the demo may lack.
    sqlx::query("INSERT INTO list_scenes (user_id, module, name, query) VALUES ($1, 'customers', '我的场景', 'q=a')")
        .bind(owner)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO notifications (user_id, kind, link) VALUES ($1, 'mention', '/tasks')")
        .bind(owner)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO task_tags (user_id, name) VALUES ($1, '私人')")
        .bind(owner)
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE import_batches SET user_id = (SELECT id FROM users WHERE login = 'admin')")
        .execute(&app.db)
        .await
        .unwrap();
    let registry = crm::app::install();
    let mut out = login(&app, OUTSIDER, pw).await;
    let mut own = login(&app, OWNER, pw).await;
    // Company-wide kinds (no owner): a user with no role is the outsider.
    let root = app.root_dept().await;
    app.user("norole", root, None, &[]).await;
    let mut nobody = app.login("norole").await;

    let mut wrong = Vec::new();
    let (mut cells, mut owner_gets, mut kinds) = (0, 0, 0);
    let specs: Vec<_> = crm::app::route_specs()
        .into_iter()
        .filter(|s| s.path.contains('{') && s.guard != crm::access::Guard::Public && s.path != "/logout")
        .collect();
    let mut covered = vec![false; specs.len()];
    for def in registry.records() {
        kinds += 1;
        let id = theirs(&app, def, owner, outsider).await;
        let title: String =
            sqlx::query_scalar(&format!("SELECT ({})::text FROM {} t WHERE id = $1", def.title, def.table))
                .bind(id)
                .fetch_one(&app.db)
                .await
                .unwrap();
        if def.features.attachments {
            // A child for the attachment routes, uploaded by whoever may (the owner; an admin
            // for company-wide kinds).
            let mut by = if def.owned { own.clone() } else { login(&app, "admin", crm::seed::demo::ADMIN.1).await };
            let file = [("file", "note.txt", "text/plain", b"hello".to_vec())];
            let r = by.post_multipart(&format!("{}/attachments", def.url(id)), &[], &file).await;
            assert!(r.status.is_redirection(), "{}: uploading an attachment: {}", def.entity, r.status);
        }
        let parts = snapshot_sql(&app, def).await;
        let prefix = format!("{}/{{id}}", def.path);
        let client = if def.owned { &mut out } else { &mut nobody };
        let mut gets = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            if !(spec.path == prefix || spec.path.starts_with(&format!("{prefix}/"))) {
                continue;
            }
            covered[i] = true;
            let real = fill(spec.path, &id.to_string(), async |p| child(&app, def, id, p).await).await;
            let missing = fill(spec.path, &MISSING.to_string(), async |_| MISSING.to_string()).await;
            let before = (snapshot(&app, &parts, id).await, app.fingerprint().await);
            let (status, body) = call(client, &spec.method, &real, mate).await;
            let (expected, _) = call(client, &spec.method, &missing, mate).await;
            cells += 1;
            let what = format!("{} {} {real}", def.entity, spec.method);
            if status != expected || !(status == 404 || status == 403) {
                wrong.push(format!("{what}: {status}, for a missing id {expected}"));
            }
            if title.chars().count() > 1 && body.contains(&title) {
                wrong.push(format!("{what}: the answer names the record ({title})"));
            }
            let after = (snapshot(&app, &parts, id).await, app.fingerprint().await);
            for (k, v) in &before.0 {
                if after.0.get(k) != Some(v) {
                    wrong.push(format!("{what}: changed its rows in {k}"));
                }
            }
            let tables: Vec<_> = after.1.iter().filter(|(t, d)| before.1.get(*t) != Some(d)).map(|(t, _)| t).collect();
            if !tables.is_empty() {
                wrong.push(format!("{what}: changed the tables {tables:?}"));
            }
            if spec.method == Method::GET {
                gets.push(real);
            }
        }
        // The other direction: the owner (an admin for company-wide kinds) opens every page.
        let mut admin = if def.owned { None } else { Some(login(&app, "admin", crm::seed::demo::ADMIN.1).await) };
        for path in gets {
            let c = admin.as_mut().unwrap_or(&mut own);
            let status = c.get(&path).await.status.as_u16();
            owner_gets += 1;
            let pattern = path.replacen(&id.to_string(), "{id}", 1);
            if status != 200 && !OWNER_STATE_EXCEPTIONS.iter().any(|(p, _)| *p == pattern) {
                wrong.push(format!("{}: the owner gets {status} on GET {path}", def.entity));
            }
        }
    }

    // Routes with ids outside the registered kinds.
    let mut others = 0;
    for (i, spec) in specs.iter().enumerate() {
        if covered[i] {
            continue;
        }
        others += 1;
        let kind = OTHER_KINDS.iter().find(|(p, _, _)| spec.path.contains(p));
        let real = match kind {
            Some((_, sql, by)) => {
                let v: Option<i64> =
                    sqlx::query_scalar(sql).bind(user_id(&app, by).await).fetch_one(&app.db).await.unwrap();
                v.unwrap_or_else(|| panic!("no fixture row for {}", spec.path)).to_string()
            }
            None => "1".into(),
        };
        let path = fill(spec.path, &real, async |_| "1".to_string()).await;
        let missing = fill(spec.path, &MISSING.to_string(), async |_| MISSING.to_string()).await;
        let before = app.fingerprint().await;
        let (status, _) = call(&mut out, &spec.method, &path, mate).await;
        let (expected, _) = call(&mut out, &spec.method, &missing, mate).await;
        cells += 1;
        if kind.is_none() && status != 403 {
            wrong.push(format!(
                "{} {}: {status} for the rep; a route with an id the rep may reach needs a fixture in OTHER_KINDS",
                spec.method, spec.path
            ));
        } else if status != expected || !(status == 404 || status == 403) {
            wrong.push(format!("{} {path}: {status}, for a missing id {expected}", spec.method));
        }
        let changed: Vec<_> = {
            let after = app.fingerprint().await;
            after.iter().filter(|(t, d)| before.get(*t) != Some(d)).map(|(t, _)| t.clone()).collect()
        };
        if !changed.is_empty() {
            wrong.push(format!("{} {path}: changed the tables {changed:?}", spec.method));
        }
        if let (Some((_, _, by)), true) = (kind, spec.method == Method::GET) {
            let r = if *by == OWNER {
                own.get(&path).await
            } else {
                login(&app, by, crm::seed::demo::ADMIN.1).await.get(&path).await
            };
            owner_gets += 1;
            // A notification opens what it is about.
            let opens = r.status.is_redirection() && !r.location().starts_with("/login");
            if r.status != 200 && !opens {
                wrong.push(format!("the owner gets {} on GET {path}", r.status));
            }
        }
    }
    eprintln!(
        "access matrix: {kinds} record kinds, {} routes with ids ({others} outside the kinds), {cells} outsider cells, {owner_gets} owner GETs, {:.1}s",
        specs.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(wrong.is_empty(), "{} failures:\n{}", wrong.len(), wrong.join("\n"));
    assert!(kinds >= 10 && cells > 150, "{kinds} kinds, {cells} cells");
}
