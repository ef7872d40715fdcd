//! Baselines: what `--against` names, read into a [`Snapshot`].
//!
//! - an existing file: a lock file (`schema/lock/1.0.0.json`);
//! - an existing directory: a schema directory, loaded and built like the current one;
//! - anything else: a git revision (`HEAD`, `v1.2.0`, `origin/main~3`). The schema
//!   directory's files are read from that commit with `git show <rev>:<path>`, straight
//!   into memory, and built like a directory.
//!
//! Directory and git baselines must still be valid under today's rules; lock files have no
//! such limit, which is why releases record one.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::lock::Snapshot;
use super::CompatError;

/// Reads the baseline `against`; `schema_dir` locates the repository for git revisions.
///
/// # Errors
/// [`CompatError`] when the baseline cannot be read or is not a valid schema set.
pub fn read(against: &str, schema_dir: &Path) -> Result<Snapshot, CompatError> {
    let path = Path::new(against);
    if path.is_file() {
        return Snapshot::read(path);
    }
    if path.is_dir() {
        let ir = crate::load(path).map_err(|source| CompatError::Baseline { label: against.to_owned(), source })?;
        return Ok(Snapshot::from_ir(&ir, &ir.package.version));
    }
    from_git(against, schema_dir)
}

fn git(dir: &Path, args: &[&str]) -> Result<String, CompatError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| CompatError::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(CompatError::Git(format!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim())));
    }
    String::from_utf8(out.stdout).map_err(|_| CompatError::Git(format!("git {} printed non-UTF-8 output", args.join(" "))))
}

fn from_git(rev: &str, schema_dir: &Path) -> Result<Snapshot, CompatError> {
    let not_found = || CompatError::Git(format!("`{rev}` is neither a lock file, a schema directory nor a git revision of the repository holding {}", schema_dir.display()));
    let commit = git(schema_dir, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")]).map_err(|_| not_found())?;
    let commit = commit.trim();
    let prefix = git(schema_dir, &["rev-parse", "--show-prefix"])?.trim().to_owned();
    let listing = git(schema_dir, &["ls-tree", "-r", "--name-only", "--full-name", commit, "--", "."])?;
    let mut texts = BTreeMap::new();
    for full in listing.lines() {
        let Some(rel) = full.strip_prefix(prefix.as_str()) else { continue };
        let wanted = rel == crate::load::PROJECT_FILE || is_child(rel, "channels/", ".yaml") || is_child(rel, "models/", ".json");
        if wanted {
            texts.insert(rel.to_owned(), git(schema_dir, &["show", &format!("{commit}:{full}")])?);
        }
    }
    if !texts.contains_key(crate::load::PROJECT_FILE) {
        return Err(CompatError::Git(format!("{rev} has no {prefix}{}: the schema directory did not exist there", crate::load::PROJECT_FILE)));
    }
    let label = format!("{rev}:{}", prefix.trim_end_matches('/'));
    let built = crate::load::load_texts(&label, texts).and_then(|loaded| crate::build(&loaded));
    let ir = built.map_err(|source| CompatError::Baseline { label: label.clone(), source })?;
    Ok(Snapshot::from_ir(&ir, &ir.package.version))
}

fn is_child(rel: &str, dir: &str, ext: &str) -> bool {
    rel.strip_prefix(dir).is_some_and(|name| !name.contains('/') && name.ends_with(ext))
}
