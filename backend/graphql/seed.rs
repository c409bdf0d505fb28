//! `seedRuns`: the record of seed jobs, for admins.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::db::seed_runs::{self as store};
use crate::domain::access::Action;
use crate::domain::seed_run::{Counts, SeedFile};
use crate::graphql::paging::{connection_type, permitted_page};

connection_type!(
    SeedRunConnection,
    SeedRunEdge,
    SeedRun,
    "A page of seed runs, newest first.",
    "A seed run and its position in the list."
);

/// One seed job that wrote (dry runs are not recorded): when it ran, what
/// it read and what it changed.
pub struct SeedRun(store::SeedRun);

/// A file a seed run read, with the hash of what it read.
#[derive(SimpleObject)]
pub struct SeedRunFile {
    /// The file's path as the job was given it.
    path: String,
    /// SHA-256 of its bytes, in hex.
    sha256: String,
}

/// What a seed run did to one kind of content.
#[derive(SimpleObject)]
pub struct SeedRunCount {
    /// The kind, as the seed report names it (`resource`, `topic`…).
    kind: String,
    /// Items the run created.
    created: u64,
    /// Items the run changed.
    updated: u64,
    /// Items the run found as they should be.
    unchanged: u64,
}

/// One seed job that wrote (dry runs are not recorded): when it ran, what
/// it read and what it changed.
#[Object]
impl SeedRun {
    /// The run's id, as `beacon seed --history` and the audit log
    /// (`seed:<id>`) name it.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// When it started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// When it ended; null while it runs.
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    /// `running`, `succeeded` or `failed`.
    async fn outcome(&self) -> &str {
        &self.0.outcome
    }
    /// The files it read.
    async fn files(&self) -> Vec<SeedRunFile> {
        serde_json::from_value::<Vec<SeedFile>>(self.0.files.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|file| SeedRunFile {
                path: file.path,
                sha256: file.sha256,
            })
            .collect()
    }
    /// What it did, per kind (empty for a run that failed: it wrote
    /// nothing).
    async fn counts(&self) -> Vec<SeedRunCount> {
        serde_json::from_value::<BTreeMap<String, Counts>>(self.0.counts.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|(kind, counts)| SeedRunCount {
                kind,
                created: counts.created,
                updated: counts.updated,
                unchanged: counts.unchanged,
            })
            .collect()
    }
    /// Why it failed; null unless it did.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

#[derive(Default)]
pub struct SeedQuery;

/// Seed jobs. ADMIN only.
#[Object]
impl SeedQuery {
    /// Seed runs, newest first, a page at a time.
    async fn seed_runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size: 20 when omitted, at most 100.")] first: Option<i32>,
        #[graphql(desc = "Cursor after which the page starts (`pageInfo.endCursor`).")]
        after: Option<String>,
    ) -> Result<SeedRunConnection> {
        let page = permitted_page(
            ctx,
            Action::RunSeedJobs,
            "seedRuns",
            (first, after),
            async |conn, after, limit| store::history(conn, after, limit).await,
            |row| (row.started_at, row.id),
        )
        .await?;
        Ok(page.map(SeedRun).into())
    }
}
