//! Media: files editors upload, checked on their bytes, stored by content
//! hash, and delivered as the original or as signed renditions. Which
//! asset may be seen is the content's business (an asset's published
//! stage, like every kind); this service takes files in, names them in
//! URLs, and makes and keeps renditions.

pub mod intake;
pub mod render;
pub mod store;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use uuid::Uuid;

use crate::domain::content::AssetFile;
use crate::domain::media::{Rendition, signed_message};
use crate::identity::credentials::ServerKey;
pub use intake::{IntakeError, IntakeLimits};
pub use store::{MediaStore, S3Settings};

/// How long a preview URL (a draft asset's) is honoured: long enough to
/// edit a page with it, short enough that a link that leaks stops working.
pub const PREVIEW_URL_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// Renditions made at once; more wait their turn (each takes a core).
const CONCURRENT_RENDERS: usize = 2;

#[derive(Clone)]
pub struct Media {
    pub store: MediaStore,
    key: Arc<ServerKey>,
    pub limits: IntakeLimits,
    /// Prefix of the URLs handed out (`https://cms.example.org`); empty for
    /// root-relative URLs.
    public_url: Arc<str>,
    renders: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media").field("store", &self.store).finish()
    }
}

/// A failure to take a file in or to make a rendition.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Refused(#[from] IntakeError),
    #[error("media store: {0}")]
    Store(#[from] object_store::Error),
    #[error("rendering: {0}")]
    Render(anyhow::Error),
}

impl Default for Media {
    /// Files kept in memory, URLs signed with a key of its own: for
    /// servers built in tests; `beacon serve` configures a real store.
    fn default() -> Self {
        Media::unsigned(MediaStore::in_memory(), IntakeLimits::default())
    }
}

impl Media {
    pub fn new(store: MediaStore, key: ServerKey, limits: IntakeLimits, public_url: &str) -> Self {
        Media {
            store,
            key: Arc::new(key),
            limits,
            public_url: public_url.trim_end_matches('/').into(),
            renders: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_RENDERS)),
        }
    }

    /// For jobs that store and read files but hand out no URLs (seed
    /// jobs, exports): a key of its own, so they need not read the
    /// server's.
    pub fn unsigned(store: MediaStore, limits: IntakeLimits) -> Self {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        Media::new(store, ServerKey::new(key.to_vec()), limits, "")
    }

    /// Checks a file and stores it; returns what its asset version records.
    pub async fn take_in(
        &self,
        bytes: Vec<u8>,
        filename: Option<String>,
    ) -> Result<AssetFile, MediaError> {
        let limits = self.limits;
        let intake = tokio::task::spawn_blocking(move || {
            intake::take_in(&bytes, filename.as_deref(), &limits)
        })
        .await
        .map_err(|error| MediaError::Render(error.into()))??;
        self.store
            .put_file(&intake.file.sha256, Bytes::from(intake.bytes))
            .await?;
        Ok(intake.file)
    }

    fn signature(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.key.hash(message))
    }

    /// The URL of an asset's file (`segment` `original`) or of one of its
    /// renditions. A published asset's URLs never change while its bytes
    /// do not; a draft's carry an expiry (`preview`).
    pub fn url(&self, asset: Uuid, sha256: &str, segment: &str, preview: bool) -> String {
        let expires = preview.then(preview_expiry);
        let mut url = format!("{}/media/{asset}/{sha256}/{segment}", self.public_url);
        let signed = expires.is_some() || segment != "original";
        if signed {
            let signature = self.signature(&signed_message(asset, sha256, segment, expires));
            url.push_str("?sig=");
            url.push_str(&signature);
            if let Some(at) = expires {
                url.push_str(&format!("&exp={at}"));
            }
        }
        url
    }

    /// Whether `signature` is the server's for this URL, and it has not
    /// expired.
    pub fn verify(
        &self,
        asset: Uuid,
        sha256: &str,
        segment: &str,
        expires: Option<i64>,
        signature: &str,
    ) -> bool {
        if expires.is_some_and(|at| at < chrono::Utc::now().timestamp()) {
            return false;
        }
        let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.key
            .verify(&signed_message(asset, sha256, segment, expires), &signature)
    }

    /// A rendition's bytes: kept ones from the store, new ones made (a few
    /// at a time) and kept.
    pub async fn rendition(
        &self,
        file: &AssetFile,
        rendition: &Rendition,
        focal: Option<(u16, u16)>,
    ) -> Result<Option<Bytes>, MediaError> {
        let segment = rendition.segment();
        if let Some(kept) = self.store.rendition(&file.sha256, &segment).await? {
            return Ok(Some(kept));
        }
        let _turn = self
            .renders
            .acquire()
            .await
            .map_err(|error| MediaError::Render(error.into()))?;
        // Another request may have made it while this one waited.
        if let Some(kept) = self.store.rendition(&file.sha256, &segment).await? {
            return Ok(Some(kept));
        }
        let Some(original) = self.store.file(&file.sha256, None).await? else {
            return Ok(None);
        };
        let mime = file.mime_type.clone();
        let rendition = *rendition;
        let made = tokio::task::spawn_blocking(move || {
            render::render(&original.bytes, &mime, &rendition, focal)
        })
        .await
        .map_err(|error| MediaError::Render(error.into()))?
        .map_err(MediaError::Render)?;
        let made = Bytes::from(made);
        self.store
            .put_rendition(&file.sha256, &segment, made.clone())
            .await?;
        Ok(Some(made))
    }
}

/// When a preview URL made now stops working: the end of the next full
/// hour, so URLs made within one hour are the same (and cached alike).
fn preview_expiry() -> i64 {
    let lifetime = PREVIEW_URL_LIFETIME.as_secs() as i64;
    let now = chrono::Utc::now().timestamp();
    (now / lifetime + 2) * lifetime
}
