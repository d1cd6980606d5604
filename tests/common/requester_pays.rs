//! A Requester Pays bucket for the test server (`payer`, a copy of the
//! fixtures), refusing what S3 refuses: every request must be signed (AWS
//! bills the account that signs) and must agree to pay with
//! `x-amz-request-payer: requester`, either as a header the signature covers
//! (named in the Authorization's SignedHeaders) or, in a presigned URL, as
//! the query parameter `x-amz-request-payer=requester`, which the signature
//! covers like the whole query (s3s checks both signatures before the access
//! hook runs). Anything else is 403 AccessDenied. A copy whose source is in
//! `payer` must agree too, whatever bucket it writes to.

use s3s::access::S3AccessContext;

use super::LoggedRequest;

pub const PAYER: &str = "payer";

const HEADER: &str = "x-amz-request-payer";

/// For the access check: whether this request must be refused.
pub fn refuses(cx: &S3AccessContext<'_>) -> bool {
    let to_payer = cx.s3_path().get_bucket_name() == Some(PAYER)
        || copies_from_payer(
            cx.headers()
                .get("x-amz-copy-source")
                .and_then(|v| v.to_str().ok()),
        );
    to_payer
        && !(cx.credentials().is_some()
            && agrees_to_pay(&super::header_list(cx.headers()), cx.uri().query()))
}

pub fn copies_from_payer(copy_source: Option<&str>) -> bool {
    copy_source.is_some_and(|source| {
        let source = super::percent_decode(source);
        source.trim_start_matches('/').split('/').next() == Some(PAYER)
    })
}

/// The request agrees to pay, in a way its signature covers.
pub fn agrees_to_pay(headers: &[(String, String)], query: Option<&str>) -> bool {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let in_header = header(HEADER) == Some("requester")
        && header("authorization")
            .is_some_and(|auth| signed_headers(auth).any(|h| h.eq_ignore_ascii_case(HEADER)));
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let in_query = pairs.iter().any(|(n, v)| n == HEADER && v == "requester")
        && pairs.iter().any(|(n, _)| n == "X-Amz-Signature");
    in_header || in_query
}

/// The header names in an Authorization's `SignedHeaders=a;b;c`.
fn signed_headers(authorization: &str) -> impl Iterator<Item = &str> {
    authorization
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("SignedHeaders="))
        .unwrap_or("")
        .split(';')
}

/// A logged request agreed to pay, signed (header) or presigned (query).
pub fn carries_payment(request: &LoggedRequest) -> bool {
    agrees_to_pay(&request.headers, Some(&request.query))
}

/// It agreed by a presigned URL's query (how the listings are sent).
pub fn presigned(request: &LoggedRequest) -> bool {
    request.query.contains("X-Amz-Signature")
}

/// It carries the header or the query parameter at all, signed or not.
pub fn mentions_payment(request: &LoggedRequest) -> bool {
    request.header(HEADER).is_some() || request.query.contains(HEADER)
}
