//! Taking a file in: what it is is told by its bytes (never by its name or
//! the type its sender claims), images are decoded within pixel and memory
//! limits and encoded again, so nothing but pixels survives (EXIF, GPS,
//! comments, trailing payloads), and SVG is refused (it can carry script).

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::domain::content::AssetFile;

/// What an upload may be.
#[derive(Debug, Clone, Copy)]
pub struct IntakeLimits {
    pub max_bytes: u64,
    /// Widest and tallest image decoded; a larger one is refused before
    /// its pixels are allocated (a few hundred bytes of PNG can claim
    /// gigapixels).
    pub max_side: u32,
    /// Most pixels an image may have.
    pub max_pixels: u64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        IntakeLimits {
            max_bytes: 50 << 20,
            max_side: 12_000,
            max_pixels: 50_000_000,
        }
    }
}

/// Why a file was refused; the message is for the editor who sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    #[error("the file is {size} bytes; uploads are limited to {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("SVG images are refused: they can carry scripts. Upload a PNG, JPEG or WebP instead")]
    Svg,
    #[error(
        "the file's contents are not a type Beacon accepts (PNG, JPEG, GIF or WebP images; PDF; MP4 or WebM video){}",
        claimed.as_ref().map(|name| format!(", whatever its name ({name}) says")).unwrap_or_default()
    )]
    Unsupported { claimed: Option<String> },
    #[error(
        "the image is {width}×{height} pixels; at most {max_side} on a side and {max_pixels} in all are accepted"
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    #[error("the file starts like a {kind} but cannot be read as one")]
    Unreadable { kind: &'static str },
}

/// A file ready to store: its bytes (encoded again, for an image) and what
/// the asset's snapshot records of them.
pub struct Intake {
    pub bytes: Vec<u8>,
    pub file: AssetFile,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake")
            .field("file", &self.file)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Kinds of file accepted, by the MIME type their bytes show.
const STORED_AS_SENT: [&str; 3] = ["application/pdf", "video/mp4", "video/webm"];

pub fn take_in(
    bytes: &[u8],
    filename: Option<&str>,
    limits: &IntakeLimits,
) -> Result<Intake, IntakeError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(IntakeError::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    if looks_like_svg(bytes) {
        return Err(IntakeError::Svg);
    }
    let sniffed = infer::get(bytes).map(|kind| kind.mime_type());
    let filename = filename.map(clean_filename).filter(|name| !name.is_empty());
    let unsupported = || IntakeError::Unsupported {
        claimed: filename.clone(),
    };
    let (bytes, mime_type, dimensions, blurhash) = match sniffed {
        Some(mime @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp")) => {
            let image = decode(bytes, mime, limits)?;
            let (bytes, stored_mime) = encode_again(&image, mime);
            let blurhash = placeholder(&image);
            let dimensions = (image.width() as i32, image.height() as i32);
            (bytes, stored_mime, Some(dimensions), blurhash)
        }
        Some(mime) if STORED_AS_SENT.contains(&mime) => (bytes.to_vec(), mime, None, None),
        _ => return Err(unsupported()),
    };
    let sha256 = hex(&Sha256::digest(&bytes));
    Ok(Intake {
        file: AssetFile {
            sha256,
            mime_type: mime_type.to_string(),
            size: bytes.len() as i64,
            width: dimensions.map(|(width, _)| width),
            height: dimensions.map(|(_, height)| height),
            blurhash,
            filename,
        },
        bytes,
    })
}

/// A file Beacon stored before, named by the hash it was stored under (an
/// export's): checked like any other, and kept byte for byte when it is
/// exactly what an intake stores, so that loading an export does not
/// encode its JPEGs once more (each time a little worse).
pub fn take_in_again(
    bytes: &[u8],
    filename: Option<&str>,
    limits: &IntakeLimits,
    stored_sha256: &str,
) -> Result<Intake, IntakeError> {
    let mut intake = take_in(bytes, filename, limits)?;
    let sha256 = hex(&Sha256::digest(bytes));
    let same_kind =
        infer::get(bytes).map(|kind| kind.mime_type()) == Some(intake.file.mime_type.as_str());
    if sha256 == stored_sha256 && same_kind {
        intake.file.sha256 = sha256;
        intake.file.size = bytes.len() as i64;
        intake.bytes = bytes.to_vec();
    }
    Ok(intake)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// SVG is XML text: refused whatever it is called. (`infer` reports it
/// as plain text or nothing, which would be refused anyway; this names
/// the reason.)
fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('<')
        && text.contains("<svg")
}

/// Only the file's own name: no directories, no control characters, at
/// most 200 characters.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    base.chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

fn kind_name(mime: &str) -> &'static str {
    match mime {
        "image/png" => "PNG image",
        "image/jpeg" => "JPEG image",
        "image/gif" => "GIF image",
        _ => "WebP image",
    }
}

