//! `cableway token`: mints a connection token with the server's own key, for development,
//! tests and scripts. Production tokens come from the application that owns the users.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::{unix_now, SignError, Verifier};
use crate::channels::types::ClaimsKind;
use crate::config::{self, ConfigError, KeyArgs};

/// Flags of `cableway token`.
#[derive(Clone, Debug, clap::Args)]
pub struct TokenArgs {
    /// The principal id (`sub`).
    #[arg(long, value_name = "ID")]
    pub sub: String,
    /// The account the principal acts for (`account_id`).
    #[arg(long, value_name = "ID")]
    pub account: String,
    /// A permission granted (repeatable), e.g. `admin.access`.
    #[arg(long = "permission", value_name = "NAME")]
    pub permissions: Vec<String>,
    /// Whether the principal is a person or a worker.
    #[arg(long, value_name = "KIND", default_value = "user", value_parser = parse_kind)]
    pub kind: ClaimsKind,
    /// Time to live: seconds, or a number with s, m, h or d (30s, 15m, 1h, 2d).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_ttl)]
    pub ttl: u64,
    /// TOML config file (for its `[auth]` table).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The signing key.
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The key configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The key cannot sign.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The token would live longer than the server accepts.
    #[error("--ttl of {ttl} s exceeds the maximum token lifetime of {max} s (auth.max_lifetime_seconds / CABLEWAY_JWT_MAX_LIFETIME_SECONDS)")]
    TtlTooLong {
        /// The requested lifetime.
        ttl: u64,
        /// The configured maximum.
        max: i64,
    },
    /// The claims would not pass the claims schema.
    #[error("the token claims are not valid: {0}")]
    InvalidClaims(String),
}

/// Mints a token issued at `now` (Unix seconds): `{sub, account_id, permissions, kind, iat,
/// exp}`, plus `iss`/`aud` when the verifier requires them, so the token passes
/// [`Verifier::verify`] on a server with the same settings.
pub fn mint(args: &TokenArgs, verifier: &Verifier, now: i64) -> Result<String, MintError> {
    let ttl = i64::try_from(args.ttl).unwrap_or(i64::MAX);
    if ttl > verifier.max_lifetime_seconds() {
        return Err(MintError::TtlTooLong { ttl: args.ttl, max: verifier.max_lifetime_seconds() });
    }
    let mut claims = json!({
        "sub": args.sub,
        "account_id": args.account,
        "permissions": args.permissions,
        "kind": args.kind.as_str(),
        "iat": now,
        "exp": now.saturating_add(ttl),
    });
    if let Value::Object(map) = &mut claims {
        if let Some(iss) = verifier.issuer() {
            map.insert("iss".into(), json!(iss));
        }
        if let Some(aud) = verifier.audience() {
            map.insert("aud".into(), json!(aud));
        }
    }
    verifier.check_claims(&claims).map_err(MintError::InvalidClaims)?;
    Ok(verifier.sign(&claims)?)
}

/// Runs `cableway token`: resolves the key from the flags, the environment and the config
/// file, and mints a token issued now. Print the result; never log it. Unknown `CABLEWAY_*`
/// variables are reported on stderr.
pub fn mint_from_args(args: &TokenArgs) -> Result<String, MintError> {
    let (auth, warnings) = config::load_auth(args.config.as_deref(), &args.keys, config::process_env())?;
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    let verifier = Verifier::new(&auth)?;
    mint(args, &verifier, unix_now())
}

fn parse_kind(s: &str) -> Result<ClaimsKind, String> {
    ClaimsKind::ALL.iter().copied().find(|k| k.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
        let names: Vec<&str> = ClaimsKind::ALL.iter().map(ClaimsKind::as_str).collect();
        format!("expected one of: {}", names.join(", "))
    })
}

