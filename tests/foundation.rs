//! Foundation: login, sessions, throttling, CSRF, redirects, language, shell, allow-list walk.

mod common;
#[path = "foundation/csrf.rs"]
mod csrf;
#[path = "foundation/fuzz.rs"]
mod fuzz;
#[path = "foundation/walk.rs"]
mod walk;

use axum::http::Method;
use common::{PASSWORD, TestApp};

async fn app_with_admin() -> TestApp {
    common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    app
}

#[tokio::test]
async fn login_succeeds_and_shows_the_shell() {
    let app = app_with_admin().await;
    let mut c = app.client();
    c.login("admin", PASSWORD).await.assert_redirect("/");
    let home = c.get("/").await;
    home.assert_status(200);
    assert!(home.text_of(".user-name").contains("用户admin"));
    assert!(home.has("aside.sidebar nav"), "the sidebar is rendered");
    assert!(home.has("form.global-search input[name=q]"));
    let logged = app.count("SELECT count(*) FROM login_log WHERE login = 'admin' AND result = 'ok'").await;
    assert_eq!(logged, 1);
}

#[tokio::test]
async fn login_accepts_the_mobile_number_too() {
    let app = app_with_admin().await;
    sqlx::query("UPDATE users SET mobile = '13900001111' WHERE login = 'admin'").execute(&app.db).await.unwrap();
    let mut c = app.client();
    c.login("13900001111", PASSWORD).await.assert_redirect("/");
}

