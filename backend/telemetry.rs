//! Logging setup.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Logs go to stderr, so `beacon schema` and `beacon export` keep a clean stdout.
pub fn init(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|error| anyhow::anyhow!("invalid --log filter {filter:?}: {error}"))?;
    use std::io::IsTerminal;
    // Colour codes only where a person reads them: a file or a log
    // collector gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    }
    .map_err(|error| anyhow::anyhow!("{error}"))
}
