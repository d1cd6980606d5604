//! One error type for the whole tool: every variant says what went wrong and,
//! where we can tell, what to try next. Messages never contain credentials.

use std::fmt;

/// Exit codes, documented in `--help` and the README.
pub const EXIT_OK: u8 = 0;
/// Findings (used by commands that compare or lint).
pub const EXIT_FINDINGS: u8 = 1;
/// Usage, access or input error.
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug)]
pub struct Error {
    message: String,
    hint: Option<String>,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
