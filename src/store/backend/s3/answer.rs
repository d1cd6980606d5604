//! Reading S3's short XML answers (errors, bucket and multipart replies) of
//! requests made outside object_store: a bounded body and one element's text.

/// The body of `response`, cut at `max` bytes (answers are short documents;
/// a longer one is not read further). A body that breaks off ends early.
pub async fn truncated_body(mut response: reqwest::Response, max: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = max.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= max {
            break;
        }
    }
    body
}

/// The unescaped text of the first `<tag>…</tag>` in `text`.
pub fn xml_text(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    let raw = &text[start..end];
    Some(
        quick_xml::escape::unescape(raw)
            .map(|t| t.into_owned())
            .unwrap_or_else(|_| raw.to_string()),
    )
}

/// "Received HTTP status 403 Forbidden: AccessDenied", the words
/// object_store's own errors use (the explanations read them), from an S3
/// error answer's status and its `<Code>`.
pub fn status_text(status: reqwest::StatusCode, answer: &str) -> String {
    let code = xml_text(answer, "Code").unwrap_or_default();
    format!(
        "Received HTTP status {} {}: {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        if code.is_empty() {
            "no error code"
        } else {
            &code
        }
    )
}

#[cfg(test)]
mod tests {
    use super::xml_text;

    #[test]
    fn xml_text_finds_and_unescapes_the_first_element() {
        let doc = "<Error><Code>NoSuchBucket</Code><Message>a &amp; b</Message></Error>";
        assert_eq!(xml_text(doc, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_text(doc, "Message").as_deref(), Some("a & b"));
        assert_eq!(xml_text(doc, "UploadId"), None);
        assert_eq!(xml_text("<Code>unclosed", "Code"), None);
    }
}
