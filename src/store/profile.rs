//! AWS shared config and credentials files, read by aws-config (never by
//! hand): which profiles exist, and a profile's `region` and `endpoint_url`
//! (global, or from its `services` section's `s3` block, as aws-cli does).

use std::borrow::Cow;

use aws_runtime::env_config::file::EnvConfigFiles;
use aws_runtime::env_config::property::PropertiesKey;
use aws_types::os_shim_internal;

use super::env::Env;
use crate::error::{Error, Result};

/// Environment variables aws-config consults to find and select the files.
const FILE_VARS: [&str; 5] = [
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "HOME",
    "USERPROFILE",
];

/// Keys that make a profile a source of credentials (directly or through a
/// role, SSO, a process or a web identity).
pub(crate) const CREDENTIAL_KEYS: [&str; 7] = [
    "aws_access_key_id",
    "role_arn",
    "credential_process",
    "sso_session",
    "sso_start_url",
    "web_identity_token_file",
    "credential_source",
];

/// What one profile says, for the settings we take from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileSettings {
    pub name: String,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// The profile can produce credentials.
    pub has_credentials: bool,
}

/// The parsed config and credentials files.
pub struct Profiles {
    set: aws_config::profile::ProfileSet,
}

impl Profiles {
    /// Read the files named by `env` (or the defaults under HOME). Missing
    /// files are not an error: there are simply no profiles.
    pub async fn load(env: &dyn Env) -> Result<Self> {
        let vars: Vec<(&str, String)> = FILE_VARS
            .iter()
            .filter_map(|name| env.var(name).map(|v| (*name, v)))
            .collect();
        let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let aws_env = os_shim_internal::Env::from_slice(&pairs);
        let set = aws_config::profile::load(
            &os_shim_internal::Fs::real(),
            &aws_env,
            &EnvConfigFiles::default(),
            None::<Cow<'static, str>>,
        )
        .await
        .map_err(|e| {
            Error::new(format!("cannot read the AWS config files: {e}"))
                .with_hint("fix the file named above, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere")
        })?;
        Ok(Self { set })
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.set.profiles().map(str::to_string).collect();
        names.sort();
        names
    }

    /// The named profile's settings, or `None` when there is no such profile.
    pub fn get(&self, name: &str) -> Option<ProfileSettings> {
        let profile = self.set.get_profile(name)?;
        let service_endpoint = profile.get("services").and_then(|services| {
            let key = PropertiesKey::builder()
                .section_key("services")
                .section_name(services)
                .property_name("s3")
                .sub_property_name("endpoint_url")
                .build()
                .ok()?;
            self.set.other_sections().get(&key).cloned()
        });
        Some(ProfileSettings {
            name: name.to_string(),
            region: profile.get("region").map(str::to_string),
            endpoint_url: service_endpoint
                .or_else(|| profile.get("endpoint_url").map(str::to_string)),
            has_credentials: CREDENTIAL_KEYS.iter().any(|k| profile.get(k).is_some()),
        })
    }

    /// The error for a profile that is not there, listing those that are.
    pub fn unknown(&self, name: &str, env: &dyn Env) -> Error {
        let names = self.names();
        let found = if names.is_empty() {
            "no profiles were found".to_string()
        } else {
            format!("profiles found: {}", names.join(", "))
        };
        let files = match (
            env.var("AWS_CONFIG_FILE"),
            env.var("AWS_SHARED_CREDENTIALS_FILE"),
        ) {
            (None, None) => "~/.aws/config and ~/.aws/credentials".to_string(),
            (config, credentials) => format!(
                "{} and {}",
                config.unwrap_or_else(|| "~/.aws/config".into()),
                credentials.unwrap_or_else(|| "~/.aws/credentials".into())
            ),
        };
        Error::new(format!(
            "AWS profile {name:?} not found in {files}; {found}"
        ))
        .with_hint(
            "pick one of those with --profile or AWS_PROFILE, or use --anon for a public bucket",
        )
    }
}

/// Config and credentials files in a temporary folder, for tests.
#[cfg(test)]
pub(crate) mod test_files {
    use std::collections::HashMap;

    use super::Profiles;

    /// Write the two files, load them, and return the environment that names
    /// them (plus `extra` variables); keep the folder alive while in use.
    pub(crate) async fn write_profiles(
        config: &str,
        credentials: &str,
        extra: &[(&'static str, &'static str)],
    ) -> (Profiles, HashMap<&'static str, String>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(dir.path().join("credentials"), credentials).unwrap();
        let mut env = HashMap::from([
            (
                "AWS_CONFIG_FILE",
                dir.path().join("config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("credentials").display().to_string(),
            ),
            ("HOME", "/nonexistent".to_string()),
        ]);
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let profiles = Profiles::load(&env).await.unwrap();
        (profiles, env, dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    async fn profiles(config: &str, credentials: &str) -> (Profiles, tempfile::TempDir) {
        let (profiles, _env, dir) = test_files::write_profiles(config, credentials, &[]).await;
        (profiles, dir)
    }

    #[tokio::test]
    async fn reads_region_endpoint_and_services_sections() {
        let (p, _dir) = profiles(
            "[profile osn]\nregion = us-west-2\nservices = osn-services\n\n[services osn-services]\ns3 =\n  endpoint_url = https://usgs.osn.mghpcc.org\n\n[profile plain]\nendpoint_url = http://127.0.0.1:9000\n",
            "[osn]\naws_access_key_id = AK\naws_secret_access_key = SK\n",
        )
        .await;
        assert_eq!(p.names(), ["osn", "plain"]);
        let osn = p.get("osn").unwrap();
        assert_eq!(osn.region.as_deref(), Some("us-west-2"));
        assert_eq!(
            osn.endpoint_url.as_deref(),
            Some("https://usgs.osn.mghpcc.org")
        );
        assert!(osn.has_credentials);
        let plain = p.get("plain").unwrap();
        assert_eq!(plain.endpoint_url.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(!plain.has_credentials);
        assert_eq!(p.get("missing"), None);
    }

    #[tokio::test]
    async fn unknown_profile_lists_the_known_ones() {
        let (p, _dir) =
            profiles("[profile b]\nregion = x\n", "[a]\naws_access_key_id = AK\n").await;
        let e = p.unknown("nhgf-development", &HashMap::<&str, &str>::new());
        assert!(e.to_string().contains("profiles found: a, b"), "{e}");
        assert!(e.to_string().contains("\"nhgf-development\""), "{e}");
    }

    #[tokio::test]
    async fn no_files_means_no_profiles() {
        let env = HashMap::from([("HOME", "/nonexistent-zarrscope")]);
        let p = Profiles::load(&env).await.unwrap();
        assert!(p.names().is_empty());
    }
}