/// The image's pixels, its orientation applied (it is about to lose the
/// EXIF that records it), within `limits`.
pub fn decode(
    bytes: &[u8],
    mime: &str,
    limits: &IntakeLimits,
) -> Result<DynamicImage, IntakeError> {
    let unreadable = || IntakeError::Unreadable {
        kind: kind_name(mime),
    };
    let format = image::ImageFormat::from_mime_type(mime).ok_or_else(unreadable)?;
    // The header's claim first, to name it in the refusal: a claim past
    // the limits is refused before the decoder is asked for pixels.
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| unreadable())?;
    if width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(IntakeError::TooManyPixels {
            width,
            height,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder_limits = Limits::default();
    decoder_limits.max_image_width = Some(limits.max_side);
    decoder_limits.max_image_height = Some(limits.max_side);
    // Four bytes a pixel, and room for the decoder's own buffers.
    decoder_limits.max_alloc = Some(limits.max_pixels * 4 + (64 << 20));
    reader.limits(decoder_limits);
    let mut decoder = reader.into_decoder().map_err(|_| unreadable())?;
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(|_| unreadable())?;
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    Ok(image)
}

/// The pixels in a fresh file of the same kind (a GIF becomes a PNG of its
/// first frame), with nothing else in it.
fn encode_again(image: &DynamicImage, mime: &str) -> (Vec<u8>, &'static str) {
    let mut out = Cursor::new(Vec::new());
    let stored = match mime {
        "image/jpeg" => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
            image
                .to_rgb8()
                .write_with_encoder(encoder)
                .map(|()| "image/jpeg")
        }
        "image/webp" => image
            .to_rgba8()
            .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
            .map(|()| "image/webp"),
        _ => image
            .to_rgba8()
            .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
            .map(|()| "image/png"),
    };
    // Encoding pixels just decoded into memory cannot fail but for
    // running out of it.
    let stored = stored.expect("encoding decoded pixels to memory");
    (out.into_inner(), stored)
}

/// A BlurHash of the image, from a small copy of it.
fn placeholder(image: &DynamicImage) -> Option<String> {
    let small = image.thumbnail(32, 32).to_rgba8();
    blurhash::encode(4, 3, small.width(), small.height(), small.as_raw()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x * 7) as u8, (y * 5) as u8, 90, 255])
        });
        let mut out = Cursor::new(Vec::new());
        image
            .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn an_image_is_told_by_its_bytes_and_measured() {
        let intake = take_in(
            &png(40, 30),
            Some("../../etc/Photo.JPG"),
            &IntakeLimits::default(),
        )
        .unwrap();
        assert_eq!(intake.file.mime_type, "image/png");
        assert_eq!(
            (intake.file.width, intake.file.height),
            (Some(40), Some(30))
        );
        assert_eq!(intake.file.filename.as_deref(), Some("Photo.JPG"));
        assert_eq!(intake.file.size, intake.bytes.len() as i64);
        assert_eq!(intake.file.sha256.len(), 64);
        assert!(intake.file.blurhash.is_some());
    }

    #[test]
    fn the_same_picture_twice_is_the_same_file() {
        let a = take_in(&png(8, 8), Some("a.png"), &IntakeLimits::default()).unwrap();
        let b = take_in(&png(8, 8), Some("b.png"), &IntakeLimits::default()).unwrap();
        assert_eq!(a.file.sha256, b.file.sha256);
    }

    #[test]
    fn html_named_png_and_svg_are_refused() {
        let html = b"<!doctype html><script>alert(1)</script>";
        assert!(matches!(
            take_in(html, Some("cat.png"), &IntakeLimits::default()),
            Err(IntakeError::Unsupported { .. })
        ));
        let svg =
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>";
        assert_eq!(
            take_in(svg, Some("logo.svg"), &IntakeLimits::default()).err(),
            Some(IntakeError::Svg)
        );
        // A PNG signature followed by anything else.
        let mut fake = png(4, 4)[..16].to_vec();
        fake.extend_from_slice(b"<html>not really</html>");
        assert!(matches!(
            take_in(&fake, Some("x.png"), &IntakeLimits::default()),
            Err(IntakeError::Unreadable { .. })
        ));
    }

    #[test]
    fn size_is_checked_before_anything_is_decoded() {
        let limits = IntakeLimits {
            max_bytes: 10,
            ..IntakeLimits::default()
        };
        assert!(matches!(
            take_in(&png(4, 4), None, &limits),
            Err(IntakeError::TooLarge { .. })
        ));
    }

    /// A JPEG with fine colour detail: encoding it again changes it.
    fn detailed_jpeg() -> Vec<u8> {
        let image = image::RgbImage::from_fn(64, 48, |x, y| {
            let noise = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 3;
            image::Rgb([noise as u8, (noise >> 8) as u8, (x * 4 + y) as u8])
        });
        let mut out = Cursor::new(Vec::new());
        image
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out, 75,
            ))
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn bytes_beacon_stored_are_kept_when_named_by_their_hash() {
        let limits = IntakeLimits::default();
        let first = take_in(&detailed_jpeg(), None, &limits).unwrap();
        let again = take_in(&first.bytes, None, &limits).unwrap();
        assert_ne!(
            again.file.sha256, first.file.sha256,
            "a JPEG taken in twice is encoded twice"
        );
        let kept = take_in_again(&first.bytes, None, &limits, &first.file.sha256).unwrap();
        assert_eq!(kept.file.sha256, first.file.sha256);
        assert_eq!(kept.bytes, first.bytes);
        // Any other hash: the file is one like any other.
        let other = take_in_again(&first.bytes, None, &limits, &"0".repeat(64)).unwrap();
        assert_eq!(other.file.sha256, again.file.sha256);
        // A file that is not what intake stores is encoded again whatever
        // it claims: a GIF is stored as PNG.
        let mut gif = Cursor::new(Vec::new());
        image::RgbaImage::from_pixel(4, 4, image::Rgba([1, 2, 3, 255]))
            .write_to(&mut gif, image::ImageFormat::Gif)
            .unwrap();
        let gif = gif.into_inner();
        let claimed = hex(&Sha256::digest(&gif));
        let taken = take_in_again(&gif, None, &limits, &claimed).unwrap();
        assert_eq!(taken.file.mime_type, "image/png");
        assert_ne!(taken.file.sha256, claimed);
    }
}
