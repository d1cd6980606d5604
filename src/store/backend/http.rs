//! Plain HTTP(S) servers: read only, no credentials, listing only where the
//! server speaks WebDAV.

use std::sync::Arc;

use object_store::http::HttpBuilder;

use super::{BuiltBackend, GENERIC, Setup, Vocabulary, config_error};
use crate::error::{Error, Result};
use crate::location::Location;

pub const VOCABULARY: Vocabulary = Vocabulary {
    service: "a plain HTTP server",
    scheme: "http(s)://",
    ..GENERIC
};

/// `writes`: the command may write, which is refused before any request.
pub(super) fn build(
    location: &Location,
    base: &str,
    writes: bool,
    setup: &Setup<'_>,
) -> Result<BuiltBackend> {
    if writes {
        return Err(writes_refused(&location.url));
    }
    let plain = base.starts_with("http://");
    let store = HttpBuilder::new()
        .with_url(base)
        .with_client_options(setup.client(plain))
        .with_http_connector(setup.connector(plain, false))
        .with_retry(setup.retry())
        .build()
        .map_err(|e| config_error("HTTP", e))?;
    let instrument = setup.instrument(None, None);
    Ok(BuiltBackend::new(
        instrument.wrap(Arc::new(store)),
        true,
        base,
    ))
}

/// Any write to `url`, a plain HTTP server's.
pub(crate) fn writes_refused(url: &str) -> Error {
    Error::new(format!(
        "{url} is a plain HTTP server: zarrscope only reads from those"
    ))
    .with_hint("write to s3://, gs:// or az:// instead")
}

/// A listing the server refused (`detail`, the error's text, names WebDAV's
/// PROPFIND), in words.
pub(crate) fn explain_listing_refused(url: &str, detail: &str) -> Option<Error> {
    detail.contains("PROPFIND").then(|| {
        Error::new(format!(
            "{url}: this HTTP server cannot list (listing needs WebDAV PROPFIND, which it refused)"
        ))
        .with_hint("give an object's URL to info, head or cat, or a store's root to tree; listing works on s3://, gs:// and az://")
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::location::Location;
    use crate::store::guard::Policy;
    use crate::store::{StoreHandle, StoreOptions};

    async fn open(policy: Policy) -> crate::error::Result<StoreHandle> {
        // Port 9 (discard): nothing answers there, and nothing is asked.
        let location = Location::parse("http://127.0.0.1:9/data/x.zarr").unwrap();
        let env: HashMap<&str, &str> = HashMap::new();
        StoreHandle::open_with(location, &StoreOptions::default(), &env, None, policy).await
    }

    #[tokio::test]
    async fn a_store_that_may_write_is_refused_when_opened() {
        let err = open(Policy::READ_WRITE).await.err().unwrap();
        assert_eq!(
            err.message(),
            "http://127.0.0.1:9/data/x.zarr is a plain HTTP server: zarrscope only reads from those"
        );
        assert_eq!(err.hint(), Some("write to s3://, gs:// or az:// instead"));
        let one_write = Policy::reading_and_one_write(
            crate::source::ZARR_KEYS,
            "data/x.zarr/.zmetadata".into(),
        );
        assert!(open(one_write).await.is_err());
        let reader = open(Policy::READ_ONLY).await.unwrap();
        assert_eq!(reader.stats.requests(), 0);
    }
}