#[tokio::test]
async fn wrong_password_and_unknown_login_look_the_same() {
    let app = app_with_admin().await;
    let mut c = app.client();
    let wrong = c.login("admin", "nope-nope1").await;
    let unknown = c.login("nobody", "nope-nope1").await;
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.status.as_u16(), 401);
    assert_eq!(wrong.text_of("#login-error"), "登录名或密码错误。");
    assert_eq!(wrong.text_of("#login-error"), unknown.text_of("#login-error"));
    // The typed login is kept in the form.
    assert_eq!(wrong.attr("input[name=login]", "value").as_deref(), Some("admin"));
    let rows = app.count("SELECT count(*) FROM login_log WHERE result = 'bad_credentials'").await;
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn five_failures_lock_the_account_until_the_lock_expires() {
    let app = app_with_admin().await;
    let mut c = app.client();
    for _ in 0..4 {
        c.login("admin", "wrong-pass1").await.assert_status(401);
    }
    // The fifth failure locks, and says so at once, with the time to come back.
    let fifth = c.login("admin", "wrong-pass1").await;
    fifth.assert_status(429);
    assert_eq!(fifth.text_of("#login-error"), lock_message(&app, "user:").await);
    let locked = c.login("admin", PASSWORD).await;
    locked.assert_status(429);
    assert!(locked.text_of("#login-error").contains("已暂时锁定"), "{}", locked.text_of("#login-error"));
    assert_eq!(app.count("SELECT count(*) FROM login_log WHERE result = 'locked'").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM login_log WHERE result = 'bad_credentials'").await, 5);

    // Unknown logins lock the same way, so a lock reveals nothing.
    for _ in 0..4 {
        c.login("ghost", "wrong-pass1").await.assert_status(401);
    }
    c.login("ghost", "wrong-pass1").await.assert_status(429);
    c.login("ghost", "wrong-pass1").await.assert_status(429);

    // Fifteen minutes later (simulated) the right password works again.
    sqlx::query("UPDATE login_locks SET locked_until = now() - interval '1 second'").execute(&app.db).await.unwrap();
    c.login("admin", PASSWORD).await.assert_redirect("/");
}

/// The lock message as the page must show it: the lock's end (of the key starting with
/// `prefix`) rounded up to the minute, in the configured time zone.
async fn lock_message(app: &TestApp, prefix: &str) -> String {
    let until: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT locked_until FROM login_locks WHERE key LIKE $1 || '%'")
            .bind(prefix)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let minutes_left = (until - chrono::Utc::now()).num_minutes();
    assert!((14..=15).contains(&minutes_left), "locked for the configured 15 minutes: {minutes_left}");
    let time = crm::web::format::time_of_day(&crm::web::format::ceil_minute(&until), app.config.timezone);
    format!("连续登录失败次数过多，账号已暂时锁定，请于 {time} 后再试。")
}

/// Attempts are counted before the password is checked: of 20 simultaneous wrong guesses only
/// the limit's worth are verified, and afterwards even the right password is refused.
#[tokio::test]
async fn parallel_guesses_never_get_past_the_limit() {
    let app = app_with_admin().await;
    sqlx::query("UPDATE users SET mobile = '13900001111' WHERE login = 'admin'").execute(&app.db).await.unwrap();
    let mut clients = Vec::new();
    for _ in 0..20 {
        let mut c = app.client();
        c.get("/login").await;
        clients.push(c);
    }
    // Username and mobile number name the same user: one budget, not two.
    let burst = clients.iter_mut().enumerate().map(|(i, c)| {
        let login = if i % 2 == 0 { "admin" } else { "13900001111" };
        async move { c.post("/login", &[("login", login), ("password", "wrong-pass1")]).await.status.as_u16() }
    });
    let statuses = futures_util::future::join_all(burst).await;
    // The account's and the login name's counters are separate statements, so under load the
    // last verified guess or two may already be told of the lock (429) rather than "wrong
    // password" (401); what never varies is how many were verified (below).
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    assert!((1..=4).contains(&wrong), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20 - wrong, "{statuses:?}");
    let verified = app.count("SELECT count(*) FROM login_log WHERE result = 'bad_credentials'").await;
    assert_eq!(verified, 5, "only the limit's worth of passwords were checked");
    assert_eq!(app.count("SELECT count(*) FROM login_log WHERE result = 'locked'").await, 15);

    for login in ["admin", "13900001111", "ADMIN"] {
        let r = app.client().login(login, PASSWORD).await;
        r.assert_status(429);
        assert!(r.text_of("#login-error").contains("已暂时锁定"));
    }
    assert_eq!(app.count("SELECT count(*) FROM login_log WHERE result = 'ok'").await, 0);
}

/// A right password clears the account's failures, and gives the address its attempt back, so
/// an office behind one address is not locked out by its own good logins.
#[tokio::test]
async fn good_logins_use_up_no_budget() {
    let app = app_with_admin().await;
    let mut c = app.client();
    for _ in 0..4 {
        c.login("admin", "wrong-pass1").await.assert_status(401);
    }
    c.login("admin", PASSWORD).await.assert_redirect("/");
    for _ in 0..4 {
        c.login("admin", "wrong-pass1").await.assert_status(401);
    }
    c.login("admin", "wrong-pass1").await.assert_status(429);

    let app = TestApp::with_config(|c| c.login_max_failures_per_ip = 3).await;
    app.admin().await;
    for _ in 0..6 {
        app.client().login("admin", PASSWORD).await.assert_redirect("/");
    }
    let mut c = app.client();
    c.login("nobody", "wrong-pass1").await.assert_status(401);
    c.login("nobody2", "wrong-pass1").await.assert_status(401);
    c.login("nobody3", "wrong-pass1").await.assert_status(429);
}

#[tokio::test]
async fn too_many_failures_from_one_ip_are_refused() {
    common::init_logging();
    let app = TestApp::with_config(|c| {
        c.trust_proxy = true;
        c.login_max_failures_per_ip = 3;
    })
    .await;
    app.admin().await;
    for (i, login) in ["a1", "a2", "a3", "admin"].iter().enumerate() {
        // A forged entry in front of the proxy's own changes nothing: the rightmost one counts.
        let mut c = app.client();
        c.headers.push(("x-forwarded-for".into(), format!("10.9.9.{i}, 203.0.113.9")));
        let password = if *login == "admin" { PASSWORD } else { "wrong-pass1" };
        let r = c.login(login, password).await;
        if i < 2 {
            r.assert_status(401);
        } else {
            // The third failure already shows the lock; then even a right password is refused.
            r.assert_status(429);
            assert!(r.text_of("#login-error").contains("网络"));
            assert!(r.text_of("#login-error").contains(':'), "with a time: {}", r.text_of("#login-error"));
        }
    }
    let ip: String = sqlx::query_scalar("SELECT ip FROM login_log LIMIT 1").fetch_one(&app.db).await.unwrap();
    assert_eq!(ip, "203.0.113.9");
    // Another address is not affected.
    let mut other = app.client();
    other.headers.push(("x-forwarded-for".into(), "203.0.113.9, 198.51.100.7".into()));
    other.login("admin", PASSWORD).await.assert_redirect("/");
}

#[tokio::test]
async fn the_jobs_loop_purges_expired_login_counters() {
    let app = app_with_admin().await;
    sqlx::query(
        "INSERT INTO login_locks (key, failures, window_start, locked_until) VALUES
           ('login:expired-lock', 5, now() - interval '1 hour', now() - interval '1 minute'),
           ('login:old-window', 2, now() - interval '1 hour', NULL),
           ('login:live-lock', 5, now(), now() + interval '10 minutes'),
           ('login:live-window', 2, now(), NULL)",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let ctx = crm::jobs::JobCtx {
        db: app.db.clone(),
        config: std::sync::Arc::new(app.config.clone()),
        now: chrono::Utc::now(),
    };
    let r = crm::jobs::run_named(ctx, &["purge_login_locks"]).await;
    assert_eq!(r, [("purge_login_locks", true, "deleted 2".to_string())]);
    let left: Vec<String> =
        sqlx::query_scalar("SELECT key FROM login_locks ORDER BY key").fetch_all(&app.db).await.unwrap();
    assert_eq!(left, ["login:live-lock", "login:live-window"]);
}

#[tokio::test]
async fn writes_without_a_valid_csrf_token_or_from_another_origin_are_refused() {
    let app = app_with_admin().await;
    let mut c = app.client();
    c.get("/login").await;
    let token = c.csrf_token().unwrap();
    // No token.
    let r = c.post_raw("/login", &[("login", "admin"), ("password", PASSWORD)], true).await;
    r.assert_status(403);
    assert!(r.body.contains("页面已过期"));
    // Wrong token.
    c.post_raw("/login", &[("_csrf", "deadbeef"), ("login", "admin"), ("password", PASSWORD)], true)
        .await
        .assert_status(403);
    // Right token, foreign origin.
    c.post_raw("/login", &[("_csrf", &token), ("login", "admin"), ("password", PASSWORD)], false)
        .await
        .assert_status(403);
    assert_eq!(app.count("SELECT count(*) FROM login_log").await, 0, "refused before any login attempt");
    // Right token, same origin.
    c.post_raw("/login", &[("_csrf", &token), ("login", "admin"), ("password", PASSWORD)], true)
        .await
        .assert_redirect("/");
}

#[tokio::test]
async fn the_session_id_changes_at_login() {
    let app = app_with_admin().await;
    let mut c = app.client();
    c.get("/login").await;
    let before = c.session_id().expect("the login page starts a session for its CSRF token");
    c.login("admin", PASSWORD).await;
    let after = c.session_id().unwrap();
    assert_ne!(before, after);
}

#[tokio::test]
async fn logout_ends_the_session_even_for_a_copied_cookie() {
    let app = app_with_admin().await;
    let mut c = app.client();
    c.login("admin", PASSWORD).await;
    let copy = c.clone();
    c.post("/logout", &[]).await.assert_redirect("/login");
    c.get("/").await.assert_redirect("/login?next=%2F");
    let mut copy = copy;
    copy.get("/").await.assert_redirect("/login?next=%2F");
}

#[tokio::test]
async fn every_guarded_route_sends_anonymous_visitors_to_login() {
    let app = app_with_admin().await;
    let specs = crm::app::route_specs();
    assert!(specs.len() > 5);
    let mut c = app.client();
    c.get("/login").await;
    for spec in specs.iter().filter(|s| s.guard != crm::access::Guard::Public) {
        let path = fill_params(spec.path);
        let r = if spec.method == Method::GET { c.get(&path).await } else { c.post(&path, &[]).await };
        assert!(r.status.is_redirection(), "{} {} gave {} to an anonymous visitor", spec.method, spec.path, r.status);
        assert!(r.location().starts_with("/login"), "{} {} redirected to {}", spec.method, spec.path, r.location());
    }
}

/// `/x/{id}/y/{code}` → `/x/1/y/1`: any path parameter gets a plausible value.
fn fill_params(path: &str) -> String {
    fill_params_with(path, "1")
}

/// `/x/{id}/y/{code}` → `/x/<value>/y/<value>`.
fn fill_params_with(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for ch in path.chars() {
        match ch {
            '{' => in_param = true,
            '}' => {
                in_param = false;
                out.push_str(value);
            }
            _ if !in_param => out.push(ch),
            _ => {}
        }
    }
    out
}

/// Form and query names the pages read (record forms, filters, admin forms, lookups), and a
/// custom field's filters: what a NUL byte is sent in.
const INPUT_NAMES: &[&str] = &[
    "q",
    "name",
    "title",
    "content",
    "label",
    "label_zh",
    "label_en",
    "code",
    "login",
    "description",
    "reason",
    "comment",
    "body",
    "notes",
    "short_name",
    "contact_name",
    "company",
    "phone",
    "mobile",
    "email",
    "website",
    "position",
    "keyword",
    "value",
    "filter",
    "scene",
    "sort",
    "order",
    "tag",
    "text",
    "done",
    "options",
    "key",
    "cf_note",
    "cf_note_from",
    "cf_note_to",
    "owner",
    "actor",
    "status",
    "from",
    "to",
    "date",
    "kind",
    "entity",
    "action",
];

/// A NUL byte (U+0000), which Postgres refuses in text, through every route of the route table
/// as an admin: in the query string of every GET and the form of every POST (every name in
/// `INPUT_NAMES`, custom-field filters included), and in every path parameter. The input layer
/// refuses it with a 422 that says why; nothing answers 500.
#[tokio::test]
async fn no_route_answers_a_nul_byte_with_a_server_error() {
    let app = app_with_admin().await;
    for entity in ["lead", "customer", "contact", "opportunity", "contract", "payment", "product"] {
        sqlx::query(
            "INSERT INTO field_defs (entity, key, label_zh, label_en, kind) VALUES ($1, 'note', '备注', 'Note', 'text')",
        )
        .bind(entity)
        .execute(&app.db)
        .await
        .unwrap();
    }
    let mut c = app.login("admin").await;
    let query: String = INPUT_NAMES.iter().map(|n| format!("{n}=%00")).collect::<Vec<_>>().join("&");
    let form: Vec<(&str, &str)> = INPUT_NAMES.iter().map(|n| (*n, "a\0b")).collect();
    let (mut gets, mut posts, mut requests) = (0, 0, 0);
    let mut wrong = Vec::new();
    for spec in crm::app::route_specs() {
        // Logging out would end the walk's session.
        if spec.path == "/logout" {
            continue;
        }
        let get = spec.method == Method::GET;
        let path = fill_params(spec.path);
        let r = if get { c.get(&format!("{path}?{query}")).await } else { c.post(&path, &form).await };
        requests += 1;
        if r.status.as_u16() != 422 || !r.body.contains("U+0000") {
            wrong.push(format!("{} {} with NUL input: {}", spec.method, spec.path, r.status));
        }
        if spec.path.contains('{') {
            let nul_path = fill_params_with(spec.path, "%00");
            let r = if get { c.get(&nul_path).await } else { c.post(&nul_path, &[]).await };
            requests += 1;
            if r.status.is_server_error() {
                wrong.push(format!("{} {} with NUL in the path: {}", spec.method, spec.path, r.status));
            }
        }
        if get { gets += 1 } else { posts += 1 }
    }
    assert!(wrong.is_empty(), "{} of {requests} requests:\n{}", wrong.len(), wrong.join("\n"));
    assert!(gets > 100 && posts > 100, "the whole route table: {gets} GET, {posts} POST");
    eprintln!("NUL walk: {gets} GET and {posts} POST routes, {requests} requests");
    // The session survived the walk: the refusals changed nothing.
    c.get("/").await.assert_status(200);
}

/// A NUL in the lookups the probe found answering 500, each refused with the message.
#[tokio::test]
async fn a_nul_byte_in_a_lookup_or_a_form_is_refused_with_a_message() {
    let app = app_with_admin().await;
    let mut c = app.login("admin").await;
    for path in ["/customers/check?q=%00", "/users/lookup?q=%00", "/admin/users?q=%00", "/admin/logs?action=a%00"] {
        let r = c.get(path).await;
        r.assert_status(422);
        assert!(r.text_of("main").contains("空字符（U+0000）"), "{path}: {}", r.text_of("main"));
    }
    let before = app.count("SELECT count(*) FROM customers").await;
    c.post("/customers", &[("name", "空字符\0公司"), ("kind", "enterprise")]).await.assert_status(422);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, before);
    // Without the NUL it is an ordinary form.
    c.get("/customers/check?q=abc").await.assert_status(200);
}

