//! JPEG input: reading the header ourselves, then decoding at reduced scale.
//!
//! A 12-megapixel photo has far more pixels than a 256-pixel avatar needs. JPEG stores each
//! 8x8 block as frequencies, so `jpeg-decoder` can rebuild a block as 4x4, 2x2 or 1x1 pixels
//! directly (shrink-on-load), skipping most of the inverse DCT and all of the full-size
//! buffers. We pick the strongest shrink that still leaves the shorter side at least
//! [`OUTPUT_SIZE`] pixels, and the resizer does the rest.
//!
//! Progressive JPEGs get one more shortcut. At 1/8 scale a block becomes a single pixel whose
//! value is the block's DC coefficient alone, so the AC scans (most of the file and most of
//! the decoding time) would be decoded only to be thrown away. [`dc_scans_only`] copies the
//! file without them first. This is exact: every scan carries a fixed band of coefficients,
//! and no DC scan depends on an AC scan.
//!
//! The header walk here is also what lets the pipeline refuse an oversized image before the
//! decoder allocates anything.

use super::{OUTPUT_SIZE, PipelineError, Rgb};
use image::metadata::Orientation;
use jpeg_decoder::{Decoder, PixelFormat};
use std::ops::Range;

/// What the pipeline needs to know about a JPEG before decoding it.
pub(super) struct Header<'a> {
    pub width: u16,
    pub height: u16,
    /// 8-bit DCT-based (baseline, extended or progressive): what browsers show, and what can
    /// be decoded at reduced scale. Lossless, 12-bit, hierarchical and arithmetic-coded JPEGs
    /// are refused as unsupported.
    pub decodable: bool,
    progressive: bool,
    /// Horizontal and vertical sampling factors, one pair per component.
    sampling: Vec<(u8, u8)>,
    /// The Exif payload (from the TIFF header on), if there is an Exif APP1 segment.
    exif: Option<&'a [u8]>,
}

/// One marker segment: the marker byte and where its payload lies in the file.
struct Segment {
    marker: u8,
    /// Index of the segment's `0xFF` byte.
    start: usize,
    /// The bytes after the length field (empty for markers that have no length).
    payload: Range<usize>,
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP1: u8 = 0xE1;

/// SOF0 to SOF15, leaving out the three codes in that range that mean something else
/// (DHT, JPG and DAC).
fn is_start_of_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// Markers that stand alone, without a length field.
fn has_no_length(marker: u8) -> bool {
    matches!(marker, 0x01 | 0xD0..=0xD9)
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Reads the segment whose marker starts at `pos`, skipping any `0xFF` fill bytes before it.
/// `None` when the file ends early or there is no marker at `pos`.
fn segment_at(bytes: &[u8], pos: usize) -> Option<Segment> {
    if *bytes.get(pos)? != 0xFF {
        return None;
    }
    let mut at = pos + 1;
    let marker = loop {
        match *bytes.get(at)? {
            0xFF => at += 1,
            marker => break marker,
        }
    };
    let after_marker = at + 1;

    if has_no_length(marker) {
        return Some(Segment {
            marker,
            start: pos,
            payload: after_marker..after_marker,
        });
    }
    let length = usize::from(read_u16(bytes, after_marker)?);
    let end = after_marker + length;
    if length < 2 || end > bytes.len() {
        return None;
    }
    Some(Segment {
        marker,
        start: pos,
        payload: after_marker + 2..end,
    })
}

/// Where the entropy-coded data that starts at `from` ends: at the next marker that is not a
/// stuffed zero or a restart marker. `None` if the file ends first.
fn entropy_data_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let ff = at + bytes.get(at..)?.iter().position(|&b| b == 0xFF)?;
        match *bytes.get(ff + 1)? {
            0x00 | 0xD0..=0xD7 => at = ff + 2,
            _ => return Some(ff),
        }
    }
}

