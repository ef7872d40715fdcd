//! The app-backend ownership resolver (`--resolver http`), `cableway token`, and `/health`.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cableway_tests::cableway_bin;
use cableway_tests::client::{identifier, Client};
use cableway_tests::server::{Options, Server};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal HTTP backend answering `POST /cable/authorize`; records every request body.
/// Allows resource `run-a` only; `slow` ids answer after 5 s (past the resolver timeout).
async fn backend() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let body = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end].lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))).unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break serde_json::from_slice::<Value>(&buf[end + 4..end + 4 + len]).unwrap_or(Value::Null);
                        }
                    }
                };
                let id = body["resource"]["id"].as_str().unwrap_or_default().to_owned();
                log.lock().unwrap().push(body);
                if id.starts_with("slow") {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                let answer = json!({ "allow": id == "run-a" }).to_string();
                let resp = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}", answer.len());
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn the_backend_decides_ownership_with_a_cache_and_a_timeout() {
    let (url, seen) = backend().await;
    let s = Server::start_with(Options::default().env("CABLEWAY_BACKEND_URL", &url).env("CABLEWAY_RESOLVER", "http").env("CABLEWAY_RESOLVER_TIMEOUT_MS", "500"));
    let mut c = s.user("u1", "acc1").await;
    let run = |id: &str| identifier("AiOrchestrationChannel", &json!({"type": "workflow_run", "id": id}));
    assert_eq!(c.subscribe(&run("run-a")).await["type"], "confirm_subscription");
    assert_eq!(c.subscribe(&run("run-b")).await["reason"], "forbidden");
    let v = c.subscribe(&run("slow-1")).await;
    assert_eq!(v["reason"], "resolver_unavailable", "a slow backend denies, never allows");
    let asked = seen.lock().unwrap().clone();
    let first = &asked[0];
    assert_eq!(first["channel"], "AiOrchestrationChannel");
    assert_eq!(first["params"], json!({"type": "workflow_run", "id": "run-a"}));
    assert_eq!(first["principal"]["sub"], "u1");
    assert_eq!(first["principal"]["account_id"], "acc1");
    assert_eq!(first["resource"], json!({"kind": "workflow_run", "id": "run-a"}));
    // A second subscriber with the same question is answered from the cache.
    let before = seen.lock().unwrap().len();
    let mut c2 = s.user("u1", "acc1").await;
    assert_eq!(c2.subscribe(&run("run-a")).await["type"], "confirm_subscription");
    assert_eq!(seen.lock().unwrap().len(), before, "cached");
    // With the backend resolver, publishers cannot feed a registry.
    let resp = reqwest::Client::new().put(format!("{}/resources/workflow_run/x", s.http())).bearer_auth(&s.publisher_key).json(&json!({"account_id": "acc1"})).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 409);
}

#[tokio::test]
async fn token_command_mints_what_the_server_accepts_and_health_answers() {
    let s = Server::start();
    let out = Command::new(cableway_bin())
        .args(["token", "--sub", "w1", "--account", "acc9", "--permission", "admin.access", "--permission", "system.health", "--kind", "worker", "--ttl", "15m"])
        .env("CABLEWAY_JWT_SECRET", &s.secret)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    v.validate_nbf = true;
    let claims = jsonwebtoken::decode::<Value>(&token, &jsonwebtoken::DecodingKey::from_secret(s.secret.as_bytes()), &v).unwrap().claims;
    assert_eq!((claims["sub"].as_str(), claims["account_id"].as_str(), claims["kind"].as_str()), (Some("w1"), Some("acc9"), Some("worker")));
    assert_eq!(claims["permissions"], json!(["admin.access", "system.health"]));
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);
    let mut c = Client::connect_welcomed(&s.cable_url(Some(&token))).await;
    c.subscribed(&identifier("WorkerDataChannel", &json!({}))).await;

    let health: Value = reqwest::get(format!("{}/health", s.http())).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["channels"], 22);
    assert_eq!(health["connections"], 1);
}
