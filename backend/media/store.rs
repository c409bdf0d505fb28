//! Where the bytes live: one interface over the data directory (the
//! default) and S3-compatible object storage (for several servers), both
//! through `object_store`. Files are named by their SHA-256, so a file
//! uploaded twice is stored once and a name never changes meaning;
//! renditions are kept beside the file they were made from.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};

/// The media store.
#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    /// Where it is, for logs ("data directory /x/media", "s3://bucket").
    pub description: String,
}

impl std::fmt::Debug for MediaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// Settings of an S3-compatible store.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000` for a local server; AWS when absent.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// A stored file, or the part of it a range asked for.
pub struct Fetched {
    pub bytes: Bytes,
    /// The whole file's size.
    pub size: u64,
}

impl MediaStore {
    /// Files under `dir`, created when missing.
    pub fn local(dir: &Path) -> anyhow::Result<MediaStore> {
        std::fs::create_dir_all(dir)?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(MediaStore {
            inner: Arc::new(store),
            description: format!("data directory {}", dir.display()),
        })
    }

    /// Files in this process's memory: for tests and servers built without
    /// a configured store.
    pub fn in_memory() -> MediaStore {
        MediaStore {
            inner: Arc::new(object_store::memory::InMemory::new()),
            description: "memory".into(),
        }
    }

    pub fn s3(settings: &S3Settings) -> anyhow::Result<MediaStore> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        Ok(MediaStore {
            inner: Arc::new(builder.build()?),
            description: format!("s3://{}", settings.bucket),
        })
    }

    /// Whether the store answers (and lets this server in): a missing
    /// bucket or a wrong key is found at start, not at the first upload.
    pub async fn check(&self) -> object_store::Result<()> {
        match self.inner.head(&StorePath::from("files/.reachable")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    fn file_path(sha256: &str) -> StorePath {
        StorePath::from(format!("files/{}/{sha256}", &sha256[..2]))
    }

    fn rendition_path(sha256: &str, segment: &str) -> StorePath {
        StorePath::from(format!("renditions/{}/{sha256}/{segment}", &sha256[..2]))
    }

    /// Stores a file under its hash, unless it is there already.
    pub async fn put_file(&self, sha256: &str, bytes: Bytes) -> object_store::Result<()> {
        let path = Self::file_path(sha256);
        match self.inner.head(&path).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => {
                self.inner.put(&path, PutPayload::from(bytes)).await?;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// A whole file, or `range` of it (byte offsets, end exclusive).
    pub async fn file(
        &self,
        sha256: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> object_store::Result<Option<Fetched>> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        match self.inner.get_opts(&Self::file_path(sha256), options).await {
            Ok(result) => {
                let size = result.meta.size;
                Ok(Some(Fetched {
                    bytes: result.bytes().await?,
                    size,
                }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn rendition(
        &self,
        sha256: &str,
        segment: &str,
    ) -> object_store::Result<Option<Bytes>> {
        match self.inner.get(&Self::rendition_path(sha256, segment)).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn put_rendition(
        &self,
        sha256: &str,
        segment: &str,
        bytes: Bytes,
    ) -> object_store::Result<()> {
        self.inner
            .put(
                &Self::rendition_path(sha256, segment),
                PutPayload::from(bytes),
            )
            .await?;
        Ok(())
    }
}
