//! `head` and `cat`: look at an object's bytes without downloading more than
//! asked.
//!
//! `head -n` reads a 64 KiB window with a ranged GET, and only when the lines
//! asked for are not complete reads the next window (twice as large, never
//! again the bytes already read), up to the byte budget. `head -c` reads the
//! bytes asked for, or when the budget is smaller than both what was asked
//! and the object, stops before reading the body and says so. `cat` prints a whole
//! object only when it fits the budget; the guard refuses a larger one from
//! the response headers, before the body is read.

use bytes::{Bytes, BytesMut};
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

use crate::error::{Error, ErrorKind, Result};
use crate::render::text::size_text;
use crate::store::StoreHandle;

/// The first window `head` reads.
pub const FIRST_WINDOW: u64 = 64 * 1024;

/// What to take from the start of the object.
#[derive(Debug, Clone, Copy)]
pub enum Take {
    Lines(u64),
    Bytes(u64),
}

/// The bytes `head` prints, and how many GETs it took.
#[derive(Debug)]
pub struct HeadOutput {
    pub bytes: Bytes,
    pub object_size: u64,
    pub requests: u32,
}

/// Position just after the `n`-th newline, if the data holds that many.
fn end_of_lines(data: &[u8], n: u64) -> Option<usize> {
    if n == 0 {
        return Some(0);
    }
    let mut seen = 0;
    for (i, b) in data.iter().enumerate() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return Some(i + 1);
            }
        }
    }
    None
}

pub async fn head(handle: &StoreHandle, key: &str, take: Take) -> Result<HeadOutput> {
    let url = handle.location.url.clone();
    if key.is_empty() {
        return Err(Error::new(format!("{url} is a bucket, not an object"))
            .with_hint(format!("give an object's key, e.g. {url}/path/file.csv")));
    }
    let path = crate::keys::path(key)?;
    let max = handle.budget.max();
    let mut data = BytesMut::new();
    let mut window = match take {
        Take::Lines(_) => FIRST_WINDOW,
        Take::Bytes(n) => n,
    };
    let mut requests = 0;
    let mut object_size = None;
    loop {
        let start = data.len() as u64;
        if object_size.is_some_and(|size| start >= size) {
            break;
        }
        let room = max.saturating_sub(handle.budget.used());
        if room == 0 {
            return Err(Error::new(format!(
                "the first lines of {url} are longer than the byte budget ({max} bytes read, no line end yet)"
            ))
            .with_hint("raise --max-bytes, or take bytes instead with -c")
            .with_kind(ErrorKind::BudgetExceeded));
        }
        let mut end = start.saturating_add(window.min(room));
        if let Some(size) = object_size {
            end = end.min(size);
        }
        if end <= start {
            break;
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..end)),
            ..GetOptions::default()
        };
        requests += 1;
        let result = match handle.store.get_opts(&path, options).await {
            Ok(r) => r,
            // An empty object has no byte 0 to range over.
            Err(e) if start == 0 && is_unsatisfiable_range(&e) => {
                let meta = handle
                    .store
                    .head(&path)
                    .await
                    .map_err(|e| explain(handle, &url, &e))?;
                requests += 1;
                object_size = Some(meta.size);
                break;
            }
            Err(e) => return Err(explain(handle, &url, &e)),
        };
        object_size = Some(result.meta.size);
        if let Take::Bytes(asked) = take {
            let wanted = asked.min(result.meta.size);
            if wanted > end {
                // The budget cut the range short: say so rather than print
                // less than was asked (the body is dropped unread).
                return Err(Error::new(format!(
                    "head -c {} of {url} (an object of {}) would read {}, more than the byte budget of {}: nothing printed",
                    size_text(asked),
                    size_text(result.meta.size),
                    size_text(wanted),
                    size_text(max)
                ))
                .with_hint(format!(
                    "raise the budget with --max-bytes {wanted}, or ask for fewer bytes"
                ))
                .with_kind(ErrorKind::BudgetExceeded));
            }
        }
        let chunk = result
            .bytes()
            .await
            .map_err(|e| explain(handle, &url, &e))?;
        data.extend_from_slice(&chunk);
        match take {
            Take::Bytes(_) => break,
            Take::Lines(n) => {
                if end_of_lines(&data, n).is_some() {
                    break;
                }
            }
        }
        window = window.saturating_mul(2);
    }
    let size = object_size.unwrap_or(0);
    let keep = match take {
        Take::Lines(n) => end_of_lines(&data, n).unwrap_or(data.len()),
        Take::Bytes(n) => data.len().min(usize::try_from(n).unwrap_or(usize::MAX)),
    };
    data.truncate(keep);
    Ok(HeadOutput {
        bytes: data.freeze(),
        object_size: size,
        requests,
    })
}

fn is_unsatisfiable_range(err: &object_store::Error) -> bool {
    let text = err.to_string();
    text.contains("416")
        || text.contains("InvalidRange")
        || text.contains("StartTooLarge")
        || text.contains("not satisfiable")
}

fn explain(handle: &StoreHandle, url: &str, err: &object_store::Error) -> Error {
    handle.explain_url(url, err)
}

/// `cat`: the whole object, if it fits the byte budget.
pub async fn cat(handle: &StoreHandle, key: &str) -> Result<Bytes> {
    let url = handle.location.url.clone();
    if key.is_empty() {
        return Err(Error::new(format!("{url} is a bucket, not an object"))
            .with_hint(format!("give an object's key, e.g. {url}/path/file.json")));
    }
    let path = crate::keys::path(key)?;
    let fetched = async { handle.store.get(&path).await?.bytes().await }.await;
    fetched.map_err(|e| {
        if let Some(crate::store::guard::GuardError::OverBudget { size, max, .. }) =
            crate::store::guard::GuardError::from_store_error(&e)
        {
            return Error::new(format!(
                "{url} is {} ({size} bytes), more than the byte budget of {}",
                size_text(*size),
                size_text(*max)
            ))
            .with_hint(format!(
                "look at the start with `{}`, or raise the budget with --max-bytes {size}",
                handle.command(&format!("head {url}"))
            ))
            .with_kind(ErrorKind::BudgetExceeded);
        }
        handle.explain_url(&url, &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends() {
        assert_eq!(end_of_lines(b"a\nb\nc", 2), Some(4));
        assert_eq!(end_of_lines(b"a\nb", 2), None);
        assert_eq!(end_of_lines(b"", 0), Some(0));
    }
}
