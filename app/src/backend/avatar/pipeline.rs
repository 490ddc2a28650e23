//! The avatar image pipeline: uploaded bytes in, a 256x256 JPEG out.
//!
//! Steps, in order: recognise the format from the bytes; read the width and height from the
//! header and refuse anything over the limits before a pixel is decoded; decode (JPEG at
//! reduced scale, see the `jpeg` submodule; PNG, WebP and GIF through the `image` crate with
//! its limits set); flatten transparency onto white; crop the centred square and resize it with a
//! Lanczos filter; turn it upright from the EXIF orientation; encode a baseline JPEG.
//!
//! Nothing from the upload reaches the output but pixels: no EXIF, ICC, XMP or comments. Apart
//! from what the image data itself needs (tables, frame and scan headers), the only segment
//! written is the JFIF header.
//!
//! This is plain synchronous CPU work (tens of milliseconds for a 12-megapixel photo, with
//! memory bounded by [`Limits`]). The caller runs it off the async runtime, one per core,
//! with a timeout, and catches a panic from a codec; this module does not panic itself.
//! One caveat for that budget: `jpeg-decoder` hands each colour component's inverse DCT to a
//! short-lived helper thread, so a JPEG decode can briefly use more than its one core (at the
//! reduced scales used for large photos that work is small).

mod jpeg;

use fast_image_resize::{
    FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    images::{Image, ImageRef},
};
use image::{
    DynamicImage, ImageDecoder, ImageError, RgbImage,
    codecs::{gif::GifDecoder, png::PngDecoder, webp::WebPDecoder},
    metadata::Orientation,
};
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder, SamplingFactor};
use std::io::Cursor;

/// Width and height of every avatar we store, in pixels.
pub const OUTPUT_SIZE: u32 = 256;

/// JPEG quality of the stored avatar: no visible artefacts at this size; a photo comes to
/// about 10-20 KB.
const OUTPUT_QUALITY: u8 = 85;

/// What an upload may ask of the server before decoding starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most memory, in bytes, that decoding one image may need.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_width: 8192,
            max_height: 8192,
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

/// Why an upload cannot become an avatar. Each is the uploader's problem (a 4xx), and the
/// messages are fit to show them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// Not JPEG, PNG, WebP or GIF (judged from the bytes, never a name or type).
    /// Also a JPEG of a kind browsers do not show either (lossless, 12-bit, arithmetic-coded).
    #[error("This file is not a JPEG, PNG, WebP or GIF image.")]
    Unsupported,
    /// Recognised but unreadable (truncated, corrupt).
    #[error("This image is damaged or incomplete.")]
    Corrupt,
    /// Wider or taller than the limits.
    #[error("This image is {width}x{height} pixels, which is larger than we accept.")]
    TooLarge { width: u32, height: u32 },
    /// Decoding would need more memory than `max_alloc`.
    #[error("This image is too large to process.")]
    TooMuchMemory,
}

/// Which format the bytes are, if accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    WebP,
    Gif,
}

/// Recognises an accepted format from the first bytes of a file (its magic numbers).
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some(Format::WebP)
    } else {
        None
    }
}

/// Turns uploaded bytes into a 256x256 baseline JPEG (quality about 85), upright
/// (EXIF orientation applied, all 8 values), transparency flattened onto white,
/// centre-cropped to a square, resized with a good filter, with no metadata at all.
pub fn make_avatar(bytes: &[u8], limits: &Limits) -> Result<Vec<u8>, PipelineError> {
    let format = sniff(bytes).ok_or(PipelineError::Unsupported)?;

    let image = if format == Format::Jpeg {
        let header = jpeg::read_header(bytes).ok_or(PipelineError::Corrupt)?;
        check_size(u32::from(header.width), u32::from(header.height), limits)?;
        jpeg::decode(bytes, &header, limits.max_alloc)?
    } else {
        let (width, height) = header_size(format, bytes).ok_or(PipelineError::Corrupt)?;
        check_size(width, height, limits)?;
        decode_with_image(format, bytes, limits)?
    };

    let square = crop_and_resize(&image)?;
    let upright = turn_upright(square, image.orientation)?;
    encode(&upright)
}

