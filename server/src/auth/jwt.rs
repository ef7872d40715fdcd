//! The token [`Verifier`]: one pinned algorithm and key, strict time claims, a lifetime cap,
//! and the claims schema of `schema/cableway.yaml`.
//!
//! jsonwebtoken checks the signature, `exp`, `nbf`, and `aud`/`iss` when configured
//! (research: reliability.md §3.5 lists what it accepts by default and why each setting
//! here differs). This module adds what it does not do: a token size cap, `iat` in the future,
//! the maximum lifetime, and the schema check of the claims before they become [`Claims`].

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::Value;

use super::{unix_now, AuthError, Principal, MAX_TOKEN_BYTES};
use crate::channels::{Claims, CLAIMS_SCHEMA};
use crate::config::{AuthConfig, ConfigError, JwtAlgorithm};

/// Why [`Verifier::sign`] could not produce a token.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// RS256/ES256 without a private key.
    #[error("cannot sign {algorithm} tokens: no private key is configured; set CABLEWAY_JWT_PRIVATE_KEY_FILE (or --jwt-private-key-file, or auth.private_key_file) to the PKCS#8 PEM private key")]
    NoSigningKey {
        /// The configured algorithm.
        algorithm: &'static str,
    },
    /// The crypto library failed.
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Verifies connection tokens, and signs them when it holds a signing key. Build once at
/// startup and share (`Arc`); verification takes `&self`.
pub struct Verifier {
    algorithm: JwtAlgorithm,
    decoding_key: DecodingKey,
    encoding_key: Option<EncodingKey>,
    validation: Validation,
    leeway: i64,
    max_lifetime: i64,
    issuer: Option<String>,
    audience: Option<String>,
    claims_schema: jsonschema::Validator,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys stay out of Debug output.
        f.debug_struct("Verifier")
            .field("algorithm", &self.algorithm)
            .field("can_sign", &self.encoding_key.is_some())
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds the verifier, checking that the keys parse, fit the algorithm, and (when a
    /// private key is given) belong together.
    pub fn new(auth: &AuthConfig) -> Result<Self, ConfigError> {
        const PUBLIC: &str = "CABLEWAY_JWT_PUBLIC_KEY_FILE";
        const PRIVATE: &str = "CABLEWAY_JWT_PRIVATE_KEY_FILE";
        let algorithm = jose_algorithm(auth.algorithm);

        let (decoding_key, encoding_key) = match auth.algorithm {
            JwtAlgorithm::Hs256 => {
                let secret = auth.secret.as_ref().filter(|s| !s.expose().is_empty()).ok_or_else(|| ConfigError::Missing {
                    setting: "CABLEWAY_JWT_SECRET",
                    hint: "HS256 verifies tokens with a shared secret; set CABLEWAY_JWT_SECRET".to_owned(),
                })?;
                let bytes = secret.expose().as_bytes();
                (DecodingKey::from_secret(bytes), Some(EncodingKey::from_secret(bytes)))
            }
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                let pem = auth.public_key_pem.as_deref().ok_or_else(|| ConfigError::Missing {
                    setting: PUBLIC,
                    hint: format!("{} verifies tokens with a public key; set {PUBLIC} to its PEM file", auth.algorithm),
                })?;
                // jsonwebtoken would take a private key here and fail on every token later.
                if pem.contains("PRIVATE KEY") {
                    return Err(ConfigError::Key {
                        setting: PUBLIC,
                        reason: "this is a private key; give the public key (`openssl pkey -in key.pem -pubout`)".to_owned(),
                    });
                }
                let kind = if auth.algorithm == JwtAlgorithm::Rs256 { "an RSA" } else { "a P-256 EC" };
                let wrong_key = |setting: &'static str, what: &str| ConfigError::Key { setting, reason: format!("not {kind} {what} key in PEM format, as {} needs", auth.algorithm) };
                let decoding = match auth.algorithm {
                    JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(pem.as_bytes()),
                    _ => DecodingKey::from_ec_pem(pem.as_bytes()),
                }
                .map_err(|_| wrong_key(PUBLIC, "public"))?;
                // The PEM parser only classifies the key; the crypto backend parses it when a
                // verifier is built. Build one now, so a bad key stops startup instead of
                // failing every connection.
                jsonwebtoken::crypto::verify("AA", b"probe", &decoding, algorithm).map_err(|_| wrong_key(PUBLIC, "public"))?;
                let encoding = match &auth.private_key_pem {
                    None => None,
                    Some(private) => Some(
                        match auth.algorithm {
                            JwtAlgorithm::Rs256 => EncodingKey::from_rsa_pem(private.expose().as_bytes()),
                            _ => EncodingKey::from_ec_pem(private.expose().as_bytes()),
                        }
                        .map_err(|_| wrong_key(PRIVATE, "PKCS#8 private"))?,
                    ),
                };
                if let Some(encoding) = &encoding {
                    let signature = jsonwebtoken::crypto::sign(b"cableway key pair check", encoding, algorithm).map_err(|_| wrong_key(PRIVATE, "PKCS#8 private"))?;
                    let matches = jsonwebtoken::crypto::verify(&signature, b"cableway key pair check", &decoding, algorithm).unwrap_or(false);
                    if !matches {
                        return Err(ConfigError::Key { setting: PRIVATE, reason: format!("the private key does not belong to the public key in {PUBLIC}") });
                    }
                }
                (decoding, encoding)
            }
        };

        let mut validation = Validation::new(algorithm);
        validation.leeway = auth.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // aud and iss are only checked when present unless required (§3.5), so a configured
        // audience or issuer must also be a required claim.
        let mut required = vec!["exp", "sub"];
        if let Some(aud) = &auth.audience {
            validation.set_audience(&[aud]);
            required.push("aud");
        }
        if let Some(iss) = &auth.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);