/// The CSRF origin check compares scheme, host and port: the http site at `localhost` takes
/// writes from `http://localhost` only.
#[tokio::test]
async fn a_write_from_another_scheme_or_port_of_the_same_host_is_refused() {
    let app = app_with_admin().await;
    let mut c = app.client();
    c.get("/login").await;
    let token = c.csrf_token().unwrap();
    let form = [("_csrf", token.as_str()), ("login", "admin"), ("password", PASSWORD)];
    for origin in
        ["https://localhost", "https://localhost:80", "http://localhost:8080", "http://localhost.evil.example", "null"]
    {
        c.post_from("/login", &form, origin).await.assert_status(403);
    }
    assert_eq!(app.count("SELECT count(*) FROM login_log").await, 0, "refused before any login attempt");
    c.post_from("/login", &form, "http://localhost:80").await.assert_redirect("/");
}

#[tokio::test]
async fn open_redirects_after_login_are_ignored() {
    let app = app_with_admin().await;
    for (next, expected) in [
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("/account/password", "/account/password"),
    ] {
        let mut c = app.client();
        c.get("/login").await;
        let r = c.post("/login", &[("login", "admin"), ("password", PASSWORD), ("next", next)]).await;
        r.assert_redirect(expected);
    }
    // The redirect target survives the trip through the login page.
    let mut c = app.client();
    let r = c.get("/account/password").await;
    r.assert_redirect("/login?next=%2Faccount%2Fpassword");
    let page = c.get(&r.location()).await;
    assert_eq!(page.attr("input[name=next]", "value").as_deref(), Some("/account/password"));
}

