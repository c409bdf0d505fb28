//! The repository's `seeds/`, built into the binary (see `build.rs`), for a
//! first start outside the checkout.

use std::path::{Path, PathBuf};

/// Every seed file: (file name, contents).
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_seeds.rs"));

/// The built-in seeds written out to a folder of their own, removed again
/// when this is dropped: the seed job reads files like any other.
pub struct Extracted {
    folder: PathBuf,
}

impl Extracted {
    pub fn path(&self) -> &Path {
        &self.folder
    }
}

impl Drop for Extracted {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

pub fn extract() -> std::io::Result<Extracted> {
    let folder = std::env::temp_dir().join(format!("beacon-seeds-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&folder)?;
    let extracted = Extracted { folder };
    for (name, contents) in FILES {
        std::fs::write(extracted.folder.join(name), contents)?;
    }
    Ok(extracted)
}
