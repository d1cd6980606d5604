//! A Google Cloud Storage stand-in on 127.0.0.1, speaking the wire format
//! object_store 0.14's GCS client uses (gcp/client.rs): the XML API for
//! objects, `GET|HEAD /{bucket}/{object}` with `Range`, and for listings
//! the XML API's ListObjectsV2 form, `GET /{bucket}?list-type=2&prefix=
//! &delimiter=&continuation-token=&max-keys=&start-after=` (not the JSON
//! API's `/storage/v1/b/{bucket}/o`, which object_store does not call).
//! Unsigned requests are served; a bearer token is accepted and logged.
//!
//! Writes are a PUT of the whole object, conditional as on GCS: the
//! `x-goog-if-generation-match` header (or the JSON API's
//! `ifGenerationMatch` parameter) must name the object's generation, 0 for
//! "must not exist", or the answer is 412 and nothing is written. An ETag
//! condition (If-Match) is not GCS's way and is refused (400), so a client
//! that sends only that fails here as on GCS. A generation is derived from
//! the content (on GCS it is the time of the write): a write of other bytes
//! changes it, whoever makes it.
//!
//! Bucket [`BUCKET`] holds a copy of `fixtures/`.

use std::sync::{Arc, Mutex};

use super::standin::{
    Entry, Object, Objects, Request, Response, StandIn, byte_range, decode_token, http_date,
    object_response, response, xml_escape,
};

pub const BUCKET: &str = "gcs-public";

/// GCS's own default and maximum page: 1000 entries.
const DEFAULT_PAGE: usize = 1000;

/// The stand-in, serving [`BUCKET`]; its log, page size and refusals are
/// [`StandIn`]'s.
pub fn start() -> StandIn {
    StandIn::start(BUCKET, DEFAULT_PAGE, Arc::new(handle), error)
}

/// Someone else writing the bucket: what they write lands just before the
/// next PUT is answered, as if their write won the race with it.
#[derive(Clone, Default)]
pub struct Rival(Arc<Mutex<Option<Vec<u8>>>>);

impl Rival {
    /// Write `body` at the key of the next PUT, just before it is answered.
    pub fn writes_before_next_put(&self, body: &[u8]) {
        *self.0.lock().unwrap() = Some(body.to_vec());
    }
}

/// [`start`], with a [`Rival`] writing beside the client under test.
pub fn start_with_rival() -> (StandIn, Rival) {
    let rival = Rival::default();
    let theirs = rival.0.clone();
    let handler = move |req: &Request, objects: &Objects, page_size: usize| {
        let pending = (req.method == "PUT")
            .then(|| theirs.lock().unwrap().take())
            .flatten();
        if let Some(body) = pending {
            let (bucket, key) = req.bucket_and_key();
            objects.put(bucket, key, &body).unwrap();
        }
        handle(req, objects, page_size)
    };
    (
        StandIn::start(BUCKET, DEFAULT_PAGE, Arc::new(handler), error),
        rival,
    )
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    response(
        status,
        &[
            ("content-type", "application/xml; charset=UTF-8".into()),
            ("content-length", body.len().to_string()),
        ],
        body,
    )
}

fn no_such_bucket() -> Response {
    error(404, "NoSuchBucket", "The specified bucket does not exist.")
}

fn handle(req: &Request, objects: &Objects, page_size: usize) -> Response {
    let (bucket, key) = req.bucket_and_key();
    let (bucket, key) = (bucket.to_string(), key.to_string());
    match req.method.as_str() {
        "GET" | "HEAD" | "PUT" => {}
        _ => return error(405, "MethodNotAllowed", "The stand-in reads and puts only."),
    }
    if !objects.has_bucket(&bucket) {
        return no_such_bucket();
    }
    if req.method == "PUT" {
        return put(req, objects, &bucket, &key);
    }
    if key.is_empty() {
        if req.method == "GET" && req.param("list-type") == Some("2") {
            return list(req, objects, &bucket, page_size);
        }
        return error(400, "InvalidArgument", "Unsupported bucket request.");
    }
    let Some(object) = objects.get(&bucket, &key) else {
        return error(404, "NoSuchKey", "The specified key does not exist.");
    };
    let len = object.body.len() as u64;
    let range = req.headers.get("range").and_then(|v| v.to_str().ok());
    let range = match byte_range(range, len) {
        Ok(r) => r,
        Err(()) => {
            return error(
                416,
                "InvalidRange",
                "The requested range cannot be satisfied.",
            );
        }
    };
    let headers = vec![
        ("content-type", "application/octet-stream".to_string()),
        ("etag", format!("\"{}\"", object.etag())),
        ("last-modified", http_date(&object.last_modified)),
        ("x-goog-generation", generation(&object).to_string()),
        ("x-goog-metageneration", "1".into()),
        ("x-goog-stored-content-length", len.to_string()),
        ("accept-ranges", "bytes".into()),
    ];
    object_response(&req.method, object, range, headers)
}

