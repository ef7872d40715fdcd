//! `cableway compat` and `cableway release` on copies of the real schema set: each test
//! edits a copy (removes an event, adds a required param, adds an enum value, ...) and
//! checks the verdicts, rule IDs and exit codes against the latest committed lock
//! (`schema/lock/1.0.0.json` when this was written), as CI does. Assertions look at the
//! findings under the edited places, so changes released later do not disturb them.

use std::path::PathBuf;
use std::process::{Command, Output};

use cableway_tests::{cableway_bin, copy_dir, repo_root};
use serde_json::Value;

/// A fresh copy of `schema/` (lock files included) under a temp dir of its own.
struct Copy {
    dir: PathBuf,
}

impl Copy {
    fn new(name: &str) -> Copy {
        let dir = std::env::temp_dir().join(format!("cableway-compat-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&repo_root().join("schema"), &dir.join("schema"));
        Copy { dir }
    }

    fn schema(&self) -> PathBuf {
        self.dir.join("schema")
    }

    /// Replaces every occurrence of `from` (which must occur) in a file of the copy.
    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.schema().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "`{from}` not in {file}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    fn write(&self, file: &str, text: &str) {
        std::fs::write(self.schema().join(file), text).unwrap();
    }

    fn compat(&self, extra: &[&str]) -> Output {
        let lock = latest_lock().1;
        let mut cmd = Command::new(cableway_bin());
        cmd.arg("compat").arg("--schema").arg(self.schema()).arg("--against").arg(lock).args(extra);
        cmd.output().expect("run cableway")
    }

    fn compat_json(&self, extra: &[&str]) -> (i32, Value) {
        let out = self.compat(&[&["--format", "json"], extra].concat());
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)));
        (out.status.code().unwrap(), json)
    }

    fn release(&self, version: &str) -> Output {
        Command::new(cableway_bin()).arg("release").arg(version).arg("--schema").arg(self.schema()).output().expect("run cableway")
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The latest committed lock: its version and path.
fn latest_lock() -> ((u64, u64, u64), PathBuf) {
    let mut locks: Vec<((u64, u64, u64), PathBuf)> = std::fs::read_dir(repo_root().join("schema/lock"))
        .expect("schema/lock exists")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stem = path.file_stem()?.to_str()?.to_owned();
            let v: Vec<u64> = stem.split('.').map(|p| p.parse().ok()).collect::<Option<_>>()?;
            (v.len() == 3 && path.extension()? == "json").then(|| ((v[0], v[1], v[2]), path))
        })
        .collect();
    locks.sort();
    locks.pop().expect("at least one lock")
}

fn version((a, b, c): (u64, u64, u64)) -> String {
    format!("{a}.{b}.{c}")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `(rule, verdict)` of every finding whose path starts with `at`, sorted.
fn rules_at(report: &Value, at: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = findings_at(report, at).iter().map(|f| (f["rule"].as_str().unwrap().to_owned(), f["verdict"].as_str().unwrap().to_owned())).collect();
    v.sort();
    v
}

/// [`rules_at`] over several places.
fn rules_under(report: &Value, places: &[&str]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = places.iter().flat_map(|at| rules_at(report, at)).collect();
    v.sort();
    v
}

fn findings_at<'a>(report: &'a Value, at: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["path"].as_str().unwrap().starts_with(at)).collect()
}

fn has(report: &Value, rule: &str, verdict: &str) -> bool {
    rules_at(report, "").iter().any(|(r, v)| r == rule && v == verdict)
}

fn pair(rule: &str, verdict: &str) -> (String, String) {
    (rule.to_owned(), verdict.to_owned())
}

const NOTIFICATION: &str = "channels/notification.yaml#";

const UNREAD: &str = "  unread_count_changed:\n    description: The unread notification count of a user changed.\n    payload: { $ref: \"../models/notification.json#/$defs/NotificationUnreadCount\" }\n    publish_to:\n      - \"notifications:{payload.account_id}\"\n";

