//! A closed-loop load generator: N keep-alive HTTP/1.1 connections, each
//! sending the next request as soon as the last answer is read (as `wrk`
//! does), every answer checked.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;

/// What one query's run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub requests: u64,
    /// Answers that were not 200 or held an error.
    pub failures: u64,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl LoadResult {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// The requests a run sends: GraphQL requests (one body, or many drawn at
/// random), or GETs of one file.
#[derive(Clone)]
pub struct Workload {
    bodies: Vec<Bytes>,
    /// Cumulative weights of `bodies`, ending at 1.
    cumulative: Vec<f64>,
    get: Option<Get>,
}

/// A GET and the status its answers must have.
#[derive(Clone)]
struct Get {
    path: String,
    headers: Vec<(&'static str, String)>,
    status: u16,
}

impl Workload {
    pub fn single(body: &str) -> Self {
        Workload {
            bodies: vec![Bytes::from(body.to_string())],
            cumulative: vec![1.0],
            get: None,
        }
    }

    /// GET `path` with `headers`, every answer `status` (200, or 304 for
    /// revalidations).
    pub fn get(path: &str, headers: &[(&'static str, &str)], status: u16) -> Self {
        Workload {
            bodies: vec![Bytes::new()],
            cumulative: vec![1.0],
            get: Some(Get {
                path: path.to_string(),
                headers: headers
                    .iter()
                    .map(|(name, value)| (*name, value.to_string()))
                    .collect(),
                status,
            }),
        }
    }

    /// `bodies` in order of popularity, the one of rank k asked with
    /// probability proportional to 1/k^exponent (Zipf's law, which web
    /// traffic follows with an exponent near 1).
    pub fn zipf(bodies: Vec<String>, exponent: f64) -> Self {
        let weights: Vec<f64> = (1..=bodies.len())
            .map(|rank| 1.0 / (rank as f64).powf(exponent))
            .collect();
        let total: f64 = weights.iter().sum();
        let mut running = 0.0;
        let cumulative = weights
            .iter()
            .map(|weight| {
                running += weight / total;
                running
            })
            .collect();
        Workload {
            bodies: bodies.into_iter().map(Bytes::from).collect(),
            cumulative,
            get: None,
        }
    }

    pub fn distinct(&self) -> usize {
        self.bodies.len()
    }

    fn pick(&self, rng: &mut impl rand::Rng) -> Bytes {
        if self.bodies.len() == 1 {
            return self.bodies[0].clone();
        }
        let draw: f64 = rng.r#gen();
        let index = self
            .cumulative
            .partition_point(|&bound| bound < draw)
            .min(self.bodies.len() - 1);
        self.bodies[index].clone()
    }
}

/// Sends the workload's requests to `address` (POST /graphql, or its GET) from
/// `connections` connections for `duration` (after `warmup`, not counted).
pub async fn run(
    address: SocketAddr,
    workload: &Workload,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    let started = Instant::now();
    let measure_from = started + warmup;
    let deadline = measure_from + duration;
    let workers: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(worker(address, workload.clone(), measure_from, deadline)))
        .collect();
    let mut histogram = Histogram::<u64>::new(3).expect("a valid precision");
    let (mut requests, mut failures) = (0, 0);
    for worker in workers {
        let outcome = worker.await.context("a load worker panicked")??;
        histogram.add(&outcome.histogram).expect("same precision");
        requests += outcome.requests;
        failures += outcome.failures;
    }
    let micros = |quantile: f64| Duration::from_micros(histogram.value_at_quantile(quantile));
    Ok(LoadResult {
        requests,
        failures,
        elapsed: duration,
        p50: micros(0.5),
        p99: micros(0.99),
        max: Duration::from_micros(histogram.max()),
    })
}

struct WorkerOutcome {
    histogram: Histogram<u64>,
    requests: u64,
    failures: u64,
}

async fn worker(
    address: SocketAddr,
    workload: Workload,
    measure_from: Instant,
    deadline: Instant,
) -> anyhow::Result<WorkerOutcome> {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::from_entropy();
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut outcome = WorkerOutcome {
        histogram: Histogram::new(3).expect("a valid precision"),
        requests: 0,
        failures: 0,
    };
    loop {
        let sent = Instant::now();
        if sent >= deadline {
            return Ok(outcome);
        }
        let request = match &workload.get {
            Some(get) => {
                let mut request = Request::get(get.path.as_str()).header(HOST, "127.0.0.1");
                for (name, value) in &get.headers {
                    request = request.header(*name, value.as_str());
                }
                request.body(Full::new(Bytes::new()))?
            }
            None => Request::post("/graphql")
                .header(HOST, "127.0.0.1")
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(workload.pick(&mut rng)))?,
        };
        // The connection takes the next request only once it has finished
        // with the last answer, which can lag the body being read: wait for
        // it ("connection was not ready" otherwise, now and then).
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let expected = workload.get.as_ref().map_or(200, |get| get.status);
        let ok = response.status() == expected;
        let answer = response.into_body().collect().await?.to_bytes();
        // An error inside a 200 is a failure, not a fast answer.
        let ok = ok && (workload.get.is_some() || !contains(&answer, b"\"errors\""));
        if sent >= measure_from {
            let micros = sent.elapsed().as_micros() as u64;
            outcome.histogram.record(micros.max(1)).ok();
            outcome.requests += 1;
            if !ok {
                outcome.failures += 1;
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
