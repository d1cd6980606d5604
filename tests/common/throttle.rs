//! A busy S3 in the test server: while more than a set number of requests
//! are in flight, each new one is answered 503 SlowDown at once (S3 answers
//! a request rate past what a prefix serves so), the others are served as
//! usual. Off until `S3Server::throttle_above` sets the number.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone)]
pub struct Throttle(Arc<AtomicUsize>);

impl Default for Throttle {
    fn default() -> Self {
        Self(Arc::new(AtomicUsize::new(usize::MAX)))
    }
}

impl Throttle {
    pub fn set(&self, above: usize) {
        self.0.store(above, Ordering::SeqCst);
    }

    /// Whether a request arriving with `in_flight` requests out (itself
    /// included) is refused.
    pub fn refuses(&self, in_flight: usize) -> bool {
        in_flight > self.0.load(Ordering::SeqCst)
    }
}

/// S3's answer to too many requests at once.
pub fn slow_down() -> hyper::Response<s3s::Body> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    let mut response = hyper::Response::new(s3s::Body::from(body.to_string()));
    *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    response
}
