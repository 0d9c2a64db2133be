//! Two-factor sign-in: enrolment (codes computed here from the secret with the same TOTP crate),
//! the code step at sign-in, recovery codes, replayed codes, the lockout, roles that require it,
//! the admin's reset, and that nobody reaches another user's.

use super::common::{Client, PASSWORD, TestApp};

/// The code of `secret` `steps` 30-second steps from now (RFC 6238, SHA-1, 6 digits).
fn code(secret: &str, steps: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).unwrap();
    totp.generate((chrono::Utc::now().timestamp() + steps * 30) as u64)
}

async fn audits(app: &TestApp, user: i64, action: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM operation_logs WHERE entity = 'user' AND entity_id = $1 AND action = $2")
        .bind(user)
        .bind(action)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// `login` (a signed-in client) turns two-factor sign-in on; returns the secret and the recovery
/// codes shown.
async fn enrol(c: &mut Client) -> (String, Vec<String>) {
    let page = c.get("/account/two-factor").await;
    page.assert_status(200);
    assert!(page.attr("#qr", "src").unwrap().starts_with("data:image/svg+xml;base64,"), "an inline QR code");
    let secret = page.text_of("#secret").replace(' ', "");
    assert_eq!(secret.len(), 32, "160 bits in base32");
    // The same secret on a reload (kept in the session until confirmed).
    assert_eq!(c.get("/account/two-factor").await.text_of("#secret").replace(' ', ""), secret);
    c.post("/account/two-factor/enable", &[("code", &code(&secret, 0))]).await.assert_redirect("/account/two-factor");
    let page = c.get("/account/two-factor").await;
    page.assert_status(200);
    let codes: Vec<String> = page.text_of("#new-codes li").lines().map(String::from).collect();
    assert_eq!(codes.len(), 10, "ten recovery codes: {}", page.text_of("main"));
    (secret, codes)
}

/// Password, then the code step with `typed`.
async fn sign_in(app: &TestApp, login: &str, typed: &str) -> (Client, super::common::Resp) {
    let mut c = app.client();
    c.login(login, PASSWORD).await.assert_redirect("/login/two-factor");
    c.get("/login/two-factor").await.assert_status(200);
    let r = c.post("/login/two-factor", &[("code", typed)]).await;
    (c, r)
}

#[tokio::test]
async fn enrol_then_sign_in_with_a_code_a_replay_is_refused() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let id = app.user("zhang", root, None, &["rep"]).await;
    let mut c = app.login("zhang").await;
    c.get("/account/two-factor").await.assert_status(200).assert_contains("/account/two-factor/enable");

    // A wrong code does not turn it on.
    let secret = c.get("/account/two-factor").await.text_of("#secret").replace(' ', "");
    let wrong = if code(&secret, 0) == "000000" { "111111" } else { "000000" };
    c.post("/account/two-factor/enable", &[("code", wrong)]).await.assert_status(422);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM users WHERE id = {id} AND totp_enabled_at IS NOT NULL")).await,
        0
    );

    let (secret, codes) = enrol(&mut c).await;
    assert_eq!(audits(&app, id, "two_factor_enable").await, 1);
    // Stored hashed (argon2), never as shown; shown only once.
    let hashes: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM user_recovery_codes WHERE user_id = $1")
        .bind(id)
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(hashes.len(), 10);
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$")));
    assert!(codes.iter().all(|c| !hashes.iter().any(|h| h.contains(c.as_str()))));
    let again = c.get("/account/two-factor").await;
    assert!(!again.has("#new-codes"), "recovery codes are shown once");
    assert!(again.text_of("#codes-left").contains("10"));

    // The password alone gives no session.
    let mut half = app.client();
    half.login("zhang", PASSWORD).await.assert_redirect("/login/two-factor");
    half.get("/").await.assert_redirect("/login?next=%2F");
    // The code that confirmed the enrolment does not sign in (its step is used).
    half.get("/login/two-factor").await;
    half.post("/login/two-factor", &[("code", &code(&secret, 0))]).await.assert_status(401);

    // The next step's code does (one step of drift allowed), once.
    let next = code(&secret, 1);
    let (mut signed, r) = sign_in(&app, "zhang", &next).await;
    r.assert_redirect("/");
    signed.get("/").await.assert_status(200);
    let (_, replay) = sign_in(&app, "zhang", &next).await;
    replay.assert_status(401);
    assert!(replay.text_of("#code-error").contains("已使用"), "{}", replay.text_of("#code-error"));
    // Two steps away is too far.
    let (_, far) = sign_in(&app, "zhang", &code(&secret, 3)).await;
    far.assert_status(401);

    let results: Vec<String> = sqlx::query_scalar("SELECT result FROM login_log WHERE user_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert!(results.contains(&"code_required".to_string()) && results.contains(&"bad_code".to_string()), "{results:?}");
    assert_eq!(results.iter().filter(|r| *r == "ok").count(), 2, "the first login and the code sign-in: {results:?}");
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let id = app.user("li", app.root_dept().await, None, &["rep"]).await;
    let mut c = app.login("li").await;
    let (_, codes) = enrol(&mut c).await;

    // Typed in capitals, without the dash: still the code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let (mut signed, r) = sign_in(&app, "li", &typed).await;
    r.assert_redirect("/");
    let home = signed.get("/").await;
    home.assert_status(200);
    assert!(home.text_of(".flash").contains('9'), "says how many are left: {}", home.text_of(".flash"));
    assert_eq!(audits(&app, id, "recovery_code_used").await, 1);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM user_recovery_codes WHERE user_id = {id} AND used_at IS NULL")).await,
        9
    );

    let (_, again) = sign_in(&app, "li", &codes[3]).await;
    again.assert_status(401);
    // Another one still works.
    let (_, other) = sign_in(&app, "li", &codes[4]).await;
    other.assert_redirect("/");
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_and_a_right_password_does_not_reset_them() {
    super::common::init_logging();
    let app = TestApp::with_config(|c| c.login_max_failures = 4).await;
    app.user("wang", app.root_dept().await, None, &["rep"]).await;
    let mut c = app.login("wang").await;
    let (secret, _) = enrol(&mut c).await;
    sqlx::query("DELETE FROM login_locks").execute(&app.db).await.unwrap();

    // Attempts 1 (password) and 2 (a wrong code).
    let (_, r) = sign_in(&app, "wang", "000000x").await;
    r.assert_status(401);
    // 3 (the right password again: not a reset) and 4 (a wrong code: the account locks).
    let (_, r) = sign_in(&app, "wang", "abcde-fghjk").await;
    r.assert_status(429);
    assert!(r.text_of("#login-error").contains("锁定"), "{}", r.text_of("main"));
    // Locked: the right password and code get nowhere.
    let mut c = app.client();
    let r = c.login("wang", PASSWORD).await;
    r.assert_status(429);
    let _ = secret;
    assert_eq!(app.count("SELECT count(*) FROM login_log WHERE result = 'locked'").await, 1);
}

