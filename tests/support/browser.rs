//! A real browser for the tests of what Beacon serves to browsers: Debian's
//! `chromium`, headless, driven over WebDriver by its `chromedriver`.
//!
//! `.ci/run` installs both. Elsewhere a test without them says what to
//! install and passes, so `cargo test` needs nothing beyond Rust and
//! PostgreSQL; under `CI` a missing browser fails the run instead.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub struct Browser {
    pub client: Client,
    driver: Child,
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

/// Killing chromedriver alone leaves its Chromium running (one per test,
/// hundreds over a day of test runs), so the whole group goes.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            let group = nix::unistd::Pid::from_raw(pid as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        }
    }
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
        // chromedriver takes no port 0.
        let port = super::free_port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            // Its own process group, so the Chromium it starts goes with it.
            .process_group(0)
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
            driver,
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

/// What a person does on a page, each step waiting for the page to be ready
/// for it.
impl Browser {
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Waits for `selector` to be on the page.
    pub async fn wait_for(&self, selector: &str) {
        self.eventually(
            "return document.querySelector(arguments[0]) !== null;",
            vec![json!(selector)],
        )
        .await;
    }

    /// Types `text` into the field, replacing what was there, and tells the
    /// page's scripts as typing would.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.wait_for(selector).await;
        self.eval(
            "const field = document.querySelector(arguments[0]);
             field.focus(); field.value = arguments[1];
             field.dispatchEvent(new Event('input', { bubbles: true }));
             field.dispatchEvent(new Event('change', { bubbles: true }));
             return true;",
            vec![json!(selector), json!(text)],
        )
        .await;
    }

    /// Chooses the file at `path` in a file input, as a person picking it
    /// in the file dialog would (a script cannot set one).
    pub async fn choose_file(&self, selector: &str, path: &std::path::Path) {
        self.wait_for(selector).await;
        self.client
            .find(fantoccini::Locator::Css(selector))
            .await
            .unwrap()
            .send_keys(path.to_str().unwrap())
            .await
            .unwrap();
    }

    pub async fn click(&self, selector: &str) {
        self.wait_for(selector).await;
        self.eval(
            "document.querySelector(arguments[0]).click(); return true;",
            vec![json!(selector)],
        )
        .await;
    }

    /// Waits for a page at `path` (after a navigation) holding `selector`.
    pub async fn wait_for_page(&self, path: &str, selector: &str) {
        self.eventually(
            "return location.pathname === arguments[0] && document.querySelector(arguments[1]) !== null;",
            vec![json!(path), json!(selector)],
        )
        .await;
    }

    /// The text of the first element matching `selector` (waiting for it).
    pub async fn text(&self, selector: &str) -> String {
        self.eventually(
            "const element = document.querySelector(arguments[0]); return element ? element.textContent : null;",
            vec![json!(selector)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Waits for the first element matching `selector` to show `expected`
    /// somewhere in its text.
    pub async fn wait_for_text(&self, selector: &str, expected: &str) {
        let what = format!("{selector} to show {expected:?}");
        super::wait::until_true(&what, Duration::from_secs(20), || async {
            self.eval(
                "const element = document.querySelector(arguments[0]);
                 return element !== null && element.textContent.includes(arguments[1]);",
                vec![json!(selector), json!(expected)],
            )
            .await
                == Value::Bool(true)
        })
        .await;
    }

    /// Whether anything matches `selector` now.
    pub async fn has(&self, selector: &str) -> bool {
        self.eval(
            "return document.querySelector(arguments[0]) !== null;",
            vec![json!(selector)],
        )
        .await
            == json!(true)
    }

    /// Saves what the window shows as `name`.png in the folder named by
    /// `BEACON_SCREENSHOTS`, when it is set: how the editors' guide gets
    /// its pictures (`BEACON_SCREENSHOTS=docs/images cargo test admin_browser`).
    pub async fn screenshot_for_docs(&self, name: &str) {
        let Some(folder) = std::env::var_os("BEACON_SCREENSHOTS") else {
            return;
        };
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(PathBuf::from(folder).join(format!("{name}.png")), png).unwrap();
    }

    /// What axe-core finds wrong with the page's accessibility at the
    /// serious and critical levels, one line per rule and element.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        const AXE: &str = include_str!("../fixtures/axe-core/axe.min.js");
        // Each execute wraps its script in a function; axe defines itself on
        // `window` only when it sees no module system, as in a page.
        self.eval(AXE, vec![]).await;
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(results => done(results.violations
                        .filter(v => v.impact === 'serious' || v.impact === 'critical')
                        .flatMap(v => v.nodes.map(node =>
                            `${v.id} (${v.impact}): ${node.target.join(' ')}: ${node.failureSummary}`))))
                    .catch(error => done([`axe failed: ${error}`]));",
                vec![],
            )
            .await
            .unwrap();
        serde_json::from_value(found).unwrap()
    }

    pub async fn path(&self) -> String {
        self.eval("return location.pathname;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}
