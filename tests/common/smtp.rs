//! A real SMTP server for mail tests: Python's aiosmtpd (tests/fixtures/smtp_server.py, installed
//! by scripts/test) with STARTTLS on a certificate made here by openssl (a throwaway CA and a
//! `localhost` certificate it signs; the app trusts the CA through `CRM_SMTP_CA_FILE`) and AUTH.
//! Killed when dropped.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub const USER: &str = "crm-test";
pub const PASSWORD: &str = "smtp-pässword";

pub struct Smtp {
    pub port: u16,
    pub dir: PathBuf,
    child: Child,
}

/// (ca.pem, cert.pem, key.pem), made once per test process.
pub fn certs() -> &'static (PathBuf, PathBuf, PathBuf) {
    static CERTS: OnceLock<(PathBuf, PathBuf, PathBuf)> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("target/test-smtp/certs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(&dir).output().expect("openssl is installed");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=CRM test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "req.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
            .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ]);
        (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"))
    })
}

/// A free loopback port (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Smtp {
    /// A server on a free port: `mode` is accept, refuse (550) or tempfail (451).
    pub fn start(mode: &str) -> Smtp {
        Self::start_on(free_port(), mode)
    }

    pub fn start_on(port: u16, mode: &str) -> Smtp {
        let (_, cert, key) = certs();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "target/test-smtp/{}-{port}-{}",
            std::process::id(),
            uuid_like()
        ));
        let python = std::env::var("CRM_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .args([&port.to_string(), cert.to_str().unwrap(), key.to_str().unwrap(), USER, PASSWORD, mode])
            .arg(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.starts_with("READY"), "the SMTP server did not start: {line:?}");
        Smtp { port, dir, child }
    }

    /// The raw messages received so far, in order.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in 1.. {
            match std::fs::read_to_string(self.dir.join(format!("{n}.eml"))) {
                Ok(m) => out.push(m),
                Err(_) => break,
            }
        }
        out
    }

    /// The messages as Python's mail parser reads them: `headers` (decoded), `content_type`,
    /// `parts` (`type`, `charset`, decoded `content`), `rcpt`.
    pub fn parsed(&self) -> Vec<serde_json::Value> {
        (1..=self.messages().len())
            .map(|n| {
                let text = std::fs::read_to_string(self.dir.join(format!("{n}.json"))).unwrap();
                serde_json::from_str(&text).unwrap()
            })
            .collect()
    }

    /// Wait (up to 10 s) until `n` messages have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let start = std::time::Instant::now();
        loop {
            let m = self.messages();
            if m.len() >= n || start.elapsed() > std::time::Duration::from_secs(10) {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}", N.fetch_add(1, Ordering::Relaxed))
}

/// A header's raw value (first occurrence, unfolded).
pub fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next().unwrap_or(message);
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        if let Some(v) = value.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') {
                v.push_str(line);
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case(name) {
                value = Some(v.trim().to_string());
            }
        }
    }
    value
}
