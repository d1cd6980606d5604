//! What `catalog --check` found for each entry: reachable or broken, and
//! why. The JSON form is one element of `catalog --check --json`'s
//! `entries`.

use serde::Serialize;

use super::{Access, Entry, EntryKind};
use crate::error::{Error, ErrorKind};
use crate::inventory::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Its metadata was read and nothing is wrong with it.
    Ok,
    /// Something is wrong: see the problem.
    Broken,
    /// Not a dataset zarrscope reads (or a sub-catalog): not opened.
    NotChecked,
}

/// Why an entry is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// Nothing at its URL (404, no metadata, no bucket).
    Moved,
    /// 403 with the access it declares (and the flags given).
    AccessDenied,
    /// Consolidated metadata that does not match the nodes' own documents.
    Stale,
    /// A reference set whose target files are missing, unreadable or short.
    RottenReferences,
    /// A local (on-prem) path that is not on this machine.
    NotOnThisMachine,
    /// The server could not be reached (DNS, connection, timeout).
    Unreachable,
    /// Anything else: the reason says what.
    Unreadable,
}

impl Problem {
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::Moved => "moved",
            Problem::AccessDenied => "access denied",
            Problem::Stale => "stale",
            Problem::RottenReferences => "rotten references",
            Problem::NotOnThisMachine => "not on this machine",
            Problem::Unreachable => "unreachable",
            Problem::Unreadable => "unreadable",
        }
    }

    /// The problem an error reading an entry's metadata shows.
    pub fn of(error: &Error) -> Problem {
        match error.kind() {
            ErrorKind::AccessDenied => Problem::AccessDenied,
            ErrorKind::NotFound | ErrorKind::NothingAtUrl => Problem::Moved,
            ErrorKind::Network => Problem::Unreachable,
            _ => Problem::Unreadable,
        }
    }
}

/// One entry's health.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    pub name: String,
    pub kind: EntryKind,
    pub driver: String,
    pub url: Option<String>,
    /// The access it was opened with: the catalog's, with the flags given.
    pub access: Access,
    pub state: State,
    pub problem: Option<Problem>,
    /// What was wrong (or why it was not checked), for people.
    pub reason: Option<String>,
    /// The dataset at a glance, when its metadata was read.
    pub dataset: Option<Summary>,
    /// Things worth knowing that do not break the entry.
    pub notes: Vec<String>,
}

impl Health {
    /// An entry not looked at yet: healthy until found otherwise.
    pub fn new(entry: &Entry, access: Access) -> Self {
        Self {
            name: entry.name.clone(),
            kind: entry.kind,
            driver: entry.driver.clone(),
            url: entry.url.clone(),
            access,
            state: State::Ok,
            problem: None,
            reason: None,
            dataset: None,
            notes: Vec::new(),
        }
    }

    pub fn broken(&mut self, problem: Problem, reason: impl Into<String>) {
        self.state = State::Broken;
        self.problem = Some(problem);
        self.reason = Some(reason.into());
    }

    pub fn not_checked(&mut self, reason: impl Into<String>) {
        self.state = State::NotChecked;
        self.reason = Some(reason.into());
    }
}
