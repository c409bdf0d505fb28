//! Persisted queries: Apollo's automatic persisted queries (APQ) and an
//! allow-list of operations registered by operators.
//!
//! A client sends `extensions.persistedQuery.sha256Hash` instead of the
//! query text; the text is found among the operations registered with
//! `beacon persisted add` (kept in PostgreSQL, shared by every instance)
//! or among those clients sent recently with their hash (a bounded cache
//! in this process: a miss on another instance only costs the client one
//! resend of the text). In allow-list mode, anonymous clients may run only
//! registered operations and cannot add to the cache.

use crate::graphql::error::ErrorCode;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use lru::LruCache;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::protocol::{Params, Refusal};
use crate::db::{self, PgPool};

/// How long a registered operation found in the database is trusted
/// without asking it again (so `beacon persisted remove` takes effect on
/// running servers within this time).
const REGISTERED_TTL: Duration = Duration::from_secs(60);

pub struct PersistedQueries {
    /// Automatic persisted queries; `None` when APQ is off.
    automatic: Option<Mutex<LruCache<String, Arc<str>>>>,
    registered: Mutex<LruCache<String, (Arc<str>, Instant)>>,
}

/// The text to run, and the hash to remember it under once it has run
/// cleanly.
pub struct Resolved {
    pub query: Arc<str>,
    pub remember: Option<String>,
}

/// Lowercase hex SHA-256 of `text`, as APQ and `beacon persisted` use.
pub fn sha256_hex(text: &str) -> String {
    crate::seed::plan::hex(&Sha256::digest(text.as_bytes()))
}

impl PersistedQueries {
    /// `apq_capacity` 0 turns automatic persisted queries off.
    pub fn new(apq_capacity: usize) -> Self {
        PersistedQueries {
            automatic: NonZeroUsize::new(apq_capacity)
                .map(|capacity| Mutex::new(LruCache::new(capacity))),
            registered: Mutex::new(LruCache::new(NonZeroUsize::new(1024).expect("nonzero"))),
        }
    }

    /// The query `params` stand for. `registered_only`: the client may run
    /// only registered operations (allow-list mode, anonymous client).
    pub async fn resolve(
        &self,
        pool: &PgPool,
        params: &Params,
        registered_only: bool,
    ) -> Result<Resolved, Refusal> {
        let hash = requested_hash(params)?;
        match (&params.query, hash) {
            (None, None) => Err(Refusal::malformed(
                "send a GraphQL query: GET /graphql?query=… or POST /graphql with a JSON body \
                 like {\"query\": \"{ __typename }\"}",
            )),
            (Some(query), hash) => {
                // Hashing is only needed to check a hash or the allow-list:
                // an ordinary request does not pay for it.
                let actual = (hash.is_some() || registered_only).then(|| sha256_hex(query));
                if hash.is_some() && hash != actual {
                    return Err(Refusal::malformed(
                        "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
                    ));
                }
                if let Some(actual) = actual.filter(|_| registered_only)
                    && self.registered(pool, &actual).await?.is_none()
                {
                    return Err(not_allowed());
                }
                let remember = hash.filter(|_| !registered_only && self.automatic.is_some());
                Ok(Resolved {
                    query: Arc::from(query.as_str()),
                    remember,
                })
            }
            (None, Some(hash)) => {
                let automatic = (!registered_only)
                    .then_some(self.automatic.as_ref())
                    .flatten()
                    .and_then(|cache| cache.lock().expect("cache lock").get(&hash).cloned());
                let query = match automatic {
                    Some(query) => query,
                    None => match self.registered(pool, &hash).await? {
                        Some(query) => query,
                        None if self.automatic.is_none() && !registered_only => {
                            return Err(Refusal::of_document(
                                ErrorCode::PersistedQueryNotSupported,
                                "this server keeps no automatic persisted queries and no \
                                 registered operation has this hash: send the query text",
                            ));
                        }
                        None => {
                            return Err(Refusal::of_document(
                                ErrorCode::PersistedQueryNotFound,
                                "PersistedQueryNotFound",
                            ));
                        }
                    },
                };
                Ok(Resolved {
                    query,
                    remember: None,
                })
            }
        }
    }

    /// Keeps a query that ran cleanly under its hash.
    pub fn remember(&self, hash: String, query: Arc<str>) {
        if let Some(cache) = &self.automatic {
            cache.lock().expect("cache lock").put(hash, query);
        }
    }

    async fn registered(&self, pool: &PgPool, hash: &str) -> Result<Option<Arc<str>>, Refusal> {
        if let Some((query, found_at)) = self.registered.lock().expect("cache lock").get(hash)
            && found_at.elapsed() < REGISTERED_TTL
        {
            return Ok(Some(query.clone()));
        }
        let unavailable = |error: &dyn std::fmt::Display| {
            tracing::error!(%error, "looking up a persisted operation failed");
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "the server cannot look up persisted operations right now",
            )
        };
        let mut conn = pool.get().await.map_err(|error| unavailable(&error))?;
        let found = db::persisted::find(&mut conn, hash)
            .await
            .map_err(|error| unavailable(&error))?
            .map(Arc::<str>::from);
        if let Some(query) = &found {
            self.registered
                .lock()
                .expect("cache lock")
                .put(hash.to_string(), (query.clone(), Instant::now()));
        }
        Ok(found)
    }
}

fn not_allowed() -> Refusal {
    Refusal::new(
        StatusCode::FORBIDDEN,
        ErrorCode::OperationNotAllowed,
        "anonymous clients may run only registered operations here: send a registered \
         operation's hash in extensions.persistedQuery, or an API token",
    )
}

/// `extensions.persistedQuery`, checked: version 1 and a SHA-256 in hex.
fn requested_hash(params: &Params) -> Result<Option<String>, Refusal> {
    let Some(persisted) = params
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.get("persistedQuery"))
    else {
        return Ok(None);
    };
    let version = persisted.get("version").and_then(Value::as_i64);
    if version != Some(1) {
        return Err(Refusal::malformed(
            "extensions.persistedQuery.version must be 1",
        ));
    }
    let hash = persisted
        .get("sha256Hash")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .filter(|hash| hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            Refusal::malformed("extensions.persistedQuery.sha256Hash must be 64 hex digits")
        })?;
    Ok(Some(hash))
}
