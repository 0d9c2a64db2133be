//! SMTP accounts: the saved ones in order (primary first), or the one `CRM_SMTP_*` describes while
//! none is saved.

use sqlx::PgPool;

use crate::config::Config;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    StartTls,
    Tls,
    None,
}

impl Security {
    pub const ALL: &'static [Security] = &[Security::StartTls, Security::Tls, Security::None];

    pub fn code(self) -> &'static str {
        match self {
            Security::StartTls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }

    pub fn from_code(code: &str) -> Option<Security> {
        Security::ALL.iter().copied().find(|s| s.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Security::StartTls => "mail.security.starttls",
            Security::Tls => "mail.security.tls",
            Security::None => "mail.security.none",
        }
    }
}

/// An account ready to send with.
#[derive(Clone, Debug)]
pub struct Account {
    /// `None`: the bootstrap account from the environment.
    pub id: Option<i64>,
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    /// The password in clear, or why it cannot be had (the key changed or is missing).
    pub password: Result<Option<String>, String>,
    pub from_address: String,
    pub from_name: String,
    pub reply_to: String,
}

impl Account {
    /// "host:port", how the outbox and its page name the account.
    pub fn label(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// A saved account as stored.
#[derive(sqlx::FromRow, Clone, Debug)]
pub struct Row {
    pub id: i64,
    pub position: i32,
    pub host: String,
    pub port: i32,
    pub security: String,
    pub username: String,
    pub password_enc: Option<String>,
    pub from_address: String,
    pub from_name: String,
    pub reply_to: String,
}

impl Row {
    pub fn account(&self, config: &Config) -> Account {
        let password = match (&self.password_enc, &config.secret_key) {
            (None, _) => Ok(None),
            (Some(stored), Some(key)) => super::crypto::open(key, stored).map(Some).ok_or_else(|| {
                "the saved password cannot be decrypted with CRM_SECRET_KEY: enter it again".to_string()
            }),
            (Some(_), None) => Err("a password is saved but CRM_SECRET_KEY is not set".to_string()),
        };
        Account {
            id: Some(self.id),
            host: self.host.clone(),
            port: u16::try_from(self.port).unwrap_or(25),
            security: Security::from_code(&self.security).unwrap_or(Security::StartTls),
            username: self.username.clone(),
            password,
            from_address: self.from_address.clone(),
            from_name: self.from_name.clone(),
            reply_to: self.reply_to.clone(),
        }
    }
}

pub async fn saved(db: &PgPool) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(
        "SELECT id, position, host, port, security, username, password_enc, from_address, from_name, reply_to
         FROM mail_accounts ORDER BY position, id",
    )
    .fetch_all(db)
    .await
}

/// The account the environment describes (`CRM_SMTP_HOST` set), used while none is saved.
pub fn bootstrap(config: &Config) -> Option<Account> {
    let host = config.smtp_host.as_deref().map(str::trim).filter(|h| !h.is_empty())?;
    Some(Account {
        id: None,
        host: host.to_string(),
        port: config.smtp_port,
        security: Security::from_code(config.smtp_security.trim()).unwrap_or(Security::StartTls),
        username: config.smtp_user.clone().unwrap_or_default(),
        password: Ok(config.smtp_password.clone().filter(|p| !p.is_empty())),
        from_address: config.smtp_from.clone(),
        from_name: config.smtp_from_name.clone(),
        reply_to: String::new(),
    })
}

/// The accounts to send with, in order: the saved ones, else the bootstrap one, else none.
pub async fn active(db: &PgPool, config: &Config) -> sqlx::Result<Vec<Account>> {
    let rows = saved(db).await?;
    if rows.is_empty() {
        return Ok(bootstrap(config).into_iter().collect());
    }
    Ok(rows.iter().map(|r| r.account(config)).collect())
}
