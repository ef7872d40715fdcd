//! The `cableway` command line: `serve`, `token`, `generate`, `check`, `channels`, the
//! release gate `compat` / `release` (classification lives in `codegen::compat`), and the
//! operator's `publish` and `tail` (in `cli/`).
//!
//! `generate` and `check` work on any schema directory (`--schema`), so CI and schema
//! authors can check a set without building the server; `channels` lists what this binary
//! was compiled with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

mod publish;
mod tail;

pub use publish::PublishArgs;
pub use tail::TailArgs;

/// Cableway: a real-time channel server whose channels are declared, not coded.
#[derive(Debug, Parser)]
#[command(name = "cableway", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(crate::config::ServeArgs),
    /// Print a token signed with the configured key.
    Token(crate::auth::TokenArgs),
    /// Write generated/ (TypeScript, bundled JSON Schema) and the channel-file meta-schema.
    Generate(SchemaArgs),
    /// Check a schema set, and that generated/ and the meta-schema are up to date.
    Check(SchemaArgs),
    /// List the channels compiled into this binary.
    Channels,
    /// Classify every change against a baseline (lock file, schema directory or git revision).
    Compat(CompatArgs),
    /// Record a release: write schema/lock/<version>.json, refusing a too-small version bump.
    Release(ReleaseArgs),
    /// Publish one event (checked against the compiled schema first) through a running server.
    Publish(PublishArgs),
    /// Subscribe to a channel and print every envelope as a JSON line; resumes after reconnects.
    Tail(TailArgs),
}

/// Where the schema and the generated files are.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// The schema directory.
    #[arg(long, default_value = "schema")]
    pub schema: PathBuf,
    /// The generated-files directory.
    #[arg(long, default_value = "generated")]
    pub out: PathBuf,
    /// A directory of templates replacing the built-in ones of the same file name
    /// (`README.md.hbs`, `index.ts.hbs`, `channels.md.hbs`, ...).
    #[arg(long)]
    pub templates: Option<PathBuf>,
}

/// What `compat` compares and how it reports.
#[derive(Debug, clap::Args)]
pub struct CompatArgs {
    /// The schema directory.
    #[arg(long, default_value = "schema")]
    pub schema: PathBuf,
    /// The baseline: a lock file (schema/lock/1.0.0.json), a schema directory, or a git revision.
    #[arg(long)]
    pub against: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompatFormat::Text)]
    pub format: CompatFormat,
    /// The least verdict that fails the run (exit code 1).
    #[arg(long, value_enum, default_value_t = FailOn::Break)]
    pub fail_on: FailOn,
    /// The ignore file [default: <schema>/compat-ignore.yaml, if present].
    #[arg(long)]
    pub ignore: Option<PathBuf>,
}

/// `compat --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CompatFormat {
    /// Human-readable.
    Text,
    /// One JSON document.
    Json,
}

/// `compat --fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Fail on BREAK findings.
    Break,
    /// Fail on BREAK and WARN findings.
    Warn,
}

/// What `release` records.
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// The release version, MAJOR.MINOR.PATCH.
    pub version: String,
    /// The schema directory; the lock goes to <schema>/lock/<version>.json.
    #[arg(long, default_value = "schema")]
    pub schema: PathBuf,
}

impl Cli {
    /// Parses the process arguments (exiting with clap's message on an error), with each
    /// setting's environment variable shown in `--help`.
    pub fn from_env() -> Cli {
        let command = Cli::command().mut_subcommand("serve", with_env_in_help).mut_subcommand("token", with_env_in_help);
        Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
    }
}

/// Adds `[env: CABLEWAY_…]` to the help of every flag that has a setting, as clap's `env`
/// attribute did when it also read the variable.
fn with_env_in_help(command: clap::Command) -> clap::Command {
    let ids: Vec<String> = command.get_arguments().map(|a| a.get_id().to_string()).collect();
    ids.into_iter().fold(command, |command, id| {
        let Some(setting) = crate::config::registry::by_env(&format!("{}{}", crate::config::registry::ENV_PREFIX, id.to_ascii_uppercase())) else { return command };
        command.mut_arg(id, |arg| {
            let note = |help: &clap::builder::StyledStr| format!("{help} [env: {}]", setting.env);
            let long = arg.get_long_help().map(note);
            let arg = match arg.get_help().map(note) {
                Some(help) => arg.help(help),
                None => arg,
            };
            match long {
                Some(long) => arg.long_help(long),
                None => arg,
            }
        })
    })
}