#[test]
fn the_schema_set_is_compatible_with_its_directory_head_and_latest_lock() {
    let root = repo_root();
    for against in [root.join("schema").display().to_string(), "HEAD".to_owned()] {
        let out = Command::new(cableway_bin()).current_dir(&root).args(["compat", "--schema", "schema", "--against", &against]).output().unwrap();
        assert!(out.status.success(), "{against}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains("0 break, 0 warn, 0 safe, 0 ignored") && text(&out.stdout).contains("(no changes)"), "{against}: {}", text(&out.stdout));
    }
    // The CI gate: nothing breaking since the latest release.
    let out = Command::new(cableway_bin()).current_dir(&root).arg("compat").args(["--schema", "schema", "--against"]).arg(latest_lock().1).output().unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn release_writes_a_deterministic_lock_that_round_trips() {
    let mut written = Vec::new();
    for name in ["relock-a", "relock-b"] {
        let copy = Copy::new(name);
        std::fs::remove_dir_all(copy.schema().join("lock")).unwrap();
        let out = copy.release("1.0.0");
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("the first release"), "{}", text(&out.stdout));
        let lock = copy.schema().join("lock/1.0.0.json");
        let check = Command::new(cableway_bin()).arg("compat").arg("--schema").arg(copy.schema()).arg("--against").arg(&lock).output().unwrap();
        assert!(check.status.success() && text(&check.stdout).contains("(no changes)"), "{}", text(&check.stdout));
        written.push(std::fs::read_to_string(lock).unwrap());
    }
    assert_eq!(written[0], written[1]);
    assert!(written[0].ends_with("}\n") && written[0].starts_with("{\n  \"lock_format\": 1,"));
}

#[test]
fn removing_an_event_breaks_and_needs_a_reserved_name() {
    let copy = Copy::new("remove-event");
    copy.edit("channels/notification.yaml", UNREAD, "");
    let out = copy.compat(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("BREAK  EVENT_NO_DELETE  identifier"), "{stdout}");
    assert!(stdout.contains("/channels/notification.yaml#/events/unread_count_changed"), "{stdout}");
    assert!(stdout.contains("= fix: "), "{stdout}");

    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 1);
    let edited = [format!("{NOTIFICATION}/events"), format!("{NOTIFICATION}/reserved")];
    let edited: Vec<&str> = edited.iter().map(String::as_str).collect();
    assert_eq!(rules_under(&report, &edited), vec![pair("EVENT_NO_DELETE", "break"), pair("EVENT_NO_DELETE_UNLESS_RESERVED", "break")]);
    let f = findings_at(&report, &format!("{NOTIFICATION}/events/unread_count_changed"))[0];
    assert_eq!(f["direction"], "identifier");
    assert_eq!(f["pointer"], "/events/unread_count_changed");
    assert_eq!(f["path"], "channels/notification.yaml#/events/unread_count_changed");
    assert!(f["file"].as_str().unwrap().ends_with("schema/channels/notification.yaml"));
    assert!(!f["hint"].as_str().unwrap().is_empty());
    assert_eq!(report["required_bump"], "major");

    // Reserving the name leaves the deletion itself.
    copy.edit("channels/notification.yaml", "events:\n  connection_established:", "reserved: { events: [unread_count_changed] }\nevents:\n  connection_established:");
    let (_, report) = copy.compat_json(&[]);
    assert_eq!(rules_under(&report, &edited), vec![pair("EVENT_NO_DELETE", "break")]);
}

#[test]
fn a_new_required_param_breaks_clients() {
    let copy = Copy::new("required-param");
    copy.edit(
        "channels/notification.yaml",
        "  required: [account_id]\n  properties:\n    account_id: { $ref: \"../models/common.json#/$defs/IdParam\" }\n",
        "  required: [account_id, locale]\n  properties:\n    account_id: { $ref: \"../models/common.json#/$defs/IdParam\" }\n    locale: { type: string, enum: [en, de] }\n",
    );
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 1);
    let locale = format!("{NOTIFICATION}/params/properties/locale");
    assert_eq!(rules_under(&report, &[&locale, &format!("{NOTIFICATION}/params/required")]), vec![pair("PARAM_REQUIRED_ADDED", "break")]);
    let f = findings_at(&report, &locale)[0];
    assert_eq!(f["direction"], "client_to_server");
    assert_eq!(f["pointer"], "/params/properties/locale");
}

