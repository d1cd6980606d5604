//! Decides how S3 requests are signed, explicitly and up front, so that
//! object_store never falls through to the EC2 instance-metadata service.
//!
//! The order is aws-cli's: `--anon` wins; then static keys from the
//! environment; otherwise anonymous with a one-line notice. The profile and
//! credential-chain step slots in between environment and anonymous.

use std::fmt;

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

impl Env for std::collections::HashMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.to_string())
    }
}

/// A secret that never shows in Debug output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Credentials {
    /// Unsigned requests. `notice` is true when the user did not ask for them
    /// (no credentials were found), so we tell them once.
    Anonymous { notice: bool },
    /// Keys from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`.
    Static {
        key_id: String,
        secret: Secret,
        token: Option<Secret>,
    },
}

impl S3Credentials {
    /// Values that must never appear in any output.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Self::Anonymous { .. } => Vec::new(),
            Self::Static { secret, token, .. } => {
                let mut v = vec![secret.expose().to_string()];
                v.extend(token.iter().map(|t| t.expose().to_string()));
                v
            }
        }
    }
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct S3Flags {
    pub anon: bool,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
}

/// Everything needed to build an S3 client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub credentials: S3Credentials,
    /// A custom endpoint (S3-compatible server); `None` means AWS.
    pub endpoint: Option<String>,
    pub region: String,
}

pub const DEFAULT_REGION: &str = "us-east-1";

impl S3Settings {
    pub fn resolve(flags: &S3Flags, env: &dyn Env) -> Self {
        let endpoint = flags
            .endpoint_url
            .clone()
            .filter(|e| !e.trim().is_empty())
            .or_else(|| env.first(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]));
        let region = flags
            .region
            .clone()
            .filter(|r| !r.trim().is_empty())
            .or_else(|| env.first(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        let credentials = if flags.anon {
            S3Credentials::Anonymous { notice: false }
        } else if let (Some(key_id), Some(secret)) = (
            env.first(&["AWS_ACCESS_KEY_ID"]),
            env.first(&["AWS_SECRET_ACCESS_KEY"]),
        ) {
            S3Credentials::Static {
                key_id,
                secret: Secret(secret),
                token: env.first(&["AWS_SESSION_TOKEN"]).map(Secret),
            }
        } else {
            S3Credentials::Anonymous { notice: true }
        };
        Self {
            credentials,
            endpoint,
            region,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn anon_flag_wins_over_keys_in_the_environment() {
        let env = HashMap::from([("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")]);
        let s = S3Settings::resolve(
            &S3Flags {
                anon: true,
                ..Default::default()
            },
            &env,
        );
        assert_eq!(s.credentials, S3Credentials::Anonymous { notice: false });
    }

    #[test]
    fn static_keys_from_environment() {
        let env = HashMap::from([
            ("AWS_ACCESS_KEY_ID", "AK"),
            ("AWS_SECRET_ACCESS_KEY", "SK"),
            ("AWS_SESSION_TOKEN", "TOK"),
        ]);
        let s = S3Settings::resolve(&S3Flags::default(), &env);
        match &s.credentials {
            S3Credentials::Static {
                key_id,
                secret,
                token,
            } => {
                assert_eq!(key_id, "AK");
                assert_eq!(secret.expose(), "SK");
                assert_eq!(token.as_ref().map(Secret::expose), Some("TOK"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(s.credentials.secrets(), vec!["SK", "TOK"]);
        assert!(
            !format!("{s:?}").contains("SK\""),
            "Debug must redact secrets"
        );
    }

    #[test]
    fn no_credentials_means_anonymous_with_notice() {
        let env: HashMap<&str, &str> = HashMap::from([("AWS_ACCESS_KEY_ID", "AK")]);
        let s = S3Settings::resolve(&S3Flags::default(), &env);
        assert_eq!(s.credentials, S3Credentials::Anonymous { notice: true });
        assert_eq!(s.region, DEFAULT_REGION);
        assert_eq!(s.endpoint, None);
    }

    #[test]
    fn endpoint_and_region_precedence() {
        let env = HashMap::from([
            ("AWS_ENDPOINT_URL", "http://generic"),
            ("AWS_ENDPOINT_URL_S3", "http://s3-specific"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
            ("AWS_REGION", "us-west-2"),
        ]);
        let s = S3Settings::resolve(&S3Flags::default(), &env);
        assert_eq!(s.endpoint.as_deref(), Some("http://s3-specific"));
        assert_eq!(s.region, "us-west-2");
        let flags = S3Flags {
            endpoint_url: Some("https://usgs.osn.mghpcc.org".into()),
            region: Some("us-east-2".into()),
            anon: false,
        };
        let s = S3Settings::resolve(&flags, &env);
        assert_eq!(s.endpoint.as_deref(), Some("https://usgs.osn.mghpcc.org"));
        assert_eq!(s.region, "us-east-2");
    }
}