#[tokio::test]
async fn a_role_that_requires_it_sends_its_holders_to_enrolment_first() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let root = app.root_dept().await;
    let rep_id = app.user("zhao", root, None, &["rep"]).await;
    app.user("qian", root, None, &["readonly"]).await;
    let mut a = app.login("admin").await;
    let rep_role: i64 = app.count("SELECT id FROM roles WHERE code = 'rep'").await;

    let roles = a.get("/admin/roles").await;
    roles.assert_status(200);
    assert!(roles.has("#two-factor input[name=required]"));
    a.post("/admin/roles/two-factor", &[("required", &rep_role.to_string())]).await.assert_redirect("/admin/roles");
    assert_eq!(app.count("SELECT count(*) FROM roles WHERE totp_required").await, 1);
    let logged: i64 = app
        .count(&format!(
            "SELECT count(*) FROM operation_logs WHERE entity = 'role' AND entity_id = {rep_role} AND actor_id = {admin}
               AND changes::text LIKE '%two_factor_required%'"
        ))
        .await;
    assert_eq!(logged, 1);

    // After the password: enrolment, and nothing else.
    let mut c = app.client();
    c.login("zhao", PASSWORD).await.assert_redirect("/");
    c.get("/").await.assert_redirect("/account/two-factor");
    c.get("/customers").await.assert_redirect("/account/two-factor");
    c.get("/account/password").await.assert_redirect("/account/two-factor");
    let page = c.get("/account/two-factor").await;
    page.assert_status(200);
    assert!(page.has("#must-enrol"));
    assert_eq!(page.count(".sidebar .nav-link"), 0, "no way out in the menu");
    c.post("/customers", &[("name", "某公司")]).await.assert_redirect("/account/two-factor");
    c.post("/account/password", &[("current", PASSWORD)]).await.assert_redirect("/account/two-factor");
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
    // Logging out still works (in a session of its own: this one goes on to enrol).
    let mut out = app.client();
    out.login("zhao", PASSWORD).await.assert_redirect("/");
    out.get("/account/two-factor").await.assert_status(200);
    out.post("/logout", &[]).await.assert_redirect("/login");

    enrol(&mut c).await;
    c.get("/").await.assert_status(200);
    c.get("/customers").await.assert_status(200);
    assert_eq!(audits(&app, rep_id, "two_factor_enable").await, 1);

    // Holders of other roles are not asked.
    let mut other = app.login("qian").await;
    other.get("/").await.assert_status(200);

    // The super admin role too: the admin is sent to enrolment on their next request.
    let super_role: i64 = app.count("SELECT id FROM roles WHERE is_super").await;
    a.post("/admin/roles/two-factor", &[("required", &rep_role.to_string()), ("required", &super_role.to_string())])
        .await
        .assert_redirect("/admin/roles");
    a.get("/admin/users").await.assert_redirect("/account/two-factor");
}