/// Reads markers up to the frame header, which states the size. Nothing after it is read, so
/// a huge size is refused even when the rest of the file is missing. (Exif comes first: the
/// standard puts its APP1 segment straight after SOI.) `None` when the bytes do not form a
/// JPEG header, which the caller reports as corrupt.
pub(super) fn read_header(bytes: &[u8]) -> Option<Header<'_>> {
    if bytes.get(..2)? != [0xFF, SOI] {
        return None;
    }

    let mut exif = None;
    let mut pos = 2;
    let (marker, frame) = loop {
        let segment = segment_at(bytes, pos)?;
        let payload = &bytes[segment.payload.clone()];
        match segment.marker {
            marker if is_start_of_frame(marker) => break (marker, payload),
            APP1 if exif.is_none() => exif = payload.strip_prefix(b"Exif\0\0"),
            SOI | EOI | SOS => return None,
            _ => {}
        }
        pos = segment.payload.end;
    };

    let precision = *frame.first()?;
    let height = read_u16(frame, 1)?;
    let width = read_u16(frame, 3)?;
    let components = usize::from(*frame.get(5)?);
    let sampling = (0..components)
        .map(|i| {
            let factors = *frame.get(6 + 3 * i + 1)?;
            Some((factors >> 4, factors & 0x0F))
        })
        .collect::<Option<Vec<_>>>()?;
    if sampling.iter().any(|&(h, v)| h == 0 || v == 0) {
        return None;
    }

    Some(Header {
        width,
        height,
        decodable: matches!(marker, 0xC0..=0xC2) && precision == 8,
        progressive: marker == 0xC2,
        sampling,
        exif,
    })
}

/// A copy of a progressive JPEG without its AC scans (see the module documentation). `None`
/// when the stream is not laid out as expected, including when it ends before its EOI
/// marker; the caller then decodes the original file, which reports any damage itself.
pub(super) fn dc_scans_only(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut kept = Vec::with_capacity(bytes.len() / 4);
    kept.extend_from_slice(bytes.get(..2)?);

    let mut pos = 2;
    loop {
        let segment = segment_at(bytes, pos)?;
        match segment.marker {
            SOS => {
                // Ns, then two bytes per component, then Ss (the first coefficient coded).
                let payload = &bytes[segment.payload.clone()];
                let components = usize::from(*payload.first()?);
                let spectral_start = *payload.get(1 + 2 * components)?;
                let end = entropy_data_end(bytes, segment.payload.end)?;
                if spectral_start == 0 {
                    kept.extend_from_slice(&bytes[segment.start..end]);
                }
                pos = end;
            }
            EOI => {
                kept.extend_from_slice(&[0xFF, EOI]);
                return Some(kept);
            }
            SOI => return None,
            _ => {
                kept.extend_from_slice(&bytes[segment.start..segment.payload.end]);
                pos = segment.payload.end;
            }
        }
    }
}

/// How many times smaller than the file each side is decoded: 8, 4, 2 or 1.
fn shrink_for(header: &Header<'_>) -> u32 {
    let shorter = u32::from(header.width.min(header.height));
    [8, 4, 2]
        .into_iter()
        .find(|&shrink| shorter.div_ceil(shrink) >= OUTPUT_SIZE)
        .unwrap_or(1)
}

/// Bytes `jpeg-decoder` and we hold at once while decoding at the given shrink: the
/// coefficients of the whole image for a progressive file (two bytes each, padded to whole
/// MCUs), the per-component planes, the interleaved output and our RGB copy.
fn memory_estimate(header: &Header<'_>, shrink: u32) -> u64 {
    let (max_h, max_v) = header
        .sampling
        .iter()
        .fold((1, 1), |(max_h, max_v), &(h, v)| {
            (max_h.max(u64::from(h)), max_v.max(u64::from(v)))
        });
    let mcus_across = u64::from(header.width).div_ceil(8 * max_h);
    let mcus_down = u64::from(header.height).div_ceil(8 * max_v);
    let block_side = 8 / u64::from(shrink);

    let mut total = 0;
    for &(h, v) in &header.sampling {
        let blocks = mcus_across * u64::from(h) * mcus_down * u64::from(v);
        if header.progressive {
            total += blocks * 64 * 2;
        }
        total += blocks * block_side * block_side;
    }
    let out_pixels = u64::from(header.width).div_ceil(u64::from(shrink))
        * u64::from(header.height).div_ceil(u64::from(shrink));
    let channels = header.sampling.len() as u64;
    total + out_pixels * (channels + 3)
}

