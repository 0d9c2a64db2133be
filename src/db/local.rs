//! A private PostgreSQL cluster under the data folder, for the default run without DATABASE_URL.
//!
//! It uses the machine's own server binaries (initdb, pg_ctl). PostgreSQL refuses to run as root,
//! so when we are root the cluster belongs to an unprivileged user (`postgres`, or a system user
//! we create) and every server command runs through `runuser`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found. \
Install them with `apt-get install postgresql` (Debian/Ubuntu), or set DATABASE_URL to an existing database.";

const SUPERUSER: &str = "crm";
const DATABASE: &str = "crm";

pub struct LocalPostgres {
    bindir: PathBuf,
    /// The cluster folder (`<data>/pg`, or where its symlink points).
    pgdata: PathBuf,
    port: u16,
    run_as: Option<String>,
    password: String,
    /// Turn off durability: for throwaway test clusters only.
    fast_unsafe: bool,
}

impl LocalPostgres {
    /// Prepare (initdb once) the cluster under `data_dir`; does not start it.
    pub fn prepare(data_dir: &Path, port: u16, fast_unsafe: bool) -> anyhow::Result<Self> {
        let bindir = find_bindir().context(INSTALL_HINT)?;
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let data_dir = data_dir.canonicalize()?;
        let run_as = if is_root() { Some(unprivileged_user()?) } else { None };
        let password = read_or_create_password(&data_dir.join("pg-password"))?;
        let pgdata = cluster_dir(&data_dir, run_as.as_deref())?;
        let pg = LocalPostgres { bindir, pgdata, port, run_as, password, fast_unsafe };
        if !pg.pgdata.join("PG_VERSION").exists() {
            pg.initdb()?;
        }
        Ok(pg)
    }

    /// Like `prepare`, for throwaway clusters: reuse the port of a running cluster (kept in
    /// `<data>/pg-port`), otherwise take a free one so several checkouts never collide.
    pub fn prepare_any_port(data_dir: &Path, fast_unsafe: bool) -> anyhow::Result<Self> {
        let port_file = data_dir.join("pg-port");
        let saved: Option<u16> = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse().ok());
        if let Some(port) = saved {
            let pg = Self::prepare(data_dir, port, fast_unsafe)?;
            if pg.is_running() {
                return Ok(pg);
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let pg = Self::prepare(data_dir, port, fast_unsafe)?;
        // Running on a port we did not record: restart it on the new one.
        pg.stop();
        std::fs::write(&port_file, port.to_string())?;
        Ok(pg)
    }

    pub fn database_url(&self) -> String {
        self.url_for(DATABASE)
    }

    pub fn url_for(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/{db}", self.password, self.port)
    }

    fn initdb(&self) -> anyhow::Result<()> {
        tracing::info!(dir = %self.pgdata.display(), "initialising a private PostgreSQL cluster");
        // The server user may not reach our data folder, so the password file goes to /tmp.
        let pwfile = std::env::temp_dir().join(format!("crm-initdb-{}.pw", std::process::id()));
        std::fs::write(&pwfile, &self.password)?;
        set_mode(&pwfile, 0o600)?;
        self.give_to_owner(&pwfile)?;
        let status = self
            .command("initdb")
            .arg("-D")
            .arg(&self.pgdata)
            .args(["-U", SUPERUSER, "-E", "UTF8", "--locale=C.UTF-8"])
            .args(["--auth-local=peer", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .stdout(std::process::Stdio::null())
            .status()
            .context("running initdb")?;
        let _ = std::fs::remove_file(&pwfile);
        if !status.success() {
            bail!("initdb failed ({status}) for {}", self.pgdata.display());
        }
        Ok(())
    }

    pub fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("-D")
            .arg(&self.pgdata)
            .arg("status")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// Start the server unless it already runs, then make sure the application database exists.
    pub async fn start(&self) -> anyhow::Result<()> {
        if !self.is_running() {
            let mut opts = format!("-p {} -c listen_addresses=127.0.0.1 -k {}", self.port, self.socket_dir().display());
            if self.fast_unsafe {
                opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
                opts.push_str(" -c max_connections=300 -c shared_buffers=256MB");
            }
            let log = self.pgdata.join("server.log");
            let status = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&self.pgdata)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &opts, "start"])
                .stdout(std::process::Stdio::null())
                .status()
                .context("running pg_ctl start")?;
            if !status.success() {
                bail!("PostgreSQL did not start; see {}", log.display());
            }
        }
        self.ensure_database(DATABASE).await
    }

