//! Bounded decompression of the chunks `show --coords` reads.
//!
//! zarrs' own gzip, zlib, bz2 and zstd codecs decode with `read_to_end` (or,
//! for zstd, into a buffer sized from the frame's declared content size), and
//! its blosc codec allocates what the blosc header declares: a few hundred
//! hostile bytes can ask for gigabytes, or (zstd, 2^63 declared) panic. zarrs
//! lets runtime-registered codec plugins take precedence over its built-in
//! ones, so [`install`] registers, for each of those five names (and their
//! aliases), a wrapper around zarrs' own codec that keeps everything but
//! `decode`, and decodes with a bound:
//!
//! - the bound is what the metadata says the decoded bytes are (zarrs passes
//!   it as the decoded representation: chunk shape × item size for a chunk),
//!   and never more than [`set_unbounded_limit`]'s value (the byte budget)
//!   for representations without a size;
//! - before decoding, a size the encoded data declares (zstd frame content
//!   size, blosc header) is checked against the bound;
//! - while decoding, gzip, zlib, bz2 and zstd are read through their
//!   streaming decoders limited to bound + 1 bytes, so a chunk that expands
//!   past the bound is refused after bound + 1 bytes, not after all of them.
//!
//! Partial decoding goes through zarrs' default partial decoder, which calls
//! this `decode` (the sharding codec's inner chunks included).

use std::borrow::Cow;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use zarrs::array::codec::BloscCodec;
use zarrs::array::codec::api::{
    CodecRuntimePluginV2, CodecRuntimePluginV3, register_codec_v2, register_codec_v3,
};
use zarrs::array::codec::api::{PartialDecoderCapability, PartialEncoderCapability};
use zarrs::array::codec::{Bz2Codec, GzipCodec, ZlibCodec, ZstdCodec, blosc_validate};
use zarrs::array::{
    ArrayBytesRaw, ArrayError, BytesRepresentation, BytesToBytesCodecTraits, Codec, CodecError,
    CodecMetadataOptions, CodecOptions, CodecTraits, CodecTraitsV2, CodecTraitsV3,
    RecommendedConcurrency,
};
use zarrs::metadata::Configuration;
use zarrs::plugin::{ExtensionAliases, ExtensionName, ZarrVersion, ZarrVersion2, ZarrVersion3};

/// Bound for a decoded representation without a size (variable-length data).
static UNBOUNDED_LIMIT: AtomicU64 = AtomicU64::new(64 * 1024 * 1024);

/// Bound decoded bytes of representations that carry no size of their own
/// (the caller's remaining byte budget).
pub fn set_unbounded_limit(bytes: u64) {
    UNBOUNDED_LIMIT.store(bytes, Ordering::Relaxed);
}

/// A chunk whose decoded size would pass the bound the metadata sets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeRefused {
    #[error(
        "its {codec} data declares {declared} decoded bytes, more than the {limit} bytes the array metadata gives a chunk; not decoded"
    )]
    Declared {
        codec: &'static str,
        declared: u64,
        limit: u64,
    },
    #[error(
        "its {codec} data expands past the {limit} bytes the array metadata gives a chunk; decoding stopped there"
    )]
    Expands { codec: &'static str, limit: u64 },
    #[error("its {codec} data is not valid ({detail})")]
    Invalid {
        codec: &'static str,
        detail: &'static str,
    },
}

impl DecodeRefused {
    fn into_codec_error(self) -> CodecError {
        CodecError::from(std::io::Error::other(self))
    }

    /// The refusal inside a zarrs error, if that is what it is.
    pub fn from_array_error(err: &ArrayError) -> Option<&DecodeRefused> {
        match err {
            ArrayError::CodecError(CodecError::IOError(io)) => io.get_ref()?.downcast_ref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gzip,
    Zlib,
    Bz2,
    Zstd,
    Blosc,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Gzip => "gzip",
            Kind::Zlib => "zlib",
            Kind::Bz2 => "bz2",
            Kind::Zstd => "zstd",
            Kind::Blosc => "blosc",
        }
    }
}

/// zarrs' codec with a bounded `decode`.
#[derive(Debug)]
struct Bounded {
    kind: Kind,
    inner: Arc<dyn BytesToBytesCodecTraits>,
}

/// Read at most `limit` bytes from `reader`; refuse a stream with more.
fn read_limited(reader: impl Read, kind: Kind, limit: u64) -> Result<Vec<u8>, CodecError> {
    // The limit is what a valid chunk decodes to: reserve it (it has been
    // checked against the byte budget), capped so an unsized limit does not
    // reserve memory up front.
    let reserve = usize::try_from(limit.min(16 * 1024 * 1024)).unwrap_or(0);
    let mut out = Vec::with_capacity(reserve);
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(CodecError::from)?;
    if out.len() as u64 > limit {
        return Err(DecodeRefused::Expands {
            codec: kind.name(),
            limit,
        }
        .into_codec_error());
    }
    Ok(out)
}

