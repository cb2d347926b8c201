//! The layers of `src/` (see `src/lib.rs`): a module may use the ones below
//! it, never one above. This test reads every `crate::…` path in the library's
//! non-test code and fails on an import upwards that is not in [`KNOWN`], the
//! list of those still being taken apart (issue 14); a known one that is gone
//! must leave the list, so it only shrinks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first; modules of one layer may use each other.
const LAYERS: &[&[&str]] = &[
    &["model", "paths", "logging", "tls"],
    &["config"],
    &["error"],
    &["store"],
    &["alarm", "billing", "csvio", "report"],
    &["source"],
    &["engine"],
    &["app"],
    &["ui"],
    &["demo", "sim"],
    &["cmd"],
];

/// Imports upwards that are still there, as (from, to).
const KNOWN: &[(&str, &str)] = &[];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|layer| layer.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no layer in tests/it/layering.rs"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for lib.rs/main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_owned())
}

/// The file's code without its unit tests (tests may use anything).
fn non_test_code(file: &Path) -> Option<String> {
    let is_test_file = file.file_name().is_some_and(|n| n == "tests.rs")
        || file.components().any(|c| c.as_os_str() == "tests");
    if is_test_file {
        return None;
    }
    let text = std::fs::read_to_string(file).unwrap();
    let end = text.find("#[cfg(test)]\nmod ").unwrap_or(text.len());
    Some(text[..end].to_owned())
}

/// Top-level modules named by `crate::x` and `crate::{x, y::z}` paths.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => found.extend(group_heads(group)),
            None => found.extend(ident(rest)),
        }
    }
    found
}

/// The first segment of each path in a `{…}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut start_of_item = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => start_of_item = true,
            c if c.is_whitespace() => {}
            _ if start_of_item => {
                heads.extend(ident(&group[i..]));
                start_of_item = false;
            }
            _ => {}
        }
    }
    heads
}

fn ident(text: &str) -> Option<String> {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_owned())
}

fn upward_imports() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut upward = BTreeSet::new();
    for file in files {
        let (Some(from), Some(code)) = (module_of(&src, &file), non_test_code(&file)) else {
            continue;
        };
        for to in crate_modules(&code) {
            if to != from && layer_of(&to) > layer_of(&from) {
                upward.insert((from.clone(), to));
            }
        }
    }
    upward
}

#[test]
fn no_module_imports_a_layer_above_it() {
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let upward = upward_imports();
    let new: Vec<_> = upward.difference(&known).collect();
    assert!(
        new.is_empty(),
        "lower layers import upper ones (move the shared type down instead): {new:?}"
    );
    let gone: Vec<_> = known.difference(&upward).collect();
    assert!(
        gone.is_empty(),
        "no longer imported upwards, remove from KNOWN in tests/it/layering.rs: {gone:?}"
    );
}

#[test]
fn crate_paths_are_read_in_every_form() {
    let code = "use crate::{app, logging::init, store::{a, b}};\nlet x = crate::ui::run();";
    let found: Vec<String> = crate_modules(code).into_iter().collect();
    assert_eq!(found, ["app", "logging", "store", "ui"]);
}

/// Files of `src/` outside `store/` that name a database driver, in tests
/// too: every query lives behind the store interface.
fn driver_users(driver: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files
        .into_iter()
        .filter(|f| !f.starts_with(src.join("store")))
        .filter(|f| std::fs::read_to_string(f).unwrap().contains(driver))
        .collect()
}

#[test]
fn sql_lives_only_in_the_store() {
    for driver in ["rusqlite", "tokio_postgres", "postgres_types"] {
        let users = driver_users(driver);
        assert!(
            users.is_empty(),
            "{driver} is named outside src/store/ (use the store interface): {users:?}"
        );
    }
}
