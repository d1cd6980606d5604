//! Decides how S3 requests are signed, explicitly and up front, so that
//! object_store never falls through to the EC2 instance-metadata service.
//!
//! The order is aws-cli's: `--anon` wins (and never sends credentials); then
//! `--profile`; then static keys from the environment; then `AWS_PROFILE`;
//! then the `default` profile if it holds credentials; otherwise anonymous
//! with a one-line notice. Region and endpoint: flag > environment > profile.

use std::fmt;

use super::profile::{ProfileSettings, Profiles};
// Callers have always named the environment through this module.
pub use super::env::{Env, ProcessEnv};
use crate::error::{Error, Result};

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
    /// A named profile, resolved by aws-config's profile provider (static
    /// keys, assume-role, SSO, credential_process, web identity).
    Profile { name: String },
}

impl S3Credentials {
    /// Values that must never appear in any output.
    pub fn secrets(&self) -> Vec<String> {
        match self {
            Self::Anonymous { .. } | Self::Profile { .. } => Vec::new(),
            Self::Static { secret, token, .. } => {
                let mut v = vec![secret.expose().to_string()];
                v.extend(token.iter().map(|t| t.expose().to_string()));
                v
            }
        }
    }

    /// Where the credentials came from, for messages ("profile osn").
    pub fn source(&self) -> String {
        match self {
            Self::Anonymous { .. } => "unsigned requests".into(),
            Self::Static { .. } => "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY".into(),
            Self::Profile { name } => format!("profile {name}"),
        }
    }
}

const ENDPOINT_EXAMPLE: &str =
    "give the scheme and host, e.g. http://localhost:9000 or https://usgs.osn.mghpcc.org";