/// The command to regenerate, as printed in staleness errors.
pub const REGENERATE: &str = "cargo run -p cableway -- generate";

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(&args),
        Command::Token(args) => token(&args),
        Command::Generate(args) => generate(&args),
        Command::Check(args) => check(&args),
        Command::Compat(args) => compat(&args),
        Command::Release(args) => release(&args),
        Command::Publish(args) => publish::run(&args),
        Command::Tail(args) => tail::run(&args),
        Command::Channels => {
            for c in crate::channels::REGISTRY {
                println!("{}\t{} events\t{} actions\t{}", c.name, c.events.len(), c.actions.len(), c.streams.join(" "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load(schema: &Path) -> Result<codegen::Ir, ExitCode> {
    match codegen::load(schema) {
        Ok(ir) => Ok(ir),
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::FAILURE)
        }
    }
}

/// Every file `generate` owns, by path relative to the repository root layout:
/// `out/<path>` for generated files and `schema/channel.schema.json`.
fn expected_files(ir: &codegen::Ir, args: &SchemaArgs) -> codegen::Result<BTreeMap<PathBuf, String>> {
    let templates = match &args.templates {
        Some(dir) => codegen::emit::templates::Templates::with_overrides(dir)?,
        None => codegen::emit::templates::Templates::embedded(),
    };
    let mut files: BTreeMap<PathBuf, String> = codegen::emit::generated_files(ir, &templates)?.into_iter().map(|f| (args.out.join(&f.path), f.contents)).collect();
    files.insert(args.schema.join(codegen::emit::meta::META_SCHEMA_FILE), codegen::emit::meta::channel_schema());
    Ok(files)
}

/// The loaded schema set and what `generate` would write, or the exit code after printing why not.
fn plan(args: &SchemaArgs) -> Result<(codegen::Ir, BTreeMap<PathBuf, String>), ExitCode> {
    let ir = load(&args.schema)?;
    match expected_files(&ir, args) {
        Ok(files) => Ok((ir, files)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn generate(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let (ir, expected) = match plan(args) {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    let mut written = 0;
    for (path, contents) in &expected {
        if codegen::emit::write_if_changed(path, contents)? {
            written += 1;
        }
    }
    for stale in owned_on_disk(&args.out)?.into_iter().filter(|p| !expected.contains_key(p)) {
        std::fs::remove_file(&stale)?;
        written += 1;
    }
    println!("{} channels; {} files up to date, {written} written or removed", ir.channels.len(), expected.len());
    Ok(ExitCode::SUCCESS)
}

fn check(args: &SchemaArgs) -> anyhow::Result<ExitCode> {
    let (ir, expected) = match plan(args) {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    let mut stale = Vec::new();
    for (path, contents) in &expected {
        match std::fs::read_to_string(path) {
            Ok(on_disk) if &on_disk == contents => {}
            Ok(_) => stale.push(format!("{} differs", path.display())),
            Err(_) => stale.push(format!("{} is missing", path.display())),
        }
    }
    for extra in owned_on_disk(&args.out)?.into_iter().filter(|p| !expected.contains_key(p)) {
        stale.push(format!("{} is not generated from the schema any more", extra.display()));
    }
    if stale.is_empty() {
        println!("{}: {} channels OK; generated files up to date", args.schema.display(), ir.channels.len());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("error: generated files are stale:");
    for s in &stale {
        eprintln!("  - {s}");
    }
    eprintln!("  = help: run `{REGENERATE}` and commit the result");
    Ok(ExitCode::FAILURE)
}

/// Exit code of `compat` and `release` when they cannot run (findings exit with 1).
const EXIT_UNUSABLE: u8 = 2;

fn compat(args: &CompatArgs) -> anyhow::Result<ExitCode> {
    use codegen::compat::{baseline, check, ignore, report::Report, Snapshot, Verdict};
    let ir = match load(&args.schema) {
        Ok(ir) => ir,
        Err(_) => return Ok(ExitCode::from(EXIT_UNUSABLE)),
    };
    let current = Snapshot::from_ir(&ir, &ir.package.version);
    let run = || -> Result<Report, codegen::compat::CompatError> {
        let old = baseline::read(&args.against, &args.schema)?;
        let entries = match &args.ignore {
            Some(path) => ignore::read(path, false)?,
            None => ignore::read(&args.schema.join(ignore::DEFAULT_FILE), true)?,
        };
        let mut findings = check(&old, &current);
        let applied = ignore::apply(&entries, &mut findings, ignore::Date::today());
        let fail_on = match args.fail_on {
            FailOn::Break => Verdict::Break,
            FailOn::Warn => Verdict::Warn,
        };
        Ok(Report::new(args.against.clone(), args.schema.display().to_string(), findings, applied, fail_on))
    };
    let report = match run() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        }
    };
    match args.format {
        CompatFormat::Text => print!("{}", report.text()),
        CompatFormat::Json => print!("{}", codegen::emit::pretty_json(&report.json())),
    }
    Ok(if report.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn release(args: &ReleaseArgs) -> anyhow::Result<ExitCode> {
    use codegen::compat::{check, lock, release_allowed, Snapshot, Verdict, Version};
    let version = match Version::parse(&args.version) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_UNUSABLE));
        }
    };
    let ir = match load(&args.schema) {
        Ok(ir) => ir,
        Err(_) => return Ok(ExitCode::from(EXIT_UNUSABLE)),
    };
    let snapshot = Snapshot::from_ir(&ir, &version.to_string());
    let path = lock::lock_path(&args.schema, version);
    if path.exists() {
        eprintln!("error: {} already exists: release {version} was recorded before", path.display());
        return Ok(ExitCode::FAILURE);
    }
    let latest = lock::locks(&args.schema)?.pop();
    let bump = match &latest {
        None => None,
        Some((latest, latest_path)) => {
            let findings = check(&Snapshot::read(latest_path)?, &snapshot);
            match release_allowed(*latest, version, &findings) {
                Ok(bump) => Some((*latest, bump, findings.len())),
                Err(refusal) => {
                    eprintln!("error: {refusal}");
                    for f in findings.iter().filter(|f| f.verdict == Verdict::Break) {
                        eprintln!("  - {} {}: {}", f.rule, f.path(), f.message);
                    }
                    eprintln!("  = help: run `cableway compat --schema {} --against {}` for every finding and its fix", args.schema.display(), latest_path.display());
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    };
    codegen::emit::write_if_changed(&path, &snapshot.to_lock_text())?;
    match bump {
        None => println!("wrote {}: the first release, {} channels", path.display(), snapshot.channels.len()),
        Some((latest, bump, n)) => println!("wrote {}: a {} release after {latest} ({n} findings)", path.display(), bump.as_str()),
    }
    if ir.package.version != version.to_string() {
        println!("note: {} says package.version {}; set it to {version} and regenerate", args.schema.join(codegen::load::PROJECT_FILE).display(), ir.package.version);
    }
    Ok(ExitCode::SUCCESS)
}

/// Files under `out` that `generate` manages (everything but installed or built artifacts).
fn owned_on_disk(out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![out.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if matches!(name, "node_modules" | "dist" | "package-lock.json") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

fn serve(args: &crate::config::ServeArgs) -> anyhow::Result<ExitCode> {
    let config = crate::config::Config::load(args)?;
    crate::logging::init(&config.server.log, config.observability.log_format);
    crate::metrics::init();
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = config.server.worker_threads {
        rt.worker_threads(n);
    }
    let rt = rt.enable_all().build()?;
    rt.block_on(async move {
        let listener = crate::server::bind(config.server.bind, config.limits.listen_backlog)?;
        let addr = listener.local_addr()?;
        let metrics = config.observability.metrics_bind.map(|at| crate::server::bind(at, 128)).transpose()?;
        let app = std::sync::Arc::new(crate::app::App::new(config)?);
        if app.config.server.dev {
            print_dev_banner(&app, addr)?;
        }
        if let Some(metrics) = metrics {
            println!("metrics on http://{}/metrics", metrics.local_addr()?);
            tokio::spawn(crate::http::serve_metrics(metrics, app.clone()));
        }
        println!("cableway listening on http://{addr} ({} channels)", crate::channels::REGISTRY.len());
        crate::server::run(listener, app, crate::server::shutdown_signal()).await?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

fn print_dev_banner(app: &crate::app::App, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let claims = serde_json::json!({
        "sub": "dev-user", "account_id": "dev-account", "permissions": ["admin.access"],
        "kind": "user", "iat": now, "exp": now + 8 * 3600,
    });
    let token = app.verifier.sign(&claims)?;
    let payload = serde_json::json!({
        "channel": "NotificationChannel", "event": "new_notification",
        "payload": { "id": "n1", "account_id": "dev-account", "notification_type": "dev.hello", "title": "Hello",
                     "message": "Published with curl", "severity": "info", "read": false, "created_at": "2026-01-01T00:00:00Z" }
    });
    println!("cableway dev mode: embedded defaults, no Redis, tokens signed with {}", app.config.jwt_key_source);
    println!();
    println!("  dev token (sub dev-user, account dev-account, admin.access, 8 h):");
    println!("    {token}");
    println!("  publisher key:");
    println!("    {}", app.config.server.publisher_key.expose());
    println!();
    println!("  connect:  ws://{addr}/cable?token=<dev token>");
    println!("  subscribe with identifier {{\"channel\":\"NotificationChannel\",\"account_id\":\"dev-account\"}}, then publish:");
    println!();
    println!("    curl -sS -X POST http://{addr}/broadcast \\");
    println!("      -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\", app.config.server.publisher_key.expose());
    println!("      -d '{payload}'");
    println!();
    Ok(())
}

fn token(args: &crate::auth::TokenArgs) -> anyhow::Result<ExitCode> {
    let token = crate::auth::mint_from_args(args)?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}
