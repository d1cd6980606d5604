//! An Azure Blob Storage stand-in on 127.0.0.1, speaking the Blob service
//! REST API as object_store 0.14's Azure client calls it (azure/client.rs),
//! with the account in the host (the endpoint is the account's blob
//! service root): Get Blob (`GET /{container}/{blob}` with `x-ms-range` or
//! `Range`), Get Blob Properties (`HEAD`), and List Blobs
//! (`GET /{container}?restype=container&comp=list&prefix=&delimiter=
//! &marker=&maxresults=`) with `NextMarker` pages. Errors carry
//! `x-ms-error-code` as Azure's do. Paths may also start with the account,
//! as Azurite's do. Requests are served signed or not: a
//! Shared Key signature is not checked, only logged (`signed`).
//!
//! Container [`CONTAINER`] holds a copy of `fixtures/`. It also stands in
//! for Entra ID's token endpoint (client credentials), issuing
//! [`ENTRA_TOKEN`].

use std::sync::Arc;

use super::standin::{
    Entry, Objects, Request, Response, StandIn, byte_range, decode_token, http_date,
    object_response, response, xml_escape,
};

pub const CONTAINER: &str = "az-public";
/// The account name the tests give (AZURE_STORAGE_ACCOUNT_NAME).
pub const ACCOUNT: &str = "zarrscopetest";
/// The access token the stand-in's Entra ID token endpoint
/// (`POST /{tenant}/oauth2/v2.0/token`, as `AZURE_AUTHORITY_HOST`) issues.
pub const ENTRA_TOKEN: &str = "ENTRA-ACCESS-TOKEN-MARKER";
/// Azurite's well-known account, which AZURE_STORAGE_USE_EMULATOR implies.
pub const EMULATOR_ACCOUNT: &str = "devstoreaccount1";

/// Azure's own default and maximum page: 5000 entries.
const DEFAULT_PAGE: usize = 5000;
const VERSION: &str = "2021-08-06";

/// The stand-in, serving [`CONTAINER`]; its log, page size and refusals are
/// [`StandIn`]'s.
pub fn start() -> StandIn {
    StandIn::start(CONTAINER, DEFAULT_PAGE, Arc::new(handle), error)
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\nRequestId:00000000-0000-0000-0000-000000000000\nTime:2026-12-02T09:00:00.0000000Z</Message></Error>"
    );
    response(
        status,
        &[
            ("content-type", "application/xml".into()),
            ("content-length", body.len().to_string()),
            ("x-ms-error-code", code.into()),
            ("x-ms-version", VERSION.into()),
        ],
        body,
    )
}

fn handle(req: &Request, objects: &Objects, page_size: usize) -> Response {
    // Azurite's form puts the account first in the path
    // (`--endpoint-url http://host/ACCOUNT`); Azure's own has it in the host.
    let path = [ACCOUNT, EMULATOR_ACCOUNT]
        .iter()
        .find_map(|account| req.path.strip_prefix(&format!("/{account}/")))
        .unwrap_or(req.path.trim_start_matches('/'));
    let (container, blob) = path.split_once('/').unwrap_or((path, ""));
    let (container, blob) = (container.to_string(), blob.to_string());
    if req.method == "POST" && blob == "oauth2/v2.0/token" {
        let body = format!(
            "{{\"token_type\":\"Bearer\",\"expires_in\":3600,\"access_token\":\"{ENTRA_TOKEN}\"}}"
        );
        return response(
            200,
            &[
                ("content-type", "application/json".into()),
                ("content-length", body.len().to_string()),
            ],
            body,
        );
    }
    match req.method.as_str() {
        "GET" | "HEAD" => {}
        _ => {
            return error(
                403,
                "AuthorizationPermissionMismatch",
                "The stand-in only reads.",
            );
        }
    }
    if !objects.has_bucket(&container) {
        return error(
            404,
            "ContainerNotFound",
            "The specified container does not exist.",
        );
    }
    if blob.is_empty() {
        if req.method == "GET"
            && req.param("restype") == Some("container")
            && req.param("comp") == Some("list")
        {
            return list(req, objects, &container, page_size);
        }
        return error(
            400,
            "InvalidQueryParameterValue",
            "Unsupported container request.",
        );
    }
    let Some(object) = objects.get(&container, &blob) else {
        return error(404, "BlobNotFound", "The specified blob does not exist.");
    };
    let len = object.body.len() as u64;
    // x-ms-range wins over Range, as in Azure.
    let range = req
        .headers
        .get("x-ms-range")
        .or_else(|| req.headers.get("range"))
        .and_then(|v| v.to_str().ok());
    let range = match byte_range(range, len) {
        Ok(r) => r,
        Err(()) => {
            return error(
                416,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
            );
        }
    };
    let headers = vec![
        ("content-type", "application/octet-stream".to_string()),
        ("etag", format!("\"0x{}\"", object.etag().to_uppercase())),
        ("last-modified", http_date(&object.last_modified)),
        ("x-ms-blob-type", "BlockBlob".into()),
        ("x-ms-version", VERSION.into()),
        ("accept-ranges", "bytes".into()),
    ];
    object_response(&req.method, object, range, headers)
}