#[tokio::test]
async fn language_follows_choice_then_accept_language() {
    let app = app_with_admin().await;
    let mut c = app.client();
    c.get("/login").await.assert_contains("<html lang=\"zh-CN\">").assert_contains("登录名");
    c.headers.push(("accept-language".into(), "en-US,en;q=0.9".into()));
    c.get("/login").await.assert_contains("<html lang=\"en\">").assert_contains("Mobile number or username");
    // An explicit choice beats the header.
    c.post("/lang", &[("lang", "zh-CN"), ("back", "/login")]).await.assert_redirect("/login");
    c.get("/login").await.assert_contains("手机号或用户名");
    // Logged in, the choice is stored on the user and follows them to a new session.
    c.login("admin", PASSWORD).await;
    c.post("/lang", &[("lang", "en"), ("back", "/")]).await.assert_redirect("/");
    c.get("/").await.assert_contains("Log out");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT lang FROM users WHERE login = 'admin'").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored.as_deref(), Some("en"));
    let mut fresh = app.client();
    fresh.login("admin", PASSWORD).await;
    fresh.get("/").await.assert_contains("Log out");
    // Never redirect off-site from the switcher.
    c.post("/lang", &[("lang", "en"), ("back", "//evil.example")]).await.assert_redirect("/");
    // q=0 rules a language out.
    let mut anon = app.client();
    anon.headers.push(("accept-language".into(), "en;q=0, zh-CN;q=0.5".into()));
    anon.get("/login").await.assert_contains("<html lang=\"zh-CN\">");
}