        let schema: Value = serde_json::from_str(CLAIMS_SCHEMA).map_err(|e| ConfigError::ClaimsSchema(e.to_string()))?;
        let claims_schema = jsonschema::options()
            .should_validate_formats(true)
            // The linear-time engine: claim patterns need no backtracking features.
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(&schema)
            .map_err(|e| ConfigError::ClaimsSchema(e.to_string()))?;

        Ok(Verifier {
            algorithm: auth.algorithm,
            decoding_key,
            encoding_key,
            validation,
            leeway: to_i64(auth.leeway_seconds),
            max_lifetime: to_i64(auth.max_lifetime_seconds),
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            claims_schema,
        })
    }

    /// Verifies a token presented now.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        self.verify_at(token, unix_now())
    }

    /// Verifies a token at `now` (Unix seconds). jsonwebtoken's own `exp`/`nbf` checks use the
    /// system clock; the checks added here use `now`, which callers pass as [`unix_now`].
    fn verify_at(&self, token: &str, now: i64) -> Result<Principal, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::invalid("token too long"));
        }
        // A JWS in compact form has exactly three parts; this also turns away 5-part JWEs
        // before any decoding.
        if token.bytes().filter(|&b| b == b'.').count() != 2 {
            return Err(AuthError::invalid("malformed token"));
        }

        let data = jsonwebtoken::decode::<Value>(token, &self.decoding_key, &self.validation).map_err(|e| map_jwt_error(e.kind()))?;
        let claims_json = data.claims;

        // Reasons quote the schema location, not the value: claim values can be personal data.
        if let Some(error) = self.claims_schema.iter_errors(&claims_json).next() {
            let path = error.instance_path().to_string();
            let place = if path.is_empty() { "the claims object".to_owned() } else { format!("claim {path}") };
            return Err(AuthError::invalid(format!("{place} does not match the claims schema ({})", error.kind().keyword())));
        }
        let claims: Claims = serde_json::from_value(claims_json).map_err(|_| AuthError::invalid("claims do not match the claims type"))?;

        if claims.exp.saturating_add(self.leeway) < now {
            return Err(AuthError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(self.leeway)) {
            return Err(AuthError::invalid("token not yet valid (nbf)"));
        }
        if claims.iat.is_some_and(|iat| iat > now.saturating_add(self.leeway)) {
            return Err(AuthError::invalid("token issued in the future (iat)"));
        }
        // Caps what a leaked token is worth. Without iat, measure from now: a token without
        // iat that expires next year is as dangerous as one that says so.
        let lifetime = claims.exp.saturating_sub(claims.iat.unwrap_or(now));
        if lifetime > self.max_lifetime {
            return Err(AuthError::invalid("token lifetime exceeds the maximum"));
        }

        Ok(Principal { expires_at: claims.exp, claims })
    }

    /// Checks claims against the claims schema; the error quotes the first violation,
    /// values included (for `cableway token`, whose user typed them).
    pub fn check_claims(&self, claims: &Value) -> Result<(), String> {
        match self.claims_schema.iter_errors(claims).next() {
            None => Ok(()),
            Some(error) => Err(format!("{} (at {})", error, error.instance_path())),
        }
    }

    /// Signs `claims` with the configured algorithm: the HS256 secret, or the RS256/ES256
    /// private key when one is configured. Does not check the claims.
    pub fn sign(&self, claims: &Value) -> Result<String, SignError> {
        let key = self.encoding_key.as_ref().ok_or(SignError::NoSigningKey { algorithm: self.algorithm.as_str() })?;
        jsonwebtoken::encode(&Header::new(jose_algorithm(self.algorithm)), claims, key).map_err(|e| SignError::Failed(e.to_string()))
    }

    /// The pinned algorithm.
    pub fn algorithm(&self) -> JwtAlgorithm {
        self.algorithm
    }

    /// Tolerated clock skew, in seconds, when a token is presented: it is refused as
    /// expired only after `exp + leeway_seconds()`.
    pub fn leeway_seconds(&self) -> i64 {
        self.leeway
    }

    /// Longest accepted token lifetime, in seconds.
    pub fn max_lifetime_seconds(&self) -> i64 {
        self.max_lifetime
    }

    /// The required `iss`, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The required `aud`, if any.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }
}

