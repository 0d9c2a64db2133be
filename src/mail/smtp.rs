//! Talking to SMTP servers with lettre: one message, tried on each account in order until one
//! accepts it. No database connection is used here.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::accounts::{Account, Security};
use crate::config::Config;

/// A connection attempt or a reply taking longer than this fails (temporarily).
const TIMEOUT: Duration = Duration::from_secs(30);

/// One mail as it goes out.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub to_address: String,
    pub to_name: String,
    pub subject: String,
    pub body_text: String,
    /// A link shown under the text (absolute when `CRM_PUBLIC_URL` is set).
    pub link: Option<String>,
}

/// Why a mail did not go out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Worth retrying: a 4xx reply, a connection or TLS problem, a timeout.
    Temporary(String),
    /// A 5xx reply or a mail that can never be sent (bad address): retrying will not help.
    Permanent(String),
}

impl Failure {
    pub fn text(&self) -> &str {
        match self {
            Failure::Temporary(t) | Failure::Permanent(t) => t,
        }
    }
}

/// The accepting server's reply ("250 ...") and the account that accepted.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub reply: String,
    pub via: String,
}

fn mailbox(name: &str, address: &str) -> Result<Mailbox, Failure> {
    let address: Address =
        address.trim().parse().map_err(|e| Failure::Permanent(format!("invalid address {:?}: {e}", address.trim())))?;
    let name = name.trim();
    Ok(Mailbox::new((!name.is_empty()).then(|| name.to_string()), address))
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The message: plain text and HTML alternatives; names and subject RFC 2047-encoded by lettre.
pub fn message(account: &Account, mail: &Outgoing) -> Result<Message, Failure> {
    let mut builder = Message::builder()
        .from(mailbox(&account.from_name, &account.from_address)?)
        .to(mailbox(&mail.to_name, &mail.to_address)?)
        .subject(mail.subject.clone());
    if !account.reply_to.trim().is_empty() {
        builder = builder.reply_to(mailbox("", &account.reply_to)?);
    }
    let mut text = mail.body_text.clone();
    let mut html = format!(
        "<!doctype html><html><body>{}",
        mail.body_text.lines().map(|l| format!("<p>{}</p>", escape_html(l))).collect::<String>()
    );
    if let Some(link) = &mail.link {
        text.push_str(&format!("\n\n{link}\n"));
        let link = escape_html(link);
        html.push_str(&format!("<p><a href=\"{link}\">{link}</a></p>"));
    }
    html.push_str("</body></html>");
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html)),
        )
        .map_err(|e| Failure::Permanent(format!("the message cannot be built: {e}")))
}

fn transport(account: &Account, config: &Config) -> Result<AsyncSmtpTransport<Tokio1Executor>, Failure> {
    let tls_params = || -> Result<TlsParameters, Failure> {
        let mut b = TlsParameters::builder(account.host.clone());
        if let Some(path) = &config.smtp_ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| Failure::Temporary(format!("CRM_SMTP_CA_FILE {}: {e}", path.display())))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| Failure::Temporary(format!("CRM_SMTP_CA_FILE {}: {e}", path.display())))?;
            b = b.add_root_certificate(cert);
        }
        b.build_rustls().map_err(|e| Failure::Temporary(format!("TLS set-up: {e}")))
    };
    let tls = match account.security {
        Security::StartTls => Tls::Required(tls_params()?),
        Security::Tls => Tls::Wrapper(tls_params()?),
        Security::None => Tls::None,
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(account.host.clone())
        .port(account.port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    let password = account.password.clone().map_err(Failure::Temporary)?;
    if let Some(password) = password {
        b = b.credentials(Credentials::new(account.username.clone(), password));
    } else if !account.username.is_empty() {
        b = b.credentials(Credentials::new(account.username.clone(), String::new()));
    }
    Ok(b.build())
}

/// Send `mail` with one account; the server's reply, or why not.
pub async fn send_with(account: &Account, mail: &Outgoing, config: &Config) -> Result<String, Failure> {
    let message = message(account, mail)?;
    let transport = transport(account, config)?;
    match transport.send(message).await {
        Ok(response) => {
            let text = response.message().collect::<Vec<_>>().join(" ");
            Ok(format!("{} {}", response.code(), text).trim().to_string())
        }
        Err(e) if e.is_permanent() => Err(Failure::Permanent(e.to_string())),
        Err(e) => Err(Failure::Temporary(e.to_string())),
    }
}

/// Send `mail` with the first account that accepts it (primary, then fallbacks). When none does,
/// the failure is temporary if any account failed temporarily (it may come back), permanent when
/// every one refused for good; its text names each account's answer.
pub async fn send(accounts: &[Account], mail: &Outgoing, config: &Config) -> Result<Accepted, Failure> {
    let mut answers = Vec::new();
    let mut temporary = false;
    for account in accounts {
        match send_with(account, mail, config).await {
            Ok(reply) => return Ok(Accepted { reply, via: account.label() }),
            Err(f) => {
                temporary |= matches!(f, Failure::Temporary(_));
                answers.push(format!("{}: {}", account.label(), f.text()));
                // A mail that cannot be built or addressed fails the same on every account.
                if f.text().starts_with("invalid address") || f.text().starts_with("the message cannot") {
                    return Err(f);
                }
            }
        }
    }
    if answers.is_empty() {
        return Err(Failure::Temporary("no mail account is configured".into()));
    }
    let text = answers.join("; ");
    Err(if temporary { Failure::Temporary(text) } else { Failure::Permanent(text) })
}
