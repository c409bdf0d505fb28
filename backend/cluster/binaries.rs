//! Finding the machine's PostgreSQL server binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::ClusterError;

/// The server programs Beacon needs to run its own cluster.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    pub bindir: PathBuf,
    pub initdb: PathBuf,
    pub pg_ctl: PathBuf,
}

impl PgBinaries {
    fn in_dir(dir: &Path) -> Option<Self> {
        let complete = ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|program| dir.join(program).is_file());
        complete.then(|| PgBinaries {
            bindir: dir.to_path_buf(),
            initdb: dir.join("initdb"),
            pg_ctl: dir.join("pg_ctl"),
        })
    }
}

/// Looks, in order, at `pg_config --bindir`, the newest versioned install
/// directory (Debian's `/usr/lib/postgresql/N/bin`, Homebrew's
/// `postgresql@N`, the PGDG `pgsql-N` layout) and every directory on PATH.
pub fn find_binaries() -> Result<PgBinaries, ClusterError> {
    let mut candidates = Vec::new();
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output()
        && output.status.success()
    {
        candidates.push(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    candidates.extend(versioned_dirs("/usr/lib/postgresql", "", "bin"));
    candidates.extend(versioned_dirs("/opt/homebrew/opt", "postgresql@", "bin"));
    candidates.extend(versioned_dirs("/usr/local/opt", "postgresql@", "bin"));
    candidates.extend(versioned_dirs("/usr", "pgsql-", "bin"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    candidates
        .iter()
        .find_map(|dir| PgBinaries::in_dir(dir))
        .ok_or_else(|| ClusterError::MissingBinaries {
            searched: candidates
                .iter()
                .map(|dir| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// `<parent>/<prefix><version>/<bin>` directories, newest version first.
fn versioned_dirs(parent: &str, prefix: &str, bin: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u32>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix(prefix)?;
            let key = version
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<_>>>()?;
            Some((key, entry.path().join(bin)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

/// pgbench beside the server programs the embedded cluster uses, or on PATH.
pub fn pgbench_binary() -> Option<PathBuf> {
    let beside_server = find_binaries()
        .map(|binaries| binaries.bindir.join("pgbench"))
        .ok()
        .filter(|path| path.is_file());
    beside_server.or_else(|| {
        let on_path = std::env::var_os("PATH")?;
        std::env::split_paths(&on_path)
            .map(|dir| dir.join("pgbench"))
            .find(|path| path.is_file())
    })
}
