//! How [`Config::load_from`] layers and checks the settings.

use std::path::PathBuf;
use std::time::Duration;

use super::*;

const SECRET_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SECRET_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SECRET_C: &str = "cccccccccccccccccccccccccccccccccccccccc";

pub(super) fn env_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A scratch directory unique to one test, removed on drop.
pub(super) struct TempDir(pub(super) PathBuf);
impl TempDir {
    pub(super) fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("cableway-config-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    pub(super) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn minimal_env() -> Vec<(&'static str, &'static str)> {
    vec![("CABLEWAY_JWT_SECRET", SECRET_A), ("CABLEWAY_PUBLISHER_KEY", SECRET_B)]
}

#[test]
fn defaults() {
    let c = Config::load_from(&ServeArgs::default(), env_of(&minimal_env())).expect("valid");
    assert_eq!(c.server.bind, "127.0.0.1:3000".parse().expect("addr"));
    assert!(!c.server.dev && !c.server.allow_any_origin() && c.generated.is_empty() && c.warnings.is_empty());
    assert_eq!((c.server.worker_threads, c.server.log.as_str()), (None, "info"));
    assert_eq!(c.auth.algorithm, JwtAlgorithm::Hs256);
    assert_eq!(c.auth.leeway_seconds, 30);
    assert_eq!(c.auth.max_lifetime_seconds, 86_400);
    assert_eq!(c.backend.resolver, ResolverKind::Registry);
    let l = &c.limits;
    assert_eq!(l.max_inbound_message_bytes, 65_536);
    assert_eq!(l.max_outbound_queue_bytes, 1_048_576);
    assert_eq!(l.max_subscriptions_per_connection, 128);
    assert_eq!(l.max_publish_body_bytes, 1_048_576);
    assert_eq!((l.read_buffer_bytes, l.listen_backlog), (8192, 4096));
    assert_eq!((l.commands_per_second, l.command_burst), (50, 100));
    let t = &c.timeouts;
    let ms = Duration::from_millis;
    assert_eq!((t.resolver_cache_ttl, t.resolver_timeout, t.forward_timeout), (ms(30_000), ms(2_000), ms(5_000)));
    assert_eq!((t.ping_interval, t.write_timeout, t.drain_timeout), (ms(3_000), ms(2_000), ms(30_000)));
    assert_eq!(t.ping_interval, Duration::from_secs(3));
    assert_eq!(t.session_ttl, Duration::from_secs(300));
}

#[test]
fn flag_beats_env_beats_file_beats_default() {
    let dir = TempDir::new("precedence");
    let path = dir.write(
        "c.toml",
        &format!(
            "bind = \"10.0.0.3:3003\"\npublisher_key = \"{SECRET_C}\"\norigins = [\"https://file.example\"]\nbackend_url = \"http://file:1\"\nworker_threads = 3\n\
             [auth]\nsecret = \"{SECRET_C}\"\nleeway_seconds = 3\nissuer = \"file-iss\"\n[limits]\ncommand_burst = 3\nlisten_backlog = 33\n[timeouts]\nping_interval_ms = 3\ndrain_timeout_ms = 33\n"
        ),
    );
    let env = env_of(&[
        ("CABLEWAY_CONFIG", path.to_str().expect("utf-8 path")),
        ("CABLEWAY_BIND", "10.0.0.2:3002"),
        ("CABLEWAY_PUBLISHER_KEY", SECRET_B),
        ("CABLEWAY_ORIGINS", "https://env.example, https://env2.example"),
        ("CABLEWAY_JWT_SECRET", SECRET_B),
        ("CABLEWAY_JWT_LEEWAY_SECONDS", "2"),
        ("CABLEWAY_COMMAND_BURST", "2"),
        ("CABLEWAY_PING_INTERVAL_MS", "2"),
        ("CABLEWAY_WORKER_THREADS", "2"),
    ]);

    // No flags: env over file, file over default.
    let c = Config::load_from(&ServeArgs::default(), env.clone()).expect("valid");
    assert_eq!(c.server.bind.port(), 3002);
    assert_eq!(c.server.publisher_key.expose(), SECRET_B);
    assert_eq!(c.server.origins, ["https://env.example", "https://env2.example"]);
    assert_eq!(c.server.worker_threads, Some(2));
    assert_eq!(c.backend.url.as_deref(), Some("http://file:1"));
    assert_eq!(c.auth.secret.as_ref().map(Secret::expose), Some(SECRET_B));
    assert_eq!(c.auth.leeway_seconds, 2);
    assert_eq!(c.auth.issuer.as_deref(), Some("file-iss"));
    assert_eq!(c.limits.command_burst, 2);
    assert_eq!(c.limits.listen_backlog, 33);
    assert_eq!(c.limits.commands_per_second, 50);
    assert_eq!(c.timeouts.ping_interval, Duration::from_millis(2));
    assert_eq!(c.timeouts.drain_timeout, Duration::from_millis(33));

    // Flags over env.
    let args = ServeArgs {
        bind: Some("10.0.0.1:3001".parse().expect("addr")),
        publisher_key: Some(Secret::new(SECRET_A)),
        origins: vec!["https://flag.example".into()],
        backend_url: Some("https://flag:1".into()),
        resolver: Some(ResolverKind::Http),
        keys: KeyArgs { jwt_secret: Some(Secret::new(SECRET_A)), jwt_issuer: Some("flag-iss".into()), ..KeyArgs::default() },
        ..ServeArgs::default()
    };
    let c = Config::load_from(&args, env).expect("valid");
    assert_eq!(c.server.bind.port(), 3001);
    assert_eq!(c.server.publisher_key.expose(), SECRET_A);
    assert_eq!(c.server.origins, ["https://flag.example"]);
    assert_eq!(c.backend.url.as_deref(), Some("https://flag:1"));
    assert_eq!(c.backend.resolver, ResolverKind::Http);
    assert_eq!(c.auth.secret.as_ref().map(Secret::expose), Some(SECRET_A));
    assert_eq!(c.auth.issuer.as_deref(), Some("flag-iss"));

    // File over defaults, when env says nothing.
    let c = Config::load_from(&ServeArgs { config: Some(path.clone()), ..ServeArgs::default() }, env_of(&[])).expect("valid");
    assert_eq!(c.server.bind.port(), 3003);
    assert_eq!(c.server.publisher_key.expose(), SECRET_C);
    assert_eq!(c.server.origins, ["https://file.example"]);
    assert_eq!(c.server.worker_threads, Some(3));
    assert_eq!(c.auth.leeway_seconds, 3);
    assert_eq!(c.limits.command_burst, 3);
    assert_eq!(c.timeouts.ping_interval, Duration::from_millis(3));
}

#[test]
fn empty_env_counts_as_unset() {
    let mut env = minimal_env();
    env.push(("CABLEWAY_BIND", ""));
    let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
    assert_eq!(c.server.bind.port(), 3000);
}

#[test]
fn env_values_are_taken_as_written() {
    // figment's own `Env` would read these as a number, a quoted string and a list.
    let mut env = minimal_env();
    env.extend([("CABLEWAY_JWT_ISSUER", "0123"), ("CABLEWAY_JWT_AUDIENCE", "\"cable\""), ("CABLEWAY_BACKEND_URL", "http://rails:3000/[x]")]);
    let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
    assert_eq!((c.auth.issuer.as_deref(), c.auth.audience.as_deref()), (Some("0123"), Some("\"cable\"")));
    assert_eq!(c.backend.url.as_deref(), Some("http://rails:3000/[x]"));
}

#[test]
fn unknown_variables_are_warnings_naming_the_nearest_setting() {
    let mut env = minimal_env();
    env.extend([("CABLEWAY_PING_INTERVAL", "5"), ("CABLEWAY_ZZZZZZZZZZZZ", "1"), ("OTHER_BIND", "x")]);
    let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert_eq!(c.warnings[0], "CABLEWAY_PING_INTERVAL is not a setting; did you mean CABLEWAY_PING_INTERVAL_MS?");
    assert!(c.warnings[1].starts_with("CABLEWAY_ZZZZZZZZZZZZ is not a setting (") && !c.warnings[1].contains("did you mean"), "{}", c.warnings[1]);
    assert_eq!(c.timeouts.ping_interval, Duration::from_secs(3));
}

#[test]
fn production_requires_keys_and_names_the_variable() {
    let load = |pairs: &[(&str, &str)]| Config::load_from(&ServeArgs::default(), env_of(pairs));
    let err = load(&[("CABLEWAY_PUBLISHER_KEY", SECRET_B)]).expect_err("no secret");
    assert!(err.to_string().contains("CABLEWAY_JWT_SECRET"), "{err}");
    let err = load(&[("CABLEWAY_JWT_SECRET", SECRET_A)]).expect_err("no publisher key");
    assert!(err.to_string().contains("CABLEWAY_PUBLISHER_KEY"), "{err}");
    let err = load(&[("CABLEWAY_JWT_SECRET", "weakweak"), ("CABLEWAY_PUBLISHER_KEY", SECRET_B)]).expect_err("weak");
    assert!(err.to_string().contains("CABLEWAY_JWT_SECRET") && err.to_string().contains("too short"), "{err}");
    assert!(!err.to_string().contains("weakweak"), "the message must not echo the secret: {err}");
    let err = load(&[("CABLEWAY_JWT_SECRET", SECRET_A), ("CABLEWAY_PUBLISHER_KEY", "pk")]).expect_err("weak");
    assert!(err.to_string().contains("CABLEWAY_PUBLISHER_KEY"), "{err}");
    let err = load(&[("CABLEWAY_JWT_ALGORITHM", "rs256"), ("CABLEWAY_PUBLISHER_KEY", SECRET_B)]).expect_err("no key");
    assert!(err.to_string().contains("CABLEWAY_JWT_PUBLIC_KEY_FILE"), "{err}");
}

#[test]
fn dev_generates_missing_secrets_and_allows_any_origin() {
    let args = ServeArgs { dev: true, ..ServeArgs::default() };
    let c = Config::load_from(&args, env_of(&[])).expect("valid");
    assert!(c.server.dev && c.server.allow_any_origin());
    assert_eq!(c.generated, ["CABLEWAY_JWT_SECRET", "CABLEWAY_PUBLISHER_KEY"]);
    let secret = c.auth.secret.as_ref().expect("generated").expose().to_owned();
    assert_eq!(secret.len(), 64);
    assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(secret, c.server.publisher_key.expose());
    assert!(c.origin_allowed(Some("https://anything.example")));
    // Supplied values are kept, and an allowlist still applies in dev.
    let c = Config::load_from(&ServeArgs { dev: true, origins: vec!["http://localhost:5173".into()], ..ServeArgs::default() }, env_of(&[("CABLEWAY_PUBLISHER_KEY", "dev-key")]))
        .expect("valid");
    assert_eq!(c.server.publisher_key.expose(), "dev-key");
    assert_eq!(c.generated, ["CABLEWAY_JWT_SECRET"]);
    assert!(!c.server.allow_any_origin());
    assert!(c.origin_allowed(Some("http://localhost:5173")));
    assert!(!c.origin_allowed(Some("http://localhost:5174")));
    // CABLEWAY_DEV works like the flag.
    assert!(Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_DEV", "1")])).expect("valid").server.dev);
    assert!(Config::load_from(&ServeArgs::default(), env_of(&[("CABLEWAY_DEV", "maybe")])).is_err());
}

#[test]
fn an_origin_in_the_environment_is_checked() {
    let mut env = minimal_env();
    env.push(("CABLEWAY_ORIGINS", "https://*.example.com"));
    let err = Config::load_from(&ServeArgs::default(), env_of(&env)).expect_err("wildcard");
    assert!(err.to_string().contains("CABLEWAY_ORIGINS") && err.to_string().contains("wildcards"), "{err}");
    let args = ServeArgs { origins: vec!["https://app.example.com/".into()], ..ServeArgs::default() };
    let err = Config::load_from(&args, env_of(&minimal_env())).expect_err("path");
    assert!(err.to_string().contains("--origin") && err.to_string().contains("trailing slash"), "{err}");
}

#[test]
fn invalid_values_name_the_setting() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("CABLEWAY_BIND", "localhost")], "CABLEWAY_BIND"),
        (&[("CABLEWAY_RESOLVER", "grpc")], "CABLEWAY_RESOLVER"),
        (&[("CABLEWAY_RESOLVER", "http")], "CABLEWAY_BACKEND_URL"),
        (&[("CABLEWAY_BACKEND_URL", "ftp://x")], "CABLEWAY_BACKEND_URL"),
        (&[("CABLEWAY_BACKEND_URL", "http://user:pw@x")], "CABLEWAY_BACKEND_URL"),
        (&[("CABLEWAY_PING_INTERVAL_MS", "soon")], "CABLEWAY_PING_INTERVAL_MS"),
        (&[("CABLEWAY_PING_INTERVAL_MS", "0")], "timeouts.ping_interval_ms (CABLEWAY_PING_INTERVAL_MS)"),
        (&[("CABLEWAY_MAX_INBOUND_MESSAGE_BYTES", "0")], "limits.max_inbound_message_bytes"),
        (&[("CABLEWAY_JWT_LEEWAY_SECONDS", "3600")], "CABLEWAY_JWT_LEEWAY_SECONDS"),
        (&[("CABLEWAY_JWT_ALGORITHM", "none")], "CABLEWAY_JWT_ALGORITHM"),
        (&[("CABLEWAY_JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")], "CABLEWAY_JWT_PUBLIC_KEY_FILE"),
        (&[("CABLEWAY_WORKER_THREADS", "0")], "worker_threads (CABLEWAY_WORKER_THREADS)"),
        (&[("CABLEWAY_WORKER_THREADS", "many")], "CABLEWAY_WORKER_THREADS"),
        (&[("CABLEWAY_LOG", "info,=[")], "log (CABLEWAY_LOG)"),
    ];
    for (extra, needle) in cases {
        let mut env = minimal_env();
        env.extend_from_slice(extra);
        let err = Config::load_from(&ServeArgs::default(), env_of(&env)).expect_err(needle);
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
    // Resolver http with a backend URL is fine; the cache TTL may be 0.
    let mut env = minimal_env();
    env.extend_from_slice(&[("CABLEWAY_RESOLVER", "HTTP"), ("CABLEWAY_BACKEND_URL", "http://rails:3000"), ("CABLEWAY_RESOLVER_CACHE_TTL_MS", "0")]);
    let c = Config::load_from(&ServeArgs::default(), env_of(&env)).expect("valid");
    assert_eq!((c.backend.resolver, c.timeouts.resolver_cache_ttl), (ResolverKind::Http, Duration::ZERO));
}

#[test]
fn secrets_do_not_leak_through_debug_or_errors() {
    let env = minimal_env();
    let args = ServeArgs { keys: KeyArgs { jwt_secret: Some(Secret::new(SECRET_C)), ..KeyArgs::default() }, publisher_key: Some(Secret::new(SECRET_C)), ..ServeArgs::default() };
    let c = Config::load_from(&args, env_of(&env)).expect("valid");
    for text in [format!("{c:?}"), format!("{args:?}")] {
        assert!(!text.contains(SECRET_C), "{text}");
        assert!(text.contains("[redacted]"));
    }
    let dir = TempDir::new("secret-type");
    let path = dir.write("c.toml", "[auth]\nsecret = [\"hunter2-in-a-list\"]\n");
    let err = Config::load_from(&ServeArgs { config: Some(path), ..ServeArgs::default() }, env_of(&[("CABLEWAY_PUBLISHER_KEY", SECRET_B)])).expect_err("not a string");
    assert!(err.to_string().contains("auth.secret") && !err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn for_tests_is_valid() {
    let c = Config::for_tests();
    c.validate().expect("valid");
    assert!(c.server.publisher_key.matches(Config::TEST_PUBLISHER_KEY));
}
