//! Faults injected into the S3 test server on demand: the next N requests
//! that match a method and an object key are answered with an S3-style
//! error (503 SlowDown) instead of being served, as a busy S3 answers. The
//! request body is read first, as S3 reads it, so that the client sees the
//! answer and not a connection cut mid-upload. The server's request log
//! records the injected answers like any other.

use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;

struct Rule {
    method: String,
    /// The object key (no bucket); empty for bucket requests such as
    /// DeleteObjects (`POST /bucket?delete`) or a listing.
    key: String,
    status: u16,
    left: usize,
}

/// The faults to inject, shared with the server's request handler.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<Rule>>>);

impl Faults {
    pub fn fail_next(&self, method: &str, key: &str, status: u16, times: usize) {
        self.0.lock().unwrap().push(Rule {
            method: method.to_string(),
            key: key.to_string(),
            status,
            left: times,
        });
    }

    /// Whether this request (`path` percent-decoded, `/bucket/key`) is to
    /// fail, and with which status; each match uses up one of a rule's times.
    fn take(&self, method: &str, path: &str) -> Option<u16> {
        let key = path
            .trim_start_matches('/')
            .split_once('/')
            .map_or("", |(_bucket, key)| key);
        let mut rules = self.0.lock().unwrap();
        let rule = rules
            .iter_mut()
            .find(|r| r.left > 0 && r.method == method && r.key == key)?;
        rule.left -= 1;
        Some(rule.status)
    }

    /// The injected answer to `req`, or `req` back to be served.
    pub async fn answer(
        &self,
        method: &str,
        path: &str,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> Result<hyper::Response<s3s::Body>, hyper::Request<hyper::body::Incoming>> {
        let Some(status) = self.take(method, path) else {
            return Err(req);
        };
        let _ = req.into_body().collect().await;
        let (code, message) = match status {
            503 => ("SlowDown", "Please reduce your request rate."),
            _ => (
                "InternalError",
                "We encountered an internal error. Please try again.",
            ),
        };
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
        );
        let mut response = hyper::Response::new(s3s::Body::from(body));
        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        Ok(response)
    }
}
