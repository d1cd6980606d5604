//! A recording proxy on 127.0.0.1 in front of another server (the S3
//! server), for answers a real S3 server gives that s3s does not make on
//! demand: a HEAD that reports another size, a 500 on one request, a bucket
//! that lives in another region. Each request is forwarded unchanged (the
//! Host header travels as signed, so signatures stay valid) unless the
//! test's rule answers it itself or rewrites the forwarded answer's headers.
//! It stops with its handle.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

/// A request as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    /// Path-style and percent-decoded: `/bucket/key`.
    pub path: String,
    pub query: String,
    /// The region in the SigV4 credential scope (header or presigned URL);
    /// `None` for an unsigned request.
    pub signed_for: Option<String>,
}

/// What the proxy does with one request.
pub enum Action {
    /// Send it to the server behind, answer as it does.
    Forward,
    /// Answer it here; the server behind never sees it.
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// Forward it, then replace these headers of the answer.
    Rewrite {
        headers: Vec<(&'static str, String)>,
    },
}

/// One request and what became of it.
#[derive(Debug, Clone)]
pub struct Proxied {
    pub seen: Seen,
    pub status: u16,
    /// True when the server behind answered it.
    pub forwarded: bool,
}

type Rule = Arc<dyn Fn(&Seen) -> Action + Send + Sync>;

pub struct Proxy {
    pub endpoint: String,
    log: Arc<Mutex<Vec<Proxied>>>,
    _server: super::loopback::Loopback,
}

/// The region of a SigV4 credential `KEY/DATE/REGION/SERVICE/aws4_request`.
fn scope_region(credential: &str) -> Option<String> {
    credential.split('/').nth(2).map(str::to_string)
}

fn signed_for(req: &hyper::Request<hyper::body::Incoming>) -> Option<String> {
    let from_header = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .and_then(|rest| scope_region(rest.split(',').next().unwrap_or("")));
    let from_query = || {
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "X-Amz-Credential")
            .and_then(|(_, v)| scope_region(&v))
    };
    from_header.or_else(from_query)
}

type Response = hyper::Response<Full<Bytes>>;

fn answer(status: u16, headers: &[(&'static str, String)], body: Vec<u8>) -> Response {
    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().insert(*name, value.parse().unwrap());
    }
    response
}

/// Hop-by-hop headers: they describe one connection, not the message.
fn hop_by_hop(name: &hyper::header::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "upgrade"
    )
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    req: hyper::Request<hyper::body::Incoming>,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    let target = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).unwrap();
    let mut request = client.request(method, target);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    let upstream_response = request.body(body).send().await.unwrap();
    let status = upstream_response.status().as_u16();
    let headers: Vec<(String, Vec<u8>)> = upstream_response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "connection" | "transfer-encoding"))
        .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
        .collect();
    let body = upstream_response.bytes().await.unwrap();
    let mut response = hyper::Response::new(Full::new(body));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().append(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_bytes(&value).unwrap(),
        );
    }
    response
}

impl Proxy {
    /// A proxy in front of `upstream` (e.g. `S3Server::endpoint`).
    pub fn start(upstream: &str, rule: impl Fn(&Seen) -> Action + Send + Sync + 'static) -> Self {
        let rule: Rule = Arc::new(rule);
        let upstream = upstream.trim_end_matches('/').to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let server =
            super::loopback::Loopback::serve(move |req: hyper::Request<hyper::body::Incoming>| {
                let (rule, log, client, upstream) =
                    (rule.clone(), log2.clone(), client.clone(), upstream.clone());
                async move {
                    let seen = Seen {
                        method: req.method().to_string(),
                        path: super::percent_decode(req.uri().path()),
                        query: req.uri().query().unwrap_or("").to_string(),
                        signed_for: signed_for(&req),
                    };
                    let (response, forwarded) = match rule(&seen) {
                        Action::Forward => (forward(&client, &upstream, req).await, true),
                        Action::Answer {
                            status,
                            headers,
                            body,
                        } => (answer(status, &headers, body), false),
                        Action::Rewrite { headers } => {
                            let mut response = forward(&client, &upstream, req).await;
                            for (name, value) in headers {
                                response.headers_mut().insert(name, value.parse().unwrap());
                            }
                            (response, true)
                        }
                    };
                    log.lock().unwrap().push(Proxied {
                        seen,
                        status: response.status().as_u16(),
                        forwarded,
                    });
                    Ok::<_, Infallible>(response)
                }
            });
        Self {
            endpoint: server.endpoint.clone(),
            log,
            _server: server,
        }
    }

    /// Every request, in the order answered.
    pub fn requests(&self) -> Vec<Proxied> {
        self.log.lock().unwrap().clone()
    }
}

/// The rule for a bucket that lives in `region`, as AWS answers for it: a
/// request signed for another region gets 301 PermanentRedirect naming the
/// region in `x-amz-bucket-region` (no Location, no body for a HEAD); an
/// unsigned HEAD of the bucket itself (the region lookup) gets the same
/// header. Everything else reaches the server behind.
pub fn bucket_in_region(bucket: &'static str, region: &'static str) -> impl Fn(&Seen) -> Action {
    move |seen: &Seen| {
        let in_bucket =
            seen.path == format!("/{bucket}") || seen.path.starts_with(&format!("/{bucket}/"));
        let wrong_signature = seen.signed_for.as_deref().is_some_and(|r| r != region);
        let lookup = seen.method == "HEAD"
            && seen.signed_for.is_none()
            && seen.path.trim_end_matches('/') == format!("/{bucket}");
        if !in_bucket || !(wrong_signature || lookup) {
            return Action::Forward;
        }
        let body = if seen.method == "HEAD" {
            Vec::new()
        } else {
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Bucket>{bucket}</Bucket></Error>"
            )
            .into_bytes()
        };
        Action::Answer {
            status: 301,
            headers: vec![("x-amz-bucket-region", region.to_string())],
            body,
        }
    }
}
