//! `beacon-bench --media`: a phone-sized photo taken in through the seed
//! path, then its renditions made (every format, several sizes) and kept
//! files served under load by a cold `beacon serve`, into a section of
//! BENCHMARKS.md of its own.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::load::{self, LoadResult};
use super::{BenchOptions, Server, free_port, fresh_database, tempfile_dir, wait_until_ready};
use beacon::config::GlobalOptions;
use beacon::media::{IntakeLimits, Media, MediaStore};
use beacon::seed::{self, SeedOptions};

const START: &str = "<!-- bench-media:start -->";
const END: &str = "<!-- bench-media:end -->";

/// The photo: 6 megapixels, as a phone takes them.
const PHOTO: (u32, u32) = (3000, 2000);

/// Widths asked of each format (steps of the size ladder): a thumbnail, a
/// card, a column, a full-width hero on a laptop and on a large screen.
const WIDTHS: [u32; 5] = [160, 480, 960, 1600, 2560];
const FORMATS: [&str; 4] = ["WEBP", "AVIF", "JPEG", "PNG"];

/// Renditions of one format, made on first request.
pub struct Made {
    pub format: &'static str,
    /// Each rendition's first request, made one after another.
    pub each: Vec<Duration>,
    pub bytes: u64,
}

pub struct MediaReport {
    pub command_line: String,
    pub connections: usize,
    pub duration: Duration,
    /// The photo's stored size and the seed job's time (decoded, checked,
    /// encoded again, stored).
    pub stored_bytes: u64,
    pub intake: Duration,
    pub made: Vec<Made>,
    /// Renditions of every format and width made by two clients at once
    /// (the server makes two at a time): how many, in how long.
    pub concurrent: (usize, Duration),
    pub served: Vec<(&'static str, u64, LoadResult)>,
}

pub async fn run(global: &GlobalOptions, options: &BenchOptions) -> anyhow::Result<MediaReport> {
    let (database, _) = fresh_database(global).await?;
    let dir = tempfile_dir()?;
    let photo = photo(PHOTO.0, PHOTO.1);
    std::fs::write(dir.join("photo.jpg"), &photo)?;
    std::fs::write(
        dir.join("media.toml"),
        "[[assets]]\nslug = \"bench-photo\"\ntitle = \"A photo\"\nfile = \"photo.jpg\"\n\
         alt = \"a field of colours\"\n",
    )?;
    eprintln!(
        "bench: taking in a {}×{} photo ({} KB)…",
        PHOTO.0,
        PHOTO.1,
        photo.len() >> 10
    );
    let store = MediaStore::local(&global.data_dir.join("media"))?;
    let started = Instant::now();
    seed::run(
        &database,
        &SeedOptions {
            paths: vec![dir.join("media.toml")],
            dry_run: false,
            wait: true,
            progress: false,
            create_missing: false,
            media: Media::unsigned(store, IntakeLimits::default()),
        },
    )
    .await
    .context("taking the photo in")?;
    let intake = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    database.pool.close();
    drop(database);

    let address: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
    let mut server = Server::start(global, address, &[])?;
    wait_until_ready(address, Duration::from_secs(60)).await?;
    let client = reqwest::Client::new();
    let base = format!("http://{address}");
    let asset = urls(&client, &base, "COVER").await?;
    let original = asset["url"]
        .as_str()
        .context("the photo's URL")?
        .to_string();
    let stored_bytes = asset["size"].as_u64().unwrap_or(0);

    // One after another: what one rendition costs.
    let mut made = Vec::new();
    for format in FORMATS {
        let mut figures = Made {
            format,
            each: Vec::new(),
            bytes: 0,
        };
        for width in WIDTHS {
            let url = asset[alias(format, width)].as_str().context("a URL")?;
            let started = Instant::now();
            let bytes = fetch(&client, &base, url).await?;
            figures.each.push(started.elapsed());
            figures.bytes += bytes;
        }
        eprintln!("bench: {format} renditions made");
        made.push(figures);
    }
    // Two clients at once, on renditions not kept yet (the same sizes,
    // fitted rather than cropped: other URLs): the server's own pace.
    let fresh = urls(&client, &base, "CONTAIN").await?;
    let mut pending: Vec<String> = FORMATS
        .iter()
        .flat_map(|format| WIDTHS.map(|width| alias(format, width)))
        .filter_map(|name| fresh[name.as_str()].as_str().map(str::to_string))
        .collect();
    let count = pending.len();
    let half = pending.split_off(count / 2);
    let started = Instant::now();
    let (first, second) = tokio::join!(
        fetch_all(&client, &base, &pending),
        fetch_all(&client, &base, &half)
    );
    first?;
    second?;
    let concurrent = (count, started.elapsed());

    // Kept files under load.
    let kept = asset[alias("WEBP", 960)].as_str().context("a URL")?;
    let response = client.get(format!("{base}{kept}")).send().await?;
    let etag = response
        .headers()
        .get("etag")
        .and_then(|value| value.to_str().ok())
        .context("a rendition's ETag")?
        .to_string();
    let kept_bytes = response.bytes().await?.len() as u64;
    let mut served = Vec::new();
    for (name, path, headers, status, bytes) in [
        (
            "a kept rendition (WebP, 960 wide)",
            kept,
            vec![],
            200,
            kept_bytes,
        ),
        (
            "the same, revalidated (`If-None-Match`, 304)",
            kept,
            vec![("if-none-match", etag.as_str())],
            304,
            0,
        ),
        (
            "the original photo",
            original.as_str(),
            vec![],
            200,
            stored_bytes,
        ),
    ] {
        eprintln!("bench: serving {name} for {:?}…", options.duration);
        let result = load::run(
            address,
            &load::Workload::get(path, &headers, status),
            options.connections,
            options.warmup,
            options.duration,
        )
        .await?;
        if result.failures > 0 {
            bail!("{name}: {} answers were not {status}", result.failures);
        }
        served.push((name, bytes, result));
    }
    server.stop();
    Ok(MediaReport {
        command_line: options.command_line.clone(),
        connections: options.connections,
        duration: options.duration,
        stored_bytes,
        intake,
        made,
        concurrent,
        served,
    })
}

fn alias(format: &str, width: u32) -> String {
    format!("{}{width}", format.to_lowercase())
}

/// The photo's URLs: its original, and a rendition of every format and
/// width, fitted as `fit` says.
async fn urls(client: &reqwest::Client, base: &str, fit: &str) -> anyhow::Result<Value> {
    let mut fields = String::from("url size");
    for format in FORMATS {
        for width in WIDTHS {
            let _ = write!(
                fields,
                " {}: image(width: {width}, fit: {fit}, format: {format})",
                alias(format, width)
            );
        }
    }
    let query = format!("{{ asset(slug: \"bench-photo\") {{ {fields} }} }}");
    let answer = client
        .post(format!("{base}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": query }).to_string())
        .send()
        .await?
        .bytes()
        .await?;
    let answer: Value = serde_json::from_slice(&answer)?;
    let asset = answer["data"]["asset"].clone();
    if asset.is_null() {
        bail!("the photo is not served: {answer}");
    }
    Ok(asset)
}

