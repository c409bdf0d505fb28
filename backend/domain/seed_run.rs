//! What a seed run read and what it did: the record kept of every run.

use serde::{Deserialize, Serialize};

/// A file read by a seed job, by its path and the SHA-256 of its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeedFile {
    pub path: String,
    pub sha256: String,
}

/// Created / updated / unchanged, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}
