//! Shared by the store wrappers: replace a GET's body with an adapted stream,
//! keeping its metadata. Local files arrive as a file handle; they are read
//! as a stream too, so every wrapper sees bodies the same way.

use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::{GetResult, GetResultPayload, Result};

pub type Body = BoxStream<'static, Result<Bytes>>;

pub fn map_body(result: GetResult, adapt: impl FnOnce(Body) -> Body) -> GetResult {
    let GetResult {
        payload,
        meta,
        range,
        attributes,
        extensions,
    } = result;
    let stream = match payload {
        GetResultPayload::Stream(s) => s,
        file @ GetResultPayload::File(..) => GetResult {
            payload: file,
            meta: meta.clone(),
            range: range.clone(),
            attributes: Default::default(),
            extensions: Default::default(),
        }
        .into_stream(),
    };
    GetResult {
        payload: GetResultPayload::Stream(adapt(stream)),
        meta,
        range,
        attributes,
        extensions,
    }
}