#[test]
fn payload_enum_values_follow_x_extensible_enum() {
    // Closed enum (common.json Severity): old clients reject the new value.
    let copy = Copy::new("enum-closed");
    copy.edit("models/common.json", "\"enum\": [\"info\", \"warning\", \"error\", \"critical\"]", "\"enum\": [\"info\", \"warning\", \"error\", \"critical\", \"fatal\"]");
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 1);
    assert!(has(&report, "PAYLOAD_ENUM_VALUE_ADDED", "break"), "{report}");
    let added: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "PAYLOAD_ENUM_VALUE_ADDED").collect();
    assert!(added.iter().all(|f| f["direction"] == "server_to_client" && f["pointer"].as_str().unwrap().ends_with("/severity/enum")));
    // Channels that are experimental in the baseline only warn.
    assert!(added.iter().any(|f| f["downgraded"] == true && f["verdict"] == "warn"), "{report}");

    // Extensible enum (notification severity): clients have a catch-all.
    let copy = Copy::new("enum-extensible");
    copy.edit("models/notification.json", "\"enum\": [\"info\", \"success\", \"warning\", \"error\"]", "\"enum\": [\"info\", \"success\", \"warning\", \"error\", \"critical\"]");
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 0, "{report}");
    assert!(has(&report, "PAYLOAD_EXTENSIBLE_ENUM_VALUE_ADDED", "safe"), "{report}");
    assert_ne!(report["required_bump"], "major");
}

#[test]
fn patterns_are_classified_by_direction() {
    // A stream-key param accepts longer ids: every key stays, deployed clients listen where
    // they did, and the gate passes.
    let copy = Copy::new("pattern-key-widened");
    copy.edit("models/common.json", "\"pattern\": \"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$\",\n      \"x-accept-integer\": true", "\"pattern\": \"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$\",\n      \"x-accept-integer\": true");
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 0, "{report}");
    let at = format!("{NOTIFICATION}/params/properties/account_id/pattern");
    assert_eq!(rules_at(&report, &at), vec![pair("PARAM_PATTERN_WIDENED", "safe")]);
    let f = findings_at(&report, &at)[0];
    assert!(f["message"].as_str().unwrap().contains("part of the stream key `notifications:{params.account_id}`"), "{f}");
    assert!(!has(&report, "STREAM_KEY_PARAM_CHANGED", "break"), "{report}");

    // The same ids narrowed: subscriptions with a longer id are refused.
    let copy = Copy::new("pattern-key-narrowed");
    copy.edit("models/common.json", "\"pattern\": \"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$\",\n      \"x-accept-integer\": true", "\"pattern\": \"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$\",\n      \"x-accept-integer\": true");
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(rules_at(&report, &at), vec![pair("PARAM_PATTERN_NARROWED", "break")]);

    // An event payload field widened: old clients may get values they reject (as a loosened
    // `maxLength` would be).
    let copy = Copy::new("pattern-payload-widened");
    copy.edit("models/notification.json", "\"notification_type\": { \"type\": \"string\", \"pattern\": \"^[a-z][a-z0-9_.]{0,63}$\"", "\"notification_type\": { \"type\": \"string\", \"pattern\": \"^[a-z][a-z0-9_.-]{0,63}$\"");
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 1, "{report}");
    let widened: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["rule"] == "PAYLOAD_PATTERN_WIDENED").collect();
    assert!(!widened.is_empty() && widened.iter().all(|f| f["direction"] == "server_to_client" && f["pointer"].as_str().unwrap().ends_with("/notification_type/pattern")), "{report}");
    assert!(widened[0]["message"].as_str().unwrap().contains("e.g. \"a-\""), "{}", widened[0]);

    // The same pattern respelled: nothing to review.
    let copy = Copy::new("pattern-respelled");
    copy.edit("models/notification.json", "\"pattern\": \"^[a-z][a-z0-9_.]{0,63}$\"", "\"pattern\": \"^[a-z][0-9a-z._]{0,63}$\"");
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 0, "{report}");
    assert!(has(&report, "PAYLOAD_PATTERN_RESPELLED", "safe") && !has(&report, "PAYLOAD_PATTERN_WIDENED", "break"), "{report}");
}

#[test]
fn a_renamed_stream_template_is_one_finding() {
    let copy = Copy::new("stream-renamed");
    copy.edit("channels/notification.yaml", "\"notifications:{", "\"user_notifications:{");
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 1, "{report}");
    let streams: Vec<&Value> = findings_at(&report, NOTIFICATION).into_iter().filter(|f| f["rule"].as_str().unwrap().starts_with("STREAM_") || f["rule"].as_str().unwrap().starts_with("PUBLISH_TO_")).collect();
    let [f] = streams.as_slice() else { panic!("one stream finding, no `publish_to` ones: {streams:?}") };
    assert_eq!(f["rule"], "STREAM_RENAMED");
    assert_eq!(f["path"], format!("{NOTIFICATION}/streams/0/key"));
    assert!(f["message"].as_str().unwrap().contains("was renamed to `user_notifications:{params.account_id}`"), "{f}");
}