async fn fetch(client: &reqwest::Client, base: &str, url: &str) -> anyhow::Result<u64> {
    let response = client.get(format!("{base}{url}")).send().await?;
    if response.status() != 200 {
        bail!("{url}: {}", response.status());
    }
    Ok(response.bytes().await?.len() as u64)
}

async fn fetch_all(client: &reqwest::Client, base: &str, urls: &[String]) -> anyhow::Result<()> {
    for url in urls {
        fetch(client, base, url).await?;
    }
    Ok(())
}

/// A photo-like image: smooth light and shade with fine grain, which
/// compresses as photos do (a flat or random image would not).
fn photo(width: u32, height: u32) -> Vec<u8> {
    let grain = |x: u32, y: u32| {
        let mut hash = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77);
        hash ^= hash >> 15;
        hash = hash.wrapping_mul(0xC2B2_AE3D);
        (hash >> 27) as f32
    };
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
        let light = 0.5 + 0.5 * ((u * 7.0).sin() * (v * 5.0).cos());
        let channel = |base: f32, phase: f32| {
            (base * light * 200.0 + 30.0 * (u * 13.0 + phase).sin() + grain(x, y)).clamp(0.0, 255.0)
                as u8
        };
        image::Rgb([channel(0.9, 0.0), channel(0.7, 1.0), channel(0.5, 2.0)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 88,
        ))
        .expect("encoding to memory");
    out.into_inner()
}

impl MediaReport {
    pub fn write_into(&self, path: &std::path::Path) -> anyhow::Result<()> {
        super::report::replace_section(path, START, END, &self.markdown())
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Media: renditions and files\n");
        let _ = writeln!(out, "`{}`\n", self.command_line);
        let _ = writeln!(
            out,
            "A {}×{} photo (JPEG, {} KB as stored), taken in through the seed path (type told by its bytes, decoded within limits, encoded again without metadata, BlurHash, stored) in {} ms. Machine as in the latest run above; client on the same machine.\n",
            PHOTO.0,
            PHOTO.1,
            self.stored_bytes >> 10,
            self.intake.as_millis()
        );
        let _ = writeln!(
            out,
            "Renditions made on their first request (each decodes the original, crops around the focal point, resizes and encodes), one after another, widths {}:\n",
            WIDTHS.map(|width| width.to_string()).join(", ")
        );
        let _ = writeln!(
            out,
            "| format | renditions | each (median) | slowest | renditions/s | bytes, all sizes |\n|---|---:|---:|---:|---:|---:|"
        );
        for made in &self.made {
            let mut each = made.each.clone();
            each.sort();
            let total: Duration = each.iter().sum();
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} ms | {:.0} ms | {:.1} | {} KB |",
                made.format,
                each.len(),
                millis(each[each.len() / 2]),
                millis(*each.last().unwrap_or(&Duration::ZERO)),
                each.len() as f64 / total.as_secs_f64(),
                made.bytes >> 10
            );
        }
        let (count, elapsed) = self.concurrent;
        let _ = writeln!(
            out,
            "\nAll {count} renditions of a second crop, two clients at once (the server makes two at a time): {:.1} s, {:.1} renditions/s.\n",
            elapsed.as_secs_f64(),
            count as f64 / elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "Kept files served ({} connections, {:?} each after a warm-up; `Cache-Control: public, max-age=31536000, immutable`, so browsers and CDNs ask once):\n",
            self.connections, self.duration
        );
        let _ = writeln!(
            out,
            "| request | size | requests/s | MB/s | p50 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for (name, bytes, result) in &self.served {
            let _ = writeln!(
                out,
                "| {name} | {} KB | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {:.1} ms |",
                bytes >> 10,
                result.per_second(),
                result.per_second() * *bytes as f64 / 1e6,
                millis(result.p50),
                millis(result.p99),
                millis(result.max)
            );
        }
        out
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