/// Opens a decoder on `stream` and sets its output scale. No pixel is decoded yet.
fn open<'s>(
    stream: &'s [u8],
    header: &Header<'_>,
    shrink: u32,
) -> Result<Decoder<&'s [u8]>, PipelineError> {
    let mut decoder = Decoder::new(stream);
    decoder.read_info().map_err(decode_error)?;
    if shrink > 1 {
        // `scale` picks the strongest shrink that keeps either side at least the requested
        // size; asking for more than the longer side can give makes it look at the shorter one.
        let wanted = u16::try_from(OUTPUT_SIZE).unwrap_or(u16::MAX);
        let (want_w, want_h) = if header.width <= header.height {
            (wanted, u16::MAX)
        } else {
            (u16::MAX, wanted)
        };
        decoder.scale(want_w, want_h).map_err(decode_error)?;
    }
    Ok(decoder)
}

/// Decodes a JPEG whose header has passed the dimension checks, at reduced scale, into RGB.
pub(super) fn decode(
    bytes: &[u8],
    header: &Header<'_>,
    max_alloc: u64,
) -> Result<Rgb, PipelineError> {
    if !header.decodable {
        return Err(PipelineError::Unsupported);
    }
    let shrink = shrink_for(header);
    if memory_estimate(header, shrink) > max_alloc {
        return Err(PipelineError::TooMuchMemory);
    }

    let dc_only = if header.progressive && shrink == 8 {
        dc_scans_only(bytes)
    } else {
        None
    };
    let eighth = (header.width.div_ceil(8), header.height.div_ceil(8));
    let mut decoder = match &dc_only {
        Some(stream) => {
            let decoder = open(stream, header, shrink)?;
            // The shortcut is exact only at 1/8 scale; if the decoder chose otherwise, decode
            // the whole file after all.
            let size = decoder.info().map(|info| (info.width, info.height));
            if size == Some(eighth) {
                decoder
            } else {
                open(bytes, header, shrink)?
            }
        }
        None => open(bytes, header, shrink)?,
    };
    decoder.set_max_decoding_buffer_size(usize::try_from(max_alloc).unwrap_or(usize::MAX));

    let pixels = decoder.decode().map_err(decode_error)?;
    let info = decoder.info().ok_or(PipelineError::Corrupt)?;
    let orientation = header
        .exif
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let pixel_count = usize::from(info.width) * usize::from(info.height);
    let pixels = to_rgb(pixels, info.pixel_format, pixel_count)?;

    Ok(Rgb {
        width,
        height,
        pixels,
        orientation,
    })
}

fn decode_error(error: jpeg_decoder::Error) -> PipelineError {
    match error {
        jpeg_decoder::Error::Unsupported(_) => PipelineError::Unsupported,
        _ => PipelineError::Corrupt,
    }
}