#[tokio::test]
async fn an_admin_resets_a_lost_phone_and_others_cannot() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let admin = app.admin().await;
    let root = app.root_dept().await;
    let id = app.user("sun", root, None, &["rep"]).await;
    app.user("boss", root, None, &["director"]).await;
    let mut c = app.login("sun").await;
    enrol(&mut c).await;

    // A director without user admin rights cannot reset it.
    let mut boss = app.login("boss").await;
    boss.post(&format!("/admin/users/{id}/two-factor/reset"), &[]).await.assert_status(403);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM users WHERE id = {id} AND totp_enabled_at IS NOT NULL")).await,
        1
    );

    let mut a = app.login("admin").await;
    let edit = a.get(&format!("/admin/users/{id}/edit")).await;
    assert!(edit.has("#two-factor form"), "a reset button while it is on");
    a.post(&format!("/admin/users/{id}/two-factor/reset"), &[])
        .await
        .assert_redirect(&format!("/admin/users/{id}/edit"));
    let after = a.get(&format!("/admin/users/{id}/edit")).await;
    assert!(after.text_of(".flash").contains("已重置"), "{}", after.text_of(".flash"));
    assert!(!after.has("#two-factor form"));
    assert_eq!(app.count(&format!("SELECT count(*) FROM users WHERE id = {id} AND totp_secret IS NOT NULL")).await, 0);
    assert_eq!(app.count(&format!("SELECT count(*) FROM user_recovery_codes WHERE user_id = {id}")).await, 0);
    let by_admin: i64 = app
        .count(&format!(
            "SELECT count(*) FROM operation_logs WHERE entity = 'user' AND entity_id = {id}
               AND action = 'two_factor_reset' AND actor_id = {admin}"
        ))
        .await;
    assert_eq!(by_admin, 1);
    // The password alone signs in again.
    let mut again = app.client();
    again.login("sun", PASSWORD).await.assert_redirect("/");
}

#[tokio::test]
async fn a_user_reaches_only_their_own_two_factor() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let root = app.root_dept().await;
    let a_id = app.user("usera", root, None, &["rep"]).await;
    let b_id = app.user("userb", root, None, &["manager"]).await;
    let mut a = app.login("usera").await;
    let (a_secret, _) = enrol(&mut a).await;

    // B sees their own, not A's: an enrolment form with a different secret.
    let mut b = app.login("userb").await;
    let page = b.get("/account/two-factor").await;
    let b_secret = page.text_of("#secret").replace(' ', "");
    assert!(!b_secret.is_empty() && b_secret != a_secret);
    assert!(!page.body.contains(&a_secret));
    // A's code neither enrols B nor turns A's off from B's session; B cannot reset A's.
    b.post("/account/two-factor/enable", &[("code", &code(&a_secret, 1))]).await.assert_status(422);
    b.post("/account/two-factor/disable", &[("proof", &code(&a_secret, 1))])
        .await
        .assert_redirect("/account/two-factor");
    b.post("/account/two-factor/recovery-codes", &[("proof", PASSWORD)]).await.assert_redirect("/account/two-factor");
    b.post(&format!("/admin/users/{a_id}/two-factor/reset"), &[]).await.assert_status(403);
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM users WHERE id = {a_id} AND totp_enabled_at IS NOT NULL")).await,
        1
    );
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM users WHERE id = {b_id} AND totp_secret IS NOT NULL")).await,
        0
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM user_recovery_codes WHERE user_id = {b_id}")).await, 0);
    // The admin page shows nothing of it to non-admins.
    b.get(&format!("/admin/users/{a_id}/edit")).await.assert_status(403);
    // A's password typed in B's signed-in browser: B's session ends there, A's waits for a code.
    b.post("/login", &[("login", "usera"), ("password", PASSWORD)]).await.assert_redirect("/login/two-factor");
    b.get("/").await.assert_redirect("/login?next=%2F");
}

#[tokio::test]
async fn new_recovery_codes_and_turning_off_need_a_code_or_the_password() {
    super::common::init_logging();
    let app = TestApp::new().await;
    let id = app.user("zhou", app.root_dept().await, None, &["rep"]).await;
    let mut c = app.login("zhou").await;
    let (secret, old_codes) = enrol(&mut c).await;

    c.post("/account/two-factor/recovery-codes", &[("proof", "wrong-password")]).await.assert_status(422);
    c.post("/account/two-factor/recovery-codes", &[("proof", PASSWORD)]).await.assert_redirect("/account/two-factor");
    let page = c.get("/account/two-factor").await;
    let new_codes: Vec<String> = page.text_of("#new-codes li").lines().map(String::from).collect();
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|n| !old_codes.contains(n)));
    assert_eq!(audits(&app, id, "recovery_codes_renew").await, 1);
    // The old codes stopped working.
    let (_, r) = sign_in(&app, "zhou", &old_codes[0]).await;
    r.assert_status(401);

    c.post("/account/two-factor/disable", &[("proof", "000000x")]).await.assert_status(422);
    c.post("/account/two-factor/disable", &[("proof", &code(&secret, 1))]).await.assert_redirect("/account/two-factor");
    assert_eq!(app.count(&format!("SELECT count(*) FROM users WHERE id = {id} AND totp_secret IS NOT NULL")).await, 0);
    assert_eq!(audits(&app, id, "two_factor_disable").await, 1);
    let mut again = app.client();
    again.login("zhou", PASSWORD).await.assert_redirect("/");
}
