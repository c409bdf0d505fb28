//! `beacon persisted …`: the operations clients may run by hash, and the
//! only ones anonymous clients may run in allow-list mode.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::migrate_reporting;
use crate::config::PersistedCommand;
use crate::db::{Database, persisted as store};
use crate::http::persisted::sha256_hex;

pub async fn run(database: &Database, command: &PersistedCommand) -> anyhow::Result<ExitCode> {
    migrate_reporting(database).await?;
    let mut conn = database.connection().await?;
    match command {
        PersistedCommand::Add { paths } => {
            let files = graphql_files(paths)?;
            anyhow::ensure!(!files.is_empty(), "no .graphql files in the given paths");
            // Every file is checked before any is registered.
            let mut operations = Vec::new();
            for file in files {
                let document = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let parsed = async_graphql::parser::parse_query(&document)
                    .map_err(|error| anyhow::anyhow!("{}: {error}", file.display()))?;
                let names: Vec<String> = parsed
                    .operations
                    .iter()
                    .map(|(name, _)| name.map_or_else(|| "(anonymous)".into(), |n| n.to_string()))
                    .collect();
                let label = file
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                operations.push((sha256_hex(&document), document, label, names));
            }
            for (sha256, document, label, names) in operations {
                let new = store::add(&mut conn, &sha256, &document, &label).await?;
                println!(
                    "{sha256}  {label}  {}{}",
                    names.join(", "),
                    if new { "" } else { "  (already registered)" }
                );
            }
        }
        PersistedCommand::List => {
            let operations = store::list(&mut conn).await?;
            if operations.is_empty() {
                println!("No registered operations.");
            }
            for operation in operations {
                println!(
                    "{}  {}  added {}",
                    operation.sha256,
                    operation.label,
                    operation.added_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
        }
        PersistedCommand::Remove { sha256 } => {
            if !store::remove(&mut conn, &sha256.to_ascii_lowercase()).await? {
                eprintln!("no registered operation has the hash {sha256}");
                return Ok(ExitCode::FAILURE);
            }
            println!("Removed {sha256}; running servers stop accepting it within a minute.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The files named, and the .graphql files under the folders named, each
/// folder's in name order.
fn graphql_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut files)?;
        } else {
            anyhow::ensure!(path.exists(), "{} does not exist", path.display());
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| entry.map(|entry| entry.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "graphql") {
            files.push(path);
        }
    }
    Ok(())
}