/// Parses a humane duration into seconds: `90`, `30s`, `15m`, `1h`, `2d`.
pub fn parse_ttl(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let bad = || format!("expected a duration like 30s, 15m, 1h or 2d, got {s:?}");
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(scale) {
        Some(0) => Err("the duration must be greater than 0".to_owned()),
        Some(seconds) => Ok(seconds),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::auth::AuthError;
    use crate::config::{AuthConfig, Secret};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        token: TokenArgs,
    }

    fn args(extra: &[&str]) -> TokenArgs {
        let mut argv = vec!["cableway", "--sub", "u1", "--account", "acct-1"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).expect("parses").token
    }

    fn verifier(auth: AuthConfig) -> Verifier {
        Verifier::new(&auth).expect("valid")
    }

    fn hs256() -> AuthConfig {
        AuthConfig { secret: Some(Secret::new("mint-test-secret-0123456789abcdef0123")), ..AuthConfig::default() }
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("30s"), Ok(30));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("1h"), Ok(3600));
        assert_eq!(parse_ttl("2d"), Ok(172_800));
        assert_eq!(parse_ttl("90"), Ok(90));
        for bad in ["", "h", "1w", "-1h", "1.5h", "0", "0s", "1 h", "99999999999999999999d"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn minted_tokens_verify_with_the_requested_claims() {
        let v = verifier(hs256());
        let a = args(&["--permission", "admin.access", "--permission", "ai.read", "--kind", "worker", "--ttl", "15m"]);
        let now = unix_now();
        let token = mint(&a, &v, now).expect("mint");
        let p = v.verify(&token).expect("valid");
        assert_eq!((p.claims.sub.as_str(), p.claims.account_id.as_str()), ("u1", "acct-1"));
        assert_eq!(p.claims.permissions, ["admin.access", "ai.read"]);
        assert_eq!(p.claims.kind, ClaimsKind::Worker);
        assert_eq!((p.claims.iat, p.expires_at), (Some(now), now + 900));
        // Defaults: user, one hour, no permissions.
        let p = v.verify(&mint(&args(&[]), &v, now).expect("mint")).expect("valid");
        assert_eq!((p.claims.kind, p.expires_at - now, p.claims.permissions.len()), (ClaimsKind::User, 3600, 0));
    }

    #[test]
    fn minted_tokens_carry_required_iss_and_aud() {
        let v = verifier(AuthConfig { issuer: Some("app".into()), audience: Some("cable".into()), ..hs256() });
        v.verify(&mint(&args(&[]), &v, unix_now()).expect("mint")).expect("valid");
    }

    #[test]
    fn asymmetric_minting() {
        let auth = AuthConfig {
            algorithm: crate::config::JwtAlgorithm::Es256,
            public_key_pem: Some(include_str!("../../tests/keys/ec_public.pem").into()),
            private_key_pem: Some(Secret::new(include_str!("../../tests/keys/ec_private.pem"))),
            ..AuthConfig::default()
        };
        let v = verifier(auth.clone());
        v.verify(&mint(&args(&[]), &v, unix_now()).expect("mint")).expect("valid");
        let public_only = verifier(AuthConfig { private_key_pem: None, ..auth });
        assert!(matches!(mint(&args(&[]), &public_only, unix_now()), Err(MintError::Sign(SignError::NoSigningKey { .. }))));
    }

    #[test]
    fn refuses_what_the_server_would_refuse() {
        let v = verifier(AuthConfig { max_lifetime_seconds: 3600, ..hs256() });
        assert!(matches!(mint(&args(&["--ttl", "2h"]), &v, unix_now()), Err(MintError::TtlTooLong { ttl: 7200, max: 3600 })));
        let err = mint(&args(&["--permission", "Admin Access"]), &v, unix_now()).expect_err("bad permission");
        assert!(matches!(err, MintError::InvalidClaims(_)) && err.to_string().contains("/permissions/0"), "{err}");
        let mut bad_sub = args(&[]);
        bad_sub.sub = "a:b".into();
        assert!(matches!(mint(&bad_sub, &v, unix_now()), Err(MintError::InvalidClaims(_))));
        assert!(Cli::try_parse_from(["cableway", "--sub", "u", "--account", "a", "--kind", "robot"]).is_err());
        assert!(Cli::try_parse_from(["cableway", "--sub", "u", "--account", "a", "--ttl", "1w"]).is_err());
        // A token minted long ago is expired now.
        let old = mint(&args(&["--ttl", "60"]), &v, unix_now() - 3000).expect("mint");
        assert_eq!(v.verify(&old), Err(AuthError::Expired));
    }

    #[test]
    fn key_flags_reach_the_signer() {
        let a = args(&["--jwt-secret", "flag-secret-0123456789abcdef0123456789"]);
        let (auth, _) = config::load_auth(None, &a.keys, []).expect("valid");
        let v = verifier(auth);
        v.verify(&mint(&a, &v, unix_now()).expect("mint")).expect("valid");
        let err = config::load_auth(None, &args(&[]).keys, []).expect_err("no key");
        assert!(err.to_string().contains("CABLEWAY_JWT_SECRET"), "{err}");
    }
}
