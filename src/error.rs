//! One error type for the whole tool: every variant says what went wrong and,
//! where we can tell, what to try next. Messages never contain credentials.

use std::fmt;

/// Exit codes, documented in `--help` and the README.
pub const EXIT_OK: u8 = 0;
/// Findings (used by commands that compare or lint).
pub const EXIT_FINDINGS: u8 = 1;
/// Usage, access or input error.
pub const EXIT_ERROR: u8 = 2;

/// What kind of failure an [`Error`] is, for code that must decide what to
/// do about it: branch on this, never on the message's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The key, object, bucket or container does not exist.
    NotFound,
    /// Nothing at all at the URL: no object and no object below it. Apart
    /// from [`ErrorKind::NotFound`] because `rm -f` ignores only this one
    /// (a missing bucket must still fail).
    NothingAtUrl,
    /// A Zarr group with no consolidated metadata where it was required.
    NoConsolidatedMetadata,
    /// The server refused the request or the credentials (401, 403).
    AccessDenied,
    /// The store guard refused an operation this command may not do.
    GuardRefusal,
    /// The read budget (--max-bytes) would be or was exceeded.
    BudgetExceeded,
    /// The target already exists (a bucket to create).
    Conflict,
    /// The metadata or store layout cannot be read as Zarr.
    InvalidMetadata,
    /// The server could not be reached or answered in time.
    Network,
    /// Anything not told apart above.
    Other,
}

#[derive(Debug)]
pub struct Error {
    message: String,
    hint: Option<String>,
    kind: ErrorKind,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            kind: ErrorKind::Other,
        }
    }

    /// An error of `kind`; the printed text does not show the kind.
    pub fn of_kind(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::new(message).with_kind(kind)
    }

    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_carried_but_never_printed() {
        let plain = Error::new("not found: s3://b/k").with_hint("check the path");
        assert_eq!(plain.kind(), ErrorKind::Other);
        let kinded =
            Error::of_kind(ErrorKind::NotFound, "not found: s3://b/k").with_hint("check the path");
        assert_eq!(kinded.kind(), ErrorKind::NotFound);
        assert_eq!(kinded.to_string(), plain.to_string());
        // The kind survives a hint added after it, and the other way round.
        let later = Error::new("x")
            .with_kind(ErrorKind::BudgetExceeded)
            .with_hint("h");
        assert_eq!(later.kind(), ErrorKind::BudgetExceeded);
    }
}
