//! The `crm` command line: serve | migrate | seed | user create-admin | db start|stop | backup | restore.

use std::future::IntoFuture;
use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use sqlx::PgPool;

use crate::config::Config;
use crate::db::{self, local::LocalPostgres};
use crate::{app, seed};

#[derive(Parser)]
#[command(name = "crm", version, about = "A sales CRM")]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (migrates first).
    Serve {
        /// Seed the demo company if the database has no users yet, and print its logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Fill an empty database with the demo company, or with `--scale N` a generated data set
    /// for benchmarks (N = 1: 2,000 users, 1M customers, 3M contacts, 5M follow-ups, 1M leads).
    Seed {
        #[arg(long)]
        scale: Option<f64>,
    },
    /// Manage users from the shell.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Start or stop the private PostgreSQL cluster (handy for development and tests).
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Write a backup of the database (pg_dump's custom format) to FILE. Attachments are in
    /// the database, so they are in the backup.
    Backup { file: std::path::PathBuf },
    /// Restore a backup made by `crm backup` into an empty database (stop the app first).
    Restore {
        file: std::path::PathBuf,
        /// Drop everything the database holds and replace it with the backup.
        #[arg(long)]
        force: bool,
    },
    /// For scripts/bench: time scope resolution (the owner set) for one user, the way every
    /// request resolves it, and print `<scope> <users> <mean ms> <p95 ms>` lines.
    /// For scripts/bench: write a customer workbook of `rows` rows to import (5% duplicates of
    /// existing customers, 1% bad rows).
    #[command(hide = true)]
    BenchImportFile {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    #[command(hide = true)]
    ScopeTiming {
        #[arg(long)]
        user: i64,
        #[arg(long, default_value_t = 500)]
        runs: usize,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a super administrator (the first login of a real, non-demo installation).
    CreateAdmin {
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "管理员")]
        name: String,
        /// Read from CRM_ADMIN_PASSWORD or asked on the terminal when omitted.
        #[arg(long, env = "CRM_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Start the cluster and print `DATABASE_URL=...`.
    Start {
        /// Durability off: for throwaway test clusters only.
        #[arg(long)]
        fast_unsafe: bool,
    },
    Stop,
}

pub fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_logging(&cli.config);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cfg: &Config) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&cfg.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if cfg.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = cli.config;
    match cli.command {
        Command::Db { command } => db_command(&cfg, command).await,
        // Before any migration: a restore wants the database as it is (empty).
        command @ (Command::Backup { .. } | Command::Restore { .. }) => {
            let (pool, local, url) = open_database(&cfg).await?;
            let result = backup_command(&pool, &url, command).await;
            pool.close().await;
            if let Some(pg) = local {
                pg.stop();
            }
            result
        }
        command => {
            let (pool, local, _) = open_database(&cfg).await?;
            let result = run_with_db(cfg, pool, command).await;
            if let Some(pg) = local {
                pg.stop();
            }
            result
        }
    }
}

async fn run_with_db(cfg: Config, pool: PgPool, command: Command) -> anyhow::Result<()> {
    // Seeding and the jobs walk the registry (numbering targets, record kinds) before any router
    // is built.
    crate::app::install();
    db::migrate(&pool).await?;
    match command {
        Command::Migrate => {
            println!("migrations applied");
            Ok(())
        }
        Command::Seed { scale: None } => {
            seed::demo::seed(&pool).await?;
            seed::demo::print_logins();
            Ok(())
        }
        Command::Seed { scale: Some(n) } => {
            let t = std::time::Instant::now();
            println!("generating scale {n}:");
            seed::scale::seed(&pool, n).await?;
            println!("done in {:.1} s; every user's password is {}", t.elapsed().as_secs_f64(), seed::scale::PASSWORD);
            Ok(())
        }
        Command::Serve { demo } => {
            if demo && seed::demo::seed_if_empty(&pool).await? {
                println!("demo company created");
            }
            serve(cfg, pool, demo).await
        }
        Command::User { command: UserCommand::CreateAdmin { login, name, password } } => {
            let password = match password {
                Some(p) => p,
                None => prompt_password()?,
            };
            let id = seed::create_super_admin(&pool, &login, &name, &password).await?;
            println!("super administrator {login} created (id {id})");
            Ok(())
        }
        Command::ScopeTiming { user, runs } => scope_timing(&pool, user, runs).await,
        Command::BenchImportFile { rows, out } => seed::scale_import::write_file(&pool, rows, &out).await,
        Command::Db { .. } | Command::Backup { .. } | Command::Restore { .. } => {
            unreachable!("handled before migrating")
        }
    }
}

