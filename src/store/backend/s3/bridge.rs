//! aws-config's profile credentials, bridged into object_store's
//! `CredentialProvider`. object_store asks for a credential on every request,
//! so the bridge caches it until shortly before it expires.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_credential_types::provider::ProvideCredentials;
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

/// Refresh this long before a temporary credential expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
pub struct ProfileCredentials {
    profile: String,
    provider: ProfileFileCredentialsProvider,
    cache: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
    /// Secrets handed out, so messages can be scrubbed of them.
    secrets: Arc<Mutex<Vec<String>>>,
}

impl ProfileCredentials {
    pub fn new(profile: &str, secrets: Arc<Mutex<Vec<String>>>) -> Self {
        Self {
            profile: profile.to_string(),
            provider: ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
            cache: tokio::sync::Mutex::new(None),
            secrets,
        }
    }
}

#[async_trait]
impl CredentialProvider for ProfileCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cache = self.cache.lock().await;
        if let Some((credential, expiry)) = cache.as_ref()
            && expiry.is_none_or(|e| e > SystemTime::now() + REFRESH_MARGIN)
        {
            return Ok(Arc::clone(credential));
        }
        let loaded = self.provider.provide_credentials().await.map_err(|e| {
            object_store::Error::Generic {
                store: "S3",
                source: format!("cannot load credentials for profile {}: {e}", self.profile).into(),
            }
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: loaded.access_key_id().to_string(),
            secret_key: loaded.secret_access_key().to_string(),
            token: loaded.session_token().map(str::to_string),
        });
        if let Ok(mut secrets) = self.secrets.lock() {
            secrets.push(credential.secret_key.clone());
            secrets.extend(credential.token.clone());
        }
        *cache = Some((Arc::clone(&credential), loaded.expiry()));
        Ok(credential)
    }
}