/// Decoded pixels: 8-bit RGB, rows top to bottom as stored in the file, and how to turn
/// them to be upright.
struct Rgb {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
    orientation: Orientation,
}

fn check_size(width: u32, height: u32, limits: &Limits) -> Result<(), PipelineError> {
    if width == 0 || height == 0 {
        Err(PipelineError::Corrupt)
    } else if width > limits.max_width || height > limits.max_height {
        Err(PipelineError::TooLarge { width, height })
    } else {
        Ok(())
    }
}

/// Width and height as the header of a PNG, GIF or WebP file states them, read without
/// involving a decoder (so a huge size is refused even if the rest of the file is missing).
fn header_size(format: Format, bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let le16 = |at: usize| {
        Some(u32::from(u16::from_le_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let le24 = |at: usize| {
        let b = bytes.get(at..at + 3)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    };

    match format {
        // The first chunk must be IHDR: width and height, four bytes each.
        Format::Png => (bytes.get(12..16)? == b"IHDR").then_some((be32(16)?, be32(20)?)),
        // The logical screen; the first frame is drawn on a canvas this size.
        Format::Gif => Some((le16(6)?, le16(8)?)),
        Format::WebP => match bytes.get(12..16)? {
            // Lossy: a key frame starts with a start code, then 14-bit sizes.
            b"VP8 " => (bytes.get(23..26)? == [0x9D, 0x01, 0x2A])
                .then_some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF)),
            // Lossless: a signature byte, then 14-bit sizes minus one, packed.
            b"VP8L" => {
                let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
                (*bytes.get(20)? == 0x2F)
                    .then_some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
            }
            // Extended (alpha, animation, metadata): the canvas size, 24-bit minus one.
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1)),
            _ => None,
        },
        Format::Jpeg => None,
    }
}

/// Decodes PNG, GIF (its first frame) and WebP with the `image` crate, within the limits.
fn decode_with_image(format: Format, bytes: &[u8], limits: &Limits) -> Result<Rgb, PipelineError> {
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_width);
    image_limits.max_image_height = Some(limits.max_height);
    image_limits.max_alloc = Some(limits.max_alloc);

    // PNG and WebP have no shrink-on-load: they are decoded at full size. A 12-megapixel
    // lossy WebP takes about twice as long as libvips (which uses libwebp's scaled decode);
    // acceptable for uploads capped at a few MiB, and not worth a C dependency for now.
    let reader = Cursor::new(bytes);
    match format {
        Format::Png => {
            let decoder = PngDecoder::with_limits(reader, image_limits.clone());
            decode_within(decoder.map_err(image_error)?, image_limits)
        }
        Format::Gif => decode_within(GifDecoder::new(reader).map_err(image_error)?, image_limits),
        Format::WebP => decode_within(WebPDecoder::new(reader).map_err(image_error)?, image_limits),
        Format::Jpeg => Err(PipelineError::Unsupported),
    }
}

fn decode_within(
    mut decoder: impl ImageDecoder,
    limits: image::Limits,
) -> Result<Rgb, PipelineError> {
    let (width, height) = decoder.dimensions();
    let color = decoder.color_type();

    // The decoder's own buffer, plus an 8-bit RGBA copy unless it already decodes to 8-bit
    // RGB or RGBA (which we convert in place).
    let copy = match color {
        image::ColorType::Rgb8 | image::ColorType::Rgba8 => 0,
        _ => u64::from(width) * u64::from(height) * 4,
    };
    if decoder.total_bytes().saturating_add(copy) > limits.max_alloc.unwrap_or(u64::MAX) {
        return Err(PipelineError::TooMuchMemory);
    }
    decoder.set_limits(limits).map_err(image_error)?;

    // Unreadable metadata is no reason to refuse the picture; it is then shown as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    let (width, height) = (image.width(), image.height());
    let pixels = match image {
        DynamicImage::ImageRgb8(rgb) => rgb.into_raw(),
        DynamicImage::ImageRgba8(rgba) => flatten_onto_white(rgba.into_raw()),
        other if other.color().has_alpha() => flatten_onto_white(other.into_rgba8().into_raw()),
        other => other.into_rgb8().into_raw(),
    };

    Ok(Rgb {
        width,
        height,
        pixels,
        orientation,
    })
}