async fn scope_timing(pool: &PgPool, user: i64, runs: usize) -> anyhow::Result<()> {
    use crate::access::ScopeKind;
    let dept: i64 = sqlx::query_scalar("SELECT dept_id FROM users WHERE id = $1").bind(user).fetch_one(pool).await?;
    for (name, kind) in [("subordinates", ScopeKind::SelfAndSubordinates), ("dept_tree", ScopeKind::DeptAndSub)] {
        let mut times = Vec::with_capacity(runs);
        let mut size = 0;
        for i in 0..runs + 20 {
            let t = std::time::Instant::now();
            let owners = crate::access::scope::owners_for(pool, user, dept, &[kind]).await?;
            // The first runs warm the pool and the caches.
            if i >= 20 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            size = owners.map_or(0, |o| o.len());
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
        let p95 = times.get(times.len() * 95 / 100).copied().unwrap_or(0.0);
        println!("{name} {size} {mean:.3} {p95:.3}");
    }
    Ok(())
}

/// DATABASE_URL when given; otherwise the private cluster under the data folder (started).
/// Also the URL connected to.
async fn open_database(cfg: &Config) -> anyhow::Result<(PgPool, Option<LocalPostgres>, String)> {
    if let Some(url) = cfg.database_url.as_deref().filter(|u| !u.is_empty()) {
        return Ok((db::connect(url, cfg.db_max_connections).await?, None, url.to_string()));
    }
    let pg = LocalPostgres::prepare(&cfg.data_dir, cfg.pg_port, false)?;
    pg.start().await?;
    let url = pg.database_url();
    let pool = db::connect(&url, cfg.db_max_connections).await?;
    Ok((pool, Some(pg), url))
}

async fn backup_command(pool: &PgPool, url: &str, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Backup { file } => {
            let t = std::time::Instant::now();
            let url = url.to_string();
            let to = file.clone();
            tokio::task::spawn_blocking(move || db::backup::backup(&url, &to)).await??;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!("backup written to {} ({size} bytes, {:.1} s)", file.display(), t.elapsed().as_secs_f64());
        }
        Command::Restore { file, force } => {
            db::backup::restore(url, pool, &file, force).await?;
            let (n, _) = db::backup::contents(pool).await?;
            println!("restored {} into {} ({n} tables and other objects)", file.display(), db::redact(url));
        }
        _ => unreachable!("only backup and restore"),
    }
    Ok(())
}

async fn db_command(cfg: &Config, command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::Start { fast_unsafe } => {
            let pg = LocalPostgres::prepare(&cfg.data_dir, cfg.pg_port, fast_unsafe)?;
            pg.start().await?;
            println!("DATABASE_URL={}", pg.database_url());
        }
        DbCommand::Stop => {
            let pg = LocalPostgres::prepare(&cfg.data_dir, cfg.pg_port, false)?;
            pg.stop();
        }
    }
    Ok(())
}

/// Serve until SIGINT/SIGTERM. Shutdown: stop accepting, stop the jobs loop, give in-flight
/// requests up to `CRM_SHUTDOWN_TIMEOUT_SECS` to finish, then close the pool; the caller stops
/// the private Postgres afterwards.
async fn serve(cfg: Config, pool: PgPool, demo: bool) -> anyhow::Result<()> {
    let listener =
        tokio::net::TcpListener::bind(&cfg.bind).await.with_context(|| format!("cannot listen on {}", cfg.bind))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("CRM is running at {url}");
    // Only when the demo company is really there: a database with real users was not seeded.
    if demo && seed::demo::present(&pool).await? {
        seed::demo::print_logins();
    }
    let drain = std::time::Duration::from_secs(cfg.shutdown_timeout_secs);
    let state = app::AppState::new(pool.clone(), cfg);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let jobs = state.config.jobs.then(|| crate::jobs::spawn(state.db.clone(), state.config.clone(), stopped.clone()));
    if state.config.jobs {
        // Import batches a stopped instance left unfinished go on at once, not at the job's
        // next turn.
        tokio::spawn(crate::imports::worker::resume_all(state.db.clone(), state.config.clone()));
    }
    let router = app::router(state);
    let mut until_stop = stopped;
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move {
            let _ = until_stop.wait_for(|s| *s).await;
        });
    let mut server = tokio::spawn(server.into_future());

    let early = tokio::select! {
        r = &mut server => Some(r),
        _ = shutdown_signal() => None,
    };
    let _ = stop.send(true);
    let result = match early {
        Some(r) => r.map_err(anyhow::Error::from).and_then(|r| r.map_err(anyhow::Error::from)),
        None => match tokio::time::timeout(drain, &mut server).await {
            Ok(r) => {
                tracing::info!("in-flight requests drained");
                r.map_err(anyhow::Error::from).and_then(|r| r.map_err(anyhow::Error::from))
            }
            Err(_) => {
                tracing::warn!(secs = drain.as_secs(), "drain timeout: dropping the requests still running");
                server.abort();
                Ok(())
            }
        },
    };
    if let Some(jobs) = jobs
        && tokio::time::timeout(drain, jobs).await.is_err()
    {
        tracing::warn!("the jobs loop did not stop in time");
    }
    pool.close().await;
    tracing::info!("stopped");
    result
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

fn prompt_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        print!("password: ");
        std::io::stdout().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        bail!("a password is required (--password, CRM_ADMIN_PASSWORD or standard input)");
    }
    Ok(p)
}
