//! `loadgen`: the benchmark's load generator (single-threaded tokio, tokio-tungstenite with a
//! 4 KiB read buffer and TCP_NODELAY). The `bench` orchestrator runs it pinned to its own
//! CPU; it can also be run by hand.
//!
//! ```text
//! loadgen run SPEC.json|-          # one run (see cableway_bench::Spec); prints a Report as JSON
//! loadgen example                  # prints an example spec
//! loadgen publish ADDR BEARER BODY_FILE SECS CONNS [PID] [PATH]
//!                                  # publish-path cost: POST PATH (/broadcast) back to back
//! loadgen jwt SECRET TOKEN ITERS   # in-process HS256 verification cost, as the server does it
//! ```

use std::io::Read;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use cableway_bench::{self as bench, Proto, Spec};
use serde_json::{json, Value};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => {
            let src = args.get(1).context("usage: loadgen run SPEC.json|-")?;
            let text = if src == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(src).with_context(|| format!("read {src}"))?
            };
            let spec: Spec = serde_json::from_str(&text).context("spec JSON")?;
            let report = bench::run_blocking(&spec)?;
            println!("{}", serde_json::to_string(&report)?);
        }
        Some("example") => {
            let mut spec = Spec::new(Proto::Ws, "ws://127.0.0.1:4001/ws", "127.0.0.1:4001", 1000);
            spec.ramp = Some(bench::Ramp::default());
            println!("{}", serde_json::to_string_pretty(&spec)?);
        }
        Some("publish") => {
            let [addr, bearer, file, secs, conns] = [1, 2, 3, 4, 5].map(|i| args.get(i).cloned().unwrap_or_default());
            let body = std::fs::read(&file).with_context(|| format!("read {file}"))?;
            let pid = args.get(6).and_then(|p| p.parse().ok()).filter(|p: &u32| *p > 0);
            let path = args.get(7).map_or("/broadcast", String::as_str);
            let bearer = (!bearer.is_empty() && bearer != "-").then_some(bearer.as_str());
            let out = bench::pathcost::run_blocking(&addr, path, bearer, &body, secs.parse()?, conns.parse()?, pid)?;
            println!("{}", serde_json::to_string(&out)?);
        }
        Some("jwt") => {
            let [secret, token, iters] = [1, 2, 3].map(|i| args.get(i).cloned().unwrap_or_default());
            println!("{}", jwt_cost(&secret, &token, iters.parse().unwrap_or(20_000))?);
        }
        _ => bail!("usage: loadgen run SPEC.json|- | example | publish ADDR BEARER BODY_FILE SECS CONNS [PID] [PATH] | jwt SECRET TOKEN ITERS"),
    }
    Ok(())
}

/// The claims schema of schema/cableway.yaml, with `$ref`s to common.json inlined.
fn claims_schema() -> Value {
    let id = json!({ "type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" });
    let int = json!({ "type": "integer", "minimum": 0, "maximum": 9007199254740991u64 });
    json!({
        "type": "object", "additionalProperties": true,
        "required": ["sub", "account_id", "permissions", "kind", "exp"],
        "properties": {
            "sub": id, "account_id": id,
            "permissions": { "type": "array", "maxItems": 256, "items": { "type": "string", "pattern": "^[a-z][a-z0-9_.]{0,63}$" } },
            "kind": { "type": "string", "enum": ["user", "worker"] },
            "exp": int, "nbf": int, "iat": int
        }
    })
}

/// Times what the server does per connect to verify a token: `jsonwebtoken::decode` (HS256,
/// exp/nbf, required claims, same crate and version) and the claims-schema check.
fn jwt_cost(secret: &str, token: &str, iters: usize) -> Result<String> {
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 30;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let schema = jsonschema::options().should_validate_formats(true).with_pattern_options(jsonschema::PatternOptions::regex()).build(&claims_schema())?;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).context("the token does not verify with this secret")?.claims;
    assert!(schema.is_valid(&claims), "claims do not match the schema");
    let time = |f: &dyn Fn() -> bool| {
        for _ in 0..iters / 10 {
            std::hint::black_box(f());
        }
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(f());
        }
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    };
    let decode_us = time(&|| jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok());
    let schema_us = time(&|| schema.iter_errors(&claims).next().is_none());
    Ok(json!({ "iters": iters, "decode_us": decode_us, "claims_schema_us": schema_us, "verify_us": decode_us + schema_us }).to_string())
}
