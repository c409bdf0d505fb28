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

fn encode(image: &DynamicImage, format: ImageFormat) -> anyhow::Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => image.to_rgb8().write_with_encoder(
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82),
        )?,
        ImageFormat::Png => image
            .to_rgba8()
            .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))?,
        ImageFormat::Webp => image
            .to_rgba8()
            .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))?,
        // Speed 8 of 10: a rendition is made once and kept, but made while
        // a reader waits.
        ImageFormat::Avif => image.to_rgba8().write_with_encoder(
            image::codecs::avif::AvifEncoder::new_with_speed_quality(&mut out, 8, 70),
        )?,
    }
    Ok(out.into_inner())
}