/// Sizes were checked before any decoder ran, so a limit the decoder reports is about memory.
fn image_error(error: ImageError) -> PipelineError {
    match error {
        ImageError::Limits(_) => PipelineError::TooMuchMemory,
        ImageError::Unsupported(_) => PipelineError::Unsupported,
        _ => PipelineError::Corrupt,
    }
}

/// Composites 8-bit RGBA onto a white background, in place, returning 8-bit RGB.
fn flatten_onto_white(mut rgba: Vec<u8>) -> Vec<u8> {
    let pixels = rgba.len() / 4;
    // Pixel i is read from 4i.. and written to 3i..; the write never runs ahead of the reads.
    for i in 0..pixels {
        let alpha = u32::from(rgba[4 * i + 3]);
        for channel in 0..3 {
            let value = u32::from(rgba[4 * i + channel]);
            let blended = (value * alpha + 255 * (255 - alpha) + 127) / 255;
            rgba[3 * i + channel] = blended as u8;
        }
    }
    rgba.truncate(pixels * 3);
    rgba
}

/// The centred square of the image (as large as its shorter side), resized to
/// [`OUTPUT_SIZE`] with a Lanczos3 filter. Cropping before turning upright is fine: every
/// EXIF orientation maps the centred square onto itself.
fn crop_and_resize(image: &Rgb) -> Result<Vec<u8>, PipelineError> {
    // Only a buffer shorter than width x height could fail here, and decoders never give one.
    let source = ImageRef::new(image.width, image.height, &image.pixels, PixelType::U8x3)
        .map_err(|_| PipelineError::Corrupt)?;
    let mut square = Image::new(OUTPUT_SIZE, OUTPUT_SIZE, PixelType::U8x3);

    let side = f64::from(image.width.min(image.height));
    let left = (f64::from(image.width) - side) / 2.0;
    let top = (f64::from(image.height) - side) / 2.0;
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(left, top, side, side);
    Resizer::new()
        .resize(&source, &mut square, &options)
        .map_err(|_| PipelineError::Corrupt)?;

    Ok(square.into_vec())
}

fn turn_upright(square: Vec<u8>, orientation: Orientation) -> Result<Vec<u8>, PipelineError> {
    if orientation == Orientation::NoTransforms {
        return Ok(square);
    }
    let image =
        RgbImage::from_raw(OUTPUT_SIZE, OUTPUT_SIZE, square).ok_or(PipelineError::Corrupt)?;
    let mut image = DynamicImage::ImageRgb8(image);
    image.apply_orientation(orientation);
    Ok(image.into_rgb8().into_raw())
}