fn jose_algorithm(algorithm: JwtAlgorithm) -> Algorithm {
    match algorithm {
        JwtAlgorithm::Hs256 => Algorithm::HS256,
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::Es256 => Algorithm::ES256,
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// jsonwebtoken's verdict as an [`AuthError`] with a fixed reason. Only a genuine token can
/// reach `ExpiredSignature` (the signature is checked first), so `token_expired` never tells
/// a forger anything.
fn map_jwt_error(kind: &ErrorKind) -> AuthError {
    let reason = match kind {
        ErrorKind::ExpiredSignature => return AuthError::Expired,
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "algorithm not allowed",
        ErrorKind::MissingRequiredClaim(claim) => return AuthError::invalid(format!("missing or malformed claim {}", claim_name(claim))),
        ErrorKind::InvalidClaimFormat(claim) => return AuthError::invalid(format!("malformed claim {}", claim_name(claim))),
        ErrorKind::ImmatureSignature => "token not yet valid (nbf)",
        ErrorKind::InvalidAudience => "audience mismatch",
        ErrorKind::InvalidIssuer => "issuer mismatch",
        ErrorKind::InvalidSubject => "subject mismatch",
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => "malformed token",
        ErrorKind::InvalidKeyFormat | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidEcdsaKey => "key cannot verify this token",
        _ => "invalid token",
    };
    AuthError::invalid(reason)
}

/// The registered claim names jsonwebtoken reports; anything else is not echoed.
fn claim_name(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp",
        "nbf" => "nbf",
        "sub" => "sub",
        "aud" => "aud",
        "iss" => "iss",
        _ => "(registered claim)",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::channels::types::ClaimsKind;
    use crate::config::Secret;

    pub(crate) const SECRET: &str = "unit-test-hs256-secret-0123456789abcdef";
    const RSA_PRIVATE: &str = include_str!("../../tests/keys/rsa_private.pem");
    const RSA_PUBLIC: &str = include_str!("../../tests/keys/rsa_public.pem");
    const RSA_OTHER_PRIVATE: &str = include_str!("../../tests/keys/rsa_other_private.pem");
    const EC_PRIVATE: &str = include_str!("../../tests/keys/ec_private.pem");
    const EC_PUBLIC: &str = include_str!("../../tests/keys/ec_public.pem");
    const EC_OTHER_PRIVATE: &str = include_str!("../../tests/keys/ec_other_private.pem");

    fn hs256() -> AuthConfig {
        AuthConfig { secret: Some(Secret::new(SECRET)), ..AuthConfig::default() }
    }
    fn rs256() -> AuthConfig {
        AuthConfig { algorithm: JwtAlgorithm::Rs256, public_key_pem: Some(RSA_PUBLIC.into()), private_key_pem: Some(Secret::new(RSA_PRIVATE)), ..AuthConfig::default() }
    }
    fn es256() -> AuthConfig {
        AuthConfig { algorithm: JwtAlgorithm::Es256, public_key_pem: Some(EC_PUBLIC.into()), private_key_pem: Some(Secret::new(EC_PRIVATE)), ..AuthConfig::default() }
    }
    fn verifier(auth: &AuthConfig) -> Verifier {
        Verifier::new(auth).expect("valid auth config")
    }

    fn claims(now: i64) -> Value {
        json!({"sub": "u1", "account_id": "acct-1", "permissions": ["admin.access"], "kind": "user", "iat": now, "exp": now + 600})
    }

    fn with(now: i64, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
        let mut c = claims(now);
        if let Value::Object(map) = &mut c {
            f(map);
        }
        c
    }

    /// base64url without padding (RFC 7515 §2), enough to forge test tokens by hand.
    fn b64url(bytes: impl AsRef<[u8]>) -> String {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.as_ref().chunks(3) {
            let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    /// A token from raw parts: any header, any claims, any signature bytes.
    fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
        format!("{}.{}.{signature}", b64url(header.to_string()), b64url(claims.to_string()))
    }

    fn hmac_token(alg: Algorithm, key: &[u8], claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).expect("sign")
    }

    #[test]
    fn accepts_valid_tokens_of_each_algorithm() {
        let now = unix_now();
        for auth in [hs256(), rs256(), es256()] {
            let v = verifier(&auth);
            let token = v.sign(&claims(now)).expect("sign");
            let p = v.verify(&token).unwrap_or_else(|e| panic!("{}: {e}", auth.algorithm));
            assert_eq!(p.claims.sub, "u1");
            assert_eq!(p.claims.account_id, "acct-1");
            assert_eq!(p.claims.permissions, ["admin.access"]);
            assert_eq!(p.claims.kind, ClaimsKind::User);
            assert_eq!(p.expires_at, now + 600);
        }
        // Unknown claims are kept, and a token without iat or nbf is fine.
        let v = verifier(&hs256());
        let token = v.sign(&with(now, |m| {
            m.remove("iat");
            m.insert("tenant".into(), json!("t"));
        }))
        .expect("sign");
        let p = v.verify(&token).expect("valid");
        assert_eq!(p.claims.extra.get("tenant"), Some(&json!("t")));
        // Inside the leeway: expired 10 s ago, nbf and iat 10 s ahead.
        let token = v.sign(&json!({"sub": "u1", "account_id": "a", "permissions": [], "kind": "worker", "iat": now + 10, "nbf": now + 10, "exp": now - 10})).expect("sign");
        assert_eq!(v.verify(&token).expect("within leeway").claims.kind, ClaimsKind::Worker);
    }

    #[test]
    fn rejects_every_listed_attack() {
        let now = unix_now();
        let hs = verifier(&hs256());
        let rs = verifier(&rs256());
        let es = verifier(&es256());
        let good_hs = hs.sign(&claims(now)).expect("sign");
        let good_rs = rs.sign(&claims(now)).expect("sign");
        let hs_sign = |c: &Value| hs.sign(c).expect("sign");
        let [h, p, s]: [&str; 3] = good_rs.splitn(3, '.').collect::<Vec<_>>().try_into().expect("3 parts");
        let tampered_payload = b64url(with(now, |m| {
            m.insert("sub".into(), json!("admin"));
        })
        .to_string());
        let other_rs = Verifier::new(&AuthConfig { private_key_pem: Some(Secret::new(RSA_OTHER_PRIVATE)), public_key_pem: Some(include_str!("../../tests/keys/rsa_other_public.pem").into()), ..rs256() }).expect("other rsa");
        let other_es = Verifier::new(&AuthConfig { private_key_pem: Some(Secret::new(EC_OTHER_PRIVATE)), public_key_pem: Some(include_str!("../../tests/keys/ec_other_public.pem").into()), ..es256() }).expect("other ec");

        enum Want {
            Invalid(&'static str),
            Expired,
            Missing,
        }
        use Want::*;
        let cases: Vec<(&str, &Verifier, String, Want)> = vec![
            ("empty", &hs, String::new(), Missing),
            ("garbage", &hs, "abc.def".into(), Invalid("malformed token")),
            ("five-part JWE", &hs, "a.b.c.d.e".into(), Invalid("malformed token")),
            ("over 8 KiB", &hs, format!("{}.{}.{}", "a".repeat(4096), "b".repeat(4096), "c".repeat(10)), Invalid("token too long")),
            ("alg none", &hs, raw_token(&json!({"alg": "none", "typ": "JWT"}), &claims(now), ""), Invalid("malformed token")),
            ("alg None", &hs, raw_token(&json!({"alg": "None"}), &claims(now), ""), Invalid("malformed token")),
            ("alg NONE", &hs, raw_token(&json!({"alg": "NONE"}), &claims(now), ""), Invalid("malformed token")),
            ("alg none on RS256", &rs, raw_token(&json!({"alg": "none"}), &claims(now), ""), Invalid("malformed token")),
            ("HS256 signed with the RSA public key", &rs, hmac_token(Algorithm::HS256, RSA_PUBLIC.as_bytes(), &claims(now)), Invalid("algorithm not allowed")),
            ("HS256 signed with the EC public key", &es, hmac_token(Algorithm::HS256, EC_PUBLIC.as_bytes(), &claims(now)), Invalid("algorithm not allowed")),
            ("RS256 token to an HS256 server", &hs, good_rs.clone(), Invalid("algorithm not allowed")),
            ("HS384 with the right secret", &hs, hmac_token(Algorithm::HS384, SECRET.as_bytes(), &claims(now)), Invalid("algorithm not allowed")),
            ("wrong HS256 secret", &hs, hmac_token(Algorithm::HS256, b"another-secret-another-secret-xx", &claims(now)), Invalid("bad signature")),
            ("wrong RSA key", &rs, other_rs.sign(&claims(now)).expect("sign"), Invalid("bad signature")),
            ("wrong EC key", &es, other_es.sign(&claims(now)).expect("sign"), Invalid("bad signature")),
            ("tampered payload", &rs, format!("{h}.{tampered_payload}.{s}"), Invalid("bad signature")),
            ("stripped signature", &rs, format!("{h}.{p}."), Invalid("bad signature")),
            ("stripped HS256 signature", &hs, format!("{}.", good_hs.rsplit_once('.').expect("dots").0), Invalid("bad signature")),
            ("kid/jku pointing elsewhere", &rs, raw_token(&json!({"alg": "RS256", "kid": "../../etc/passwd", "jku": "https://evil.example/jwks"}), &claims(now), s), Invalid("bad signature")),
            (
                "missing exp",
                &hs,
                hs_sign(&with(now, |m| {
                    m.remove("exp");
                })),
                Invalid("missing or malformed claim exp"),
            ),
            (
                "exp as string",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("exp".into(), json!((now + 600).to_string()));
                })),
                Invalid("missing or malformed claim exp"),
            ),
            (
                "missing sub",
                &hs,
                hs_sign(&with(now, |m| {
                    m.remove("sub");
                })),
                Invalid("missing or malformed claim sub"),
            ),
            (
                "expired beyond the leeway",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("iat".into(), json!(now - 600));
                    m.insert("exp".into(), json!(now - 31));
                })),
                Expired,
            ),
            (
                "nbf in the future",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("nbf".into(), json!(now + 3600));
                })),
                Invalid("token not yet valid (nbf)"),
            ),
            (
                "nbf as string",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("nbf".into(), json!("0"));
                })),
                Invalid("malformed claim nbf"),
            ),
            (
                "iat in the future beyond the leeway",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("iat".into(), json!(now + 120));
                    m.insert("exp".into(), json!(now + 600));
                })),
                Invalid("token issued in the future (iat)"),
            ),
            (
                "lifetime above the maximum (exp - iat)",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("iat".into(), json!(now - 10));
                    m.insert("exp".into(), json!(now + 86_400));
                })),
                Invalid("token lifetime exceeds the maximum"),
            ),
            (
                "lifetime above the maximum (exp - now, no iat)",
                &hs,
                hs_sign(&with(now, |m| {
                    m.remove("iat");
                    // A minute over, so the second that passes during the test cannot matter.
                    m.insert("exp".into(), json!(now + 86_460));
                })),
                Invalid("token lifetime exceeds the maximum"),
            ),
            (
                "aud present but none configured",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("aud".into(), json!("elsewhere"));
                })),
                Invalid("audience mismatch"),
            ),
            (
                "claims fail the schema: missing account_id",
                &hs,
                hs_sign(&with(now, |m| {
                    m.remove("account_id");
                })),
                Invalid("the claims object does not match the claims schema (required)"),
            ),
            (
                "claims fail the schema: bad permission",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("permissions".into(), json!(["Admin Access"]));
                })),
                Invalid("claim /permissions/0 does not match the claims schema (pattern)"),
            ),
            (
                "claims fail the schema: unknown kind",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("kind".into(), json!("robot"));
                })),
                Invalid("claim /kind does not match the claims schema (enum)"),
            ),
            (
                "claims fail the schema: id with a stream separator",
                &hs,
                hs_sign(&with(now, |m| {
                    m.insert("sub".into(), json!("u1:admin"));
                })),
                Invalid("claim /sub does not match the claims schema (pattern)"),
            ),
            (
                // jsonwebtoken reads its claims struct from an array positionally.
                "claims are an array that passes jsonwebtoken's checks",
                &hs,
                hs_sign(&json!([now + 600, now - 10, "u1", null, null])),
                Invalid("the claims object does not match the claims schema (type)"),
            ),
            ("claims are a string", &hs, hs_sign(&json!("u1")), Invalid("malformed token")),
        ];
        for (name, v, token, want) in cases {
            let got = v.verify(&token);
            match (want, &got) {
                (Invalid(reason), Err(AuthError::Invalid { reason: r })) if r == reason => {}
                (Expired, Err(AuthError::Expired)) | (Missing, Err(AuthError::Missing)) => {}
                (_, got) => panic!("{name}: got {got:?}"),
            }
            if let Err(e) = &got {
                if !token.is_empty() {
                    assert!(!e.to_string().contains(&token), "{name}: the error quotes the token");
                }
            }
        }
    }

    #[test]
    fn configured_issuer_and_audience_are_required() {
        let now = unix_now();
        let v = verifier(&AuthConfig { issuer: Some("https://app.example".into()), audience: Some("cable".into()), ..hs256() });
        let full = with(now, |m| {
            m.insert("iss".into(), json!("https://app.example"));
            m.insert("aud".into(), json!(["cable", "api"]));
        });
        v.verify(&v.sign(&full).expect("sign")).expect("valid");
        for (name, edit, reason) in [
            ("missing aud", Box::new(|m: &mut serde_json::Map<String, Value>| drop(m.remove("aud"))) as Box<dyn Fn(&mut serde_json::Map<String, Value>)>, "missing or malformed claim aud"),
            ("wrong aud", Box::new(|m| drop(m.insert("aud".into(), json!("api")))), "audience mismatch"),
            ("missing iss", Box::new(|m| drop(m.remove("iss"))), "missing or malformed claim iss"),
            ("wrong iss", Box::new(|m| drop(m.insert("iss".into(), json!("https://evil.example")))), "issuer mismatch"),
        ] {
            let mut c = full.clone();
            if let Value::Object(m) = &mut c {
                edit(m);
            }
            assert_eq!(v.verify(&v.sign(&c).expect("sign")), Err(AuthError::invalid(reason)), "{name}");
        }
    }

    #[test]
    fn bad_key_configurations_fail_at_startup() {
        let cases: Vec<(&str, AuthConfig, &str)> = vec![
            ("HS256 without a secret", AuthConfig::default(), "CABLEWAY_JWT_SECRET"),
            ("RS256 without a public key", AuthConfig { public_key_pem: None, ..rs256() }, "CABLEWAY_JWT_PUBLIC_KEY_FILE"),
            ("RS256 with an EC key", AuthConfig { public_key_pem: Some(EC_PUBLIC.into()), private_key_pem: None, ..rs256() }, "CABLEWAY_JWT_PUBLIC_KEY_FILE"),
            ("ES256 with an RSA key", AuthConfig { public_key_pem: Some(RSA_PUBLIC.into()), private_key_pem: None, ..es256() }, "CABLEWAY_JWT_PUBLIC_KEY_FILE"),
            ("private key as public key", AuthConfig { public_key_pem: Some(RSA_PRIVATE.into()), ..rs256() }, "private key"),
            ("not PEM", AuthConfig { public_key_pem: Some("hello".into()), ..rs256() }, "CABLEWAY_JWT_PUBLIC_KEY_FILE"),
            ("mismatched RSA pair", AuthConfig { private_key_pem: Some(Secret::new(RSA_OTHER_PRIVATE)), ..rs256() }, "does not belong"),
            ("mismatched EC pair", AuthConfig { private_key_pem: Some(Secret::new(EC_OTHER_PRIVATE)), ..es256() }, "does not belong"),
            ("EC private key for RS256", AuthConfig { private_key_pem: Some(Secret::new(EC_PRIVATE)), ..rs256() }, "CABLEWAY_JWT_PRIVATE_KEY_FILE"),
        ];
        for (name, auth, needle) in cases {
            let err = Verifier::new(&auth).expect_err(name);
            assert!(err.to_string().contains(needle), "{name}: {err}");
            assert!(!err.to_string().contains("BEGIN"), "{name}: key material in the message");
        }
    }

    #[test]
    fn signing_needs_a_private_key_for_asymmetric_algorithms() {
        let v = verifier(&AuthConfig { private_key_pem: None, ..rs256() });
        let err = v.sign(&claims(unix_now())).expect_err("no private key");
        assert!(matches!(err, SignError::NoSigningKey { algorithm: "RS256" }));
        assert!(err.to_string().contains("CABLEWAY_JWT_PRIVATE_KEY_FILE"));
        // It still verifies tokens signed elsewhere.
        let signer = verifier(&rs256());
        v.verify(&signer.sign(&claims(unix_now())).expect("sign")).expect("valid");
    }

    #[test]
    fn debug_hides_keys() {
        let text = format!("{:?}", verifier(&hs256()));
        assert!(!text.contains(SECRET), "{text}");
        assert!(text.contains("HS256") || text.contains("Hs256"), "{text}");
    }

    #[test]
    fn verify_at_uses_the_given_clock_for_added_checks() {
        let now = unix_now();
        let v = verifier(&hs256());
        let token = v.sign(&claims(now)).expect("sign");
        // Our own exp check, one second past exp + leeway, independent of jsonwebtoken's clock.
        assert_eq!(v.verify_at(&token, now + 600 + 31), Err(AuthError::Expired));
        assert!(v.verify_at(&token, now + 600 + 30).is_ok());
    }
}
