//! A catalog entry's fsspec `storage_options` as zarrscope's access flags.
//!
//! s3fs's keywords map onto the flags: `anon` is --anon, `profile` is
//! --profile, `client_kwargs.endpoint_url` (or a top-level `endpoint_url`)
//! is --endpoint-url, `client_kwargs.region_name` is --region,
//! `requester_pays` is --requester-pays. Keys with nothing to map onto are
//! kept by name in `ignored` (credentials written into a catalog are never
//! used, nor printed).

use serde::Serialize;
use serde_json::Value;

use crate::store::credentials::S3Flags;

/// The access an entry declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Access {
    pub anon: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub requester_pays: bool,
    /// storage_options keys zarrscope does not use, by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

impl Access {
    /// From an fsspec `storage_options` mapping (absent or not a mapping:
    /// nothing declared).
    pub fn from_storage_options(options: Option<&Value>) -> Self {
        let mut access = Access::default();
        let Some(Value::Object(map)) = options else {
            return access;
        };
        for (key, value) in map {
            match key.as_str() {
                "anon" => access.anon = truthy(value),
                "requester_pays" => access.requester_pays = truthy(value),
                "profile" | "profile_name" => access.profile = text(value),
                "endpoint_url" => access.endpoint_url = text(value),
                "client_kwargs" => {
                    let Value::Object(client) = value else {
                        access.ignored.push(key.clone());
                        continue;
                    };
                    for (k, v) in client {
                        match k.as_str() {
                            "endpoint_url" => access.endpoint_url = text(v),
                            "region_name" => access.region = text(v),
                            _ => access.ignored.push(format!("client_kwargs.{k}")),
                        }
                    }
                }
                // fsspec's ReferenceFileSystem keys, read by the caller.
                "fo" | "remote_protocol" | "remote_options" | "target_options"
                | "target_protocol" => {}
                _ => access.ignored.push(key.clone()),
            }
        }
        access
    }

    /// "anon, endpoint https://usgs.osn.mghpcc.org/, requester pays"; "-"
    /// when nothing is declared.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.anon {
            parts.push("anon".to_string());
        }
        if let Some(profile) = &self.profile {
            parts.push(format!("profile {profile}"));
        }
        if let Some(endpoint) = &self.endpoint_url {
            parts.push(format!("endpoint {endpoint}"));
        }
        if let Some(region) = &self.region {
            parts.push(format!("region {region}"));
        }
        if self.requester_pays {
            parts.push("requester pays".to_string());
        }
        if parts.is_empty() {
            "-".to_string()
        } else {
            parts.join(", ")
        }
    }

    /// The access an entry is opened with: each flag given on the command
    /// line wins over the catalog's value for that field (--anon,
    /// --profile, --endpoint-url, --region, --requester-pays); a field the
    /// user left alone takes the catalog's. A given --profile also drops the
    /// catalog's `anon` (asking for a profile asks for signed requests).
    pub fn with_overrides(&self, given: &S3Flags) -> Access {
        Access {
            anon: given.anon || (self.anon && given.profile.is_none()),
            profile: given.profile.clone().or_else(|| self.profile.clone()),
            endpoint_url: given
                .endpoint_url
                .clone()
                .or_else(|| self.endpoint_url.clone()),
            region: given.region.clone().or_else(|| self.region.clone()),
            requester_pays: given.requester_pays || self.requester_pays,
            ignored: self.ignored.clone(),
        }
    }

    /// As the store's flags.
    pub fn flags(&self) -> S3Flags {
        S3Flags {
            anon: self.anon,
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            requester_pays: self.requester_pays,
        }
    }
}

/// `true`, or the strings YAML writers use for it.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        _ => false,
    }
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn s3fs_keywords_map_onto_the_flags() {
        let a = Access::from_storage_options(Some(&json!({
            "anon": true,
            "requester_pays": false,
            "client_kwargs": {"endpoint_url": "https://usgs.osn.mghpcc.org/", "region_name": "us-west-2"},
            "secret": "s3cr3t",
        })));
        assert!(a.anon && !a.requester_pays);
        assert_eq!(
            a.endpoint_url.as_deref(),
            Some("https://usgs.osn.mghpcc.org/")
        );
        assert_eq!(a.region.as_deref(), Some("us-west-2"));
        assert_eq!(a.ignored, ["secret"]);
        assert_eq!(
            a.summary(),
            "anon, endpoint https://usgs.osn.mghpcc.org/, region us-west-2"
        );
        let top = Access::from_storage_options(Some(&json!({"endpoint_url": "http://h:9000"})));
        assert_eq!(top.endpoint_url.as_deref(), Some("http://h:9000"));
        assert_eq!(Access::from_storage_options(None).summary(), "-");
    }

    #[test]
    fn a_given_flag_wins_per_field_and_a_profile_means_signed() {
        let catalog = Access {
            anon: true,
            endpoint_url: Some("https://catalog".into()),
            region: Some("eu-west-1".into()),
            ..Access::default()
        };
        let none = catalog.with_overrides(&S3Flags::default());
        assert!(none.anon);
        assert_eq!(none.endpoint_url.as_deref(), Some("https://catalog"));
        let given = S3Flags {
            profile: Some("mine".into()),
            endpoint_url: Some("http://mine".into()),
            requester_pays: true,
            ..S3Flags::default()
        };
        let merged = catalog.with_overrides(&given);
        assert!(!merged.anon);
        assert_eq!(merged.profile.as_deref(), Some("mine"));
        assert_eq!(merged.endpoint_url.as_deref(), Some("http://mine"));
        assert_eq!(merged.region.as_deref(), Some("eu-west-1"));
        assert!(merged.requester_pays);
    }
}