/// Converts the decoder's output to 8-bit RGB.
fn to_rgb(pixels: Vec<u8>, format: PixelFormat, count: usize) -> Result<Vec<u8>, PipelineError> {
    if pixels.len() < count * format.pixel_bytes() {
        return Err(PipelineError::Corrupt);
    }
    let rgb = match format {
        PixelFormat::RGB24 => return Ok(pixels),
        PixelFormat::L8 => pixels.iter().take(count).flat_map(|&l| [l, l, l]).collect(),
        // Only lossless JPEG has more than 8 bits, and it is refused before decoding.
        PixelFormat::L16 => return Err(PipelineError::Unsupported),
        // The decoder gives ink amounts (0 = no ink); a simple conversion without a colour
        // profile, as browsers do for CMYK files that carry none.
        PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .take(count)
            .flat_map(|cmyk| {
                let white = 255 - u16::from(cmyk[3]);
                cmyk[..3]
                    .iter()
                    .map(move |&ink| ((255 - u16::from(ink)) * white / 255) as u8)
            })
            .collect(),
    };
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::{ColorType, SamplingFactor};

    /// SOI, an Exif APP1, a COM, then SOF0 for a 300x200 three-component 4:2:0 frame.
    fn header_bytes() -> Vec<u8> {
        let mut bytes = vec![0xFF, SOI];
        let exif = b"Exif\0\0MM\0*";
        bytes.extend_from_slice(&[0xFF, APP1, 0, (exif.len() + 2) as u8]);
        bytes.extend_from_slice(exif);
        bytes.extend_from_slice(&[0xFF, 0xFE, 0, 4, b'h', b'i']);
        bytes.extend_from_slice(&[0xFF, 0xFF, 0xC0, 0, 17, 8, 0, 200, 1, 44, 3]);
        bytes.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        bytes
    }

    #[test]
    fn header_gives_size_sampling_and_exif() {
        let bytes = header_bytes();
        let header = read_header(&bytes).expect("header");

        assert_eq!((header.width, header.height), (300, 200));
        assert!(header.decodable && !header.progressive);
        assert_eq!(header.sampling, vec![(2, 2), (1, 1), (1, 1)]);
        assert_eq!(header.exif, Some(&b"MM\0*"[..]));
    }

    #[test]
    fn header_cut_short_is_refused() {
        let bytes = header_bytes();
        for len in 0..bytes.len() {
            assert!(read_header(&bytes[..len]).is_none(), "accepted {len} bytes");
        }
    }

    #[test]
    fn entropy_data_runs_past_stuffing_and_restarts() {
        let bytes = [1, 0xFF, 0x00, 2, 0xFF, 0xD3, 3, 0xFF, 0xFF, 0xC4];
        assert_eq!(entropy_data_end(&bytes, 0), Some(7));
        assert_eq!(entropy_data_end(&bytes[..6], 0), None);
    }

    /// Decodes at 1/8 scale, as the pipeline does for large photos.
    fn eighth_scale_pixels(jpeg: &[u8]) -> Vec<u8> {
        let mut decoder = Decoder::new(jpeg);
        decoder.scale(1, 1).expect("scale");
        decoder.decode().expect("decode")
    }

    #[test]
    fn dc_scans_alone_give_the_same_eighth_scale_pixels() {
        let (width, height) = (640, 480);
        let mut seed = 0x9E37_79B9_u32;
        let pixels: Vec<u8> = (0..width * height * 3)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                ((i / 3 % width) as u32 / 3 + seed % 64) as u8
            })
            .collect();
        for (sampling, restarts) in [
            (SamplingFactor::R_4_4_4, None),
            (SamplingFactor::R_4_2_0, Some(3)),
        ] {
            let mut file = Vec::new();
            let mut encoder = jpeg_encoder::Encoder::new(&mut file, 90);
            encoder.set_progressive(true);
            encoder.set_sampling_factor(sampling);
            if let Some(interval) = restarts {
                encoder.set_restart_interval(interval);
            }
            encoder
                .encode(&pixels, width as u16, height as u16, ColorType::Rgb)
                .expect("encode");

            let dc_only = dc_scans_only(&file).expect("a well-formed progressive file");

            assert!(
                dc_only.len() * 4 < file.len(),
                "{} of {} bytes kept",
                dc_only.len(),
                file.len()
            );
            assert_eq!(
                eighth_scale_pixels(&dc_only),
                eighth_scale_pixels(&file),
                "{sampling:?}"
            );
        }
    }

    #[test]
    fn dc_scans_only_wants_the_whole_file() {
        let pixels = vec![128; 64 * 64 * 3];
        let mut file = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut file, 90);
        encoder.set_progressive(true);
        encoder
            .encode(&pixels, 64, 64, ColorType::Rgb)
            .expect("encode");

        assert!(dc_scans_only(&file).is_some());
        assert!(dc_scans_only(&file[..file.len() - 2]).is_none());
    }

    #[test]
    fn shrink_keeps_the_shorter_side_at_least_the_output_size() {
        let bytes = header_bytes();
        let mut header = read_header(&bytes).expect("header");
        for (w, h, shrink) in [
            (4000, 3000, 8),
            (3000, 2040, 4),
            (1024, 4000, 4),
            (511, 600, 2),
            (600, 510, 1),
        ] {
            (header.width, header.height) = (w, h);
            assert_eq!(shrink_for(&header), shrink, "{w}x{h}");
        }
    }
}
