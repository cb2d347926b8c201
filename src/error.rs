//! Exit codes: 0 ok, 1 runtime failure, 2 bad usage / bad config / bad input.

use crate::config::ConfigErrors;

/// Bad input from the user (a file, an argument): exit code 2. The message
/// names where and what.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// The exit code an error stands for.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let bad_input = err
        .chain()
        .any(|e| e.is::<BadInput>() || e.is::<ConfigErrors>());
    if bad_input {
        EXIT_BAD_INPUT
    } else {
        EXIT_FAILURE
    }
}