#[tokio::test]
async fn the_language_switch_comes_back_to_the_same_page_and_query() {
    let app = app_with_admin().await;
    let mut c = app.login("admin").await;
    let page = c.get("/customers?q=%E4%B8%9C%E6%96%B9&page=2").await;
    assert_eq!(
        page.attr("form.menu-form input[name=back]", "value").as_deref(),
        Some("/customers?q=%E4%B8%9C%E6%96%B9&page=2")
    );
    let back = page.attr("form.menu-form input[name=back]", "value").unwrap();
    c.post("/lang", &[("lang", "en"), ("back", &back)]).await.assert_redirect(&back);
    // On the login page the switch keeps where the login leads.
    let mut anon = app.client();
    let login = anon.get("/login?next=%2Fcustomers%3Fpage%3D2").await;
    let back = login.attr(".auth-langs input[name=back]", "value").unwrap();
    assert_eq!(back, "/login?next=%2Fcustomers%3Fpage%3D2");
    anon.post("/lang", &[("lang", "en"), ("back", &back)]).await.assert_redirect(&back);
    let again = anon.get(&back).await;
    assert_eq!(again.attr("input[name=next]", "value").as_deref(), Some("/customers?page=2"));
    // After a failed login too.
    let failed =
        anon.post("/login", &[("login", "admin"), ("password", "wrong-pass1"), ("next", "/customers?page=2")]).await;
    assert_eq!(failed.attr(".auth-langs input[name=back]", "value").as_deref(), Some(back.as_str()));
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions() {
    let app = app_with_admin().await;
    let mut a = app.login("admin").await;
    let mut b = app.login("admin").await;

    let bad = a.post("/account/password", &[("current", "wrong"), ("new_password", "short"), ("confirm", "x")]).await;
    bad.assert_status(422);
    assert_eq!(bad.text_of(".field.has-error .field-error").lines().count(), 3);
    assert!(bad.body.contains("当前密码不正确"));

    let ok = a
        .post("/account/password", &[("current", PASSWORD), ("new_password", "newpass456"), ("confirm", "newpass456")])
        .await;
    ok.assert_redirect("/");
    a.get("/").await.assert_status(200).assert_contains("密码已修改");
    b.get("/").await.assert_redirect("/login?next=%2F");
    let mut c = app.client();
    c.login("admin", PASSWORD).await.assert_status(401);
    c.login("admin", "newpass456").await.assert_redirect("/");
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE action = 'password_change'").await, 1);
}

#[tokio::test]
async fn a_new_password_must_differ_from_the_current_one_and_the_users_names() {
    let app = app_with_admin().await;
    sqlx::query("UPDATE users SET mobile = '13900001111' WHERE login = 'admin'").execute(&app.db).await.unwrap();
    let mut a = app.login("admin").await;
    for (new, error) in [
        (PASSWORD, "新密码不能与当前密码相同"),
        ("ADMIN", "至少需要 8 位"),
        ("13900001111", "不能与登录名或手机号相同"),
    ] {
        let r = a.post("/account/password", &[("current", PASSWORD), ("new_password", new), ("confirm", new)]).await;
        r.assert_status(422);
        assert!(r.text_of(".field.has-error .field-error").contains(error), "{new}: {}", r.text_of(".field-error"));
    }
    // The mobile number with a letter in front is a password of its own.
    a.post(
        "/account/password",
        &[("current", PASSWORD), ("new_password", "x13900001111"), ("confirm", "x13900001111")],
    )
    .await
    .assert_redirect("/");
}

#[tokio::test]
async fn guesses_of_the_current_password_are_throttled() {
    let app = app_with_admin().await;
    let mut a = app.login("admin").await;
    let form =
        |current: &'static str| [("current", current), ("new_password", "newpass456"), ("confirm", "newpass456")];
    for _ in 0..4 {
        let r = a.post("/account/password", &form("wrong-guess1")).await;
        r.assert_status(422);
        assert!(r.body.contains("当前密码不正确"));
    }
    let fifth = a.post("/account/password", &form("wrong-guess1")).await;
    fifth.assert_status(429);
    assert!(fifth.text_of(".field-error").contains("当前密码错误次数过多"), "{}", fifth.text_of(".field-error"));
    // Locked: the right current password is refused too, and nothing changes.
    let r = a.post("/account/password", &form(PASSWORD)).await;
    r.assert_status(429);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE action = 'password_change'").await, 0);
    // Logging in is a budget of its own: the owner is not locked out by the guesser.
    app.client().login("admin", PASSWORD).await.assert_redirect("/");
    sqlx::query("UPDATE login_locks SET locked_until = now() - interval '1 second'").execute(&app.db).await.unwrap();
    a.post("/account/password", &form(PASSWORD)).await.assert_redirect("/");
}

#[tokio::test]
async fn pages_carry_security_headers_and_health_checks_answer() {
    let app = app_with_admin().await;
    let mut c = app.client();
    let r = c.get("/login").await;
    let csp = r.headers.get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.headers.get("x-content-type-options").unwrap(), "nosniff");
    assert_eq!(r.headers.get("referrer-policy").unwrap(), "same-origin");
    assert!(r.headers.get("x-request-id").is_some());
    let cookie = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!r.body.contains("<script>"), "no inline script");
    c.get("/healthz").await.assert_status(200);
    c.get("/readyz").await.assert_status(200);
    let css = c.get(&crm::web::assets::url("app.css")).await;
    css.assert_status(200);
    assert!(css.headers.get("cache-control").unwrap().to_str().unwrap().contains("immutable"));
}

