//! Real `crm` processes for reliability tests: `crm serve` spawned from the built binary (killed,
//! with SIGKILL, when dropped), one-shot commands (`db start`, `backup`...), private PostgreSQL
//! clusters under target/, and a plain HTTP client with cookies and the CSRF token.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub const CRM: &str = env!("CARGO_BIN_EXE_crm");

/// `crm <args>` with these environment variables (the test's own DATABASE_URL and CRM_* are
/// cleared first, so only what is given applies).
pub fn crm(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(CRM);
    cmd.args(args).env_remove("DATABASE_URL").env("CRM_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null()).output().expect("running crm")
}

/// `crm <args>` that must succeed; its stdout.
#[track_caller]
pub fn crm_ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = crm(args, env);
    assert!(
        out.status.success(),
        "crm {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A private cluster managed with `crm --data-dir D --pg-port P db start|stop` (the embedded
/// mode's own commands); stopped and deleted when dropped.
pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// A new, empty folder under target/reliability (nothing started yet).
    pub fn new(name: &str) -> Cluster {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/reliability")
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Cluster { dir, port: free_port() }
    }

    /// The variables that make `crm` use this cluster (the embedded mode).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("CRM_DATA_DIR".into(), self.dir.display().to_string()), ("CRM_PG_PORT".into(), self.port.to_string())]
    }

    fn run(&self, args: &[&str]) -> String {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        crm_ok(args, &env)
    }

    /// Start it (initdb the first time); its DATABASE_URL (the `crm` database).
    pub fn start(&self) -> String {
        let out = self.run(&["db", "start"]);
        out.lines().find_map(|l| l.strip_prefix("DATABASE_URL=")).expect("db start prints the URL").trim().to_string()
    }

    pub fn stop(&self) {
        self.run(&["db", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let _ = crm(&["db", "stop"], &env);
        // Run as root, the cluster may live elsewhere, linked from <dir>/pg.
        if let Ok(target) = std::fs::read_link(self.dir.join("pg")) {
            let _ = std::fs::remove_dir_all(target);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `crm serve`; SIGKILLed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// `crm serve` on a free port with these variables; waits until it answers /healthz.
    pub async fn start(env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(CRM);
        cmd.arg("serve").env_remove("DATABASE_URL").env("CRM_BIND", "127.0.0.1:0").env("CRM_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Its log (errors while the database is away are expected) goes to a file, not the test's output.
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let logs = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/reliability/logs");
        std::fs::create_dir_all(&logs).unwrap();
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = std::fs::File::create(logs.join(format!("serve-{}-{n}.log", std::process::id()))).unwrap();
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(url) = line.strip_prefix("CRM is running at ") {
                    let _ = tx.send(url.trim().to_string());
                    sent = true;
                }
            }
        });
        // Migrations (and a private cluster's start) come first: generous on a loaded machine.
        let base = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(240)))
            .await
            .unwrap()
            .expect("crm serve did not start listening");
        let server = Server { child, base };
        let http = Http::new(&server.base);
        poll(Duration::from_secs(60), || async { http.status("/healthz").await == Some(200) }).await;
        server
    }

    pub fn http(&self) -> Http {
        Http::new(&self.base)
    }

    /// SIGKILL: no drain, no shutdown hook.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until `check` holds, trying every 100 ms; panics after `limit`.
pub async fn poll<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "condition not met within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An answer over real HTTP.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub location: String,
    pub body: String,
    pub bytes: Vec<u8>,
}

/// A browser-like client of a real server: keeps cookies, sends the page's CSRF token and a
/// same-origin Origin with every POST.
#[derive(Clone)]
pub struct Http {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
    pub cookies: HashMap<String, String>,
    csrf: Option<String>,
}

impl Http {
    pub fn new(base: &str) -> Http {
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Http { base: base.to_string(), client, cookies: HashMap::new(), csrf: None }
    }

    /// The same session (cookies and token) against another server.
    pub fn with_base(&self, base: &str) -> Http {
        Http { base: base.to_string(), ..self.clone() }
    }

    /// Log in; panics unless the server answers with the redirect of a good login.
    pub async fn login(&mut self, login: &str, password: &str) {
        self.get("/login").await.unwrap();
        let r = self.post("/login", &[("login", login), ("password", password)]).await.unwrap();
        assert_eq!(r.status, 303, "login as {login}: {}", r.body.chars().take(500).collect::<String>());
        // The token is renewed at login.
        self.get("/account/password").await.unwrap();
    }

    pub async fn status(&self, path: &str) -> Option<u16> {
        self.clone().get(path).await.ok().map(|r| r.status)
    }

    pub async fn get(&mut self, path: &str) -> Result<Reply, String> {
        let req = Request::get(format!("{}{path}", self.base));
        self.send(req, Vec::new()).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Result<Reply, String> {
        let token = self.csrf.clone().unwrap_or_default();
        let mut fields: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        fields.extend_from_slice(form);
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let req = Request::post(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, self.base.as_str());
        self.send(req, body.into_bytes()).await
    }

    async fn send(&mut self, mut req: axum::http::request::Builder, body: Vec<u8>) -> Result<Reply, String> {
        if !self.cookies.is_empty() {
            let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            req = req.header(header::COOKIE, cookie);
        }
        let req = req.body(Full::new(Bytes::from(body))).unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(60), self.client.request(req))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
        for value in resp.headers().get_all(header::SET_COOKIE) {
            let raw = value.to_str().unwrap_or_default();
            if let Some((k, v)) = raw.split(';').next().and_then(|p| p.split_once('=')) {
                if raw.contains("Max-Age=0") || v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = resp.status().as_u16();
        let location =
            resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let bytes = tokio::time::timeout(Duration::from_secs(60), resp.into_body().collect())
            .await
            .map_err(|_| "body timed out".to_string())?
            .map_err(|e| e.to_string())?
            .to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = super::find_csrf(&body) {
            self.csrf = Some(t);
        }
        Ok(Reply { status, location, body, bytes: bytes.to_vec() })
    }
}
