//! The session token a request carried: the `x-amz-security-token` header of
//! a signed request, or the `X-Amz-Security-Token` query parameter of a
//! presigned URL. s3s checks the signature but not the token, so tests read
//! it from the log to see that it arrived.

pub fn security_token<B>(req: &hyper::Request<B>) -> Option<String> {
    if let Some(value) = req.headers().get("x-amz-security-token") {
        return value.to_str().ok().map(str::to_string);
    }
    let query = req.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name.eq_ignore_ascii_case("X-Amz-Security-Token"))
        .map(|(_, value)| value.into_owned())
}
