//! Mail (issue 19) against a real SMTP server (aiosmtpd with STARTTLS on a test CA's certificate
//! and AUTH; `common::smtp`): the settings page (accounts, encrypted password, test mail with the
//! server's answer), the outbox (exactly once with two runners, failover, retries with backoff,
//! permanent failures, a dead sender's lease), notification mails and each user's choices, and
//! who may reach the pages.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use crm::mail::outbox;
use serde_json::json;

use crate::common::smtp::{self, Smtp};
use crate::common::{TestApp, smtp::header};

const KEY: &str = "test secret key for mail passwords";

async fn fresh() -> TestApp {
    TestApp::with_config(|c| {
        c.secret_key = Some(KEY.into());
        c.smtp_ca_file = Some(smtp::certs().0.clone());
        c.smtp_host = None;
    })
    .await
}

/// A saved account on `port` (STARTTLS, the test server's user), at the next position.
async fn account(app: &TestApp, port: u16, password: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO mail_accounts (position, host, port, security, username, password_enc, from_address, from_name)
         VALUES ((SELECT COALESCE(max(position), 0) + 1 FROM mail_accounts), 'localhost', $1, 'starttls', $2, $3,
                 'crm@example.com', '销售部 CRM') RETURNING id",
    )
    .bind(i32::from(port))
    .bind(smtp::USER)
    .bind(crm::mail::crypto::seal(KEY, password))
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// A user with a mail address.
async fn member(app: &TestApp, login: &str, email: &str) -> i64 {
    let root = app.root_dept().await;
    let id = app.user(login, root, None, &["rep"]).await;
    sqlx::query("UPDATE users SET email = $2, name = '张三' WHERE id = $1")
        .bind(id)
        .bind(email)
        .execute(&app.db)
        .await
        .unwrap();
    id
}

/// An approval-task notification to `user`, as the approval engine sends it.
async fn approval_notice(app: &TestApp, user: i64) {
    let mut tx = app.db.begin().await.unwrap();
    let params = json!({ "submitter": "李四", "title": "合同审批", "subject_en": "Contract", "summary_en": "¥1,000",
                         "subject_zh": "合同", "summary_zh": "¥1,000" });
    crm::notify::send(&mut tx, user, "approval_task", params, Some("/approvals/1"), None).await.unwrap();
    tx.commit().await.unwrap();
}

async fn run(app: &TestApp, now: DateTime<Utc>) -> String {
    outbox::run(&app.db, &app.config, now).await.unwrap()
}