impl Bounded {
    fn decode_bounded<'a>(
        &self,
        encoded: ArrayBytesRaw<'a>,
        representation: &BytesRepresentation,
        options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        let unbounded = UNBOUNDED_LIMIT.load(Ordering::Relaxed);
        let limit = representation.size().unwrap_or(unbounded);
        let declared = |declared: u64| {
            if declared > limit {
                Err(DecodeRefused::Declared {
                    codec: self.kind.name(),
                    declared,
                    limit,
                }
                .into_codec_error())
            } else {
                Ok(())
            }
        };
        let data: &[u8] = &encoded;
        let decoded = match self.kind {
            Kind::Gzip => read_limited(flate2::read::GzDecoder::new(data), self.kind, limit)?,
            Kind::Zlib => read_limited(flate2::read::ZlibDecoder::new(data), self.kind, limit)?,
            Kind::Bz2 => read_limited(bzip2::read::BzDecoder::new(data), self.kind, limit)?,
            Kind::Zstd => {
                // The first frame's declared size, when it has one, is
                // checked before anything is allocated for it.
                if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(data) {
                    declared(size)?;
                }
                let decoder = zstd::stream::read::Decoder::with_buffer(data)?;
                read_limited(decoder, self.kind, limit)?
            }
            Kind::Blosc => {
                // blosc allocates what its header declares: check the
                // header (and its consistency) first, then let zarrs decode.
                let size = blosc_validate(data).ok_or(
                    DecodeRefused::Invalid {
                        codec: "blosc",
                        detail: "its header does not describe the data",
                    }
                    .into_codec_error(),
                )?;
                declared(size as u64)?;
                return self.inner.decode(encoded, representation, options);
            }
        };
        Ok(Cow::Owned(decoded))
    }
}

impl ExtensionName for Bounded {
    fn name(&self, version: ZarrVersion) -> Option<Cow<'static, str>> {
        self.inner.name(version)
    }
}

impl CodecTraits for Bounded {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn configuration(
        &self,
        version: ZarrVersion,
        options: &CodecMetadataOptions,
    ) -> Option<Configuration> {
        self.inner.configuration(version, options)
    }

    fn partial_decoder_capability(&self) -> PartialDecoderCapability {
        // Whole-chunk decoding only, through `decode` and its bound.
        PartialDecoderCapability {
            partial_read: false,
            partial_decode: false,
        }
    }

    fn partial_encoder_capability(&self) -> PartialEncoderCapability {
        self.inner.partial_encoder_capability()
    }
}

#[async_trait::async_trait]
impl BytesToBytesCodecTraits for Bounded {
    fn into_dyn(self: Arc<Self>) -> Arc<dyn BytesToBytesCodecTraits> {
        self as Arc<dyn BytesToBytesCodecTraits>
    }

    fn recommended_concurrency(
        &self,
        decoded_representation: &BytesRepresentation,
    ) -> Result<RecommendedConcurrency, CodecError> {
        self.inner.recommended_concurrency(decoded_representation)
    }

    fn encoded_representation(
        &self,
        decoded_representation: &BytesRepresentation,
    ) -> BytesRepresentation {
        self.inner.encoded_representation(decoded_representation)
    }

    fn encode<'a>(
        &self,
        decoded_value: ArrayBytesRaw<'a>,
        options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        self.inner.encode(decoded_value, options)
    }

    fn decode<'a>(
        &self,
        encoded_value: ArrayBytesRaw<'a>,
        decoded_representation: &BytesRepresentation,
        options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        self.decode_bounded(encoded_value, decoded_representation, options)
    }
}

fn bounded(kind: Kind, codec: Codec) -> Codec {
    match codec {
        Codec::BytesToBytes(inner) => Codec::BytesToBytes(Arc::new(Bounded { kind, inner })),
        other => other,
    }
}

/// Register the bounded wrapper of zarrs' codec `T` for both Zarr formats.
fn register<T>(kind: Kind)
where
    T: ExtensionAliases<ZarrVersion2> + ExtensionAliases<ZarrVersion3> + CodecTraitsV2,
    T: CodecTraitsV3 + 'static,
{
    register_codec_v3(CodecRuntimePluginV3::new(
        <T as ExtensionAliases<ZarrVersion3>>::matches_name,
        move |metadata| Ok(bounded(kind, <T as CodecTraitsV3>::create(metadata)?)),
    ));
    register_codec_v2(CodecRuntimePluginV2::new(
        <T as ExtensionAliases<ZarrVersion2>>::matches_name,
        move |metadata| Ok(bounded(kind, <T as CodecTraitsV2>::create(metadata)?)),
    ));
}

