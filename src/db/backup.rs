//! `crm backup FILE` / `crm restore FILE`: pg_dump and pg_restore of the application database
//! (the private cluster or DATABASE_URL's). Attachments are rows (bytea), so they come along.
//!
//! The archive is pg_dump's custom format: compressed, restorable table by table, and read by
//! pg_restore of the same or a newer PostgreSQL. Restoring writes into an empty database only,
//! unless told to replace what is there (`--force`); the archive is checked before anything is
//! dropped, and pg_restore runs in one transaction, so a restore that fails part-way leaves the
//! database as it was (with `--force`: empty).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use sqlx::PgPool;

use super::local;

/// Dump the database at `url` into `file` (written aside and renamed when complete, so a failed
/// backup never leaves a truncated archive under the name).
pub fn backup(url: &str, file: &Path) -> anyhow::Result<()> {
    let partial = file.with_file_name(format!(
        ".{}.partial",
        file.file_name().context("the backup file needs a name")?.to_string_lossy()
    ));
    let mut cmd = pg_command("pg_dump", url)?;
    cmd.args(["--format=custom", "--no-owner", "--no-privileges", "--file"]).arg(&partial);
    let result = run(cmd, "pg_dump");
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    std::fs::rename(&partial, file).with_context(|| format!("writing {}", file.display()))?;
    Ok(())
}

/// What the database holds: the number of relations (tables, views, sequences) outside the
/// system schemas, and the first few table names.
pub async fn contents(db: &PgPool) -> anyhow::Result<(i64, Vec<String>)> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
            AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          ORDER BY c.relkind <> 'r', c.relname",
    )
    .fetch_all(db)
    .await?;
    Ok((names.len() as i64, names.into_iter().take(5).collect()))
}

/// Restore `file` into the database at `url`. A database that holds anything is refused unless
/// `force`: then its schemas are dropped first and replaced by the archive's.
pub async fn restore(url: &str, db: &PgPool, file: &Path, force: bool) -> anyhow::Result<()> {
    std::fs::File::open(file).with_context(|| format!("cannot read the backup {}", file.display()))?;
    // Read the archive's table of contents first: a file that is not a backup is refused before
    // anything is dropped.
    let mut list = Command::new(local::tool("pg_restore")?);
    list.arg("--list").arg(file).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    run(list, "pg_restore").with_context(|| format!("{} is not a backup made by `crm backup`", file.display()))?;
    let (n, names) = contents(db).await?;
    if n > 0 {
        if !force {
            bail!(
                "the database {} is not empty ({n} tables and other objects, e.g. {}); restore refuses to \
                 overwrite it. Restore into an empty database, or pass --force to drop everything in this \
                 one and replace it with the backup.",
                super::redact(url),
                names.join(", ")
            );
        }
        empty(db).await.context("emptying the database before the restore")?;
    }
    let mut cmd = pg_command("pg_restore", url)?;
    cmd.args(["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]).arg(file);
    run(cmd, "pg_restore")
}

/// Drop every schema but the system ones, and recreate `public` empty.
async fn empty(db: &PgPool) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT nspname FROM pg_namespace
          WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\\_%'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for s in schemas {
        sqlx::query(&format!("DROP SCHEMA \"{}\" CASCADE", s.replace('"', "\"\""))).execute(&mut *tx).await?;
    }
    sqlx::query("CREATE SCHEMA public").execute(&mut *tx).await?;
    sqlx::query("GRANT USAGE, CREATE ON SCHEMA public TO PUBLIC").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// `program --dbname <url without password>`, the password in PGPASSWORD (not on the command
/// line, where `ps` would show it).
fn pg_command(program: &str, url: &str) -> anyhow::Result<Command> {
    let (url, password) = split_password(url);
    let mut cmd = Command::new(local::tool(program)?);
    cmd.arg("--dbname").arg(url).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    Ok(cmd)
}

fn run(mut cmd: Command, program: &str) -> anyhow::Result<()> {
    let out = cmd.output().with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!("{program} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// `postgres://user:pa%40ss@host/db` → (`postgres://user@host/db`, Some("pa@ss")).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(s) = url.find("://").map(|i| i + 3) else { return (url.to_string(), None) };
    let end = url[s..].find(['/', '?']).map_or(url.len(), |i| s + i);
    let Some(at) = url[s..end].rfind('@').map(|i| s + i) else { return (url.to_string(), None) };
    match url[s..at].find(':') {
        Some(c) => {
            let password = percent_decode(&url[s + c + 1..at]);
            (format!("{}{}", &url[..s + c], &url[at..]), Some(password))
        }
        None => (url.to_string(), None),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        assert_eq!(
            split_password("postgres://crm:pa%40ss@127.0.0.1:5432/crm?sslmode=disable"),
            ("postgres://crm@127.0.0.1:5432/crm?sslmode=disable".into(), Some("pa@ss".into()))
        );
        assert_eq!(split_password("postgres://crm@h/db"), ("postgres://crm@h/db".into(), None));
        assert_eq!(split_password("postgres:///db"), ("postgres:///db".into(), None));
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%e5%ae%a2%zz"), "客%zz");
    }
}
