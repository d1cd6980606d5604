//! The depth-bound limit for `find`, as a program for `bench/find.sh`:
//! every directory of one level is listed at once (no bound on requests in
//! flight), and each store's consolidated metadata document is fetched as
//! soon as its listing names it. Nothing else is read and nothing is
//! printed but the totals, so its wall time is what the server's latency
//! allows for a walk of that depth: about (depth + 1) round trips.
//!
//! `find_limit ENDPOINT BUCKET PREFIX` (anonymous, path-style). Prints
//! `stores=N requests=M`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefix>,
    #[serde(default)]
    is_truncated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefix {
    prefix: String,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Walker {
    client: reqwest::Client,
    bucket_url: String,
    requests: AtomicUsize,
}

impl Walker {
    async fn list(&self, prefix: &str) -> Result<ListBucketResult, Failure> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let url = url::Url::parse_with_params(
            &self.bucket_url,
            [("list-type", "2"), ("delimiter", "/"), ("prefix", prefix)],
        )?;
        let body = self
            .client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let listing: ListBucketResult = quick_xml::de::from_str(std::str::from_utf8(&body)?)?;
        if listing.is_truncated {
            return Err(format!("listing of {prefix} has more than one page").into());
        }
        Ok(listing)
    }

    async fn get(&self, key: &str) -> Result<usize, Failure> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let url = format!("{}/{key}", self.bucket_url);
        let body = self
            .client
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        Ok(body.len())
    }

    /// List `prefix`; a store root's metadata is fetched at once, any other
    /// directory's children are returned for the next level.
    async fn visit(self: Arc<Self>, prefix: String) -> Result<(Vec<String>, usize), Failure> {
        let listing = self.list(&prefix).await?;
        let document = ["zarr.json", ".zmetadata"]
            .into_iter()
            .map(|name| format!("{prefix}{name}"))
            .find(|key| listing.contents.iter().any(|c| &c.key == key));
        if let Some(key) = document {
            self.get(&key).await?;
            return Ok((Vec::new(), 1));
        }
        Ok((
            listing
                .common_prefixes
                .into_iter()
                .map(|p| p.prefix)
                .collect(),
            0,
        ))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let (Some(endpoint), Some(bucket), Some(prefix)) = (args.next(), args.next(), args.next())
    else {
        return Err("usage: find_limit ENDPOINT BUCKET PREFIX".into());
    };
    let walker = Arc::new(Walker {
        client: reqwest::Client::builder().build()?,
        bucket_url: format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        requests: AtomicUsize::new(0),
    });
    let mut level = vec![format!("{}/", prefix.trim_matches('/'))];
    let mut stores = 0;
    while !level.is_empty() {
        let visits = level
            .drain(..)
            .map(|p| tokio::spawn(Arc::clone(&walker).visit(p)));
        for visit in futures::future::join_all(visits).await {
            let (children, found) = visit??;
            level.extend(children);
            stores += found;
        }
    }
    println!(
        "stores={stores} requests={}",
        walker.requests.load(Ordering::SeqCst)
    );
    Ok(())
}
