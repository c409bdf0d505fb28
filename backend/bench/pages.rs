//! The editor app's pages on the benchmark's content, timed as one editor
//! meets them: one request after another over loopback, each page's whole
//! HTML read. The goal is every page under 100 ms on 100,000 resources.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};

use beacon::db::Database;
use beacon::domain::access::Role;

const EMAIL: &str = "bench-editor@example.org";
const PASSWORD: &str = "benchmark editor password";
const WARMUP: usize = 3;
const ROUNDS: usize = 30;

/// One page's times over [`ROUNDS`] requests.
pub struct PageTiming {
    pub name: &'static str,
    /// The path, with `{resource}` or `{module}` where the ids go.
    pub path: &'static str,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub bytes: usize,
}

/// Items the pages are about: a resource and a module (with its
/// resources), by global id.
pub struct Subjects {
    pub resource: String,
    pub module: String,
}

pub async fn run(
    address: SocketAddr,
    database: &Database,
    subjects: &Subjects,
) -> anyhow::Result<Vec<PageTiming>> {
    let mut conn = database.connection().await?;
    beacon::identity::create_user(&mut conn, EMAIL, "Bench editor", Role::Admin, PASSWORD)
        .await
        .context("creating the editor the pages are timed for")?;
    drop(conn);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let origin = format!("http://{address}");
    let signed = client
        .post(format!("{origin}/admin/sign-in"))
        .header(ORIGIN, &origin)
        .form(&[("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await?;
    let Some(cookie) = signed
        .headers()
        .get(SET_COOKIE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::to_string)
    else {
        bail!("signing in to the editor app failed: {}", signed.status());
    };

    let pages: [(&'static str, &'static str); 16] = [
        ("home", "/admin"),
        ("resources, recent first", "/admin/lists/resources"),
        (
            "resources, A–Z",
            "/admin/lists/resources?order=alphabetical",
        ),
        ("resources, search", "/admin/lists/resources?q=community"),
        (
            "resources, published",
            "/admin/lists/resources?status=PUBLISHED",
        ),
        ("topics", "/admin/lists/topics"),
        ("a resource", "/admin/items/{resource}"),
        ("a resource's form", "/admin/items/{resource}/edit"),
        ("a resource's history", "/admin/items/{resource}/history"),
        ("a module with its resources", "/admin/items/{module}"),
        ("a module's form", "/admin/items/{module}/edit"),
        ("new resource form", "/admin/new/resources"),
        ("topic picker", "/admin/pick/topics?q=co"),
        ("people", "/admin/people"),
        ("audit log", "/admin/audit-log"),
        ("seed runs", "/admin/seed-runs"),
    ];
    let mut timings = Vec::new();
    for (name, path) in pages {
        let url = format!(
            "{origin}{}",
            path.replace("{resource}", &subjects.resource)
                .replace("{module}", &subjects.module)
        );
        let mut times = Vec::with_capacity(ROUNDS);
        let mut bytes = 0;
        for round in 0..WARMUP + ROUNDS {
            let started = Instant::now();
            let response = client.get(&url).header(COOKIE, &cookie).send().await?;
            let status = response.status();
            let body = response.bytes().await?;
            let elapsed = started.elapsed();
            if !status.is_success() {
                bail!("{path} answered {status}");
            }
            bytes = body.len();
            if round >= WARMUP {
                times.push(elapsed);
            }
        }
        times.sort();
        let at = |share: f64| times[((times.len() - 1) as f64 * share).round() as usize];
        timings.push(PageTiming {
            name,
            path,
            p50: at(0.50),
            p99: at(0.99),
            max: *times.last().unwrap(),
            bytes,
        });
    }
    Ok(timings)
}
