//! Where settings come from besides flags: environment variables, behind a
//! trait so tests and library callers can supply their own. Credentials
//! (`credentials.rs`) and AWS profiles (`profile.rs`) both read it.

/// Reads environment variables; a trait so tests can supply their own.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;

    /// The first of `names` that is set and not empty.
    fn first(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find_map(|n| self.var(n).filter(|v| !v.trim().is_empty()))
    }
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed environment, for tests and library callers.
impl<K, V, S> Env for std::collections::HashMap<K, V, S>
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq,
    V: AsRef<str>,
    S: std::hash::BuildHasher,
{
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.as_ref().to_string())
    }
}