async fn outbox_row(app: &TestApp) -> (String, i32, Option<String>, Option<String>, Option<String>, DateTime<Utc>) {
    sqlx::query_as(
        "SELECT status, attempts, last_error, server_reply, sent_via, next_attempt_at FROM mail_outbox ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_admin_saves_an_account_with_an_encrypted_password_and_a_test_mail_reports_the_servers_answer() {
    let app = fresh().await;
    app.admin().await;
    let server = Smtp::start("accept");
    let mut admin = app.login("admin").await;
    admin.get("/admin/mail").await.assert_status(200).assert_contains("/admin/mail/accounts/new");
    let port = server.port.to_string();
    let form = [
        ("host", "localhost"),
        ("port", port.as_str()),
        ("security", "starttls"),
        ("username", smtp::USER),
        ("password", smtp::PASSWORD),
        ("from_address", "crm@example.com"),
        ("from_name", "销售部 CRM"),
        ("reply_to", "sales@example.com"),
    ];
    admin.post("/admin/mail/accounts", &form).await.assert_redirect("/admin/mail");
    let stored: String = sqlx::query_scalar("SELECT password_enc FROM mail_accounts").fetch_one(&app.db).await.unwrap();
    assert!(stored.starts_with("v1:") && !stored.contains(smtp::PASSWORD), "{stored}");
    assert_eq!(crm::mail::crypto::open(KEY, &stored).as_deref(), Some(smtp::PASSWORD));
    let audit: String = sqlx::query_scalar(
        "SELECT changes::text FROM operation_logs WHERE entity = 'mail_account' AND action = 'create'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(audit.contains("localhost") && !audit.contains(smtp::PASSWORD), "{audit}");

    let page = admin.post("/admin/mail/test", &[("to", "王五 <boss@example.com>"), ("account", "")]).await;
    page.assert_status(422);
    assert!(page.text_of(".field-error").contains("邮件地址"), "{}", page.text_of(".field-error"));

    let page = admin.post("/admin/mail/test", &[("to", "boss@example.com"), ("account", "")]).await;
    page.assert_status(200);
    assert_eq!(page.attr("#mail-test-result", "data-ok").as_deref(), Some("true"));
    let answer = page.text_of("#mail-test-answer");
    assert!(answer.starts_with("250") && answer.contains("queued as test-1"), "{answer}");
    let raw = server.wait_for(1).await;
    assert_eq!(raw.len(), 1);
    let subject = header(&raw[0], "Subject").unwrap();
    assert!(subject.contains("=?utf-8?b?") && !subject.contains('测'), "RFC 2047 encoded: {subject}");
    assert!(header(&raw[0], "From").unwrap().contains("=?utf-8?"), "encoded display name");
    let m = &server.parsed()[0];
    assert_eq!(m["headers"]["subject"], "CRM 测试邮件");
    assert_eq!(m["headers"]["from"], "销售部 CRM <crm@example.com>");
    assert_eq!(m["headers"]["reply-to"], "sales@example.com");
    assert_eq!(m["rcpt"][0], "boss@example.com");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(m["parts"][0]["type"], "text/plain");
    assert_eq!(m["parts"][1]["type"], "text/html");
    assert!(m["parts"][0]["content"].as_str().unwrap().contains(&format!("localhost:{}", server.port)));

    // A wrong password: the server's own refusal is shown, word for word.
    let id: i64 = sqlx::query_scalar("SELECT id FROM mail_accounts").fetch_one(&app.db).await.unwrap();
    let mut wrong = form.to_vec();
    wrong[4] = ("password", "wrong");
    admin.post(&format!("/admin/mail/accounts/{id}"), &wrong).await.assert_redirect("/admin/mail");
    let page = admin.post("/admin/mail/test", &[("to", "boss@example.com"), ("account", &id.to_string())]).await;
    assert_eq!(page.attr("#mail-test-result", "data-ok").as_deref(), Some("false"));
    assert!(page.text_of("#mail-test-answer").contains("535"), "{}", page.text_of("#mail-test-answer"));
    // Nothing listening: the connection error.
    server.stop();
    let page = admin.post("/admin/mail/test", &[("to", "boss@example.com"), ("account", "")]).await;
    assert!(
        page.text_of("#mail-test-answer").to_lowercase().contains("connect"),
        "{}",
        page.text_of("#mail-test-answer")
    );
}

#[tokio::test]
async fn bad_account_input_is_refused_next_to_the_field_and_kept() {
    let app = fresh().await;
    app.admin().await;
    let mut admin = app.login("admin").await;
    let page = admin
        .post(
            "/admin/mail/accounts",
            &[
                ("host", "smtp.example.com"),
                ("port", "70000"),
                ("security", "starttls"),
                ("from_address", "not an address"),
            ],
        )
        .await;
    page.assert_status(422);
    assert_eq!(page.count(".field-error"), 2);
    assert_eq!(page.attr("input[name=host]", "value").as_deref(), Some("smtp.example.com"));
    assert_eq!(page.attr("input[name=from_address]", "value").as_deref(), Some("not an address"));
    assert_eq!(app.count("SELECT count(*) FROM mail_accounts").await, 0);

    // Without CRM_SECRET_KEY a password is refused (never stored in clear); the page says why.
    let plain = TestApp::with_config(|c| c.secret_key = None).await;
    plain.admin().await;
    let mut admin = plain.login("admin").await;
    admin.get("/admin/mail").await.assert_contains("CRM_SECRET_KEY");
    let form = [
        ("host", "smtp.example.com"),
        ("port", "587"),
        ("security", "tls"),
        ("password", "pw"),
        ("from_address", "a@example.com"),
    ];
    let page = admin.post("/admin/mail/accounts", &form).await;
    page.assert_status(422);
    assert!(page.text_of(".field-error").contains("CRM_SECRET_KEY"));
    let form = [("host", "smtp.example.com"), ("port", "587"), ("security", "tls"), ("from_address", "a@example.com")];
    admin.post("/admin/mail/accounts", &form).await.assert_redirect("/admin/mail");
}

#[tokio::test]
async fn only_mail_admins_reach_the_mail_pages() {
    let app = fresh().await;
    app.admin().await;
    let root = app.root_dept().await;
    app.user("rep", root, None, &["rep", "manager", "director"]).await;
    let server = Smtp::start("accept");
    let id = account(&app, server.port, smtp::PASSWORD).await;
    let mut rep = app.login("rep").await;
    for path in
        ["/admin/mail", "/admin/mail/outbox", "/admin/mail/accounts/new", &format!("/admin/mail/accounts/{id}/edit")]
    {
        rep.get(path).await.assert_status(403);
    }
    rep.post("/admin/mail/test", &[("to", "x@example.com")]).await.assert_status(403);
    rep.post(&format!("/admin/mail/accounts/{id}/delete"), &[]).await.assert_status(403);
    rep.post(
        "/admin/mail/accounts",
        &[("host", "evil.example.com"), ("port", "25"), ("security", "none"), ("from_address", "a@b.cn")],
    )
    .await
    .assert_status(403);
    assert_eq!(app.count("SELECT count(*) FROM mail_accounts").await, 1);
    assert!(server.messages().is_empty());
    // The own-account page is everyone's.
    rep.get("/account/mail").await.assert_status(200);
    let mut admin = app.login("admin").await;
    for path in ["/admin/mail", "/admin/mail/outbox", &format!("/admin/mail/accounts/{id}/edit")] {
        admin.get(path).await.assert_status(200);
    }
}

#[tokio::test]
async fn a_notification_mail_is_sent_exactly_once_with_two_runners_at_once() {
    let app = fresh().await;
    let server = Smtp::start("accept");
    account(&app, server.port, smtp::PASSWORD).await;
    let users: Vec<i64> = futures_util::future::join_all((0..6).map(|i| {
        let app = &app;
        async move { member(app, &format!("u{i}"), &format!("u{i}@example.com")).await }
    }))
    .await;
    for u in &users {
        approval_notice(&app, *u).await;
    }
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox WHERE status = 'queued'").await, 6);
    let now = Utc::now();
    let (a, b) = tokio::join!(run(&app, now), run(&app, now));
    assert!(a.starts_with("sent") && b.starts_with("sent"), "{a} / {b}");
    // Again: nothing left to send.
    run(&app, now).await;
    let raw = server.wait_for(6).await;
    assert_eq!(raw.len(), 6, "each mail once");
    let mut rcpts: Vec<String> = server.parsed().iter().map(|m| m["rcpt"][0].as_str().unwrap().to_string()).collect();
    rcpts.sort();
    rcpts.dedup();
    assert_eq!(rcpts.len(), 6);
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox WHERE status = 'sent' AND attempts = 1").await, 6);
    let m = &server.parsed()[0];
    let subject = m["headers"]["subject"].as_str().unwrap();
    assert!(subject.contains("李四") && subject.contains("合同审批"), "{subject}");
    assert!(m["headers"]["to"].as_str().unwrap().starts_with("张三 <u"), "{}", m["headers"]["to"]);
    assert!(header(&raw[0], "To").unwrap().contains("=?utf-8?"));
    assert!(m["parts"][0]["content"].as_str().unwrap().contains("/approvals/1"));
    let (_, _, _, reply, via, _) = outbox_row(&app).await;
    assert!(reply.unwrap().starts_with("250"));
    assert_eq!(via.unwrap(), format!("localhost:{}", server.port));
}

#[tokio::test]
async fn each_user_chooses_which_notifications_come_by_mail() {
    let app = fresh().await;
    let rep = member(&app, "rep", "rep@example.com").await;
    let root = app.root_dept().await;
    let nomail = app.user("nomail", root, None, &["rep"]).await;
    // Defaults: approvals and reminders on, transfers and mentions off; no address, no mail.
    approval_notice(&app, nomail).await;
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox").await, 0);
    let mut tx = app.db.begin().await.unwrap();
    crm::notify::send(&mut tx, rep, "transfer_in", json!({"actor": "李四", "name": "甲公司", "n": 1}), None, None)
        .await
        .unwrap();
    crm::notify::send(&mut tx, rep, "task_mention", json!({"by": "李四", "title": "T", "text": "@张三"}), None, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox").await, 0);
    approval_notice(&app, rep).await;
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox WHERE user_id IS NOT NULL").await, 1);

    let mut c = app.login("rep").await;
    let page = c.get("/account/mail").await;
    page.assert_status(200);
    assert!(page.has("input[value=approvals][checked]") && page.has("input[value=reminders][checked]"));
    assert!(!page.has("input[value=transfers][checked]") && !page.has("input[value=mentions][checked]"));
    // Approvals off, transfers on.
    c.post("/account/mail", &[("topic", "reminders"), ("topic", "transfers")]).await.assert_redirect("/account/mail");
    approval_notice(&app, rep).await;
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox").await, 1);
    let mut tx = app.db.begin().await.unwrap();
    crm::notify::send(&mut tx, rep, "transfer_in", json!({"actor": "李四", "name": "甲公司", "n": 1}), None, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox").await, 2);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE action = 'mail_prefs'").await, 1);

    // A reminder becomes a notification and its mail in one go (the kernel job).
    sqlx::query("INSERT INTO reminders (user_id, due_at, kind, params) VALUES ($1, now() - interval '1 minute', 'reminder', '{\"text\":\"回访甲公司\"}')")
        .bind(rep)
        .execute(&app.db)
        .await
        .unwrap();
    let ctx = crm::jobs::JobCtx { db: app.db.clone(), config: Arc::new(app.config.clone()), now: Utc::now() };
    crm::jobs::run_named(ctx, &["deliver_reminders"]).await;
    let subject: String = sqlx::query_scalar("SELECT subject FROM mail_outbox ORDER BY id DESC LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(subject, "提醒：回访甲公司");
    // A mail enqueued in a transaction that rolls back never exists.
    let mut tx = app.db.begin().await.unwrap();
    crm::notify::send(&mut tx, rep, "reminder", json!({"text": "x"}), None, None).await.unwrap();
    drop(tx);
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox").await, 3);
}

#[tokio::test]
async fn when_the_primary_refuses_or_is_down_the_fallback_sends() {
    let app = fresh().await;
    let refusing = Smtp::start("refuse");
    let fallback = Smtp::start("accept");
    account(&app, refusing.port, smtp::PASSWORD).await;
    account(&app, fallback.port, smtp::PASSWORD).await;
    let u = member(&app, "u", "u@example.com").await;
    approval_notice(&app, u).await;
    run(&app, Utc::now()).await;
    let (status, _, _, _, via, _) = outbox_row(&app).await;
    assert_eq!(status, "sent");
    assert_eq!(via.unwrap(), format!("localhost:{}", fallback.port));
    assert_eq!(fallback.wait_for(1).await.len(), 1);

    // The primary down (nothing listens there any more).
    refusing.stop();
    approval_notice(&app, u).await;
    run(&app, Utc::now()).await;
    let (status, ..) = outbox_row(&app).await;
    assert_eq!(status, "sent");
    assert_eq!(fallback.wait_for(2).await.len(), 2);
}

#[tokio::test]
async fn with_every_account_down_a_mail_is_retried_with_backoff_then_failed_with_the_reason() {
    let app = fresh().await;
    account(&app, smtp::free_port(), smtp::PASSWORD).await;
    account(&app, smtp::free_port(), smtp::PASSWORD).await;
    let u = member(&app, "u", "u@example.com").await;
    approval_notice(&app, u).await;
    let mut now = Utc::now();
    for (i, wait) in outbox::BACKOFF_MINUTES.iter().enumerate() {
        assert_eq!(run(&app, now).await, "sent 0, retry 1, failed 0");
        let (status, attempts, error, ..) = outbox_row(&app).await;
        let next = outbox_row(&app).await.5;
        assert_eq!((status.as_str(), attempts), ("queued", i as i32 + 1));
        assert!(error.unwrap().contains("Connection error"));
        assert!((next - now - Duration::minutes(*wait)).num_seconds().abs() <= 1, "backoff {wait} min");
        // Not before its time.
        assert_eq!(run(&app, now + Duration::minutes(*wait) - Duration::seconds(5)).await, "sent 0, retry 0, failed 0");
        now += Duration::minutes(*wait);
    }
    assert_eq!(run(&app, now).await, "sent 0, retry 0, failed 1");
    let (status, attempts, error, ..) = outbox_row(&app).await;
    assert_eq!((status.as_str(), attempts), ("failed", outbox::BACKOFF_MINUTES.len() as i32 + 1));
    assert_eq!(error.unwrap().matches("Connection error").count(), 2, "both accounts' answers");

    // Both refusing for good (5xx): failed at once, with the server's answer.
    let app = fresh().await;
    let a = Smtp::start("refuse");
    let b = Smtp::start("refuse");
    account(&app, a.port, smtp::PASSWORD).await;
    account(&app, b.port, smtp::PASSWORD).await;
    let u = member(&app, "u", "u@example.com").await;
    approval_notice(&app, u).await;
    assert_eq!(run(&app, Utc::now()).await, "sent 0, retry 0, failed 1");
    let (status, attempts, error, ..) = outbox_row(&app).await;
    assert_eq!((status.as_str(), attempts), ("failed", 1));
    assert!(error.unwrap().contains("550"));

    // A temporary refusal (451) is retried.
    let c = Smtp::start("tempfail");
    sqlx::query("DELETE FROM mail_accounts").execute(&app.db).await.unwrap();
    account(&app, c.port, smtp::PASSWORD).await;
    approval_notice(&app, u).await;
    assert_eq!(run(&app, Utc::now()).await, "sent 0, retry 1, failed 0");
    assert!(outbox_row(&app).await.2.unwrap().contains("451"));
}

#[tokio::test]
async fn a_mail_left_sending_by_a_dead_instance_is_sent_after_its_lease_and_nothing_is_lost() {
    let app = fresh().await;
    let u = member(&app, "u", "u@example.com").await;
    // Queued while no account exists: it waits.
    approval_notice(&app, u).await;
    assert!(run(&app, Utc::now()).await.starts_with("no mail account"));
    let server = Smtp::start("accept");
    account(&app, server.port, smtp::PASSWORD).await;
    // An instance claimed it and died before sending (its claim committed, then nothing).
    let now = Utc::now();
    sqlx::query("UPDATE mail_outbox SET status = 'sending', attempts = 1, next_attempt_at = $1")
        .bind(now + outbox::LEASE)
        .execute(&app.db)
        .await
        .unwrap();
    // A new app on the same database (the restart) leaves it alone during the lease...
    let restarted = crm::router(crm::app::AppState::new(app.db.clone(), app.config.clone()));
    drop(restarted);
    assert_eq!(run(&app, now + Duration::minutes(5)).await, "sent 0, retry 0, failed 0");
    assert!(server.messages().is_empty());
    // ...and sends it once the lease has passed.
    assert_eq!(run(&app, now + outbox::LEASE + Duration::seconds(1)).await, "sent 1, retry 0, failed 0");
    assert_eq!(server.wait_for(1).await.len(), 1);
    assert_eq!(outbox_row(&app).await.1, 2);
}

#[tokio::test]
async fn the_environment_is_the_first_account_until_one_is_saved() {
    let server = Smtp::start("accept");
    let app = TestApp::with_config(|c| {
        c.secret_key = Some(KEY.into());
        c.smtp_ca_file = Some(smtp::certs().0.clone());
        c.smtp_host = Some("localhost".into());
        c.smtp_port = server.port;
        c.smtp_security = "starttls".into();
        c.smtp_user = Some(smtp::USER.into());
        c.smtp_password = Some(smtp::PASSWORD.into());
        c.smtp_from = "env@example.com".into();
    })
    .await;
    app.admin().await;
    let mut admin = app.login("admin").await;
    admin.get("/admin/mail").await.assert_contains(&format!("localhost:{}", server.port));
    let u = member(&app, "u", "u@example.com").await;
    approval_notice(&app, u).await;
    assert_eq!(run(&app, Utc::now()).await, "sent 1, retry 0, failed 0");
    assert_eq!(server.parsed()[0]["headers"]["from"], "env@example.com");
    // Saved account wins (here: one nothing listens on, so the mail is retried, not sent via env).
    account(&app, smtp::free_port(), smtp::PASSWORD).await;
    approval_notice(&app, u).await;
    assert_eq!(run(&app, Utc::now()).await, "sent 0, retry 1, failed 0");
    assert_eq!(server.messages().len(), 1);
}

#[tokio::test]
async fn the_outbox_page_lists_mails_with_their_reason_and_retries_or_cancels_them() {
    let app = fresh().await;
    app.admin().await;
    let refusing = Smtp::start("refuse");
    account(&app, refusing.port, smtp::PASSWORD).await;
    let u = member(&app, "u", "u@example.com").await;
    approval_notice(&app, u).await;
    run(&app, Utc::now()).await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM mail_outbox").fetch_one(&app.db).await.unwrap();
    let mut admin = app.login("admin").await;
    let page = admin.get("/admin/mail/outbox?status=failed").await;
    page.assert_status(200);
    let reason = page.text_of("#mail-outbox .reason");
    assert!(reason.contains("permanent error (550): 5.7.1 Refused by the test server"), "{reason}");
    admin.post(&format!("/admin/mail/outbox/{id}/retry"), &[]).await.assert_redirect("/admin/mail/outbox");
    assert_eq!(outbox_row(&app).await.0, "queued");
    admin.post(&format!("/admin/mail/outbox/{id}/cancel"), &[]).await.assert_redirect("/admin/mail/outbox");
    assert_eq!(outbox_row(&app).await.0, "cancelled");
    assert_eq!(run(&app, Utc::now()).await, "sent 0, retry 0, failed 0");
    admin.post(&format!("/admin/mail/outbox/{id}/cancel"), &[]).await.assert_status(409);
    assert_eq!(app.count("SELECT count(*) FROM operation_logs WHERE entity = 'mail_outbox'").await, 2);
    let root = app.root_dept().await;
    app.user("rep", root, None, &["rep"]).await;
    let mut rep = app.login("rep").await;
    rep.post(&format!("/admin/mail/outbox/{id}/retry"), &[]).await.assert_status(403);
}

/// `n` mails `user` sent at `at` (as the outbox keeps them).
async fn sent_mails(app: &TestApp, user: i64, n: i64, at: DateTime<Utc>, kind: &str) {
    sqlx::query(
        "INSERT INTO mail_outbox (kind, created_by, to_address, subject, body_text, status, created_at)
         SELECT $1, $2, 'x@example.com', 's', 'b', 'sent', $3 FROM generate_series(1, $4)",
    )
    .bind(kind)
    .bind(user)
    .bind(at)
    .bind(n)
    .execute(&app.db)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_401st_mail_of_the_day_is_refused_with_what_remains() {
    let app = fresh().await;
    let admin = app.admin().await;
    let server = Smtp::start("accept");
    account(&app, server.port, smtp::PASSWORD).await;
    let today = crm::mail::quota::day_start(Utc::now(), app.config.timezone);
    sent_mails(&app, admin, 399, today, "test").await;
    // Yesterday's (in CRM_TIMEZONE, a second before local midnight) and system mail do not count.
    sent_mails(&app, admin, 50, today - Duration::seconds(1), "test").await;
    sent_mails(&app, admin, 30, Utc::now(), "notification").await;
    let mut c = app.login("admin").await;
    let page = c.post("/admin/mail/test", &[("to", "boss@example.com")]).await;
    page.assert_status(200);
    assert_eq!(page.attr("#mail-test-result", "data-ok").as_deref(), Some("true"), "the 400th");
    let page = c.post("/admin/mail/test", &[("to", "boss@example.com")]).await;
    page.assert_status(422);
    assert_eq!(page.text_of(".field-error"), "超出今日发送配额：今天还可发送 0 封。");
    assert_eq!(page.attr("input[name=to]", "value").as_deref(), Some("boss@example.com"));
    assert_eq!(server.wait_for(1).await.len(), 1, "the 401st never went out");
    assert_eq!(app.count("SELECT count(*) FROM mail_outbox WHERE kind = 'test'").await, 400 + 50);

    // Per user: a limit of its own wins.
    let page = c.post("/admin/mail/quota/users", &[("user", &admin.to_string()), ("limit", "lots")]).await;
    page.assert_status(422);
    assert!(page.text_of(".field-error").contains("0 到 1000000"));
    assert_eq!(page.attr("input[name=limit]", "value").as_deref(), Some("lots"));
    c.post("/admin/mail/quota/users", &[("user", &admin.to_string()), ("limit", "401")])
        .await
        .assert_redirect("/admin/mail/quota");
    c.post("/admin/mail/test", &[("to", "boss@example.com")]).await.assert_status(200);
    let page = c.post("/admin/mail/test", &[("to", "boss@example.com")]).await;
    page.assert_status(422);
    // Per role: removing the user's own limit, the role's applies.
    c.post("/admin/mail/quota/users", &[("user", &admin.to_string()), ("limit", "")]).await;
    let super_role: i64 =
        sqlx::query_scalar("SELECT id FROM roles WHERE code = 'super'").fetch_one(&app.db).await.unwrap();
    c.post("/admin/mail/quota/roles", &[(format!("role_{super_role}").as_str(), "402")])
        .await
        .assert_redirect("/admin/mail/quota");
    c.post("/admin/mail/test", &[("to", "boss@example.com")]).await.assert_status(200);
    c.post("/admin/mail/test", &[("to", "boss@example.com")]).await.assert_status(422);
    assert_eq!(server.wait_for(3).await.len(), 3);
    assert!(app.count("SELECT count(*) FROM operation_logs WHERE changes::text LIKE '%mail_daily_limit%'").await >= 3);

    // Usage per user and department per day.
    let page = c.get("/admin/mail/quota").await;
    page.assert_status(200);
    let users = page.text_of("#mail-usage-users");
    assert!(users.contains("用户admin402") && users.contains("用户admin50"), "{users}");
    assert!(page.text_of("#mail-usage-depts").contains("402"), "{}", page.text_of("#mail-usage-depts"));
    let root = app.root_dept().await;
    app.user("rep", root, None, &["rep"]).await;
    let mut rep = app.login("rep").await;
    rep.get("/admin/mail/quota").await.assert_status(403);
    rep.post("/admin/mail/quota/users", &[("user", &admin.to_string()), ("limit", "100000")]).await.assert_status(403);
}