    pub fn stop(&self) {
        if self.is_running() {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&self.pgdata)
                .args(["-m", "fast", "-w", "stop"])
                .stdout(std::process::Stdio::null())
                .status();
        }
    }

    pub async fn ensure_database(&self, name: &str) -> anyhow::Result<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.url_for("postgres")).await?;
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
        if !exists {
            sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
        }
        Ok(())
    }

    /// Unix socket folder: inside the cluster when the path is short enough for a socket name.
    fn socket_dir(&self) -> PathBuf {
        if self.pgdata.as_os_str().len() < 80 { self.pgdata.clone() } else { PathBuf::from("/tmp") }
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bindir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    fn give_to_owner(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(user) = &self.run_as {
            run_ok(Command::new("chown").arg(format!("{user}:")).arg(path))?;
        }
        Ok(())
    }
}

/// Locate initdb/pg_ctl: CRM_PG_BINDIR, then `pg_config --bindir`, then the newest
/// /usr/lib/postgresql/*/bin, then PATH.
fn find_bindir() -> Option<PathBuf> {
    find_bindir_with(&["initdb", "pg_ctl"])
}

/// A PostgreSQL client program (pg_dump, pg_restore), found where the server binaries are.
pub fn tool(program: &str) -> anyhow::Result<PathBuf> {
    find_bindir_with(&[program]).map(|d| d.join(program)).with_context(|| {
        format!(
            "{program} was not found. Install the PostgreSQL client programs (`apt-get install postgresql-client`), \
             or set CRM_PG_BINDIR to the folder holding {program}."
        )
    })
}

fn find_bindir_with(programs: &[&str]) -> Option<PathBuf> {
    let has_server = |d: &Path| programs.iter().all(|p| d.join(p).is_file());
    if let Ok(d) = std::env::var("CRM_PG_BINDIR") {
        let d = PathBuf::from(d);
        if has_server(&d) {
            return Some(d);
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_server(&d) {
            return Some(d);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_string_lossy().parse().ok()?;
            let d = e.path().join("bin");
            has_server(&d).then_some((v, d))
        })
        .collect();
    versions.sort();
    if let Some((_, d)) = versions.pop() {
        return Some(d);
    }
    std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).find(|d| has_server(d)))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn user_exists(name: &str) -> bool {
    Command::new("id").arg("-u").arg(name).output().map(|o| o.status.success()).unwrap_or(false)
}

/// `postgres` when the distribution created it, otherwise a system user of our own.
fn unprivileged_user() -> anyhow::Result<String> {
    if user_exists("postgres") {
        return Ok("postgres".into());
    }
    if !user_exists("crm-pg") {
        run_ok(Command::new("useradd").args(["--system", "--no-create-home", "crm-pg"]))
            .context("creating the system user crm-pg to run PostgreSQL")?;
    }
    Ok("crm-pg".into())
}

/// `<data>/pg`, owned by the server's user. When that user cannot reach the data folder (a
/// checkout under a private home or temp folder), the cluster lives in /var/lib/crm-pg/<key>
/// and `<data>/pg` is a symlink to it, so nothing outside gets its permissions changed.
fn cluster_dir(data_dir: &Path, run_as: Option<&str>) -> anyhow::Result<PathBuf> {
    let link = data_dir.join("pg");
    let Some(user) = run_as else {
        std::fs::create_dir_all(&link)?;
        set_mode(&link, 0o700)?;
        return Ok(link);
    };
    if let Ok(target) = std::fs::read_link(&link) {
        return Ok(target);
    }
    std::fs::create_dir_all(&link)?;
    run_ok(Command::new("chown").arg(format!("{user}:")).arg(&link))?;
    set_mode(&link, 0o700)?;
    if run_ok(Command::new("runuser").args(["-u", user, "--", "test", "-w"]).arg(&link)).is_ok() {
        return Ok(link);
    }
    std::fs::remove_dir(&link)?;
    let key = format!("{:016x}", fnv(data_dir.to_string_lossy().as_bytes()));
    let target = PathBuf::from("/var/lib/crm-pg").join(key);
    std::fs::create_dir_all(&target)?;
    set_mode(target.parent().unwrap(), 0o755)?;
    run_ok(Command::new("chown").arg(format!("{user}:")).arg(&target))?;
    set_mode(&target, 0o700)?;
    std::os::unix::fs::symlink(&target, &link)?;
    tracing::info!(cluster = %target.display(), "the server user cannot reach the data folder; cluster kept outside it, linked from {}", link.display());
    Ok(target)
}

fn read_or_create_password(path: &Path) -> anyhow::Result<String> {
    if let Ok(p) = std::fs::read_to_string(path) {
        if !p.trim().is_empty() {
            return Ok(p.trim().to_string());
        }
    }
    let mut bytes = [0u8; 18];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
    let p = hex::encode(bytes);
    std::fs::write(path, &p)?;
    set_mode(path, 0o600)?;
    Ok(p)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

fn run_ok(cmd: &mut Command) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100000001b3))
}
