//! Test harness: a fresh database per test (copied from a migrated template), the real router,
//! a client that keeps cookies and sends CSRF tokens, fixtures and HTML assertions.
//!
//! Database server: `TEST_DATABASE_URL` (a superuser URL; databases are created on it), else a
//! private throwaway cluster under `target/test-pg` started on first use (scripts/test stops it).

#![allow(dead_code)]

pub mod browser;
pub mod files;
pub mod process;
pub mod smtp;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use crm::app::AppState;
use crm::config::Config;
use http_body_util::BodyExt;
use scraper::{Html, Selector};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use tower::ServiceExt;

pub const PASSWORD: &str = "secret123";

static SERVER: OnceCell<String> = OnceCell::const_new();
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// Admin URL of the test server, with `{db}` where the database name goes.
async fn server_url() -> &'static str {
    SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
                let (base, _) = url.rsplit_once('/').expect("TEST_DATABASE_URL needs a /dbname");
                return format!("{base}/{{db}}");
            }
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-pg");
            let pg = tokio::task::spawn_blocking(move || crm::db::local::LocalPostgres::prepare_any_port(&dir, true))
                .await
                .unwrap()
                .expect("preparing the test PostgreSQL cluster");
            pg.start().await.expect("starting the test PostgreSQL cluster");
            pg.url_for("{db}")
        })
        .await
}

fn url_for(db: &str, server: &str) -> String {
    server.replace("{db}", db)
}

/// A migrated template database, named after the migrations and permission catalog it holds.
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let server = server_url().await;
            let name = format!("crm_tpl_{:016x}", schema_fingerprint());
            let mut admin = PgConnection::connect(&url_for("postgres", server)).await.unwrap();
            // Several test binaries may race to build it.
            sqlx::query("SELECT pg_advisory_lock(4242)").execute(&mut admin).await.unwrap();
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
            if !exists {
                let building = format!("{name}_building");
                sqlx::query(&format!("DROP DATABASE IF EXISTS {building}")).execute(&mut admin).await.unwrap();
                sqlx::query(&format!("CREATE DATABASE {building}")).execute(&mut admin).await.unwrap();
                let pool = PgPool::connect(&url_for(&building, server)).await.unwrap();
                crm::db::migrate(&pool).await.expect("migrating the template database");
                pool.close().await;
                // An autovacuum worker may have just entered the fresh database: ask it to leave.
                for attempt in 0.. {
                    let rename = format!("ALTER DATABASE {building} RENAME TO {name}");
                    match sqlx::query(&rename).execute(&mut admin).await {
                        Ok(_) => break,
                        Err(e) if attempt < 50 => {
                            let _ = e;
                            sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
                                .bind(&building)
                                .execute(&mut admin)
                                .await
                                .unwrap();
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                        Err(e) => panic!("renaming the template database: {e}"),
                    }
                }
            }
            drop_stale_databases(&mut admin).await;
            sqlx::query("SELECT pg_advisory_unlock(4242)").execute(&mut admin).await.unwrap();
            name
        })
        .await
}

fn schema_fingerprint() -> u64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    let mut bytes = Vec::new();
    for f in files {
        bytes.extend(std::fs::read(f).unwrap());
    }
    for m in crm::access::MODULES {
        bytes.extend(format!("{}{:?}{:?}{}", m.code, m.actions, m.defaults, m.scoped).bytes());
    }
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}

/// Test databases are named crm_t_<unix seconds>_<n>; drop those older than two hours.
async fn drop_stale_databases(admin: &mut PgConnection) {
    let now = chrono::Utc::now().timestamp();
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'crm\\_t\\_%'")
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
    for name in names {
        let ts: i64 = name.split('_').nth(2).and_then(|s| s.parse().ok()).unwrap_or(now);
        if now - ts > 7200 {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut *admin).await;
        }
    }
}

