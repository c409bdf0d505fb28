//! The server key that stored token hashes are made with. It must never be
//! in the database (a dump would then open every token), so it comes from
//! `BEACON_SECRET` or from a file in the data directory, made on first use.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::credentials::ServerKey;

/// Shortest `BEACON_SECRET` accepted: 32 characters.
pub const MIN_SECRET_LENGTH: usize = 32;

const FILE_NAME: &str = "secret";

pub fn load(explicit: Option<&str>, data_dir: &Path) -> anyhow::Result<ServerKey> {
    if let Some(secret) = explicit {
        anyhow::ensure!(
            secret.len() >= MIN_SECRET_LENGTH,
            "BEACON_SECRET must be at least {MIN_SECRET_LENGTH} characters \
             (e.g. `openssl rand -base64 32`)"
        );
        return Ok(ServerKey::new(secret.as_bytes().to_vec()));
    }
    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let path = data_dir.join(FILE_NAME);
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    // create_new: when several processes start at once, one writes the key
    // and the others read it.
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(URL_SAFE_NO_PAD.encode(random).as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing the server key {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a server key");
        }
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(error) => {
            return Err(error)
                .with_context(|| format!("creating the server key {}", path.display()));
        }
    }
    let secret = fs::read_to_string(&path)
        .with_context(|| format!("reading the server key {}", path.display()))?;
    let secret = secret.trim();
    anyhow::ensure!(
        secret.len() >= MIN_SECRET_LENGTH,
        "the server key in {} is too short; delete it to make a new one \
         (this signs everyone out and invalidates every API token)",
        path.display()
    );
    Ok(ServerKey::new(secret.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(None, dir.path()).unwrap();
        let second = load(None, dir.path()).unwrap();
        let token = "bcn_pat_example";
        assert_eq!(first.hash(token), second.hash(token));
        let mode = fs::metadata(dir.path().join(FILE_NAME)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn an_explicit_secret_wins_and_must_be_long() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(Some("short"), dir.path()).is_err());
        let key = load(Some(&"s".repeat(32)), dir.path()).unwrap();
        assert!(!dir.path().join(FILE_NAME).exists());
        assert_ne!(key.hash("t"), load(None, dir.path()).unwrap().hash("t"));
    }
}
