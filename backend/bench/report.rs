//! The benchmark's findings, as Markdown, written into BENCHMARKS.md between
//! markers so the hand-written history around them stays.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::load::LoadResult;
use super::{BenchOptions, Ceiling, QUERIES};

const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";

/// What the search index cost at start.
#[derive(Debug, Clone, Copy)]
pub struct IndexFigures {
    /// Its build: reading the published stage and indexing it.
    pub build: Duration,
    /// From `beacon serve` until it answered.
    pub ready: Duration,
    /// Its approximate size in memory.
    pub bytes: u64,
}

pub struct Report {
    pub command_line: String,
    pub sizes: beacon::seed::synthetic::Sizes,
    pub connections: usize,
    pub duration: Duration,
    pub postgres_version: String,
    /// Time and the seed job's own report.
    pub load: Option<(Duration, String)>,
    pub startup: Option<Duration>,
    /// The search index at the first server's start.
    pub index: Option<IndexFigures>,
    pub statements: Vec<(&'static str, u64)>,
    pub results: Vec<(&'static str, LoadResult)>,
    pub ceiling: Vec<(&'static str, Ceiling)>,
    /// Why the ceiling was not measured.
    pub ceiling_missing: Option<String>,
    pub pages: Vec<super::pages::PageTiming>,
    /// Peak and final resident memory of the server, KiB.
    pub memory: Option<(u64, u64)>,
    /// The same queries with the published-answer cache on.
    pub kept: Vec<(&'static str, LoadResult)>,
    /// The Zipf mix: its distinct requests and what it measured.
    pub mix: Option<(usize, LoadResult)>,
    /// Memory of the server with the cache on, KiB.
    pub memory_cached: Option<(u64, u64)>,
}

impl Report {
    pub fn new(options: &BenchOptions) -> Report {
        Report {
            command_line: options.command_line.clone(),
            sizes: options.sizes,
            connections: options.connections,
            duration: options.duration,
            postgres_version: String::new(),
            load: None,
            startup: None,
            index: None,
            statements: Vec::new(),
            results: Vec::new(),
            ceiling: Vec::new(),
            ceiling_missing: None,
            pages: Vec::new(),
            memory: None,
            kept: Vec::new(),
            mix: None,
            memory_cached: None,
        }
    }

    /// Replaces the marked section of `path` (appending one if there is
    /// none, creating the file if need be).
    pub fn write_into(&self, path: &Path) -> anyhow::Result<()> {
        replace_section(path, START, END, &self.markdown())
    }

    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "## Latest run\n");
        let _ = writeln!(out, "`{}`\n", self.command_line);
        let _ = writeln!(out, "| | |\n|---|---|");
        for (name, value) in machine() {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        let _ = writeln!(out, "| PostgreSQL | {} |", self.postgres_version);
        let _ = writeln!(out, "| Beacon | {} |", env!("CARGO_PKG_VERSION"));
        let sizes = &self.sizes;
        let _ = writeln!(
            out,
            "| content | {} resources, {} topics, {} types, {} tags, {} modules × {} resources |",
            sizes.resources,
            sizes.topics,
            sizes.types,
            sizes.tags,
            sizes.modules,
            sizes.resources_per_module
        );
        let _ = writeln!(
            out,
            "| load | {} connections, {:?} per query after a warm-up, client on the same machine |",
            self.connections, self.duration
        );
        if let Some((elapsed, _)) = &self.load {
            let per_second = sizes.resources as f64 / elapsed.as_secs_f64();
            let _ = writeln!(
                out,
                "| seed load | {:.1} s ({per_second:.0} resources/s, the whole file in one job) |",
                elapsed.as_secs_f64()
            );
        }
        if let Some(startup) = self.startup {
            let _ = writeln!(
                out,
                "| cold start | {} ms from `beacon serve` to `/readyz` 200 (cluster start included) |",
                startup.as_millis()
            );
        }
        if let Some(index) = &self.index {
            let _ = writeln!(
                out,
                "| search index | built in {:.2} s (read from PostgreSQL and indexed), in place {:.2} s after start; {} MB |",
                index.build.as_secs_f64(),
                index.ready.as_secs_f64(),
                index.bytes >> 20
            );
        }
        if let Some((peak, last)) = self.memory {
            let _ = writeln!(
                out,
                "| server memory | {} MB peak RSS, {} MB at the end (cache off) |",
                peak / 1024,
                last / 1024
            );
        }
        if let Some((peak, last)) = self.memory_cached {
            let _ = writeln!(
                out,
                "| server memory, cache on | {} MB peak RSS, {} MB at the end |",
                peak / 1024,
                last / 1024
            );
        }
        let _ = writeln!(
            out,
            "\nEvery request executed (`--response-cache off`):\n\n| query | what | requests/s | p50 | p99 | max | failures | SQL statements | share of the PostgreSQL ceiling |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
        for (name, result) in &self.results {
            let description = QUERIES
                .iter()
                .find(|query| query.name == *name)
                .map_or("", |query| query.description);
            let statements = self
                .statements
                .iter()
                .find(|(query, _)| query == name)
                .map_or("?".into(), |(_, count)| count.to_string());
            let share = self
                .ceiling
                .iter()
                .find(|(query, _)| query == name)
                .map_or("".into(), |(_, ceiling)| {
                    format!("{:.0} %", 100.0 * result.per_second() / ceiling.per_second)
                });
            let _ = writeln!(
                out,
                "| {name} | {description} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {} | {statements} | {share} |",
                result.per_second(),
                millis(result.p50),
                millis(result.p99),
                millis(result.max),
                result.failures,
            );
        }
        if !self.kept.is_empty() {
            let _ = writeln!(
                out,
                "\nAs `beacon serve` runs by default, the published-answer cache on (the same request again and again: answered from memory):\n\n| query | requests/s | p50 | p99 | max | failures |\n|---|---:|---:|---:|---:|---:|"
            );
            for (name, result) in &self.kept {
                let _ = writeln!(out, "| {name} | {} |", figures(result));
            }
        }
        if let Some((distinct, result)) = &self.mix {
            let _ = writeln!(
                out,
                "\nA realistic mix, cache on, from a cold cache: {distinct} distinct requests (resource pages, module pages, the index per topic, two-word searches), each drawn with probability ∝ 1/rank (Zipf, exponent {}):\n\n| requests/s | p50 | p99 | max | failures |\n|---:|---:|---:|---:|---:|\n| {} |",
                super::MIX_EXPONENT,
                figures(result)
            );
        }
        if let Some(missing) = &self.ceiling_missing {
            let _ = writeln!(out, "\nPostgreSQL's ceiling: {missing}.");
        } else {
            let _ = writeln!(
                out,
                "\nPostgreSQL's ceiling (`pgbench -M prepared`, same connections and duration, the same rows as plain SQL):\n"
            );
            let _ = writeln!(
                out,
                "| query | transactions/s | average latency |\n|---|---:|---:|"
            );
            for (name, ceiling) in &self.ceiling {
                let _ = writeln!(
                    out,
                    "| {name} | {:.0} | {:.2} ms |",
                    ceiling.per_second, ceiling.latency_ms
                );
            }
        }
        if !self.pages.is_empty() {
            let _ = writeln!(
                out,
                "\nThe editor app's pages, signed in as an admin, one request at a time (30 after a warm-up; goal: under 100 ms):\n"
            );
            let _ = writeln!(
                out,
                "| page | path | p50 | p99 | max | HTML |\n|---|---|---:|---:|---:|---:|"
            );
            for page in &self.pages {
                let _ = writeln!(
                    out,
                    "| {} | `{}` | {:.1} ms | {:.1} ms | {:.1} ms | {} KB |",
                    page.name,
                    page.path,
                    millis(page.p50),
                    millis(page.p99),
                    millis(page.max),
                    page.bytes / 1024
                );
            }
        }
        if let Some((_, seed_report)) = &self.load {
            let _ = writeln!(out, "\nSeed job report:\n\n```text\n{}```", seed_report);
        }
        out
    }
}

/// Replaces the section of `path` between `start` and `end` with
/// `markdown` (appending one if there is none, creating the file if need
/// be), so the hand-written history around it stays.
pub fn replace_section(path: &Path, start: &str, end: &str, markdown: &str) -> anyhow::Result<()> {
    let existing = std::fs::read_to_string(path).unwrap_or_default();
    let section = format!("{start}\n{markdown}{end}");
    let updated = match (existing.find(start), existing.find(end)) {
        (Some(from), Some(to)) if from < to => format!(
            "{}{section}{}",
            &existing[..from],
            &existing[to + end.len()..]
        ),
        _ if existing.is_empty() => format!("# Benchmarks\n\n{section}\n"),
        _ => format!("{}\n\n{section}\n", existing.trim_end()),
    };
    std::fs::write(path, updated)?;
    Ok(())
}

/// Throughput, latencies and failures, as table cells.
fn figures(result: &LoadResult) -> String {
    format!(
        "{:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {}",
        result.per_second(),
        millis(result.p50),
        millis(result.p99),
        millis(result.max),
        result.failures
    )
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// CPU, cores and memory of this machine.
fn machine() -> Vec<(&'static str, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or("unknown".into(), |kib| format!("{} GiB", kib / 1024 / 1024));
    vec![
        ("CPU", model),
        ("cores", cores.to_string()),
        ("memory", memory),
    ]
}