#[tokio::test]
async fn missing_pages_render_inside_the_layout() {
    let app = app_with_admin().await;
    let mut c = app.login("admin").await;
    let r = c.get("/no/such/page").await;
    r.assert_status(404);
    assert!(r.has("aside.sidebar"), "404 inside the app layout");
    assert!(r.text_of("main h1").contains("页面不存在"));
    let anon = app.client().get("/no/such/page").await;
    anon.assert_status(404);
    assert!(!anon.has("aside.sidebar"));
}

/// axum's own rejections get the same pages: a path parameter that is not a number, a wrong
/// method, a body that is not a form.
#[tokio::test]
async fn rejected_requests_render_inside_the_layout() {
    let app = app_with_admin().await;
    let mut c = app.login("admin").await;
    let r = c.get("/customers/abc").await;
    r.assert_status(400);
    assert!(r.has("aside.sidebar"), "400 inside the app layout: {}", r.body);
    assert!(r.text_of("main h1").contains("请求无法处理"));
    assert!(r.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/html"));

    let r = c.get("/logout").await;
    r.assert_status(405);
    assert!(r.has("aside.sidebar") && r.text_of("main h1").contains("请求无法处理"));
    assert!(r.headers.get("allow").is_some(), "405 still says which methods would do");

    // Not a form (wrong content type): 415 from the extractor, as a page.
    let r = c.post_multipart("/account/password", &[("current", "x")], &[]).await;
    r.assert_status(415);
    assert!(r.has("aside.sidebar"));

    // Anonymous visitors get the public error page.
    let anon = app.client().get("/logout").await;
    anon.assert_status(405);
    assert!(anon.has("main.auth-wrap .error-card") && !anon.has("aside.sidebar"));
}

/// A panicking handler answers with the 500 page inside the layout. The app has no route that
/// panics on purpose, so this mounts one next to the real routes, under the real layers.
#[tokio::test]
async fn a_panic_renders_the_500_page_inside_the_layout() {
    let mut app = app_with_admin().await;
    let routes = crm::app::routes().into_parts().0.route(
        "/test-only-panic",
        axum::routing::get(|| async {
            if true {
                panic!("a test panic");
            }
        }),
    );
    app.router = crm::app::layered(routes, crm::AppState::new(app.db.clone(), app.config.clone()));
    let mut c = app.login("admin").await;
    let r = c.get("/test-only-panic").await;
    r.assert_status(500);
    assert!(r.has("aside.sidebar"), "500 inside the app layout: {}", r.body);
    assert!(r.text_of("main h1").contains("系统出错了"));
    // The server lives on.
    c.get("/").await.assert_status(200);
}

/// Exactly these routes are open without login; a new public route must be added here on purpose.
#[test]
fn the_public_routes_are_exactly_these() {
    let mut public: Vec<String> = crm::app::route_specs()
        .iter()
        .filter(|s| s.guard == crm::access::Guard::Public)
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    public.sort();
    assert_eq!(
        public,
        [
            "GET /calendar/feed/{file}",
            "GET /healthz",
            "GET /login",
            "GET /login/two-factor",
            "GET /readyz",
            "GET /static/{name}",
            "POST /lang",
            "POST /login",
            "POST /login/two-factor",
            "POST /logout"
        ]
    );
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_loses_its_session() {
    let app = app_with_admin().await;
    let mut c = app.login("admin").await;
    sqlx::query("UPDATE users SET status = 'disabled' WHERE login = 'admin'").execute(&app.db).await.unwrap();
    c.get("/").await.assert_redirect("/login?next=%2F");
    let r = app.client().login("admin", PASSWORD).await;
    r.assert_status(403);
    assert!(r.text_of("#login-error").contains("停用"));
}

/// `crm serve --demo` prints the demo logins only for a database that holds the demo company:
/// seeding is skipped when real users exist, and then the logins would be false (and a hint).
#[tokio::test]
async fn demo_logins_are_shown_only_for_the_demo_company() {
    let real = app_with_admin().await;
    assert!(!crm::seed::demo::seed_if_empty(&real.db).await.unwrap(), "a database with users is not seeded");
    assert!(!crm::seed::demo::present(&real.db).await.unwrap());
    let demo = TestApp::new().await;
    assert!(crm::seed::demo::seed_if_empty(&demo.db).await.unwrap());
    assert!(crm::seed::demo::present(&demo.db).await.unwrap());
    // A later start finds it again.
    assert!(!crm::seed::demo::seed_if_empty(&demo.db).await.unwrap());
    assert!(crm::seed::demo::present(&demo.db).await.unwrap());
}

/// Every catalog key used in code or templates exists in both languages, and both catalogs
/// have the same keys.
#[test]
fn the_message_catalog_is_complete() {
    use crm::web::i18n::{EN_SOURCE, ZH_SOURCE, parse};
    let zh = parse(ZH_SOURCE);
    let en = parse(EN_SOURCE);
    let mut missing: Vec<String> =
        zh.keys().filter(|k| !en.contains_key(*k)).map(|k| format!("en lacks {k}")).collect();
    missing.extend(en.keys().filter(|k| !zh.contains_key(*k)).map(|k| format!("zh-CN lacks {k}")));

    let namespaces: std::collections::BTreeSet<&str> = zh.keys().filter_map(|k| k.split('.').next()).collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    collect(&root.join("templates"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for literal in text.split('"').skip(1).step_by(2) {
            let looks_like_key = literal.contains('.')
                && !literal.ends_with('.')
                && literal.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
                && namespaces.contains(literal.split('.').next().unwrap())
                && ![".css", ".js", ".svg", ".png", ".html", ".sql", ".txt", ".xlsx", ".csv"]
                    .iter()
                    .any(|x| literal.ends_with(x));
            if looks_like_key && !zh.contains_key(literal) {
                missing.push(format!("{} uses {literal}", file.strip_prefix(root).unwrap().display()));
            }
        }
    }
    for m in crm::access::MODULES {
        for key in std::iter::once(format!("module.{}", m.code)).chain(m.actions.iter().map(|a| a.label_key())) {
            if !zh.contains_key(key.as_str()) {
                missing.push(format!("catalog lacks {key}"));
            }
        }
    }
    for s in crm::access::ScopeKind::ALL {
        if !zh.contains_key(s.label_key().as_str()) {
            missing.push(format!("catalog lacks {}", s.label_key()));
        }
    }
    // Keys the record kernel builds from each registered kind's descriptor.
    for def in crm::app::install().records() {
        for key in def.message_keys() {
            if !zh.contains_key(key.as_str()) {
                missing.push(format!("catalog lacks {key} (record kind {})", def.entity));
            }
        }
    }
    for subject in crm::app::install().subjects() {
        if !zh.contains_key(subject.label_key()) {
            missing.push(format!("catalog lacks {} (approval subject)", subject.label_key()));
        }
    }
    missing.sort();
    missing.dedup();
    assert!(missing.is_empty(), "message catalog gaps:\n{}", missing.join("\n"));
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("rs" | "html")) {
            out.push(p);
        }
    }
}

/// The kernel folders and ground-floor files: one mechanism each, generic over the registry.
const KERNEL: &[&str] = &[
    "src/access",
    "src/attachments",
    "src/audit",
    "src/auth",
    "src/db",
    "src/dicts",
    "src/exports",
    "src/fields",
    "src/jobs",
    "src/list",
    "src/notify",
    "src/numbering",
    "src/org",
    "src/records",
    "src/timeline",
    "src/web",
    "src/workflow",
    "src/config.rs",
    "src/error.rs",
    "src/registry.rs",
    "src/state.rs",
];

/// Rust files under `path` (a folder or one file), relative to the crate, with their text.
fn sources(path: &str) -> Vec<(String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let full = root.join(path);
    let mut files = Vec::new();
    if full.is_dir() {
        collect(&full, &mut files);
    } else {
        files.push(full);
    }
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| (p.strip_prefix(root).unwrap().display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect()
}

/// The house is one-directional: the kernel names no feature module and nothing imports the
/// router file but main, the CLI and the tests; a feature module reaches another one through
/// its public functions, never its `repo`.
#[test]
fn the_kernel_names_no_module_and_modules_keep_out_of_each_others_repo() {
    let mut wrong = Vec::new();
    for dir in KERNEL {
        for (file, text) in sources(dir) {
            for needle in ["crate::modules", "crate::app"] {
                if text.contains(needle) {
                    wrong.push(format!("{file} names {needle}: the kernel must reach modules through the registry"));
                }
            }
        }
    }
    for (file, text) in sources("src") {
        let allowed = ["src/app.rs", "src/cli.rs", "src/main.rs"].contains(&file.as_str());
        if !allowed && text.contains("crate::app") {
            wrong.push(format!("{file} imports crate::app: AppState is in crate::state"));
        }
    }
    for (file, text) in sources("src/modules") {
        let parts: Vec<&str> = file.split('/').collect();
        // src/modules/<m>/... or src/modules/admin/<area>/...
        let own = if parts.get(2) == Some(&"admin") { parts.get(3) } else { parts.get(2) };
        let own = own.map(|m| m.trim_end_matches(".rs")).unwrap_or_default();
        for (at, _) in text.match_indices("::repo") {
            let path_start =
                text[..at].rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).map_or(0, |i| i + 1);
            let path = &text[path_start..at];
            let owner = path.rsplit("::").next().unwrap_or_default();
            let foreign = path.contains("modules::") && owner != own;
            if foreign || path.starts_with("super::super") {
                wrong.push(format!("{file} reaches into {path}::repo: call that module's public functions"));
            }
        }
    }
    assert!(wrong.is_empty(), "architecture:\n{}", wrong.join("\n"));
}

/// Every rule block of the stylesheet is closed: one missing `}` (easily lost when two changes
/// append to the file) swallows every rule after it, and pages lose their layout silently.
#[test]
fn the_stylesheet_closes_every_block() {
    let css = include_str!("../static/app.css");
    let mut depth = 0i32;
    for (n, line) in css.lines().enumerate() {
        for ch in line.chars() {
            match ch {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "app.css line {}: a `}}` closes nothing", n + 1);
        }
    }
    assert_eq!(depth, 0, "app.css leaves {depth} block(s) open");
}

/// Pages and static text go out compressed to a browser that takes gzip or brotli, and decode to
/// the same page; a spreadsheet download is sent as it is (an .xlsx is a zip already).
#[tokio::test]
async fn pages_are_compressed_and_downloads_are_not() {
    use std::io::Read;
    common::init_logging();
    let app = TestApp::new().await;
    crm::seed::demo::seed(&app.db).await.unwrap();
    let mut c = app.client();
    let r = c.login(crm::seed::demo::ADMIN.0, crm::seed::demo::ADMIN.1).await;
    assert_eq!(r.status, 303);
    let plain = c.get("/customers?scene=all").await;
    plain.assert_status(200);
    assert!(plain.headers.get("content-encoding").is_none(), "no Accept-Encoding, no compression");

    c.headers.push(("accept-encoding".into(), "gzip".into()));
    let zipped = c.get("/customers?scene=all").await;
    assert_eq!(zipped.headers.get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    let mut page = String::new();
    flate2::read::GzDecoder::new(&zipped.bytes[..]).read_to_string(&mut page).unwrap();
    assert!(page.contains("id=\"list-table\""), "it decodes to the page");
    assert!(zipped.bytes.len() * 3 < page.len(), "{} bytes for a {}-byte page", zipped.bytes.len(), page.len());
    println!("customer list: {} bytes, {} gzip", page.len(), zipped.bytes.len());

    c.headers = vec![("accept-encoding".into(), "br".into())];
    let css = c.get(&crm::web::assets::url("app.css")).await;
    assert_eq!(css.headers.get("content-encoding").and_then(|v| v.to_str().ok()), Some("br"));
    let brotli = c.get("/customers?scene=all").await;
    println!("customer list: {} bytes brotli", brotli.bytes.len());

    c.headers = vec![("accept-encoding".into(), "gzip, br".into())];
    let template = c.get("/customers/import/template.xlsx").await;
    template.assert_status(200);
    assert!(template.headers.get("content-encoding").is_none(), "a spreadsheet is sent as it is");
}
