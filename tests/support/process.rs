//! `beacon serve` as a child process on a test's database, for tests that
//! need several servers or the real binary.

use super::SendAndRead;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key `support::test_identity` signs tokens with, for child servers.
pub const SERVER_SECRET: &str = "test key, test key, test key, test key";

/// A `beacon serve` process on the test's database.
pub struct Process {
    pub child: tokio::process::Child,
    pub port: u16,
    /// Where its `--metrics-bind` listener is.
    pub metrics_port: u16,
}

impl Process {
    pub async fn start(database_url: &str, extra: &[&str]) -> Process {
        Process::start_with(database_url, extra, std::process::Stdio::null()).await
    }

    pub async fn start_with(
        database_url: &str,
        extra: &[&str],
        stderr: std::process::Stdio,
    ) -> Process {
        Process::start_in(database_url, extra, stderr, &[]).await
    }

    /// With these environment variables besides the usual ones.
    pub async fn start_in(
        database_url: &str,
        extra: &[&str],
        stderr: std::process::Stdio,
        environment: &[(&str, &str)],
    ) -> Process {
        let (port, metrics_port) = (super::free_port(), super::free_port());
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
            .current_dir(crate::support::repo_path(""))
            .env("DATABASE_URL", database_url)
            .env("BEACON_SECRET", SERVER_SECRET)
            .env("BEACON_LOG", "warn")
            .env("BEACON_WEBHOOK_ALLOW_PRIVATE", "1")
            .envs(environment.iter().copied())
            .args(["serve", "--no-seed", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--metrics-bind", &format!("127.0.0.1:{metrics_port}")])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let process = Process {
            child,
            port,
            metrics_port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(process.url("/readyz")).await
                && response.status() == 200
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("beacon serve did not come up");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    pub async fn graphql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.post(Some(token), query, variables).await
    }

    /// `query` without credentials.
    pub async fn anonymous(&self, query: &str) -> Value {
        self.post(None, query, json!({})).await
    }

    /// `query` with `variables`, without credentials.
    pub async fn anonymous_with(&self, query: &str, variables: Value) -> Value {
        self.post(None, query, variables).await
    }

    async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let request = reqwest::Client::new().post(self.url("/graphql"));
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        request
            .json(&json!({ "query": query, "variables": variables }))
            .answer()
            .await
    }
}

impl Process {
    /// The value of one line of its metrics (`name` with its labels, as
    /// the exposition writes it), 0 when it is not there yet.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", self.metrics_port))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|number| number.trim().parse().ok())
            .unwrap_or(0.0)
    }
}
