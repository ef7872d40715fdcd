//! `cableway publish`: one publication from a shell. The payload is checked against the
//! schema compiled into this binary first, with the pointers `POST /broadcast` would answer
//! in its 422, so a mistake is caught before anything is sent; then it is posted with the
//! publisher key and the targeted streams and deliveries are printed.

use std::io::Read;
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::broker::{self, PublishError, PublishRequest};
use crate::config::Secret;
use crate::validation::Violation;

/// Flags of `cableway publish`.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The channel's wire name; may be left out when no other channel declares the event.
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// The event name.
    #[arg(long, value_name = "EVENT")]
    pub event: String,
    /// The payload: `@file.json`, `-` for standard input, or the JSON text itself.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub payload: String,
    /// The server's base URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// The publisher key.
    #[arg(long, value_name = "KEY", env = "CABLEWAY_PUBLISHER_KEY", hide_env_values = true)]
    pub key: Secret,
    /// Check the payload and print the streams it would reach, without sending it.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs `cableway publish`: 0 when published (or valid, with `--dry-run`), 1 when refused.
pub fn run(args: &PublishArgs) -> anyhow::Result<ExitCode> {
    let payload = read_payload(&args.payload)?;
    let request = PublishRequest { channel: args.channel.clone(), event: args.event.clone(), payload: payload.clone() };
    let publication = match broker::prepare(request, "") {
        Ok(p) => p,
        Err(PublishError::Invalid { event, violations }) => {
            eprintln!("error: the payload does not match the schema of `{event}` (checked locally; nothing was sent)");
            print_violations(&violations);
            return Ok(ExitCode::FAILURE);
        }
        Err(refused) => {
            eprintln!("error: {refused} (checked locally; nothing was sent)");
            return Ok(ExitCode::FAILURE);
        }
    };
    let (channel, event) = (publication.channel.name, publication.event.name);
    if args.dry_run {
        println!("valid {event} on {channel}; would publish to:");
        for stream in &publication.streams {
            println!("  {stream}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let url = format!("{}/broadcast", args.url.trim_end_matches('/'));
    let body = json!({ "channel": channel, "event": event, "payload": payload });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (status, answer) = runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
        let response = client.post(&url).bearer_auth(args.key.expose()).json(&body).send().await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::Ok((status, serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text))))
    })?;
    if status.is_success() {
        println!("published {event} on {channel}");
        let streams: Vec<&str> = answer["streams"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        println!("  streams:    {}", if streams.is_empty() { "(none)".to_owned() } else { streams.join(" ") });
        println!("  deliveries: {}", answer["deliveries"].as_u64().unwrap_or(0));
        return Ok(ExitCode::SUCCESS);
    }
    let code = answer["error"].as_str().unwrap_or("error");
    let message = answer["message"].as_str().map_or_else(|| answer.to_string(), str::to_owned);
    eprintln!("error: the server answered {} {code}: {message}", status.as_u16());
    if let Some(errors) = answer["errors"].as_array() {
        let violations: Vec<Violation> = errors
            .iter()
            .map(|e| Violation { path: e["path"].as_str().unwrap_or_default().to_owned(), message: e["message"].as_str().unwrap_or_default().to_owned() })
            .collect();
        print_violations(&violations);
        let count = answer["error_count"].as_u64().and_then(|n| usize::try_from(n).ok()).unwrap_or(violations.len());
        if count > violations.len() {
            eprintln!("  ... and {} more", count - violations.len());
        }
    }
    Ok(ExitCode::FAILURE)
}

/// `  /payload/title: required property is missing`, one per line, as the 422 lists them.
fn print_violations(violations: &[Violation]) {
    for v in violations {
        eprintln!("  {}: {}", if v.path.is_empty() { "/" } else { &v.path }, v.message);
    }
}

/// The payload from `@file`, `-` (standard input) or the argument itself.
fn read_payload(arg: &str) -> anyhow::Result<Value> {
    let (text, source) = match arg {
        "-" => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            (text, "standard input".to_owned())
        }
        _ => match arg.strip_prefix('@') {
            Some(path) => (std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?, path.to_owned()),
            None => (arg.to_owned(), "--payload".to_owned()),
        },
    };
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("the payload in {source} is not JSON: {e}"))
}