/// Make every array opened from now on decode gzip, zlib, bz2, zstd and
/// blosc chunks with a bound. Idempotent.
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        register::<GzipCodec>(Kind::Gzip);
        register::<ZlibCodec>(Kind::Zlib);
        register::<Bz2Codec>(Kind::Bz2);
        register::<ZstdCodec>(Kind::Zstd);
        register::<BloscCodec>(Kind::Blosc);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn codec(kind: Kind) -> Bounded {
        let inner: Arc<dyn BytesToBytesCodecTraits> = match kind {
            Kind::Gzip => Arc::new(GzipCodec::new(5).unwrap()),
            Kind::Zlib => Arc::new(ZlibCodec::new(5u32.try_into().unwrap())),
            Kind::Bz2 => Arc::new(Bz2Codec::new(5u32.try_into().unwrap())),
            Kind::Zstd => Arc::new(ZstdCodec::new(3, false)),
            Kind::Blosc => Arc::new(
                BloscCodec::new(
                    zarrs::array::codec::BloscCompressor::LZ4,
                    5u8.try_into().unwrap(),
                    None,
                    zarrs::array::codec::BloscShuffleMode::NoShuffle,
                    None,
                )
                .unwrap(),
            ),
        };
        Bounded { kind, inner }
    }

    #[test]
    fn decodes_up_to_the_bound_and_refuses_past_it() {
        let options = CodecOptions::default();
        for kind in [Kind::Gzip, Kind::Zlib, Kind::Bz2, Kind::Zstd, Kind::Blosc] {
            let c = codec(kind);
            let data = vec![7u8; 4096];
            let encoded = c.inner.encode(Cow::Borrowed(&data), &options).unwrap();
            let fixed = BytesRepresentation::FixedSize(4096);
            let back = c.decode(encoded.clone(), &fixed, &options).unwrap();
            assert_eq!(back.as_ref(), &data[..], "{kind:?}");
            let small = BytesRepresentation::FixedSize(1000);
            let err = c.decode(encoded, &small, &options).unwrap_err();
            let CodecError::IOError(io) = &err else {
                panic!("{kind:?}: {err}")
            };
            let refused = io.get_ref().unwrap().downcast_ref::<DecodeRefused>();
            assert!(
                matches!(
                    refused,
                    Some(
                        DecodeRefused::Expands { limit: 1000, .. } | DecodeRefused::Declared { .. }
                    )
                ),
                "{kind:?}: {err}"
            );
        }
    }

    #[test]
    fn a_blosc_header_that_does_not_describe_its_data_is_refused() {
        let c = codec(Kind::Blosc);
        let options = CodecOptions::default();
        let data = vec![7u8; 4096];
        let mut encoded = c
            .inner
            .encode(Cow::Borrowed(&data), &options)
            .unwrap()
            .into_owned();
        // cbytes (bytes 12..16) no longer matches the buffer's length.
        encoded[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = c
            .decode(
                Cow::Owned(encoded),
                &BytesRepresentation::FixedSize(4096),
                &options,
            )
            .unwrap_err();
        assert!(err.to_string().contains("blosc data is not valid"), "{err}");
    }

    #[test]
    fn a_zstd_frame_declaring_2_pow_63_bytes_is_refused_before_decoding() {
        let mut frame = Vec::new();
        let mut enc = zstd::stream::write::Encoder::new(&mut frame, 1).unwrap();
        enc.set_pledged_src_size(Some(4)).unwrap();
        enc.include_contentsize(true).unwrap();
        enc.write_all(b"abcd").unwrap();
        enc.finish().unwrap();
        let hostile = hostile_zstd_header(1 << 63);
        let c = codec(Kind::Zstd);
        let err = c
            .decode(
                Cow::Owned(hostile),
                &BytesRepresentation::FixedSize(80),
                &CodecOptions::default(),
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("declares 9223372036854775808"),
            "{err}"
        );
        // A well-formed frame still decodes.
        let ok = c
            .decode(
                Cow::Owned(frame),
                &BytesRepresentation::FixedSize(4),
                &CodecOptions::default(),
            )
            .unwrap();
        assert_eq!(ok.as_ref(), b"abcd");
    }

    /// A zstd frame header declaring `size` content bytes, followed by one
    /// empty raw last block.
    fn hostile_zstd_header(size: u64) -> Vec<u8> {
        let mut f = vec![0x28, 0xB5, 0x2F, 0xFD];
        // Frame header descriptor: FCS field size 8 (bits 7-6 = 3), single segment.
        f.push(0b1110_0000);
        f.extend_from_slice(&size.to_le_bytes());
        // Last block, raw, size 0.
        f.extend_from_slice(&[0x01, 0x00, 0x00]);
        f
    }
}