fn list(req: &Request, objects: &Objects, container: &str, page_size: usize) -> Response {
    let prefix = req.param("prefix").unwrap_or("");
    let delimiter = req.param("delimiter");
    let after = match req.param("marker") {
        Some(marker) => match decode_token(marker) {
            Some(name) => Some(name),
            None => {
                return error(
                    400,
                    "OutOfRangeInput",
                    "One of the request inputs is out of range.",
                );
            }
        },
        None => None,
    };
    let max = req
        .param("maxresults")
        .and_then(|m| m.parse().ok())
        .map_or(page_size, |m: usize| m.min(page_size));
    let page = objects.list(container, prefix, delimiter, after.as_deref(), max);
    let mut xml = format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"http://127.0.0.1/\" ContainerName=\"{}\"><Prefix>{}</Prefix>",
        xml_escape(container),
        xml_escape(prefix),
    );
    if let Some(marker) = req.param("marker") {
        xml.push_str(&format!("<Marker>{}</Marker>", xml_escape(marker)));
    }
    xml.push_str(&format!("<MaxResults>{max}</MaxResults>"));
    if let Some(d) = delimiter {
        xml.push_str(&format!("<Delimiter>{}</Delimiter>", xml_escape(d)));
    }
    // As Azure does: blobs and prefixes interleaved in name order.
    xml.push_str("<Blobs>");
    for entry in &page.entries {
        match entry {
            Entry::Object { key, size } => {
                let object = objects.get(container, key);
                let (etag, modified) = object
                    .map(|o| (o.etag().to_uppercase(), o.last_modified))
                    .unwrap_or_default();
                xml.push_str(&format!(
                    "<Blob><Name>{}</Name><Properties><Creation-Time>{m}</Creation-Time><Last-Modified>{m}</Last-Modified><Etag>0x{etag}</Etag><Content-Length>{size}</Content-Length><Content-Type>application/octet-stream</Content-Type><Content-Encoding /><Content-Language /><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>",
                    xml_escape(key),
                    m = http_date(&modified),
                ));
            }
            Entry::Prefix(p) => {
                xml.push_str(&format!(
                    "<BlobPrefix><Name>{}</Name></BlobPrefix>",
                    xml_escape(p)
                ));
            }
        }
    }
    xml.push_str("</Blobs>");
    match &page.next {
        Some(next) => xml.push_str(&format!("<NextMarker>{next}</NextMarker>")),
        None => xml.push_str("<NextMarker />"),
    }
    xml.push_str("</EnumerationResults>");
    response(
        200,
        &[
            ("content-type", "application/xml".into()),
            ("content-length", xml.len().to_string()),
            ("x-ms-version", VERSION.into()),
        ],
        xml,
    )
}
