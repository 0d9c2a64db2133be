//! One configuration struct, read from the environment (and `.env`) or command-line flags.
//! Every variable is documented with its default in `.env.example`.

use std::path::PathBuf;

use chrono::FixedOffset;

#[derive(clap::Args, Clone, Debug)]
pub struct Config {
    /// Address the web server listens on.
    #[arg(long, env = "CRM_BIND", default_value = "127.0.0.1:8080", global = true)]
    pub bind: String,

    /// Postgres connection string. When empty, a private cluster under the data dir is used.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Folder for the private Postgres cluster (used only without DATABASE_URL).
    #[arg(long, env = "CRM_DATA_DIR", default_value = ".data", global = true)]
    pub data_dir: PathBuf,

    /// Loopback port of the private Postgres cluster (5432 is left to any system server).
    #[arg(long, env = "CRM_PG_PORT", default_value_t = 55432, global = true)]
    pub pg_port: u16,

    /// Largest number of pooled database connections.
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS", default_value_t = 10, global = true)]
    pub db_max_connections: u32,

    /// Mark session cookies `Secure` (set when served over TLS).
    #[arg(long, env = "CRM_COOKIE_SECURE", default_value_t = false, global = true)]
    pub cookie_secure: bool,

    /// A session ends after this many idle minutes.
    #[arg(long, env = "CRM_SESSION_IDLE_MINUTES", default_value_t = 480, global = true)]
    pub session_idle_minutes: i64,

    /// Language for visitors with no choice of their own and no Accept-Language match.
    #[arg(long, env = "CRM_DEFAULT_LANG", default_value = "zh-CN", global = true)]
    pub default_lang: String,

    /// UTC offset used to show and read dates and times (China: +08:00).
    /// The company's legal name, as printed contracts name the seller (乙方); empty: a line to
    /// fill in by hand.
    #[arg(long, env = "CRM_COMPANY_NAME", default_value = "", global = true)]
    pub company_name: String,
    #[arg(long, env = "CRM_TIMEZONE", default_value = "+08:00", global = true)]
    pub timezone: FixedOffset,

    /// Log filter (tracing-subscriber syntax).
    #[arg(long, env = "CRM_LOG", default_value = "info,sqlx=warn,tower_sessions=warn", global = true)]
    pub log: String,

    /// `text` or `json` log lines.
    #[arg(long, env = "CRM_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: String,

    /// Largest accepted upload, in megabytes.
    #[arg(long, env = "CRM_UPLOAD_LIMIT_MB", default_value_t = 20, global = true)]
    pub upload_limit_mb: usize,

    /// Failed logins that lock an account.
    #[arg(long, env = "CRM_LOGIN_MAX_FAILURES", default_value_t = 5, global = true)]
    pub login_max_failures: i64,

    /// Minutes an account stays locked (also the window failures are counted in).
    #[arg(long, env = "CRM_LOGIN_LOCK_MINUTES", default_value_t = 15, global = true)]
    pub login_lock_minutes: i64,

    /// Failed logins from one IP address within the lock window before that address is refused.
    #[arg(long, env = "CRM_LOGIN_MAX_FAILURES_PER_IP", default_value_t = 30, global = true)]
    pub login_max_failures_per_ip: i64,

    /// Take the client address from X-Forwarded-For (only behind a trusted proxy).
    #[arg(long, env = "CRM_TRUST_PROXY", default_value_t = false, global = true)]
    pub trust_proxy: bool,

    /// Whether this instance runs the periodic jobs. Every instance may (the jobs take advisory
    /// locks); turn it off for instances that should only serve pages, such as the benchmark's.
    #[arg(long, env = "CRM_JOBS", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub jobs: bool,

    /// On shutdown, seconds in-flight requests (and a running job) get to finish.
    #[arg(long, env = "CRM_SHUTDOWN_TIMEOUT_SECS", default_value_t = 20, global = true)]
    pub shutdown_timeout_secs: u64,

    /// SMTP server for outgoing mail (empty: mail is kept in the outbox only).
    #[arg(long, env = "CRM_SMTP_HOST", global = true)]
    pub smtp_host: Option<String>,
    #[arg(long, env = "CRM_SMTP_PORT", default_value_t = 587, global = true)]
    pub smtp_port: u16,
    #[arg(long, env = "CRM_SMTP_USER", global = true)]
    pub smtp_user: Option<String>,
    #[arg(long, env = "CRM_SMTP_PASSWORD", global = true)]
    pub smtp_password: Option<String>,
    #[arg(long, env = "CRM_SMTP_FROM", default_value = "crm@localhost", global = true)]
    pub smtp_from: String,
    /// Display name of the bootstrap account's sender.
    #[arg(long, env = "CRM_SMTP_FROM_NAME", default_value = "", global = true)]
    pub smtp_from_name: String,
    /// `starttls`, `tls` (implicit, usually port 465) or `none`.
    #[arg(long, env = "CRM_SMTP_SECURITY", default_value = "starttls", global = true)]
    pub smtp_security: String,
    /// A PEM file of extra certificate authorities to trust for SMTP (an in-house CA).
    #[arg(long, env = "CRM_SMTP_CA_FILE", global = true)]
    pub smtp_ca_file: Option<PathBuf>,

    /// Secret that encrypts stored SMTP passwords (any long random string). Without it the mail
    /// settings page refuses to store a password. Changing it makes stored passwords unreadable.
    #[arg(long, env = "CRM_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,

    /// The site's address as users reach it (https://crm.example.com), for links in mails; empty:
    /// mails give the page's path only.
    #[arg(long, env = "CRM_PUBLIC_URL", default_value = "", global = true)]
    pub public_url: String,
}

impl Config {
    /// The defaults, ignoring the environment: what tests start from.
    pub fn defaults() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        // Parse an empty command line; env vars still apply, so clear the ones tests care about.
        let mut cfg = <Wrapper as clap::Parser>::parse_from(["crm"]).config;
        cfg.database_url = None;
        cfg.cookie_secure = false;
        cfg
    }

    pub fn upload_limit_bytes(&self) -> usize {
        self.upload_limit_mb * 1024 * 1024
    }
}
