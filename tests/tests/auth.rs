//! Connection authentication against the real binary: every way a token can be bad ends the
//! connection with `disconnect` as the first frame (never a welcome); an expired token says
//! `token_expired`; every token carrier works and two different tokens conflict; a live
//! connection is closed when its token expires; RS256 and ES256 servers take only their own
//! algorithm and key (no HS256 confusion); and no token ever reaches the logs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cableway_tests::client::Client;
use cableway_tests::fixtures::{notification, notifications, unix_now};
use cableway_tests::repo_root;
use cableway_tests::server::{claims, Options, Server};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SUBPROTOCOLS: [&str; 2] = ["actioncable-v1-json", "actioncable-unsupported"];

/// Unpadded base64url, as JWS compact serialization uses.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A token assembled by hand: `b64(header).b64(payload).signature`.
fn raw_token(header: &Value, payload: &Value, signature: &str) -> String {
    format!("{}.{}.{signature}", b64url(header.to_string().as_bytes()), b64url(payload.to_string().as_bytes()))
}

fn sign_with(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).expect("sign")
}

fn key_file(name: &str) -> PathBuf {
    repo_root().join("server/tests/keys").join(name)
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(key_file(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first non-ping frame of a connection to `url` with these headers and subprotocols,
/// and whether the server then closed the socket.
async fn first_frame_with(url: &str, protocols: &[&str], headers: &[(&str, &str)]) -> (Option<Value>, Option<String>, bool) {
    let mut c = Client::connect_with(url, protocols, headers).await.expect("the upgrade succeeds even without a valid token");
    let protocol = c.protocol.clone();
    let first = c.recv().await;
    let closed = if first.as_ref().is_some_and(|f| f["type"] == "disconnect") { c.recv_within(Duration::from_secs(3)).await.is_none() } else { false };
    (first, protocol, closed)
}

async fn first_frame(url: &str) -> Option<Value> {
    first_frame_with(url, &SUBPROTOCOLS, &[]).await.0
}

/// Asserts the connection is refused with `reason` before anything else, and then closed.
async fn assert_refused(url: &str, protocols: &[&str], headers: &[(&str, &str)], reason: &str, case: &str) {
    let (first, _, closed) = first_frame_with(url, protocols, headers).await;
    assert_eq!(first, Some(json!({"type": "disconnect", "reason": reason, "reconnect": false})), "{case}: first frame");
    assert!(closed, "{case}: the server closes the socket after the disconnect frame");
}

#[tokio::test]
async fn every_bad_token_is_refused_before_any_welcome() {
    let s = Server::start();
    let good = claims("u1", "acc1", &[], "user", 3600);
    let valid = s.sign(&good);
    assert_eq!(first_frame(&s.cable_url(Some(&valid))).await, Some(json!({"type": "welcome"})), "control: the valid token is welcomed");

    let parts: Vec<&str> = valid.split('.').collect();
    let hs256 = json!({"alg": "HS256", "typ": "JWT"});
    let with = |patch: Value| {
        let mut c = good.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        s.sign(&c)
    };
    let mut big = good.clone();
    big["padding"] = json!("x".repeat(16 * 1024));
    let t = unix_now();

    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing token", None),
        ("empty token", Some(String::new())),
        ("garbage abc.def", Some("abc.def".into())),
        ("garbage with three parts", Some("abc.def.ghi".into())),
        ("16 KiB token, correctly signed", Some(s.sign(&big))),
        ("alg none", Some(raw_token(&json!({"alg": "none", "typ": "JWT"}), &good, ""))),
        ("alg none, capitalised", Some(raw_token(&json!({"alg": "None", "typ": "JWT"}), &good, ""))),
        ("wrong secret", Some(sign_with(Algorithm::HS256, &EncodingKey::from_secret(b"not-the-server-secret-0123456789abcdef"), &good))),
        ("right secret, HS384", Some(sign_with(Algorithm::HS384, &EncodingKey::from_secret(s.secret.as_bytes()), &good))),
        ("tampered payload", Some(format!("{}.{}.{}", parts[0], b64url(claims("u1", "acc2", &["admin.access"], "user", 3600).to_string().as_bytes()), parts[2]))),
        ("stripped signature", Some(format!("{}.{}.", parts[0], parts[1]))),
        ("signature of another token", Some(format!("{}.{}.{}", parts[0], parts[1], s.token("u2", "acc1", &[]).split('.').nth(2).unwrap()))),
        ("hand-built header, real secret, no signature", Some(raw_token(&hs256, &good, ""))),
        ("missing exp", Some(with(json!({"exp": null})))),
        ("exp as a string", Some(with(json!({"exp": (t + 3600).to_string()})))),
        ("exp as a float", Some(with(json!({"exp": (t + 3600) as f64 + 0.5})))),
        ("nbf beyond the leeway", Some(with(json!({"nbf": t + 120})))),
        ("iat beyond the leeway", Some(with(json!({"iat": t + 120})))),
        ("lifetime above 24 h", Some(with(json!({"iat": t, "exp": t + 24 * 3600 + 600})))),
        ("no iat, exp in two days", Some(with(json!({"iat": null, "exp": t + 48 * 3600})))),
        ("kind admin", Some(with(json!({"kind": "admin"})))),
        ("permissions not an array", Some(with(json!({"permissions": "admin.access"})))),
        ("permission name outside the pattern", Some(with(json!({"permissions": ["Admin Access"]})))),
        ("missing account_id", Some(with(json!({"account_id": null})))),
        ("account_id with a stream separator", Some(with(json!({"account_id": "acc1:*"})))),
        ("missing sub", Some(with(json!({"sub": null})))),
        ("missing kind", Some(with(json!({"kind": null})))),
        ("claims not an object", Some(raw_token(&hs256, &json!([1, 2]), ""))),
    ];
    for (case, token) in cases {
        let url = match &token {
            None => s.cable_url(None),
            Some(t) => format!("ws://{}/cable?token={t}", s.addr),
        };
        assert_refused(&url, &SUBPROTOCOLS, &[], "unauthorized", case).await;
    }

    // Expired 120 s ago (beyond the 30 s leeway): a genuine token, so the client is told to refresh.
    let expired = s.sign(&claims("u1", "acc1", &[], "user", -120));
    assert_refused(&s.cable_url(Some(&expired)), &SUBPROTOCOLS, &[], "token_expired", "expired").await;
    // Within the leeway it is still accepted.
    let just_expired = s.sign(&claims("u1", "acc1", &[], "user", -5));
    assert_eq!(first_frame(&s.cable_url(Some(&just_expired))).await, Some(json!({"type": "welcome"})), "exp 5 s ago is within the 30 s leeway");
    // A forged expired token is not "expired": the signature is checked first.
    let forged_expired = sign_with(Algorithm::HS256, &EncodingKey::from_secret(b"not-the-server-secret-0123456789abcdef"), &claims("u1", "acc1", &[], "user", -120));
    assert_refused(&s.cable_url(Some(&forged_expired)), &SUBPROTOCOLS, &[], "unauthorized", "forged and expired").await;
}

#[tokio::test]
async fn every_token_carrier_works_and_conflicts_are_refused() {
    let s = Server::start();
    let t = s.token("u1", "acc1", &[]);
    let other = s.token("u2", "acc1", &[]);
    let base = s.cable_url(None);
    let welcome = Some(json!({"type": "welcome"}));
    let bearer = format!("Bearer {t}");

    assert_eq!(first_frame(&format!("{base}?token={t}")).await, welcome, "?token=");
    assert_eq!(first_frame(&format!("{base}?jid={t}")).await, welcome, "?jid=");
    assert_eq!(first_frame_with(&base, &SUBPROTOCOLS, &[("Authorization", &bearer)]).await.0, welcome, "Authorization: Bearer");
    assert_eq!(first_frame_with(&base, &SUBPROTOCOLS, &[("Authorization", &format!("bearer {t}"))]).await.0, welcome, "the scheme is case-insensitive");
    assert_eq!(first_frame_with(&base, &SUBPROTOCOLS, &[("X-JID", &t)]).await.0, welcome, "X-JID");

    let token_protocol = format!("anycable-token.{t}");
    let (first, protocol, _) = first_frame_with(&base, &["actioncable-v1-json", &token_protocol], &[]).await;
    assert_eq!(first, welcome, "subprotocol anycable-token.<jwt>");
    assert_eq!(protocol.as_deref(), Some("actioncable-v1-json"), "the echoed protocol is the ActionCable one, never the token entry");
    let (first, protocol, _) = first_frame_with(&base, &[&token_protocol, "actioncable-v1-json"], &[]).await;
    assert_eq!(first, welcome, "token entry first");
    assert_eq!(protocol.as_deref(), Some("actioncable-v1-json"));

    // The same token in several places is one identity.
    assert_eq!(first_frame_with(&format!("{base}?token={t}"), &SUBPROTOCOLS, &[("Authorization", &bearer)]).await.0, welcome, "same token twice");

    // Two different (both valid) tokens are refused, whichever places they come from.
    let other_bearer = format!("Bearer {other}");
    let other_protocol = format!("anycable-token.{other}");
    assert_refused(&format!("{base}?token={t}"), &SUBPROTOCOLS, &[("Authorization", &other_bearer)], "unauthorized", "query vs header").await;
    assert_refused(&format!("{base}?token={t}&jid={other}"), &SUBPROTOCOLS, &[], "unauthorized", "token vs jid").await;
    assert_refused(&format!("{base}?token={t}&token={other}"), &SUBPROTOCOLS, &[], "unauthorized", "token twice").await;
    assert_refused(&base, &SUBPROTOCOLS, &[("Authorization", &bearer), ("X-JID", &other)], "unauthorized", "bearer vs X-JID").await;
    assert_refused(&format!("{base}?jid={t}"), &["actioncable-v1-json", &other_protocol], &[], "unauthorized", "jid vs subprotocol").await;
    // A valid token next to a bad one is refused too: the bad one is not just ignored.
    assert_refused(&format!("{base}?token={t}"), &SUBPROTOCOLS, &[("Authorization", "Bearer abc.def")], "unauthorized", "valid vs garbage").await;
    // Other schemes are not ours: Basic auth from a proxy neither authenticates nor conflicts.
    assert_refused(&base, &SUBPROTOCOLS, &[("Authorization", "Basic dXNlcjpwYXNz")], "unauthorized", "basic only").await;
    assert_eq!(first_frame_with(&format!("{base}?token={t}"), &SUBPROTOCOLS, &[("Authorization", "Basic dXNlcjpwYXNz")]).await.0, welcome, "query token with a Basic header");
}

#[tokio::test]
async fn a_live_connection_is_closed_when_its_token_expires() {
    let s = Server::start();
    let token = s.sign(&claims("u1", "acc1", &[], "user", 3));
    let started = Instant::now();
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    c.subscribed(&notifications("acc1")).await;
    // Everything up to the disconnect is ordinary traffic; the disconnect must come within a few seconds.
    let mut disconnect = None;
    while started.elapsed() < Duration::from_secs(10) {
        match c.recv_within(Duration::from_secs(1)).await {
            Some(v) if v["type"] == "disconnect" => {
                disconnect = Some(v);
                break;
            }
            Some(v) => assert!(v.get("message").is_some() || v["type"] == "confirm_subscription", "unexpected frame {v}"),
            None => {}
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(disconnect, Some(json!({"type": "disconnect", "reason": "token_expired", "reconnect": false})), "after {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(1500), "not before the token expired ({elapsed:?})");
    assert!(elapsed <= Duration::from_secs(8), "within a few seconds of exp ({elapsed:?})");
    assert!(c.recv_within(Duration::from_secs(2)).await.is_none(), "the socket is closed after the disconnect frame");
    // Its subscriptions are gone with it.
    let (status, body) = s.publish(&notification("acc1", "n1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"], 0, "{body}");
}

/// A server verifying `algorithm` tokens with the public key in `public_pem`.
fn asymmetric_server(algorithm: &str, public_pem: &str) -> Server {
    Server::start_with(
        Options::default()
            .unset("CABLEWAY_JWT_SECRET")
            .arg("--jwt-algorithm")
            .arg(algorithm)
            .arg("--jwt-public-key-file")
            .arg(key_file(public_pem).to_str().unwrap()),
    )
}

async fn assert_welcomed(s: &Server, token: &str, case: &str) {
    assert_eq!(first_frame(&s.cable_url(Some(token))).await, Some(json!({"type": "welcome"})), "{case}");
}

#[tokio::test]
async fn rs256_server_takes_only_rs256_tokens_of_its_key() {
    let s = asymmetric_server("RS256", "rsa_public.pem");
    let good = claims("u1", "acc1", &[], "user", 3600);
    let rsa = EncodingKey::from_rsa_pem(&pem("rsa_private.pem")).unwrap();
    assert_welcomed(&s, &sign_with(Algorithm::RS256, &rsa, &good), "RS256 token of the configured key").await;
    // The server still serves: subscribe with the RS256 identity.
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&sign_with(Algorithm::RS256, &rsa, &good)))).await;
    c.subscribed(&notifications("acc1")).await;

    let cases = [
        ("another RSA key", sign_with(Algorithm::RS256, &EncodingKey::from_rsa_pem(&pem("rsa_other_private.pem")).unwrap(), &good)),
        ("alg confusion: HS256 keyed with the RSA public key PEM", sign_with(Algorithm::HS256, &EncodingKey::from_secret(&pem("rsa_public.pem")), &good)),
        ("alg confusion: HS256 keyed with the trimmed PEM", sign_with(Algorithm::HS256, &EncodingKey::from_secret(String::from_utf8(pem("rsa_public.pem")).unwrap().trim().as_bytes()), &good)),
        ("RS384 with the right key", sign_with(Algorithm::RS384, &rsa, &good)),
        ("PS256 with the right key", sign_with(Algorithm::PS256, &rsa, &good)),
        ("ES256 token", sign_with(Algorithm::ES256, &EncodingKey::from_ec_pem(&pem("ec_private.pem")).unwrap(), &good)),
        ("alg none", raw_token(&json!({"alg": "none", "typ": "JWT"}), &good, "")),
        ("RS256, stripped signature", {
            let t = sign_with(Algorithm::RS256, &rsa, &good);
            let p: Vec<&str> = t.split('.').collect();
            format!("{}.{}.", p[0], p[1])
        }),
        ("RS256 of the right key, claims failing the schema", sign_with(Algorithm::RS256, &rsa, &claims("u1", "acc1", &[], "admin", 3600))),
    ];
    for (case, token) in cases {
        assert_refused(&s.cable_url(Some(&token)), &SUBPROTOCOLS, &[], "unauthorized", case).await;
    }
    assert_refused(&s.cable_url(Some(&sign_with(Algorithm::RS256, &rsa, &claims("u1", "acc1", &[], "user", -120)))), &SUBPROTOCOLS, &[], "token_expired", "expired RS256").await;
}

#[tokio::test]
async fn es256_server_takes_only_es256_tokens_of_its_key() {
    let s = asymmetric_server("ES256", "ec_public.pem");
    let good = claims("u1", "acc1", &[], "user", 3600);
    let ec = EncodingKey::from_ec_pem(&pem("ec_private.pem")).unwrap();
    assert_welcomed(&s, &sign_with(Algorithm::ES256, &ec, &good), "ES256 token of the configured key").await;

    let cases = [
        ("another EC key", sign_with(Algorithm::ES256, &EncodingKey::from_ec_pem(&pem("ec_other_private.pem")).unwrap(), &good)),
        ("alg confusion: HS256 keyed with the EC public key PEM", sign_with(Algorithm::HS256, &EncodingKey::from_secret(&pem("ec_public.pem")), &good)),
        ("RS256 token", sign_with(Algorithm::RS256, &EncodingKey::from_rsa_pem(&pem("rsa_private.pem")).unwrap(), &good)),
        ("alg none", raw_token(&json!({"alg": "none", "typ": "JWT"}), &good, "")),
        ("ES256 of the right key, missing account_id", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("account_id");
            sign_with(Algorithm::ES256, &ec, &c)
        }),
    ];
    for (case, token) in cases {
        assert_refused(&s.cable_url(Some(&token)), &SUBPROTOCOLS, &[], "unauthorized", case).await;
    }
}

#[tokio::test]
async fn asymmetric_servers_refuse_to_start_with_a_stray_secret() {
    // The harness sets CABLEWAY_JWT_SECRET; with RS256 that combination is how key confusion
    // gets configured, so the server must refuse it instead of starting.
    let out = std::process::Command::new(cableway_tests::cableway_bin())
        .args(["serve", "--bind", "127.0.0.1:0", "--jwt-algorithm", "RS256", "--jwt-public-key-file"])
        .arg(key_file("rsa_public.pem"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CABLEWAY_JWT_SECRET", "a-stray-secret-0123456789abcdef0123456789")
        .env("CABLEWAY_PUBLISHER_KEY", "test-publisher-0123456789abcdef0123456789")
        .output()
        .expect("run cableway serve");
    assert!(!out.status.success(), "RS256 with a secret must not start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CABLEWAY_JWT_SECRET"), "the error names the setting: {stderr}");
}

#[tokio::test]
async fn tokens_never_reach_the_logs() {
    let s = Server::start();
    let base = s.cable_url(None);
    let mut secrets: Vec<(String, String)> = Vec::new();
    let mut fresh = |label: &str, sub: &str| {
        let t = s.token(sub, "acc1", &[]);
        secrets.push((label.to_owned(), t.clone()));
        t
    };
    let in_query = fresh("?token=", "q1");
    let in_jid = fresh("?jid=", "q2");
    let in_bearer = fresh("Authorization", "h1");
    let in_xjid = fresh("X-JID", "h2");
    let in_protocol = fresh("subprotocol", "p1");
    let other_in_header = fresh("conflicting header", "c1");
    let wrong_secret = sign_with(Algorithm::HS256, &EncodingKey::from_secret(b"not-the-server-secret-0123456789abcdef"), &claims("w1", "acc1", &[], "user", 3600));
    let expired = s.sign(&claims("e1", "acc1", &[], "user", -120));
    let bad_claims = s.sign(&claims("b1", "acc1", &[], "admin", 3600));
    secrets.push(("wrong secret".into(), wrong_secret.clone()));
    secrets.push(("expired".into(), expired.clone()));
    secrets.push(("bad claims".into(), bad_claims.clone()));
    secrets.push(("publisher key".into(), s.publisher_key.clone()));

    let id = notifications("acc1");
    let mut clients = Vec::new();
    for (url, protocols, headers) in [
        (format!("{base}?token={in_query}&x=1"), vec!["actioncable-v1-json".to_owned()], vec![]),
        (format!("{base}?jid={in_jid}"), vec!["actioncable-v1-json".to_owned()], vec![]),
        (base.clone(), vec!["actioncable-v1-json".to_owned()], vec![("Authorization".to_owned(), format!("Bearer {in_bearer}"))]),
        (base.clone(), vec!["actioncable-v1-json".to_owned()], vec![("X-JID".to_owned(), in_xjid.clone())]),
        (base.clone(), vec!["actioncable-v1-json".to_owned(), format!("anycable-token.{in_protocol}")], vec![]),
    ] {
        let protocols: Vec<&str> = protocols.iter().map(String::as_str).collect();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut c = Client::connect_with(&url, &protocols, &headers).await.unwrap();
        assert_eq!(c.recv().await, Some(json!({"type": "welcome"})), "{url}");
        c.subscribed(&id).await;
        clients.push(c);
    }
    for (url, headers) in [
        (format!("{base}?token={in_query}"), vec![("Authorization".to_owned(), format!("Bearer {other_in_header}"))]),
        (format!("{base}?token={wrong_secret}"), vec![]),
        (format!("{base}?jid={expired}"), vec![]),
        (format!("{base}?access_token={bad_claims}"), vec![]),
        (base.clone(), vec![("Authorization".to_owned(), format!("Bearer {bad_claims}"))]),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (first, _, _) = first_frame_with(&url, &SUBPROTOCOLS, &headers).await;
        assert_eq!(first.as_ref().map(|f| f["type"].clone()), Some(json!("disconnect")), "{url}");
    }
    let (status, _) = s.publish(&notification("acc1", "n1")).await;
    assert_eq!(status, 200);
    let open = clients.len();
    for c in clients {
        c.close().await;
    }
    // The last lines a connection logs are its disconnect: once every client's is there,
    // the log is complete.
    s.wait_for_log("every client's disconnect", |logs| (logs.matches(" disconnected ").count() >= open).then_some(())).await;

    let logs = s.logs();
    assert!(logs.contains("/cable"), "connections are logged with their path:\n{logs}");
    assert!(logs.contains("[redacted]"), "query credentials are logged as [redacted]:\n{logs}");
    for (label, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "{label}: the token is in the logs");
        // Any one part of a token (its signature above all) is as bad as the whole.
        for part in secret.split('.').filter(|p| p.len() >= 16) {
            assert!(!logs.contains(part), "{label}: a part of the token is in the logs");
        }
    }
    assert!(!logs.contains(&s.secret), "the JWT secret is in the logs");
}
