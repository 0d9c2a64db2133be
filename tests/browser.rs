//! Browser tests: real Chromium through chromedriver against the app on a random port.
//! Screenshots land in target/screenshots/.

mod common;

use common::browser::Browser;
use common::{PASSWORD, TestApp};

#[tokio::test]
async fn login_and_the_shell_in_both_languages() {
    common::init_logging();
    let app = TestApp::new().await;
    app.admin().await;
    let b = Browser::start(&app).await;

    b.goto("/").await;
    assert_eq!(
        b.path().await,
        "/login",
        "anonymous visitors land on the login page"
    );
    b.screenshot("login-zh").await;
    b.fill("input[name=login]", "admin").await;
    b.fill("input[name=password]", "wrong-password1").await;
    b.submit_and_wait("form.form-stack button[type=submit]", "#login-error")
        .await;
    assert_eq!(b.text("#login-error").await, "登录名或密码错误。");
    b.screenshot("login-error-zh").await;

    b.login("admin", PASSWORD).await;
    assert_eq!(b.path().await, "/");
    assert!(b.text("main h1").await.contains("您好"));
    b.screenshot("home-zh").await;

    // Switch to English from the user menu.
    b.click("details.user-menu summary").await;
    b.submit_and_wait(
        "details.user-menu form.menu-form button[type=submit]:not(.current)",
        "main h1",
    )
    .await;
    assert!(b.text("main h1").await.contains("Hello"));
    b.screenshot("home-en").await;

    // Narrow screen: the sidebar becomes a drawer behind the menu button.
    b.resize(390, 844).await;
    b.screenshot("home-en-narrow").await;
    b.click("label.nav-burger").await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await; // the drawer slides in
    b.screenshot("home-en-narrow-menu").await;
    b.resize(1400, 900).await;

    b.client.delete_all_cookies().await.unwrap();
    b.goto("/login").await;
    b.screenshot("login-en").await;
    b.close().await;
}
