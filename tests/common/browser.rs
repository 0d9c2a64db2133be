//! Browser-test helper: serves the app on a random port, starts chromedriver + headless Chromium,
//! and saves screenshots under target/screenshots/.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::TestApp;

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    server: tokio::task::JoinHandle<()>,
    profile: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn find(candidates: &[&str]) -> String {
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .unwrap_or_else(|| candidates[0].to_string())
}

impl Browser {
    pub async fn start(app: &TestApp) -> Browser {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = app.router.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });

        let port = free_port();
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| {
            find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver", "/usr/lib/chromium-browser/chromedriver"])
        });
        // Its own process group, so Chromium (its child) can be killed with it, by that id.
        let mut driver = Command::new(&driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {driver_bin}: {e} (scripts/test installs chromium-driver)"));
        let chrome = std::env::var("CHROME")
            .unwrap_or_else(|_| find(&["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]));
        let profile = std::env::temp_dir().join(format!("crm-chrome-{port}"));
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,900", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": { "intl.accept_languages": "zh-CN,zh" }
            }
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let mut last_err = None;
        let mut client = None;
        for _ in 0..50 {
            match ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).connect(&url).await {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        let Some(client) = client else {
            server.abort();
            stop_driver(&mut driver, &profile);
            panic!("cannot connect to chromedriver: {last_err:?}");
        };
        Browser { client, base: format!("http://{addr}"), driver, server, profile }
    }

    pub async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{}", self.base, path)).await.unwrap();
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}"));
        el.clear().await.unwrap();
        el.send_keys(value).await.unwrap();
    }

    pub async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).click().await.unwrap();
    }

    pub async fn text(&self, css: &str) -> String {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css}: {e}")).text().await.unwrap()
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Log in through the form and wait for the app shell.
    pub async fn login(&self, login: &str, password: &str) {
        self.goto("/login").await;
        self.fill("input[name=login]", login).await;
        self.fill("input[name=password]", password).await;
        self.submit_and_wait("form.form-stack button[type=submit]", "aside.sidebar").await;
    }

    /// Press Enter in a field (submits its form), then wait for `css` on the next page.
    pub async fn enter_and_wait(&self, field: &str, css: &str) {
        self.client.execute("document.body.setAttribute('data-stale', '1')", vec![]).await.unwrap();
        let el = self.client.find(Locator::Css(field)).await.unwrap_or_else(|e| panic!("no {field}: {e}"));
        el.send_keys("\u{E007}").await.unwrap();
        self.wait_for(&format!("body:not([data-stale]) {css}")).await;
    }

    /// Wait until an element matching `css` is on the page.
    pub async fn wait_for(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"));
    }

    /// Click a submit button, then wait for the next page to show `css`. The old page's body
    /// is marked first, so an element left over from it cannot satisfy the wait.
    pub async fn submit_and_wait(&self, button: &str, css: &str) {
        self.client.execute("document.body.setAttribute('data-stale', '1')", vec![]).await.unwrap();
        self.click(button).await;
        let fresh = format!("body:not([data-stale]) {css}");
        self.wait_for(&fresh).await;
    }

    pub async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// The page is no wider than the window: nothing sticks out sideways (wide tables scroll in
    /// their own box instead). Measured against the viewport without the vertical scrollbar
    /// (`clientWidth`, at most `innerWidth`), so an overflow hidden under a desktop-style
    /// scrollbar counts too.
    pub async fn assert_no_horizontal_overflow(&self, what: &str) {
        let js = "const d = document.documentElement; \
                  const out = Array.from(document.querySelectorAll('body *')) \
                    .filter(e => e.getBoundingClientRect().right > d.clientWidth + 0.5) \
                    .slice(-5).map(e => e.tagName + '.' + e.className).join(' '); \
                  return [d.scrollWidth, d.clientWidth, window.innerWidth, out]";
        let v = self.client.execute(js, vec![]).await.unwrap();
        let (scroll, client, inner) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap(), v[2].as_i64().unwrap());
        assert!(
            scroll <= client && client <= inner,
            "{what}: page {scroll}px wide in a {client}px viewport ({inner}px window); sticking out: {}",
            v[3]
        );
    }

    /// Save a PNG of the current page to target/screenshots/<name>.png.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// End the WebDriver session politely (Chromium quits); `Drop` does the rest.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// Also when a test fails half-way: chromedriver and the Chromium it started are killed (by
/// their process group, which is the driver's pid) and the temporary profile is removed, so
/// failed runs leave no browsers behind on a shared machine.
impl Drop for Browser {
    fn drop(&mut self) {
        self.server.abort();
        stop_driver(&mut self.driver, &self.profile);
    }
}

fn stop_driver(driver: &mut Child, profile: &Path) {
    let group = format!("-{}", driver.id());
    let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
    let _ = driver.kill();
    let _ = driver.wait();
    // Chromium may still be writing for a moment after the kill.
    for _ in 0..20 {
        if std::fs::remove_dir_all(profile).is_ok() || !profile.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