/// The object's generation: never 0, which means "no object".
pub fn generation(object: &Object) -> u64 {
    u64::from_str_radix(&object.etag(), 16).map_or(1, |h| (h >> 1).max(1))
}

/// A whole-object PUT, with GCS's generation precondition.
fn put(req: &Request, objects: &Objects, bucket: &str, key: &str) -> Response {
    if key.is_empty() {
        return error(400, "InvalidArgument", "A PUT needs an object name.");
    }
    if req.headers.contains_key("if-match") || req.headers.contains_key("if-none-match") {
        return error(
            400,
            "InvalidArgument",
            "GCS conditions writes on generations, not ETags.",
        );
    }
    let wanted = req
        .headers
        .get("x-goog-if-generation-match")
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.param("ifGenerationMatch"));
    if let Some(wanted) = wanted {
        let Ok(wanted) = wanted.parse::<u64>() else {
            return error(400, "InvalidArgument", "Invalid generation.");
        };
        let now = objects.get(bucket, key).map_or(0, |o| generation(&o));
        if now != wanted {
            return error(
                412,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold.",
            );
        }
    }
    if objects.put(bucket, key, &req.body).is_err() {
        return error(400, "InvalidArgument", "Invalid object name.");
    }
    let Some(object) = objects.get(bucket, key) else {
        return error(500, "InternalError", "The object was not stored.");
    };
    response(
        200,
        &[
            ("etag", format!("\"{}\"", object.etag())),
            ("x-goog-generation", generation(&object).to_string()),
            ("x-goog-metageneration", "1".into()),
            ("content-length", "0".into()),
        ],
        Vec::new(),
    )
}

fn list(req: &Request, objects: &Objects, bucket: &str, page_size: usize) -> Response {
    let prefix = req.param("prefix").unwrap_or("");
    let delimiter = req.param("delimiter");
    let after = match req.param("continuation-token") {
        Some(token) => match decode_token(token) {
            Some(name) => Some(name),
            None => return error(400, "InvalidArgument", "Invalid continuation token."),
        },
        None => req.param("start-after").map(str::to_string),
    };
    let max = req
        .param("max-keys")
        .and_then(|m| m.parse().ok())
        .map_or(page_size, |m: usize| m.min(page_size));
    let page = objects.list(bucket, prefix, delimiter, after.as_deref(), max);
    let mut xml = format!(
        "<?xml version='1.0' encoding='UTF-8'?><ListBucketResult xmlns=\"http://doc.s3.amazonaws.com/2006-03-01\"><Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{max}</MaxKeys><IsTruncated>{}</IsTruncated>",
        xml_escape(bucket),
        xml_escape(prefix),
        page.entries.len(),
        page.next.is_some(),
    );
    if let Some(d) = delimiter {
        xml.push_str(&format!("<Delimiter>{}</Delimiter>", xml_escape(d)));
    }
    // As GCS's XML API: the objects, then the common prefixes.
    for entry in &page.entries {
        if let Entry::Object { key, size } = entry {
            let object = objects.get(bucket, key);
            let (etag, modified, generation) = object
                .map(|o| (o.etag(), o.last_modified, generation(&o)))
                .unwrap_or_default();
            xml.push_str(&format!(
                "<Contents><Key>{}</Key><Generation>{generation}</Generation><MetaGeneration>1</MetaGeneration><LastModified>{}</LastModified><ETag>\"{etag}\"</ETag><Size>{size}</Size></Contents>",
                xml_escape(key),
                modified.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            ));
        }
    }
    for entry in &page.entries {
        if let Entry::Prefix(p) = entry {
            xml.push_str(&format!(
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                xml_escape(p)
            ));
        }
    }
    if let Some(next) = &page.next {
        xml.push_str(&format!(
            "<NextContinuationToken>{next}</NextContinuationToken>"
        ));
    }
    xml.push_str("</ListBucketResult>");
    response(
        200,
        &[
            ("content-type", "application/xml; charset=UTF-8".into()),
            ("content-length", xml.len().to_string()),
        ],
        xml,
    )
}
