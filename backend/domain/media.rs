//! Renditions of stored images and the URLs that name them: plain rules,
//! no I/O. A rendition URL is signed by the server, so nobody can make it
//! render sizes it never handed out; and the sizes it hands out come from a
//! fixed ladder, so even those who may ask for URLs (anyone, through
//! GraphQL) can make only a bounded number of renditions of one image.

use std::fmt;

/// Widths and heights a rendition may have; a request is rounded up to
/// the next step (and capped at the last). 22 steps, two fits, four
/// formats: at most a few thousand renditions of any one image.
pub const SIZE_LADDER: [u32; 22] = [
    16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 480, 640, 768, 960, 1080, 1280, 1600, 1920,
    2560, 3200, 3840,
];

/// How a rendition fills the box it is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fit {
    /// Exactly the box, cropped around the focal point.
    Cover,
    /// Within the box, the whole image, its proportions kept.
    Contain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Webp,
    Avif,
    Jpeg,
    Png,
}

impl ImageFormat {
    pub const ALL: [ImageFormat; 4] = [
        ImageFormat::Webp,
        ImageFormat::Avif,
        ImageFormat::Jpeg,
        ImageFormat::Png,
    ];

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Webp => "webp",
            ImageFormat::Avif => "avif",
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            ImageFormat::Webp => "image/webp",
            ImageFormat::Avif => "image/avif",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
        }
    }
}

/// One rendition of an image: its box (a missing side follows the
/// image's proportions), how it fills it, and its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rendition {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub format: ImageFormat,
}

/// Why a rendition cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenditionError {
    #[error("give a width, a height or both")]
    NoSize,
    #[error("width and height must be at least 1")]
    TooSmall,
}

/// The ladder step `requested` rounds up to.
fn on_ladder(requested: u32) -> u32 {
    SIZE_LADDER
        .iter()
        .copied()
        .find(|step| *step >= requested)
        .unwrap_or(SIZE_LADDER[SIZE_LADDER.len() - 1])
}

impl Rendition {
    /// The rendition a client's arguments name, its sizes put on the
    /// ladder.
    pub fn new(
        width: Option<i64>,
        height: Option<i64>,
        fit: Fit,
        format: ImageFormat,
    ) -> Result<Rendition, RenditionError> {
        if width.is_none() && height.is_none() {
            return Err(RenditionError::NoSize);
        }
        let side = |value: Option<i64>| -> Result<Option<u32>, RenditionError> {
            match value {
                None => Ok(None),
                Some(value) if value < 1 => Err(RenditionError::TooSmall),
                Some(value) => Ok(Some(on_ladder(u32::try_from(value).unwrap_or(u32::MAX)))),
            }
        };
        Ok(Rendition {
            width: side(width)?,
            height: side(height)?,
            fit,
            format,
        })
    }

    /// The last segment of its URL, e.g. `w640-h360-cover.webp`.
    pub fn segment(&self) -> String {
        let mut segment = String::new();
        if let Some(width) = self.width {
            segment.push_str(&format!("w{width}-"));
        }
        if let Some(height) = self.height {
            segment.push_str(&format!("h{height}-"));
        }
        segment.push_str(match self.fit {
            Fit::Cover => "cover",
            Fit::Contain => "contain",
        });
        segment.push('.');
        segment.push_str(self.format.extension());
        segment
    }

    /// The rendition a URL segment names, when it is one [`segment`] makes
    /// (sizes off the ladder are not).
    ///
    /// [`segment`]: Rendition::segment
    pub fn parse(segment: &str) -> Option<Rendition> {
        let (stem, extension) = segment.rsplit_once('.')?;
        let format = ImageFormat::ALL
            .into_iter()
            .find(|format| format.extension() == extension)?;
        let mut width = None;
        let mut height = None;
        let mut fit = None;
        for part in stem.split('-') {
            if let Some(value) = part.strip_prefix('w') {
                width = Some(value.parse::<u32>().ok()?);
            } else if let Some(value) = part.strip_prefix('h') {
                height = Some(value.parse::<u32>().ok()?);
            } else {
                fit = Some(match part {
                    "cover" => Fit::Cover,
                    "contain" => Fit::Contain,
                    _ => return None,
                });
            }
        }
        let rendition = Rendition {
            width,
            height,
            fit: fit?,
            format,
        };
        let on_ladder = |side: Option<u32>| side.is_none_or(|side| SIZE_LADDER.contains(&side));
        (rendition.segment() == segment
            && (width.is_some() || height.is_some())
            && on_ladder(width)
            && on_ladder(height))
        .then_some(rendition)
    }

    /// The size of the image it makes from an original of `original`
    /// pixels: never larger than the original (a box larger than the image
    /// shrinks, keeping its proportions), never 0.
    pub fn output_size(&self, original: (u32, u32)) -> (u32, u32) {
        let (ow, oh) = (original.0.max(1) as f64, original.1.max(1) as f64);
        let (bw, bh) = match (self.width, self.height) {
            (Some(w), Some(h)) => (w as f64, h as f64),
            (Some(w), None) => (w as f64, w as f64 * oh / ow),
            (None, Some(h)) => (h as f64 * ow / oh, h as f64),
            (None, None) => (ow, oh),
        };
        let (w, h) = match self.fit {
            Fit::Cover => (bw, bh),
            Fit::Contain => {
                let scale = (bw / ow).min(bh / oh);
                (ow * scale, oh * scale)
            }
        };
        // No upscaling: a box larger than the original shrinks to fit it.
        let shrink = (ow / w).min(oh / h).min(1.0);
        let side = |value: f64| (value * shrink).round().max(1.0) as u32;
        (side(w), side(h))
    }
}

