//! CSRF over the route table: every unsafe route (every POST, public ones too) is refused with
//! the "page expired" 403 when the request is not same-origin (no Origin and no Sec-Fetch-Site,
//! a cross-site Sec-Fetch-Site, a foreign Origin) even with the right token, when it is
//! same-origin without a token or with a wrong one, and with a token from another session (in
//! the form, the query or the header). The database is unchanged afterwards, table by table;
//! the same write with the session's own token goes through.

use axum::http::Method;

use super::walk::{self, World};

#[tokio::test]
async fn every_unsafe_route_refuses_writes_without_same_origin_and_the_sessions_own_token() {
    let started = std::time::Instant::now();
    let mut w = World::demo().await;
    let mut admin = w.admin().await;
    let token = admin.token().await;
    // Another signed-in session: its token is valid, but not for the admin's session.
    let mut rep = w.app.client();
    rep.login("13800000003", crm::seed::demo::SALES_PASSWORD).await;
    let foreign = rep.token().await;
    assert_ne!(token, foreign);
    let some_customer: i64 = sqlx::query_scalar("SELECT min(id) FROM customers").fetch_one(&w.app.db).await.unwrap();
    let some_user: i64 =
        sqlx::query_scalar("SELECT min(id) FROM users WHERE login <> 'admin'").fetch_one(&w.app.db).await.unwrap();
    // A form most writes would take, were the request let through.
    let fields = format!(
        "ids={some_customer}&name=csrf&title=csrf&content=csrf&user_id={some_user}&new_owner={some_user}&login=admin&password=admin123"
    );
    let same = ("origin", "http://localhost");
    let cases: Vec<(&str, String, Vec<(&str, &str)>, &str)> = vec![
        ("no Origin, no Sec-Fetch-Site", format!("_csrf={token}&{fields}"), vec![], ""),
        ("cross-site Sec-Fetch-Site", format!("_csrf={token}&{fields}"), vec![("sec-fetch-site", "cross-site")], ""),
        ("foreign Origin", format!("_csrf={token}&{fields}"), vec![("origin", "http://evil.example")], ""),
        ("no token", fields.clone(), vec![same], ""),
        ("a wrong token", format!("_csrf=deadbeef&{fields}"), vec![same], ""),
        ("another session's token", format!("_csrf={foreign}&{fields}"), vec![same], ""),
        (
            "another session's token, same-site fetch",
            format!("_csrf={foreign}&{fields}"),
            vec![("sec-fetch-site", "same-origin")],
            "",
        ),
        ("another session's token in the header", fields.clone(), vec![same, ("x-csrf-token", &foreign)], ""),
        ("another session's token in the query", fields.clone(), vec![same], "q"),
    ];
    let mut wrong = Vec::new();
    let (mut routes, mut requests) = (0, 0);
    for spec in crm::app::route_specs().into_iter().filter(|s| s.method != Method::GET) {
        routes += 1;
        let path = w.fill(spec.path, None).await;
        let before = w.app.fingerprint().await;
        for (what, body, headers, query) in &cases {
            let url = if query.is_empty() { path.clone() } else { format!("{path}?_csrf={foreign}") };
            let r = admin.post_encoded(&url, body, headers).await;
            requests += 1;
            if r.status.as_u16() != 403 || !r.body.contains("页面已过期") {
                wrong.push(format!("{} {path} with {what}: {}", spec.method, r.status));
            }
        }
        let changed = walk::changed(&before, &w.app.fingerprint().await);
        if !changed.is_empty() {
            wrong.push(format!("{} {path}: refused writes changed {changed:?}", spec.method));
        }
    }
    eprintln!(
        "csrf: {routes} unsafe routes × {} cases = {requests} requests, {:.1}s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(wrong.is_empty(), "{} failures:\n{}", wrong.len(), wrong.join("\n"));
    assert!(routes > 300, "every unsafe route: {routes}");
    // The session is still signed in, and its own token makes the same kind of write work.
    let before = w.app.count("SELECT count(*) FROM customers").await;
    let r = admin
        .post_encoded("/customers", &format!("_csrf={token}&name=CSRF%E5%AF%B9%E7%85%A7&kind=enterprise"), &[same])
        .await;
    assert!(r.status.is_redirection(), "the control write: {}", r.status);
    assert_eq!(w.app.count("SELECT count(*) FROM customers").await, before + 1);
}
