//! A real browser for the tests of what Beacon serves to browsers: Debian's
//! `chromium`, headless, driven over WebDriver by its `chromedriver`.
//!
//! `.ci/run` installs both. Elsewhere a test without them says what to
//! install and passes, so `cargo test` needs nothing beyond Rust and
//! PostgreSQL; under `CI` a missing browser fails the run instead.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .flat_map(|folder| names.iter().map(move |name| folder.join(name)))
        .find(|candidate| candidate.is_file())
}

impl Browser {
    /// A fresh headless Chromium with an empty profile, or `None` (after
    /// saying why) where it is not installed and this is not CI.
    pub async fn start() -> Option<Browser> {
        let (Some(chromium), Some(driver)) = (
            find(&["chromium", "chromium-browser"]),
            find(&["chromedriver"]),
        ) else {
            let advice = "the browser tests need Chromium and its WebDriver: \
                          apt-get install chromium chromium-driver";
            if std::env::var_os("CI").is_some() {
                panic!("{advice}");
            }
            eprintln!("skipped: {advice}");
            return None;
        };
        // chromedriver takes no port 0; a port free a moment ago will do.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // Tests run as root, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let client = super::wait::until(
            "chromedriver to start a session",
            Duration::from_secs(30),
            || async {
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(capabilities.clone())
                    .connect(&url)
                    .await
                    .ok()
            },
        )
        .await;
        Some(Browser {
            client,
            _driver: driver,
            _profile: profile,
        })
    }

    /// Runs `script` in the page (its `arguments` are `args`) and returns
    /// its value.
    pub async fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("{script}: {error}"))
    }

    /// Waits up to 20 s for `script` to return something other than
    /// `null`/`false`, and returns it.
    pub async fn eventually(&self, script: &str, args: Vec<Value>) -> Value {
        super::wait::until(script, Duration::from_secs(20), || async {
            match self.eval(script, args.clone()).await {
                Value::Null | Value::Bool(false) => None,
                value => Some(value),
            }
        })
        .await
    }
}