/// Encodes the square as a baseline JPEG with 4:2:0 chroma and the standard Huffman tables.
///
/// Optimised tables would save about a kilobyte, but the encoder's optimised tables with
/// 4:2:0 are misread by at least one widely used decoder (zune-jpeg, inside the `image`
/// crate), which turns the picture green; the standard tables decode the same everywhere.
fn encode(pixels: &[u8]) -> Result<Vec<u8>, PipelineError> {
    let side = u16::try_from(OUTPUT_SIZE).map_err(|_| PipelineError::Corrupt)?;
    let mut jpeg = Vec::with_capacity(32 * 1024);
    let mut encoder = Encoder::new(&mut jpeg, OUTPUT_QUALITY);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder.set_optimized_huffman_tables(false);
    // Writing a right-sized buffer into a Vec cannot fail.
    encoder
        .encode(pixels, side, side, ColorType::Rgb)
        .map_err(|_| PipelineError::Corrupt)?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{
        ExtendedColorType, Frame, ImageEncoder, RgbaImage,
        codecs::{gif::GifEncoder, png::PngEncoder, webp::WebPEncoder},
    };
    use std::time::{Duration, Instant};

    const RED: [u8; 3] = [255, 0, 0];
    const GREEN: [u8; 3] = [0, 255, 0];
    const BLUE: [u8; 3] = [0, 0, 255];
    const YELLOW: [u8; 3] = [255, 255, 0];
    const WHITE: [u8; 3] = [255, 255, 255];

    /// RGB pixels in four quadrants: top-left, top-right, bottom-left, bottom-right.
    fn quadrants(width: u32, height: u32, colours: [[u8; 3]; 4]) -> Vec<u8> {
        let mut pixels = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let index = usize::from(y >= height / 2) * 2 + usize::from(x >= width / 2);
                pixels.extend_from_slice(&colours[index]);
            }
        }
        pixels
    }

    /// RGB pixels in three equal bands, left to right (or top to bottom when taller).
    fn bands(width: u32, height: u32, colours: [[u8; 3]; 3]) -> Vec<u8> {
        let mut pixels = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let band = if width >= height {
                    x * 3 / width
                } else {
                    y * 3 / height
                };
                pixels.extend_from_slice(&colours[band as usize]);
            }
        }
        pixels
    }

    /// A minimal big-endian Exif block (from the TIFF header on) with one Orientation entry.
    fn exif_with_orientation(orientation: u8) -> Vec<u8> {
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 0]);
        tiff
    }

    fn jpeg(pixels: &[u8], width: u32, height: u32, exif_orientation: Option<u8>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, 95);
        encoder.set_sampling_factor(SamplingFactor::R_4_4_4);
        if let Some(orientation) = exif_orientation {
            encoder
                .add_exif_metadata(&exif_with_orientation(orientation))
                .expect("exif");
        }
        let (w, h) = (width as u16, height as u16);
        encoder
            .encode(pixels, w, h, ColorType::Rgb)
            .expect("encode test JPEG");
        out
    }

    fn png(pixels: &[u8], width: u32, height: u32, color: ExtendedColorType) -> Vec<u8> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(pixels, width, height, color)
            .expect("encode PNG");
        out
    }

    /// Decodes an avatar, checking it is the promised size.
    fn pixels_of(avatar: &[u8]) -> Vec<u8> {
        let mut decoder = jpeg_decoder::Decoder::new(avatar);
        let pixels = decoder.decode().expect("avatar decodes");
        let info = decoder.info().expect("info");
        assert_eq!(
            (u32::from(info.width), u32::from(info.height)),
            (OUTPUT_SIZE, OUTPUT_SIZE)
        );
        assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
        pixels
    }

    /// The colours 32 pixels in from each corner: top-left, top-right, bottom-left,
    /// bottom-right.
    fn corners(avatar: &[u8]) -> [[u8; 3]; 4] {
        let pixels = pixels_of(avatar);
        let far = (OUTPUT_SIZE - 33) as usize;
        let at = |x: usize, y: usize| {
            let i = (y * OUTPUT_SIZE as usize + x) * 3;
            [pixels[i], pixels[i + 1], pixels[i + 2]]
        };
        [at(32, 32), at(far, 32), at(32, far), at(far, far)]
    }

    fn assert_colours(actual: [[u8; 3]; 4], expected: [[u8; 3]; 4], what: &str) {
        let close = actual
            .iter()
            .flatten()
            .zip(expected.iter().flatten())
            .all(|(&a, &e)| a.abs_diff(e) <= 40);
        assert!(close, "{what}: corners {actual:?}, expected {expected:?}");
    }

    fn avatar(bytes: &[u8]) -> Vec<u8> {
        make_avatar(bytes, &Limits::default()).expect("avatar")
    }

    #[test]
    fn every_exif_orientation_comes_out_upright() {
        let [a, b, c, d] = [RED, GREEN, BLUE, YELLOW];
        // How a camera stores an upright picture of [a b / c d] for each orientation value:
        // 2 mirrored, 3 turned half way, 4 flipped, 5 transposed, 6 turned a quarter
        // anticlockwise, 7 transposed the other way, 8 turned a quarter clockwise.
        let stored = [
            (1, [a, b, c, d]),
            (2, [b, a, d, c]),
            (3, [d, c, b, a]),
            (4, [c, d, a, b]),
            (5, [a, c, b, d]),
            (6, [b, d, a, c]),
            (7, [d, b, c, a]),
            (8, [c, a, d, b]),
        ];
        for (orientation, colours) in stored {
            // Wide upright, so turned a quarter it is stored tall.
            let (w, h) = if orientation >= 5 { (64, 96) } else { (96, 64) };
            let file = jpeg(&quadrants(w, h, colours), w, h, Some(orientation));

            let out = avatar(&file);

            assert_colours(
                corners(&out),
                [a, b, c, d],
                &format!("orientation {orientation}"),
            );
        }
    }

    #[test]
    fn wide_and_tall_pictures_keep_their_centre() {
        let wide = jpeg(&bands(300, 100, [RED, GREEN, BLUE]), 300, 100, None);
        let tall = png(
            &bands(90, 270, [RED, GREEN, BLUE]),
            90,
            270,
            ExtendedColorType::Rgb8,
        );

        assert_colours(corners(&avatar(&wide)), [GREEN; 4], "wide");
        assert_colours(corners(&avatar(&tall)), [GREEN; 4], "tall");
    }

    #[test]
    fn a_single_pixel_fills_the_square() {
        let from_png = png(&BLUE, 1, 1, ExtendedColorType::Rgb8);
        let from_jpeg = jpeg(&YELLOW, 1, 1, None);

        assert_colours(corners(&avatar(&from_png)), [BLUE; 4], "1x1 PNG");
        assert_colours(corners(&avatar(&from_jpeg)), [YELLOW; 4], "1x1 JPEG");
    }

    #[test]
    fn grey_and_cmyk_jpegs_keep_their_colours() {
        let mut grey = Vec::new();
        Encoder::new(&mut grey, 90)
            .encode(&[200; 64 * 48], 64, 48, ColorType::Luma)
            .expect("encode grey JPEG");
        // Full cyan ink and no black: (0, 255, 255) on screen.
        let mut cmyk = Vec::new();
        Encoder::new(&mut cmyk, 90)
            .encode(&[255, 0, 0, 0].repeat(64 * 48), 64, 48, ColorType::Cmyk)
            .expect("encode CMYK JPEG");

        assert_colours(corners(&avatar(&grey)), [[200; 3]; 4], "grey");
        assert_colours(corners(&avatar(&cmyk)), [[0, 255, 255]; 4], "CMYK");
    }

    #[test]
    fn transparency_is_flattened_onto_white() {
        // Left half fully transparent (black underneath), right half opaque red.
        let rgba = RgbaImage::from_fn(80, 80, |x, _| {
            if x < 40 {
                image::Rgba([0, 0, 0, 0])
            } else {
                image::Rgba([255, 0, 0, 255])
            }
        });
        let from_png = png(rgba.as_raw(), 80, 80, ExtendedColorType::Rgba8);
        let mut from_webp = Vec::new();
        WebPEncoder::new_lossless(&mut from_webp)
            .encode(rgba.as_raw(), 80, 80, ExtendedColorType::Rgba8)
            .expect("encode WebP");
        let grey_alpha: Vec<u8> = (0..80 * 80)
            .flat_map(|i| [0, if i % 80 < 40 { 0 } else { 255 }])
            .collect();
        let from_grey = png(&grey_alpha, 80, 80, ExtendedColorType::La8);

        let expected = [WHITE, RED, WHITE, RED];
        assert_colours(corners(&avatar(&from_png)), expected, "PNG");
        assert_colours(corners(&avatar(&from_webp)), expected, "WebP");
        let black = [0, 0, 0];
        assert_colours(
            corners(&avatar(&from_grey)),
            [WHITE, black, WHITE, black],
            "grey PNG",
        );
    }

    #[test]
    fn an_animated_gif_gives_its_first_frame() {
        let frame = |colour: [u8; 3]| {
            let [r, g, b] = colour;
            Frame::new(RgbaImage::from_pixel(40, 30, image::Rgba([r, g, b, 255])))
        };
        let mut gif = Vec::new();
        GifEncoder::new(&mut gif)
            .encode_frames([frame(RED), frame(BLUE), frame(GREEN)])
            .expect("encode GIF");

        assert_colours(corners(&avatar(&gif)), [RED; 4], "GIF");
    }

    /// Marker bytes of the segments before the first scan.
    fn header_markers(jpeg: &[u8]) -> Vec<u8> {
        let mut markers = Vec::new();
        let mut pos = 2;
        while jpeg[pos] == 0xFF && jpeg[pos + 1] != 0xDA {
            markers.push(jpeg[pos + 1]);
            pos += 2 + usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
        }
        markers
    }

    #[test]
    fn the_output_is_a_plain_baseline_jpeg() {
        let mut with_metadata = jpeg(
            &quadrants(300, 200, [RED, GREEN, BLUE, YELLOW]),
            300,
            200,
            Some(6),
        );
        // A comment after SOI, to check comments are not carried over either.
        with_metadata.splice(2..2, [0xFF, 0xFE, 0, 7, b's', b'e', b'c', b'r', b'e']);

        let out = avatar(&with_metadata);

        assert_eq!(sniff(&out), Some(Format::Jpeg));
        let markers = header_markers(&out);
        assert!(markers.contains(&0xC0), "no SOF0 in {markers:x?}");
        let extra = markers
            .iter()
            .find(|&&m| !matches!(m, 0xC0 | 0xC4 | 0xDB | 0xE0));
        assert_eq!(extra, None, "unexpected segment in {markers:x?}");
        assert!(!out.windows(4).any(|w| w == b"Exif"));
        pixels_of(&out);
    }

    #[test]
    fn a_large_progressive_photo_matches_its_baseline_version() {
        // Big enough to be decoded at 1/8 scale, where progressive files skip their AC scans.
        let (w, h) = (2400, 2100);
        let mut pixels = quadrants(w, h, [RED, GREEN, BLUE, YELLOW]);
        let mut seed = 0x2545_F491_u32;
        for value in pixels.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            *value = value.saturating_add((seed % 48) as u8).saturating_sub(24);
        }
        let baseline = jpeg(&pixels, w, h, None);
        let mut progressive = Vec::new();
        let mut encoder = Encoder::new(&mut progressive, 90);
        encoder.set_progressive(true);
        encoder
            .encode(&pixels, w as u16, h as u16, ColorType::Rgb)
            .expect("encode");

        let from_progressive = corners(&avatar(&progressive));

        assert!(
            header_markers(&progressive).contains(&0xC2),
            "test file not progressive"
        );
        assert_colours(from_progressive, corners(&avatar(&baseline)), "progressive");
        assert_colours(from_progressive, [RED, GREEN, BLUE, YELLOW], "progressive");
    }

    #[test]
    fn files_that_are_not_accepted_images_are_unsupported() {
        let mut tiff = b"II*\0\x08\0\0\0".to_vec();
        tiff.resize(200, 0);
        let inputs: [(&str, &[u8]); 7] = [
            ("empty", b""),
            (
                "SVG",
                br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
            ),
            (
                "HTML",
                b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
            ),
            ("TIFF named .jpg", &tiff),
            ("big-endian TIFF", b"MM\0*\0\0\0\x08\0\0"),
            ("WAV", b"RIFF\x24\0\0\0WAVEfmt "),
            ("two JPEG bytes", &[0xFF, 0xD8]),
        ];
        for (what, bytes) in inputs {
            assert_eq!(sniff(bytes), None, "{what}");
            assert_eq!(
                make_avatar(bytes, &Limits::default()),
                Err(PipelineError::Unsupported),
                "{what}"
            );
        }
    }

    #[test]
    fn truncated_files_are_corrupt() {
        let pixels = quadrants(200, 150, [RED, GREEN, BLUE, YELLOW]);
        let full_jpeg = jpeg(&pixels, 200, 150, Some(3));
        let full_png = png(&pixels, 200, 150, ExtendedColorType::Rgb8);

        for (what, full) in [("JPEG", &full_jpeg), ("PNG", &full_png)] {
            for len in [10, 20, 40, full.len() / 2, full.len() - 20] {
                let result = make_avatar(&full[..len], &Limits::default());
                assert_eq!(
                    result,
                    Err(PipelineError::Corrupt),
                    "{what} cut to {len} bytes"
                );
            }
        }
    }

    /// CRC-32 as PNG chunks use it (bit by bit; only for a few test bytes).
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A PNG whose valid header claims the given size, followed by a scrap of image data.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut chunk = |kind: &[u8], data: &[u8]| {
            file.extend_from_slice(&(data.len() as u32).to_be_bytes());
            let start = file.len();
            file.extend_from_slice(kind);
            file.extend_from_slice(data);
            let crc = crc32(&file[start..]);
            file.extend_from_slice(&crc.to_be_bytes());
        };
        let mut ihdr = [width.to_be_bytes(), height.to_be_bytes()].concat();
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        chunk(b"IHDR", &ihdr);
        chunk(
            b"IDAT",
            &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
        );
        chunk(b"IEND", &[]);
        file
    }

    #[test]
    fn a_decompression_bomb_is_refused_at_once() {
        let bomb = png_claiming(20_000, 20_000);
        let roomy = Limits {
            max_width: 30_000,
            max_height: 30_000,
            ..Limits::default()
        };

        let started = Instant::now();
        let too_large = make_avatar(&bomb, &Limits::default());
        let too_much_memory = make_avatar(&bomb, &roomy);
        let elapsed = started.elapsed();

        assert_eq!(
            too_large,
            Err(PipelineError::TooLarge {
                width: 20_000,
                height: 20_000
            })
        );
        assert_eq!(too_much_memory, Err(PipelineError::TooMuchMemory));
        assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
    }

    #[test]
    fn size_limits_apply_to_every_format() {
        let small = Limits {
            max_width: 100,
            max_height: 50,
            max_alloc: 1 << 30,
        };
        let pixels = quadrants(120, 40, [RED, GREEN, BLUE, YELLOW]);
        let mut webp = Vec::new();
        WebPEncoder::new_lossless(&mut webp)
            .encode(&pixels, 120, 40, ExtendedColorType::Rgb8)
            .expect("encode WebP");
        let mut gif = Vec::new();
        let frame = Frame::new(RgbaImage::from_pixel(
            120,
            40,
            image::Rgba([0, 0, 255, 255]),
        ));
        GifEncoder::new(&mut gif)
            .encode_frames([frame])
            .expect("encode GIF");
        // A JPEG header stating 60000x40000, and nothing after it.
        let jpeg_header = [
            0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0x9C, 0x40, 0xEA, 0x60, 1, 1, 0x11, 0,
        ];

        let too_large = Err(PipelineError::TooLarge {
            width: 120,
            height: 40,
        });
        assert_eq!(
            make_avatar(&jpeg(&pixels, 120, 40, None), &small),
            too_large,
            "JPEG"
        );
        assert_eq!(
            make_avatar(&png(&pixels, 120, 40, ExtendedColorType::Rgb8), &small),
            too_large
        );
        assert_eq!(make_avatar(&webp, &small), too_large, "WebP");
        assert_eq!(make_avatar(&gif, &small), too_large, "GIF");
        assert_eq!(
            make_avatar(&jpeg_header, &Limits::default()),
            Err(PipelineError::TooLarge {
                width: 60_000,
                height: 40_000
            })
        );
    }

    #[test]
    fn the_memory_limit_is_checked_before_decoding() {
        let tight = Limits {
            max_alloc: 20_000,
            ..Limits::default()
        };
        let pixels = quadrants(100, 100, [RED, GREEN, BLUE, YELLOW]);

        let from_jpeg = make_avatar(&jpeg(&pixels, 100, 100, None), &tight);
        let from_png = make_avatar(&png(&pixels, 100, 100, ExtendedColorType::Rgb8), &tight);

        assert_eq!(from_jpeg, Err(PipelineError::TooMuchMemory));
        assert_eq!(from_png, Err(PipelineError::TooMuchMemory));
    }
}
