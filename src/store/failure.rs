//! Why a request failed, in words a user acts on. object_store reports most
//! transport failures as "error sending request"; the cause is further down
//! the error's source chain (reqwest → hyper → io / TLS / DNS).

use std::error::Error as StdError;

use super::client::CrossHostRedirect;

/// A cause the headline can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (e.g. https:// against a plain HTTP port).
    Tls,
    /// Nothing listens at the address.
    ConnectionRefused,
    /// No connection within --connect-timeout (nothing answered the SYN).
    ConnectTimeout,
    /// The request took longer than allowed.
    Timeout,
    /// A redirect to another host that was not followed.
    CrossHostRedirect(CrossHostRedirect),
}

/// The error and its sources, outermost first.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |e: &&'a (dyn StdError + 'static)| (*e).source())
}

/// The cause of `err`, when the chain names one we can explain.
pub fn classify(err: &(dyn StdError + 'static)) -> Option<Cause> {
    let (mut refused, mut timeout, mut connecting) = (false, false, false);
    // Only the transport's messages are read as text: the outer ones hold the
    // URL and the response body, where a key named `tls` must not count.
    let mut transport = false;
    let mut text = String::new();
    for e in chain(err) {
        transport |= e.is::<std::io::Error>()
            || e.is::<reqwest::Error>()
            || e.is::<object_store::client::HttpError>();
        if let Some(redirect) = e.downcast_ref::<CrossHostRedirect>() {
            return Some(Cause::CrossHostRedirect(redirect.clone()));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            // An io::Error's source skips its inner error: look at it here.
            if let Some(redirect) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<CrossHostRedirect>())
            {
                return Some(Cause::CrossHostRedirect(redirect.clone()));
            }
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => refused = true,
                std::io::ErrorKind::TimedOut => timeout = true,
                _ => {}
            }
        }
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            timeout |= r.is_timeout();
            connecting |= r.is_connect();
        }
        if let Some(h) = e.downcast_ref::<object_store::client::HttpError>() {
            timeout |= h.kind() == object_store::client::HttpErrorKind::Timeout;
        }
        if transport {
            text.push_str(&e.to_string().to_ascii_lowercase());
            text.push('\n');
        }
    }
    let says = |signs: &[&str]| signs.iter().any(|s| text.contains(s));
    if says(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
        "no address associated",
    ]) {
        Some(Cause::Dns)
    } else if says(&[
        "invalidcontenttype",
        "corrupt message",
        "certificate",
        "handshake",
        "tls",
        "ssl",
    ]) {
        Some(Cause::Tls)
    } else if refused || says(&["connection refused"]) {
        Some(Cause::ConnectionRefused)
    } else if timeout || says(&["timed out", "operation timed out", "deadline has elapsed"]) {
        // reqwest marks a connect timeout as both a connect and a timeout error.
        Some(if connecting {
            Cause::ConnectTimeout
        } else {
            Cause::Timeout
        })
    } else {
        None
    }
}

/// The innermost message of `err`'s chain (the most specific one), for a
/// detail after the headline.
pub fn root_message(err: &(dyn StdError + 'static)) -> String {
    chain(err).last().map(|e| e.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn StdError + Send + Sync>);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl StdError for Wrap {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.1)
        }
    }

    #[test]
    fn causes_are_found_down_the_chain() {
        let refused = Wrap(
            "error sending request",
            Box::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        );
        assert_eq!(classify(&refused), Some(Cause::ConnectionRefused));
        let redirect = Wrap(
            "error following redirect",
            Box::new(std::io::Error::other(CrossHostRedirect {
                from: "http://a".into(),
                to: "http://b".into(),
            })),
        );
        assert!(matches!(
            classify(&redirect),
            Some(Cause::CrossHostRedirect(_))
        ));
        let dns = Wrap(
            "client error (Connect)",
            Box::new(std::io::Error::other(
                "dns error: failed to lookup address information",
            )),
        );
        assert_eq!(classify(&dns), Some(Cause::Dns));
        let plain = Wrap(
            "error sending request",
            Box::new(std::io::Error::other("eh")),
        );
        assert_eq!(classify(&plain), None);
        assert_eq!(root_message(&plain), "eh");
    }
}
