//! `cableway generate --templates DIR`: a team's template replaces the built-in one of the
//! same file name, and a template that cannot be used is refused with its file named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cableway_tests::{cableway_bin, copy_dir, repo_root};

/// A scratch copy of the base fixture, with an empty `generated/` and a `templates/` dir.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let root = std::env::temp_dir().join(format!("cableway-templates-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        copy_dir(&repo_root().join("codegen/tests/fixtures/base/schema"), &root.join("schema"));
        std::fs::create_dir_all(root.join("templates")).unwrap();
        Scratch(root)
    }

    fn template(&self, file: &str, text: &str) -> PathBuf {
        let path = self.0.join("templates").join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn run(&self, command: &str, templates: bool) -> Output {
        let mut cmd = Command::new(cableway_bin());
        cmd.arg(command).arg("--schema").arg(self.0.join("schema")).arg("--out").arg(self.0.join("generated"));
        if templates {
            cmd.arg("--templates").arg(self.0.join("templates"));
        }
        cmd.output().unwrap()
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.0.join("generated").join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn an_override_replaces_the_built_in_template_of_its_name() {
    let s = Scratch::new("override");
    assert!(s.run("generate", false).status.success());
    let built_in_readme = s.read("ts/README.md");
    let built_in_index = s.read("ts/src/index.ts");
    assert!(built_in_readme.starts_with("# @cableway/client\n"), "{built_in_readme}");

    s.template("README.md.hbs", "# {{package}} for the Board team\n\n{{#each channels}}\n- `{{name}}` as `client.{{property}}`, {{event_count}} events\n{{/each}}\n");
    let out = s.run("generate", true);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(s.read("ts/README.md"), "# @cableway/client for the Board team\n\n- `BoardChannel` as `client.board`, 4 events\n");
    assert_eq!(s.read("ts/src/index.ts"), built_in_index, "templates that are not overridden stay built-in");

    // `check` renders with the same templates: the overridden output is up to date with
    // them, and stale against the built-in ones.
    assert!(s.run("check", true).status.success());
    let out = s.run("check", false);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("README.md differs"), "{}", stderr(&out));
}

#[test]
fn a_template_that_cannot_be_used_is_refused_naming_its_file() {
    let s = Scratch::new("refused");
    let cases: [(&str, &str, &str); 3] = [
        ("READNE.md.hbs", "# {{package}}\n", "no template is named `READNE.md.hbs`"),
        ("index.ts.hbs", "{{#each channels}}\n{{name}}\n", "index.ts.hbs"),
        ("channels.md.hbs", "# {{package}} {{no_such_field}}\n", "no_such_field"),
    ];
    for (file, text, says) in cases {
        let path = s.template(file, text);
        let out = s.run("generate", true);
        assert!(!out.status.success(), "{file}: generate succeeded");
        let err = stderr(&out);
        assert!(err.contains(&path.display().to_string()), "{file}: the error names the file:\n{err}");
        assert!(err.contains(says), "{file}: expected `{says}` in\n{err}");
        assert!(!Path::new(&s.0.join("generated/ts/README.md")).exists(), "{file}: nothing is written when a template fails");
        std::fs::remove_file(path).unwrap();
    }
}