pub struct TestApp {
    pub db: PgPool,
    pub router: Router,
    pub config: Config,
    pub db_url: String,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let server = server_url().await;
        let tpl = template().await;
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("crm_t_{}_{}_{n}", chrono::Utc::now().timestamp(), std::process::id());
        let mut admin = PgConnection::connect(&url_for("postgres", server)).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {tpl}")).execute(&mut admin).await.unwrap();
        let db_url = url_for(&name, server);
        let db = crm::db::connect(&db_url, 8).await.unwrap();
        let mut config = Config::defaults();
        adjust(&mut config);
        let router = crm::router(AppState::new(db.clone(), config.clone()));
        TestApp { db, router, config, db_url }
    }

    pub fn client(&self) -> Client {
        Client { router: self.router.clone(), cookies: HashMap::new(), csrf: None, headers: Vec::new() }
    }

    /// A client logged in as `login` (password `PASSWORD`).
    pub async fn login(&self, login: &str) -> Client {
        let mut c = self.client();
        let r = c.login(login, PASSWORD).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "login as {login} failed: {}", r.text_of(".flash"));
        c
    }

    pub async fn root_dept(&self) -> i64 {
        sqlx::query_scalar("SELECT id FROM departments WHERE parent_id IS NULL").fetch_one(&self.db).await.unwrap()
    }

    pub async fn dept(&self, name: &str, parent: Option<i64>) -> i64 {
        let parent = match parent {
            Some(p) => p,
            None => self.root_dept().await,
        };
        sqlx::query_scalar("INSERT INTO departments (name, parent_id) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(parent)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    /// A user with password `PASSWORD`, holding the seeded roles given by code.
    pub async fn user(&self, login: &str, dept: i64, superior: Option<i64>, roles: &[&str]) -> i64 {
        static HASH: OnceCell<String> = OnceCell::const_new();
        let hash = HASH.get_or_init(|| async { crm::auth::password::hash(PASSWORD.into()).await.unwrap() }).await;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (login, name, dept_id, superior_id, password_hash)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(login)
        .bind(format!("用户{login}"))
        .bind(dept)
        .bind(superior)
        .bind(hash.as_str())
        .fetch_one(&self.db)
        .await
        .unwrap();
        for code in roles {
            sqlx::query("INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE code = $2")
                .bind(id)
                .bind(code)
                .execute(&self.db)
                .await
                .unwrap();
        }
        id
    }

    /// A super admin `admin` in the root department.
    pub async fn admin(&self) -> i64 {
        let root = self.root_dept().await;
        self.user("admin", root, None, &["super"]).await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }

    /// A digest of every table of the public schema (row count and an md5 of its rows), by
    /// table: what "nothing changed" is checked against. Sessions live in their own schema.
    pub async fn fingerprint(&self) -> std::collections::BTreeMap<String, String> {
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
                .fetch_all(&self.db)
                .await
                .unwrap();
        let sql = tables
            .iter()
            .map(|t| {
                format!(
                    "SELECT '{t}'::text, count(*)::text || ' ' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') FROM \"{t}\" r"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        sqlx::query_as::<_, (String, String)>(&sql).fetch_all(&self.db).await.unwrap().into_iter().collect()
    }

    /// An open opportunity of `customer` owned by `owner`, at the default group's first stage,
    /// inserted directly (no lines).
    pub async fn opportunity(&self, customer: i64, name: &str, owner: i64) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO opportunities (name, customer_id, amount, group_id, stage_id, owner_id, created_by)
             SELECT $1, $2, 1000, g.id, (SELECT id FROM stages WHERE group_id = g.id ORDER BY position LIMIT 1), $3, $3
               FROM stage_groups g WHERE g.is_default RETURNING id",
        )
        .bind(name)
        .bind(customer)
        .bind(owner)
        .fetch_one(&self.db)
        .await
        .unwrap()
    }

    /// A contract of `customer` in `status` ("draft", "approved"...), amount 1000, inserted
    /// directly (an approved one also adds its amount to what the customer owes, as approval
    /// does).
    pub async fn contract(&self, customer: i64, name: &str, owner: i64, status: &str) -> i64 {
        let id = sqlx::query_scalar(
            "INSERT INTO contracts (number, name, customer_id, amount, order_date, status, approved_at, owner_id, created_by)
             VALUES ('HT-' || md5(random()::text), $1, $2, 1000, current_date, $3,
                     CASE WHEN $3 = 'approved' THEN now() END, $4, $4) RETURNING id",
        )
        .bind(name)
        .bind(customer)
        .bind(status)
        .bind(owner)
        .fetch_one(&self.db)
        .await
        .unwrap();
        if status == "approved" {
            sqlx::query("UPDATE customers SET receivable = receivable + 1000 WHERE id = $1")
                .bind(customer)
                .execute(&self.db)
                .await
                .unwrap();
        }
        id
    }
}

#[derive(Clone)]
pub struct Client {
    router: Router,
    cookies: HashMap<String, String>,
    csrf: Option<String>,
    /// Extra headers sent with every request (e.g. X-Forwarded-For).
    pub headers: Vec<(String, String)>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as received (downloads: .xlsx, .csv).
    pub bytes: Vec<u8>,
}

impl Client {
    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Request::get(path), Body::empty()).await
    }

    /// POST a form with this session's CSRF token and a same-origin Origin header.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        if self.csrf.is_none() {
            self.get("/login").await;
        }
        let token = self.csrf.clone().unwrap_or_default();
        let mut fields: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields, true).await
    }

    /// POST exactly these fields; `same_origin` false sends a foreign Origin.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)], same_origin: bool) -> Resp {
        let origin = if same_origin { "http://localhost" } else { "http://evil.example" };
        self.post_from(path, fields, origin).await
    }

    /// POST exactly these fields with this Origin header (the site is `http://localhost`).
    pub async fn post_from(&mut self, path: &str, fields: &[(&str, &str)], origin: &str) -> Resp {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ORIGIN, origin);
        self.send(req, Body::from(body)).await
    }

    /// POST a multipart body (file uploads); the CSRF token goes in the query string.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, Vec<u8>)],
    ) -> Resp {
        if self.csrf.is_none() {
            self.get("/login").await;
        }
        let boundary = "----crmtestboundary7MA4YWxk";
        let mut body: Vec<u8> = Vec::new();
        for (k, v) in fields {
            body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").bytes());
        }
        for (field, filename, mime, data) in files {
            body.extend(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {mime}\r\n\r\n").bytes(),
            );
            body.extend(data);
            body.extend(b"\r\n");
        }
        body.extend(format!("--{boundary}--\r\n").bytes());
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{path}{sep}_csrf={}", self.csrf.clone().unwrap_or_default());
        let req = Request::post(url)
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .header(header::ORIGIN, "http://localhost");
        self.send(req, Body::from(body)).await
    }

    /// POST a body exactly as given (already url-encoded, so it may hold any escape, `%ff%fe`
    /// too) with exactly these extra headers: no Origin unless one is given.
    pub async fn post_encoded(&mut self, path: &str, body: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, Body::from(body.to_string())).await
    }

    /// This session's CSRF token (a page is fetched first if none was seen yet).
    pub async fn token(&mut self) -> String {
        if self.csrf.is_none() {
            self.get("/login").await;
        }
        self.csrf.clone().unwrap_or_default()
    }

    pub async fn login(&mut self, login: &str, password: &str) -> Resp {
        self.get("/login").await;
        let r = self.post("/login", &[("login", login), ("password", password)]).await;
        if r.status == StatusCode::SEE_OTHER {
            // The token is renewed at login; pick up the new one.
            self.get("/account/password").await;
        }
        r
    }

    pub fn session_id(&self) -> Option<String> {
        self.cookies.get(crm::app::SESSION_COOKIE).cloned()
    }

    pub fn csrf_token(&self) -> Option<String> {
        self.csrf.clone()
    }

    async fn send(&mut self, mut req: axum::http::request::Builder, body: Body) -> Resp {
        req = req.header(header::HOST, "localhost");
        if !self.cookies.is_empty() {
            let cookie = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            req = req.header(header::COOKIE, cookie);
        }
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = self.router.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        for value in resp.headers().get_all(header::SET_COOKIE) {
            let raw = value.to_str().unwrap();
            let pair = raw.split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                let expired = raw.contains("Max-Age=0") || v.is_empty();
                if expired {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = String::from_utf8_lossy(&bytes).to_string();
        if let Some(t) = find_csrf(&body) {
            self.csrf = Some(t);
        }
        Resp { status, headers, body, bytes: bytes.to_vec() }
    }
}

fn find_csrf(body: &str) -> Option<String> {
    let i = body.find("name=\"_csrf\" value=\"")?;
    let rest = &body[i + 20..];
    Some(rest[..rest.find('"')?].to_string())
}

impl Resp {
    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    pub fn location(&self) -> String {
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }

    /// Text of every element matching `css`, joined by newlines.
    pub fn text_of(&self, css: &str) -> String {
        let sel = Selector::parse(css).unwrap();
        self.html()
            .select(&sel)
            .map(|e| e.text().collect::<Vec<_>>().join("").split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub fn count(&self, css: &str) -> usize {
        self.html().select(&Selector::parse(css).unwrap()).count()
    }

    pub fn has(&self, css: &str) -> bool {
        self.count(css) > 0
    }

    /// The value of `attr` on the first element matching `css`.
    pub fn attr(&self, css: &str, attr: &str) -> Option<String> {
        self.html().select(&Selector::parse(css).unwrap()).next().and_then(|e| e.value().attr(attr).map(String::from))
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body:\n{}", self.body_excerpt());
        self
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) -> &Self {
        assert!(self.status.is_redirection(), "expected a redirect, got {}: {}", self.status, self.body_excerpt());
        assert_eq!(self.location(), to);
        self
    }

    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(self.body.contains(needle), "expected {needle:?} in the page:\n{}", self.body_excerpt());
        self
    }

    #[track_caller]
    pub fn assert_lacks(&self, needle: &str) -> &Self {
        assert!(!self.body.contains(needle), "did not expect {needle:?} in the page:\n{}", self.body_excerpt());
        self
    }

    fn body_excerpt(&self) -> String {
        let main = self.text_of("main");
        let text = if main.is_empty() { self.body.clone() } else { main };
        text.chars().take(1500).collect()
    }
}

/// Run once per test binary: quiet logs unless RUST_LOG asks.
pub fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
    });
}
