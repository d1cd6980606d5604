//! A tiny HTTP server on 127.0.0.1 that answers every request as a test
//! says, for faults a real S3 server does not make on demand: 5xx, bodies
//! cut short or reset mid-way, slow drips, bodies of unknown length.
//! Path-style: `GET /bucket/key`. It stops with its handle.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;

type Body = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

/// How to answer one request.
pub enum Reply {
    /// This status, with a small XML error body.
    Status(u16),
    /// 200 with `body`.
    Body {
        body: Vec<u8>,
        /// `Some(n)`: declare this Content-Length (a lie if ≠ body length);
        /// `None`: no length, chunked transfer.
        declared: Option<u64>,
        /// Send this many bytes, then fail the connection.
        cut_after: Option<usize>,
        /// Send the body in pieces of `piece` bytes, one every `pace`.
        pace: Option<(usize, Duration)>,
    },
}

impl Reply {
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        Reply::Body {
            declared: Some(body.len() as u64),
            body,
            cut_after: None,
            pace: None,
        }
    }
}

pub type Handler = Arc<dyn Fn(&str, usize) -> Reply + Send + Sync>;

pub struct FaultServer {
    pub endpoint: String,
    log: Arc<Mutex<Vec<String>>>,
    _server: super::loopback::Loopback,
}

fn respond(reply: Reply) -> hyper::Response<Body> {
    match reply {
        Reply::Status(code) => {
            let xml = format!("<Error><Code>Fault{code}</Code><Message>injected</Message></Error>");
            let mut r = hyper::Response::new(
                Full::new(Bytes::from(xml))
                    .map_err(|never: Infallible| match never {})
                    .boxed(),
            );
            *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
            r
        }
        Reply::Body {
            body,
            declared,
            cut_after,
            pace,
        } => {
            let send = cut_after.unwrap_or(body.len()).min(body.len());
            let (piece, delay) = pace.unwrap_or((send.max(1), Duration::ZERO));
            let pieces: Vec<Bytes> = body[..send]
                .chunks(piece.max(1))
                .map(Bytes::copy_from_slice)
                .collect();
            let fail = cut_after.is_some();
            let frames = stream::iter(pieces)
                .then(move |p| async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Ok::<_, std::io::Error>(Frame::data(p))
                })
                .chain(stream::iter(fail.then(|| {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected reset",
                    ))
                })));
            let mut r = hyper::Response::new(BodyExt::boxed(StreamBody::new(frames)));
            if let Some(n) = declared {
                r.headers_mut().insert(
                    hyper::header::CONTENT_LENGTH,
                    n.to_string().parse().unwrap(),
                );
            }
            r
        }
    }
}

impl FaultServer {
    pub fn start(handler: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        let server =
            super::loopback::Loopback::serve(move |req: hyper::Request<hyper::body::Incoming>| {
                let (handler, log) = (handler.clone(), log2.clone());
                async move {
                    let path = req.uri().path().to_string();
                    let attempt = {
                        let mut log = log.lock().unwrap();
                        log.push(format!("{} {path}", req.method()));
                        log.iter()
                            .filter(|l| l.ends_with(&format!(" {path}")))
                            .count()
                    };
                    Ok::<_, Infallible>(respond(handler(&path, attempt)))
                }
            });
        Self {
            endpoint: server.endpoint.clone(),
            log,
            _server: server,
        }
    }

    /// "METHOD /path" per request, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}