/// Check an S3 endpoint URL and return it in the form the client needs:
/// surrounding whitespace trimmed, no trailing `/`. It needs a scheme (http
/// or https, as aws-cli insists) and a host; user info, queries and fragments
/// have no place in an endpoint. The error is the reason alone, for a clap
/// value parser and for [`S3Settings::resolve`] alike.
pub fn check_endpoint(raw: &str) -> std::result::Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("the endpoint URL is empty".into());
    }
    if let Some(c) = trimmed
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!("the endpoint URL contains {c:?}"));
    }
    let Some((scheme, _)) = trimmed.split_once("://") else {
        return Err(format!(
            "the scheme is missing: give http://{trimmed} or https://{trimmed}"
        ));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(format!(
            "the scheme {scheme:?} is not http or https (an S3 endpoint is an HTTP server)"
        ));
    }
    let url = url::Url::parse(trimmed).map_err(|e| format!("{e}"))?;
    let host = match url.host() {
        Some(url::Host::Domain(d))
            if !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) =>
        {
            d.to_string()
        }
        Some(url::Host::Domain(d)) => {
            return Err(format!("the host {d:?} is not a valid host name"));
        }
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err("the host is missing".into()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the endpoint URL holds a user name or password: give credentials with --profile or AWS_ACCESS_KEY_ID instead".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("an endpoint URL has no query (?) or fragment (#)".into());
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    Ok(format!("{}://{host}{port}{path}", url.scheme()))
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct S3Flags {
    pub anon: bool,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    /// `--requester-pays` (or a catalog's `requester_pays: true`): reads
    /// carry `x-amz-request-payer: requester`, and the requester is billed.
    pub requester_pays: bool,
}

impl S3Flags {
    /// The flags as the user typed them, each with a leading space, for a
    /// command a hint suggests: ` --anon --endpoint-url http://host:9000`.
    pub fn to_args(&self) -> String {
        let mut out = String::new();
        if self.anon {
            out.push_str(" --anon");
        }
        let valued = [
            ("--profile", &self.profile),
            ("--endpoint-url", &self.endpoint_url),
            ("--region", &self.region),
        ];
        for (flag, value) in valued {
            if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                out.push_str(&format!(" {flag} {}", shell_word(value)));
            }
        }
        if self.requester_pays {
            out.push_str(" --requester-pays");
        }
        out
    }
}

/// `value` as one shell word: as is when it is plainly safe, else quoted.
fn shell_word(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@%+=,".contains(c));
    if plain && !value.is_empty() {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// AWS bills a Requester Pays request to the account that signed it: an
/// unsigned request cannot pay, and would only be refused (403) by the
/// bucket. Refused here, before any request.
fn requester_pays_unsigned(problem: &str, what_to_do: &str) -> Error {
    Error::new(format!(
        "{problem}: AWS bills a Requester Pays request to the account that signs it"
    ))
    .with_hint(format!(
        "{what_to_do}: --profile NAME, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
    ))
}

/// Everything needed to build an S3 client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub credentials: S3Credentials,
    /// A custom endpoint (S3-compatible server); `None` means AWS.
    pub endpoint: Option<String>,
    pub region: String,
    /// False when `region` is only the default: for AWS the bucket's real
    /// region is then discovered on the first wrong-region answer.
    pub region_given: bool,
}

pub const DEFAULT_REGION: &str = "us-east-1";

impl S3Settings {
    /// Decide credentials, endpoint and region from flags, environment and
    /// profiles, without touching the network.
    pub fn resolve(flags: &S3Flags, env: &dyn Env, profiles: &Profiles) -> Result<Self> {
        let env_profile = env.first(&["AWS_PROFILE"]);
        // The profile whose settings apply: named by flag, then environment,
        // then `default` when there is one.
        let selected = match flags.profile.as_deref().or(env_profile.as_deref()) {
            Some(name) => Some(
                profiles
                    .get(name)
                    .ok_or_else(|| profiles.unknown(name, env))?,
            ),
            None => profiles.get("default"),
        };
        let env_keys = match (
            env.first(&["AWS_ACCESS_KEY_ID"]),
            env.first(&["AWS_SECRET_ACCESS_KEY"]),
        ) {
            (Some(key_id), Some(secret)) => Some(S3Credentials::Static {
                key_id,
                secret: Secret(secret),
                token: env.first(&["AWS_SESSION_TOKEN"]).map(Secret),
            }),
            _ => None,
        };
        let profile_credentials = |p: &ProfileSettings| S3Credentials::Profile {
            name: p.name.clone(),
        };
        if !flags.anon
            && let Some(p) = &selected
            && !p.has_credentials
            && (flags.profile.is_some() || (env_keys.is_none() && env_profile.is_some()))
        {
            return Err(Error::new(format!(
                "profile {} has no credentials (none of {})",
                p.name,
                super::profile::CREDENTIAL_KEYS.join(", ")
            ))
            .with_hint(format!(
                "for a public bucket add --anon (the profile's endpoint_url and region still apply); otherwise add keys to profile {} in ~/.aws/credentials",
                p.name
            )));
        }
        if flags.requester_pays && flags.anon {
            return Err(requester_pays_unsigned(
                "--requester-pays needs signed requests, and --anon sends unsigned ones",
                "drop --anon and give credentials",
            ));
        }
        let credentials = if flags.anon {
            S3Credentials::Anonymous { notice: false }
        } else if let (Some(_), Some(p)) = (&flags.profile, &selected) {
            profile_credentials(p)
        } else if let Some(keys) = env_keys {
            keys
        } else {
            match &selected {
                // A profile named explicitly is used even if it only points
                // at a role or SSO; `default` only when it holds credentials.
                Some(p) if env_profile.is_some() || p.has_credentials => profile_credentials(p),
                _ => S3Credentials::Anonymous { notice: true },
            }
        };
        if flags.requester_pays && matches!(credentials, S3Credentials::Anonymous { .. }) {
            return Err(requester_pays_unsigned(
                "--requester-pays needs credentials, and none were found",
                "give credentials",
            ));
        }
        // Every source of an endpoint goes through the same check, so a value
        // without a scheme is an error here, not a panic deep in the client.
        let endpoint_source = flags
            .endpoint_url
            .clone()
            .filter(|e| !e.trim().is_empty())
            .map(|e| (e, "--endpoint-url".to_string()))
            .or_else(|| {
                ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
                    .iter()
                    .find_map(|name| env.first(&[name]).map(|e| (e, (*name).to_string())))
            })
            .or_else(|| {
                selected.as_ref().and_then(|p| {
                    p.endpoint_url
                        .clone()
                        .filter(|e| !e.trim().is_empty())
                        .map(|e| (e, format!("the endpoint_url of profile {}", p.name)))
                })
            });
        let endpoint = match endpoint_source {
            Some((raw, source)) => Some(check_endpoint(&raw).map_err(|reason| {
                Error::new(format!(
                    "invalid endpoint URL {raw:?} (from {source}): {reason}"
                ))
                .with_hint(ENDPOINT_EXAMPLE)
            })?),
            None => None,
        };
        let region = flags
            .region
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .or_else(|| env.first(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
            .or_else(|| selected.as_ref().and_then(|p| p.region.clone()));
        if let Some(r) = &region
            && !r
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::new(format!(
                "invalid region {r:?}: a region is letters, digits and '-' (e.g. us-west-2)"
            )));
        }
        Ok(Self {
            credentials,
            endpoint,
            region_given: region.is_some(),
            region: region.unwrap_or_else(|| DEFAULT_REGION.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::profile::test_files::write_profiles as setup;

    fn flags() -> S3Flags {
        S3Flags::default()
    }

    const FILES: (&str, &str) = (
        "[default]\nregion = eu-west-1\n[profile osn]\nregion = us-west-2\nendpoint_url = https://osn.example\n",
        "[default]\naws_access_key_id = DK\naws_secret_access_key = DS\n[osn]\naws_access_key_id = OK\naws_secret_access_key = OS\n",
    );

    #[tokio::test]
    async fn anon_flag_wins_over_everything() {
        let (p, env, _d) = setup(
            FILES.0,
            FILES.1,
            &[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")],
        )
        .await;
        let s = S3Settings::resolve(
            &S3Flags {
                anon: true,
                profile: Some("osn".into()),
                ..flags()
            },
            &env,
            &p,
        )
        .unwrap();
        assert_eq!(s.credentials, S3Credentials::Anonymous { notice: false });
        // The profile's endpoint and region still apply, as in aws-cli.
        assert_eq!(s.endpoint.as_deref(), Some("https://osn.example"));
        assert_eq!(s.region, "us-west-2");
    }

    #[tokio::test]
    async fn precedence_flag_then_env_keys_then_env_profile_then_default() {
        let keys = [("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")];
        let (p, env, _d) = setup(FILES.0, FILES.1, &keys).await;
        let by_flag = S3Settings::resolve(
            &S3Flags {
                profile: Some("osn".into()),
                ..flags()
            },
            &env,
            &p,
        )
        .unwrap();
        assert_eq!(
            by_flag.credentials,
            S3Credentials::Profile { name: "osn".into() }
        );
        let by_env_keys = S3Settings::resolve(&flags(), &env, &p).unwrap();
        assert!(
            matches!(by_env_keys.credentials, S3Credentials::Static { ref key_id, .. } if key_id == "AK")
        );
        assert_eq!(by_env_keys.region, "eu-west-1", "default profile's region");

        let (p, env, _d) = setup(FILES.0, FILES.1, &[("AWS_PROFILE", "osn")]).await;
        let by_env_profile = S3Settings::resolve(&flags(), &env, &p).unwrap();
        assert_eq!(
            by_env_profile.credentials,
            S3Credentials::Profile { name: "osn".into() }
        );
        assert_eq!(
            by_env_profile.endpoint.as_deref(),
            Some("https://osn.example")
        );

        let (p, env, _d) = setup(FILES.0, FILES.1, &[]).await;
        let default = S3Settings::resolve(&flags(), &env, &p).unwrap();
        assert_eq!(
            default.credentials,
            S3Credentials::Profile {
                name: "default".into()
            }
        );
    }

    #[tokio::test]
    async fn flags_and_environment_beat_the_profile_for_endpoint_and_region() {
        let (p, env, _d) = setup(
            FILES.0,
            FILES.1,
            &[("AWS_PROFILE", "osn"), ("AWS_REGION", "ap-south-1")],
        )
        .await;
        let s = S3Settings::resolve(&flags(), &env, &p).unwrap();
        assert_eq!(s.region, "ap-south-1");
        let s = S3Settings::resolve(
            &S3Flags {
                endpoint_url: Some("http://flag".into()),
                region: Some("r".into()),
                ..flags()
            },
            &env,
            &p,
        )
        .unwrap();
        assert_eq!(
            (s.endpoint.as_deref(), s.region.as_str()),
            (Some("http://flag"), "r")
        );
        let (p, env, _d) = setup(
            FILES.0,
            FILES.1,
            &[
                ("AWS_PROFILE", "osn"),
                ("AWS_ENDPOINT_URL_S3", "http://s3-env"),
                ("AWS_ENDPOINT_URL", "http://env"),
            ],
        )
        .await;
        let s = S3Settings::resolve(&flags(), &env, &p).unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://s3-env"));
    }

    #[tokio::test]
    async fn no_credentials_anywhere_means_anonymous_with_notice() {
        let (p, env, _d) = setup(
            "[default]\nregion = eu-north-1\n",
            "",
            &[("AWS_ACCESS_KEY_ID", "only-half")],
        )
        .await;
        let s = S3Settings::resolve(&flags(), &env, &p).unwrap();
        assert_eq!(s.credentials, S3Credentials::Anonymous { notice: true });
        assert_eq!(s.region, "eu-north-1");
        assert_eq!(s.endpoint, None);
    }

    #[tokio::test]
    async fn unknown_profile_is_an_error_listing_profiles() {
        let (p, env, _d) = setup(FILES.0, FILES.1, &[]).await;
        let e = S3Settings::resolve(
            &S3Flags {
                profile: Some("nhgf-development".into()),
                ..flags()
            },
            &env,
            &p,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("profiles found: default, osn"),
            "{e}"
        );
        let (p, env, _d) = setup(FILES.0, FILES.1, &[("AWS_PROFILE", "nope")]).await;
        assert!(S3Settings::resolve(&flags(), &env, &p).is_err());
    }

    #[test]
    fn access_flags_render_as_typed() {
        let f = S3Flags {
            anon: true,
            profile: Some("my osn".into()),
            endpoint_url: Some("http://127.0.0.1:9000".into()),
            region: None,
            requester_pays: false,
        };
        assert_eq!(
            f.to_args(),
            " --anon --profile 'my osn' --endpoint-url http://127.0.0.1:9000"
        );
        assert_eq!(S3Flags::default().to_args(), "");
        let paying = S3Flags {
            profile: Some("zs".into()),
            requester_pays: true,
            ..S3Flags::default()
        };
        assert_eq!(paying.to_args(), " --profile zs --requester-pays");
    }

    #[tokio::test]
    async fn requester_pays_is_refused_without_a_signature() {
        let paying = S3Flags {
            requester_pays: true,
            ..flags()
        };
        let (p, env, _d) = setup(FILES.0, FILES.1, &[]).await;
        let anon = S3Flags {
            anon: true,
            ..paying.clone()
        };
        let e = S3Settings::resolve(&anon, &env, &p).unwrap_err();
        assert!(e.to_string().contains("--anon sends unsigned"), "{e}");
        assert!(e.hint().unwrap_or_default().contains("drop --anon"), "{e}");
        // No credentials anywhere: unsigned too, refused the same way.
        let (p, env, _d) = setup("", "", &[]).await;
        let e = S3Settings::resolve(&paying, &env, &p).unwrap_err();
        assert!(e.to_string().contains("none were found"), "{e}");
        // With credentials it resolves as without the flag.
        let (p, env, _d) = setup(FILES.0, FILES.1, &[]).await;
        let s = S3Settings::resolve(&paying, &env, &p).unwrap();
        assert_eq!(
            s.credentials,
            S3Credentials::Profile {
                name: "default".into()
            }
        );
    }

    #[test]
    fn endpoints_need_a_scheme_and_a_host() {
        for bad in [
            "127.0.0.1:5623",
            "localhost:1",
            "http://",
            "ftp://x",
            "http://a b",
            "http://h/?q",
            "http://u:p@h",
            "http://ho{st",
            "",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad:?}");
        }
        assert!(
            check_endpoint("localhost:1")
                .unwrap_err()
                .contains("scheme is missing")
        );
        assert_eq!(
            check_endpoint(" http://127.0.0.1:5623/ ").unwrap(),
            "http://127.0.0.1:5623"
        );
        assert_eq!(
            check_endpoint("https://usgs.osn.mghpcc.org").unwrap(),
            "https://usgs.osn.mghpcc.org"
        );
    }

    #[tokio::test]
    async fn bad_endpoints_from_the_environment_and_profiles_are_errors() {
        let (p, env, _d) = setup(
            "[profile bad]\nendpoint_url = localhost:9000\n",
            "[bad]\naws_access_key_id = K\naws_secret_access_key = S\n",
            &[("AWS_ENDPOINT_URL", "localhost:1")],
        )
        .await;
        let e = S3Settings::resolve(&flags(), &env, &p).unwrap_err();
        assert!(e.to_string().contains("AWS_ENDPOINT_URL"), "{e}");
        assert!(e.to_string().contains("scheme is missing"), "{e}");
        let (p, env, _d) = setup(
            "[profile bad]\nendpoint_url = localhost:9000\n",
            "[bad]\naws_access_key_id = K\naws_secret_access_key = S\n",
            &[],
        )
        .await;
        let e = S3Settings::resolve(
            &S3Flags {
                profile: Some("bad".into()),
                ..flags()
            },
            &env,
            &p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("profile bad"), "{e}");
    }

    #[tokio::test]
    async fn a_named_profile_without_credentials_is_an_error_unless_anon() {
        let (p, env, _d) = setup(
            "[profile osn]\nendpoint_url = https://osn.example\n",
            "",
            &[],
        )
        .await;
        let named = S3Flags {
            profile: Some("osn".into()),
            ..flags()
        };
        let e = S3Settings::resolve(&named, &env, &p).unwrap_err();
        assert!(
            e.to_string().contains("profile osn has no credentials"),
            "{e}"
        );
        assert!(e.hint().unwrap_or_default().contains("--anon"), "{e}");
        let anon = S3Settings::resolve(
            &S3Flags {
                anon: true,
                ..named
            },
            &env,
            &p,
        )
        .unwrap();
        assert_eq!(anon.endpoint.as_deref(), Some("https://osn.example"));
    }

    #[tokio::test]
    async fn static_keys_are_redacted_in_debug_output() {
        let (p, env, _d) = setup(
            "",
            "",
            &[
                ("AWS_ACCESS_KEY_ID", "AK"),
                ("AWS_SECRET_ACCESS_KEY", "SK-MARKER"),
                ("AWS_SESSION_TOKEN", "TOK-MARKER"),
            ],
        )
        .await;
        let s = S3Settings::resolve(&flags(), &env, &p).unwrap();
        assert_eq!(s.credentials.secrets(), vec!["SK-MARKER", "TOK-MARKER"]);
        assert!(
            !format!("{s:?}").contains("MARKER"),
            "Debug must redact secrets"
        );
    }
}
