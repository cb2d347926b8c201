//! Exit codes: 0 ok, 1 runtime failure, 2 bad usage / bad config / bad input.

use crate::config::ConfigErrors;

/// Bad input from the user (a file, an argument): exit code 2. The message
/// names where and what.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// `err` as bad input (exit code 2), told as it tells itself and kept as the
/// source.
pub fn bad_input(err: impl std::error::Error + Send + Sync + 'static) -> anyhow::Error {
    let message = err.to_string();
    anyhow::Error::new(err).context(BadInput(message))
}

/// `err`, the user's to fix, about `what` (`--from "x"`): exit code 2.
pub fn bad_input_in(
    what: String,
    err: impl std::error::Error + Send + Sync + 'static,
) -> anyhow::Error {
    anyhow::Error::new(err).context(BadInput(what))
}

/// Stopping after a failure failed too: the console broke, and then the
/// history could not be committed. Both are told, the first failure first.
/// The stop's error is the source, so the exit code is the one a failed stop
/// gives after a clean run (the history not written is a runtime failure
/// even when the first error was bad input).
#[derive(Debug, thiserror::Error)]
#[error("{}; stopping after it failed too: {}", describe(.failure), describe(.stop))]
pub struct StopFailed {
    pub failure: anyhow::Error,
    #[source]
    pub stop: anyhow::Error,
}

/// `failure`, with the outcome of stopping after it: unchanged when the stop
/// went well, else both in one error ([`StopFailed`]).
pub fn after_stopping<T>(
    failure: anyhow::Error,
    stopped: Result<T, impl Into<anyhow::Error>>,
) -> anyhow::Error {
    match stopped {
        Ok(_) => failure,
        Err(stop) => StopFailed {
            failure,
            stop: stop.into(),
        }
        .into(),
    }
}

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// The exit code an error stands for.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    // `downcast_ref` also finds `BadInput` given as context ([`bad_input`]),
    // which the chain shows only inside anyhow's wrapper.
    let bad_input = err.downcast_ref::<BadInput>().is_some()
        || err
            .chain()
            .any(|e| e.is::<BadInput>() || e.is::<ConfigErrors>());
    if bad_input {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}

/// An error and its causes as one line, `context: cause: root cause`, each
/// cause once. Many errors write their source into their own message
/// (`"history file {path}: {source}"`) and still return it from `source()`,
/// so a cause whose text the line already holds is left out.
pub fn describe(err: &anyhow::Error) -> String {
    describe_error(err.as_ref())
}

/// [`describe`] for any error.
pub fn describe_error(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    for cause in std::iter::successors(Some(err), |e| e.source()) {
        let text = cause.to_string();
        if text.is_empty() || contains_ignoring_case(&line, &text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    /// A history file whose first page (the schema's b-tree) is overwritten.
    fn open_malformed_history(dir: &std::path::Path) -> anyhow::Error {
        let path = dir.join("history.sqlite");
        drop(crate::store::sqlite::open(&path).unwrap());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[100..4096].fill(0xAB);
        std::fs::write(&path, bytes).unwrap();
        let err = crate::store::sqlite::open(&path).expect_err("a malformed file does not open");
        anyhow::Error::new(err).context("starting the recorder")
    }

    #[test]
    fn a_store_error_prints_its_sqlite_cause_once() {
        let dir = tempfile::tempdir().unwrap();
        let err = open_malformed_history(dir.path());
        let path = dir.path().join("history.sqlite");
        assert_eq!(
            describe(&err),
            format!(
                "starting the recorder: history file {0}: database disk image is malformed \
                 — the file is damaged: `floorwatch db check --db {0}` lists the problems; \
                 restore it from a backup, or salvage what is readable with \
                 `sqlite3 {0} .recover | sqlite3 recovered.sqlite`",
                path.display()
            )
        );
        // What a plain chain printer prints: the store error's message and
        // SQLite's (the bare result code under it is left out of the chain).
        assert_eq!(
            format!("{err:#}")
                .matches("disk image is malformed")
                .count(),
            2
        );
    }

    #[test]
    fn distinct_causes_are_all_kept_in_order() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Err::<(), _>(io)
            .context("reading tariffs.csv")
            .context("loading the billing config")
            .unwrap_err();
        assert_eq!(
            describe(&err),
            "loading the billing config: reading tariffs.csv: no such file"
        );
    }

    #[test]
    fn bad_input_keeps_its_cause_and_says_it_once() {
        let cause = std::io::Error::new(std::io::ErrorKind::InvalidInput, "expected a or b");
        let err = bad_input_in("--mode \"c\"".into(), cause);
        assert_eq!(describe(&err), "--mode \"c\": expected a or b");
        assert_eq!(exit_code(&err), EXIT_BAD_INPUT);
        assert!(err.chain().any(|e| e.is::<std::io::Error>()));

        let cause = std::io::Error::new(std::io::ErrorKind::InvalidInput, "no such mode");
        let err = bad_input(cause);
        assert_eq!(describe(&err), "no such mode");
        assert_eq!(exit_code(&err), EXIT_BAD_INPUT);
    }

    #[test]
    fn a_failed_stop_is_told_after_the_failure_with_its_own_exit_code() {
        let failure = anyhow::Error::from(BadInput("no terminal".into()));
        let stop = Err::<(), _>(std::io::Error::other("disk full"))
            .context("committing history")
            .unwrap_err();
        let err = after_stopping(failure, Err::<(), _>(stop));
        assert_eq!(
            describe(&err),
            "no terminal; stopping after it failed too: committing history: disk full"
        );
        assert_eq!(exit_code(&err), EXIT_FAILURE);

        let failure = anyhow::Error::from(BadInput("no terminal".into()));
        let err = after_stopping(failure, Ok::<(), anyhow::Error>(()));
        assert_eq!(describe(&err), "no terminal");
        assert_eq!(exit_code(&err), EXIT_BAD_INPUT);
    }
}
