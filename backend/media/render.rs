//! Making a rendition of a stored image: decode, crop around the focal
//! point or fit, resize, encode. CPU-bound: callers run it on the blocking
//! pool, a few at a time.

use std::io::Cursor;

use image::DynamicImage;
use image::imageops::FilterType;

use super::intake::{IntakeLimits, decode};
use crate::domain::media::{Fit, ImageFormat, Rendition, focal_crop};

/// The rendition's bytes, from the stored original's.
pub fn render(
    original: &[u8],
    mime_type: &str,
    rendition: &Rendition,
    focal: Option<(u16, u16)>,
) -> anyhow::Result<Vec<u8>> {
    // Stored images passed intake's limits already; these only bound what
    // a damaged store could make the server allocate.
    let image = decode(original, mime_type, &IntakeLimits::default())?;
    let (width, height) = rendition.output_size((image.width(), image.height()));
    let resized = match rendition.fit {
        Fit::Cover => {
            let (x, y, w, h) = focal_crop((image.width(), image.height()), (width, height), focal);
            image
                .crop_imm(x, y, w, h)
                .resize_exact(width, height, FilterType::Lanczos3)
        }
        Fit::Contain => image.resize_exact(width, height, FilterType::Lanczos3),
    };
    encode(&resized, rendition.format)
}

/// libwebp's quality (0–100) for renditions: about what JPEG's 82 gives,
/// at two thirds of its size.
const WEBP_QUALITY: f32 = 80.0;

fn encode(image: &DynamicImage, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => image.to_rgb8().write_with_encoder(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82),
        )?,
        ImageFormat::Png => image
            .to_rgba8()
            .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))?,
        // Lossy, as photos on the web are; an alpha channel only where the
        // image has one.
        ImageFormat::Webp => {
            let encoded = if image.color().has_alpha() {
                let pixels = image.to_rgba8();
                webp::Encoder::from_rgba(&pixels, pixels.width(), pixels.height())
                    .encode(WEBP_QUALITY)
            } else {
                let pixels = image.to_rgb8();
                webp::Encoder::from_rgb(&pixels, pixels.width(), pixels.height())
                    .encode(WEBP_QUALITY)
            };
            return Ok(encoded.to_vec());
        }
        // The fastest speed: a rendition is made once and kept, but made
        // while a reader waits (speed 8 took ten seconds for a 2560-pixel
        // photo).
        ImageFormat::Avif => image.to_rgba8().write_with_encoder(
            image::codecs::avif::AvifEncoder::new_with_speed_quality(&mut out, 10, 70),
        )?,
    }
    Ok(out.into_inner())
}