#[test]
fn fail_on_warn_fails_on_an_added_event() {
    let copy = Copy::new("fail-on");
    copy.edit("channels/notification.yaml", UNREAD, &format!("{UNREAD}{}", UNREAD.replace("unread_count_changed:", "unread_count_reset:")));
    let out = copy.compat(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("WARN  EVENT_ADDED"), "{}", text(&out.stdout));
    let out = copy.compat(&["--fail-on", "warn"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[test]
fn ignore_entries_approve_until_they_expire() {
    let copy = Copy::new("ignore");
    copy.edit("channels/notification.yaml", UNREAD, "");
    copy.edit("channels/notification.yaml", "events:\n  connection_established:", "reserved: { events: [unread_count_changed] }\nevents:\n  connection_established:");
    let entry = |expires: &str| format!("ignore:\n  - rule: EVENT_NO_DELETE\n    path: channels/notification.yaml#/events/unread_count_changed\n    reason: the web client stopped listening in 3.2\n    expires: {expires}\n");

    // The default file, live.
    copy.write("compat-ignore.yaml", &entry("2999-12-31"));
    let out = copy.compat(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("IGNORED (BREAK)  EVENT_NO_DELETE"), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("ignored until 2999-12-31: the web client stopped listening in 3.2"), "{}", text(&out.stdout));

    // Expired: ignores nothing, and says so.
    copy.write("compat-ignore.yaml", &entry("2000-01-01"));
    let (code, report) = copy.compat_json(&[]);
    assert_eq!(code, 1);
    assert_eq!(report["expired_ignores"][0]["rule"], "EVENT_NO_DELETE");
    assert_eq!(findings_at(&report, &format!("{NOTIFICATION}/events/unread_count_changed"))[0]["ignored"], Value::Null);
    assert!(text(&copy.compat(&[]).stdout).contains("EXPIRED ignore entry  EVENT_NO_DELETE"));

    // `--ignore` names another file; a missing one is an error (exit 2).
    let other = copy.dir.join("other-ignore.yaml");
    std::fs::write(&other, entry("2999-12-31")).unwrap();
    assert_eq!(copy.compat(&["--ignore", other.to_str().unwrap()]).status.code(), Some(0));
    let missing = copy.compat(&["--ignore", copy.dir.join("nope.yaml").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing.stderr));
    std::fs::write(&other, "ignore:\n  - rule: EVENT_NO_DELETE\n    path: x\n    reason: y\n    expires: tomorrow\n").unwrap();
    let bad = copy.compat(&["--ignore", other.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("is not a date YYYY-MM-DD"), "{}", text(&bad.stderr));
}

#[test]
fn release_refuses_a_too_small_bump_and_records_a_major_one() {
    let copy = Copy::new("release");
    copy.edit("channels/notification.yaml", UNREAD, "");
    let (latest, _) = latest_lock();
    let major = version((latest.0 + 1, 0, 0));

    for v in [version((latest.0, latest.1, latest.2 + 1)), version((latest.0, latest.1 + 1, 0))] {
        let out = copy.release(&v);
        assert_eq!(out.status.code(), Some(1), "{v}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&format!("release {v} refused")) && stderr.contains(&format!("need a major bump (release {major} or later)")), "{stderr}");
        assert!(stderr.contains("EVENT_NO_DELETE"), "{stderr}");
        assert!(!copy.schema().join(format!("lock/{v}.json")).exists());
    }
    let out = copy.release(&version(latest));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("already exists"), "{}", text(&out.stderr));

    let out = copy.release(&major);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("a major release after {}", version(latest))), "{}", text(&out.stdout));
    let lock = copy.schema().join(format!("lock/{major}.json"));
    let snapshot: Value = serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
    assert_eq!(snapshot["version"], major.as_str());

    // The new lock is the latest baseline: nothing changed since.
    let out = Command::new(cableway_bin()).arg("compat").arg("--schema").arg(copy.schema()).arg("--against").arg(&lock).output().unwrap();
    assert!(out.status.success() && text(&out.stdout).contains("(no changes)"), "{}", text(&out.stdout));
    // And a later patch release with no changes is fine.
    assert!(copy.release(&version((latest.0 + 1, 0, 1))).status.success());
}

#[test]
fn an_unusable_baseline_exits_2() {
    let copy = Copy::new("bad-baseline");
    for against in ["no-such-revision-xyz", copy.schema().join("cableway.yaml").to_str().unwrap()] {
        let out = Command::new(cableway_bin()).arg("compat").arg("--schema").arg(copy.schema()).arg("--against").arg(against).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{against}: {}", text(&out.stdout));
        assert!(!text(&out.stderr).is_empty());
    }
}