/// What a signature covers: the asset, its exact bytes, the rendition (or
/// `original`), and for a preview the moment it stops being honoured.
pub fn signed_message(
    asset: uuid::Uuid,
    sha256: &str,
    segment: &str,
    expires: Option<i64>,
) -> String {
    match expires {
        None => format!("media v1 {asset}/{sha256}/{segment}"),
        Some(at) => format!("media v1 {asset}/{sha256}/{segment} until {at}"),
    }
}

/// The crop of a `width`×`height` image that has the proportions of a
/// `target` box and keeps the focal point (thousandths from the top
/// left) as near its centre as the image allows: (x, y, width, height).
pub fn focal_crop(
    image: (u32, u32),
    target: (u32, u32),
    focal: Option<(u16, u16)>,
) -> (u32, u32, u32, u32) {
    let (iw, ih) = (image.0 as f64, image.1 as f64);
    let target_ratio = target.0.max(1) as f64 / target.1.max(1) as f64;
    let (cw, ch) = if iw / ih > target_ratio {
        (ih * target_ratio, ih)
    } else {
        (iw, iw / target_ratio)
    };
    let (fx, fy) = focal.map_or((0.5, 0.5), |(x, y)| {
        (f64::from(x) / 1000.0, f64::from(y) / 1000.0)
    });
    let x = (fx * iw - cw / 2.0).clamp(0.0, iw - cw);
    let y = (fy * ih - ch / 2.0).clamp(0.0, ih - ch);
    let (cw, ch) = (cw.round().max(1.0), ch.round().max(1.0));
    (
        (x.round() as u32).min(image.0 - cw as u32),
        (y.round() as u32).min(image.1 - ch as u32),
        cw as u32,
        ch as u32,
    )
}

impl fmt::Display for Rendition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segment())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_the_ladder_and_segments_round_trip() {
        let rendition =
            Rendition::new(Some(600), Some(337), Fit::Cover, ImageFormat::Webp).unwrap();
        assert_eq!(rendition.width, Some(640));
        assert_eq!(rendition.height, Some(384));
        assert_eq!(rendition.segment(), "w640-h384-cover.webp");
        assert_eq!(Rendition::parse("w640-h384-cover.webp"), Some(rendition));
        let huge = Rendition::new(Some(100_000), None, Fit::Contain, ImageFormat::Png).unwrap();
        assert_eq!(huge.segment(), "w3840-contain.png");
        assert_eq!(Rendition::parse(&huge.segment()), Some(huge));
        assert_eq!(
            Rendition::new(None, None, Fit::Cover, ImageFormat::Png),
            Err(RenditionError::NoSize)
        );
        assert_eq!(
            Rendition::new(Some(0), None, Fit::Cover, ImageFormat::Png),
            Err(RenditionError::TooSmall)
        );
    }

    #[test]
    fn only_segments_on_the_ladder_parse() {
        for bad in [
            "w641-cover.webp",
            "cover.webp",
            "w640-cover.gif",
            "w640-h360-fill.webp",
            "h360-w640-cover.webp",
            "w640-cover-cover.webp",
            "w0640-cover.webp",
            "../w640-cover.webp",
        ] {
            assert_eq!(Rendition::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn renditions_never_upscale() {
        let cover = Rendition::new(Some(640), Some(384), Fit::Cover, ImageFormat::Jpeg).unwrap();
        assert_eq!(cover.output_size((4000, 3000)), (640, 384));
        // A small original: the box shrinks, its proportions kept.
        assert_eq!(cover.output_size((320, 240)), (320, 192));
        let contain =
            Rendition::new(Some(640), Some(640), Fit::Contain, ImageFormat::Jpeg).unwrap();
        assert_eq!(contain.output_size((4000, 2000)), (640, 320));
        let width_only = Rendition::new(Some(256), None, Fit::Contain, ImageFormat::Png).unwrap();
        assert_eq!(width_only.output_size((1000, 500)), (256, 128));
    }

    #[test]
    fn crops_keep_the_focal_point_in_view() {
        // A wide image cropped square around a point near its right edge.
        assert_eq!(
            focal_crop((400, 100), (1, 1), Some((900, 500))),
            (300, 0, 100, 100)
        );
        assert_eq!(focal_crop((400, 100), (1, 1), None), (150, 0, 100, 100));
        assert_eq!(
            focal_crop((400, 100), (1, 1), Some((0, 0))),
            (0, 0, 100, 100)
        );
        // A tall image cropped wide.
        assert_eq!(
            focal_crop((100, 400), (2, 1), Some((500, 100))),
            (0, 15, 100, 50)
        );
    }

    #[test]
    fn signatures_cover_the_bytes_the_rendition_and_the_expiry() {
        let id = uuid::Uuid::nil();
        let a = signed_message(id, "ab", "w16-cover.png", None);
        assert_ne!(a, signed_message(id, "ac", "w16-cover.png", None));
        assert_ne!(a, signed_message(id, "ab", "w32-cover.png", None));
        assert_ne!(a, signed_message(id, "ab", "w16-cover.png", Some(1)));
    }
}
