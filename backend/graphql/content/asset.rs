//! What partners ask of an asset's image: its focal point, and how a
//! rendition fits and is encoded. (`Asset` itself is in `types`, with the
//! other content types.)

use async_graphql::{Enum, SimpleObject};

use crate::domain::media;

/// The point of an image a crop keeps in view.
#[derive(SimpleObject)]
pub struct FocalPoint {
    /// From the left edge: 0 to 1.
    pub x: f64,
    /// From the top edge: 0 to 1.
    pub y: f64,
}

/// How a rendition fills the box asked for.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ImageFit {
    /// Exactly the box, cropped around the focal point.
    Cover,
    /// Within the box: the whole image, its proportions kept.
    Contain,
}

/// A rendition's encoding.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// WebP, lossy (quality 80; transparency kept): the default, read by
    /// every current browser.
    Webp,
    /// AVIF (quality 70): the smallest, slowest to make the first time.
    Avif,
    /// JPEG (quality 82), for the oldest clients and e-mail.
    Jpeg,
    /// PNG, lossless: for drawings and screenshots, large for photos.
    Png,
}

impl From<ImageFit> for media::Fit {
    fn from(fit: ImageFit) -> Self {
        match fit {
            ImageFit::Cover => media::Fit::Cover,
            ImageFit::Contain => media::Fit::Contain,
        }
    }
}

impl From<ImageFormat> for media::ImageFormat {
    fn from(format: ImageFormat) -> Self {
        match format {
            ImageFormat::Webp => media::ImageFormat::Webp,
            ImageFormat::Avif => media::ImageFormat::Avif,
            ImageFormat::Jpeg => media::ImageFormat::Jpeg,
            ImageFormat::Png => media::ImageFormat::Png,
        }
    }
}
