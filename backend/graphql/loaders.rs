//! Batched relation loading: every relation of a page of items is read in
//! one statement, however many items the page holds (no N+1).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use uuid::Uuid;

use crate::db::PgPool;
use crate::db::content::{ContentReader, LabelRow, ResourceRow, TopicRow};
use crate::domain::Stage;

/// Loads relations from one stage for one request.
pub struct ContentLoader {
    pool: PgPool,
    reader: ContentReader,
}

pub type Loaders = DataLoader<ContentLoader>;

pub fn loaders(pool: PgPool, stage: Stage) -> Loaders {
    DataLoader::new(
        ContentLoader {
            pool,
            reader: ContentReader::new(stage),
        },
        tokio::spawn,
    )
}

/// Loader errors must be cloneable; the text is logged, never sent.
pub type LoadError = Arc<String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TypesOfResource(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicsOfResource(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagsOfResource(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResourcesOfModule(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TagsOfModule(pub Uuid);
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicById(pub Uuid);

fn group<K, V>(keys: &[K], rows: Vec<(Uuid, V)>, key: impl Fn(Uuid) -> K) -> HashMap<K, Vec<V>>
where
    K: std::hash::Hash + Eq + Copy,
{
    let mut grouped: HashMap<K, Vec<V>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for (owner, value) in rows {
        grouped.entry(key(owner)).or_default().push(value);
    }
    grouped
}

impl ContentLoader {
    async fn connection(&self) -> Result<crate::db::PooledConnection, LoadError> {
        self.pool
            .get()
            .await
            .map_err(|error| Arc::new(error.to_string()))
    }
}

fn db_error(error: diesel::result::Error) -> LoadError {
    Arc::new(error.to_string())
}

macro_rules! relation_loader {
    ($key:ident, $value:ty, $query:ident) => {
        impl Loader<$key> for ContentLoader {
            type Value = Vec<$value>;
            type Error = LoadError;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, Self::Value>, Self::Error> {
                let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
                let mut conn = self.connection().await?;
                let rows = self
                    .reader
                    .$query(&mut conn, &ids)
                    .await
                    .map_err(db_error)?;
                Ok(group(keys, rows, $key))
            }
        }
    };
}

relation_loader!(TypesOfResource, LabelRow, types_of_resources);
relation_loader!(TopicsOfResource, TopicRow, topics_of_resources);
relation_loader!(TagsOfResource, LabelRow, tags_of_resources);
relation_loader!(ResourcesOfModule, ResourceRow, resources_of_modules);
relation_loader!(TagsOfModule, LabelRow, tags_of_modules);

impl Loader<TopicById> for ContentLoader {
    type Value = TopicRow;
    type Error = LoadError;

    async fn load(&self, keys: &[TopicById]) -> Result<HashMap<TopicById, TopicRow>, LoadError> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let mut conn = self.connection().await?;
        let rows = self
            .reader
            .topics_by_id(&mut conn, &ids)
            .await
            .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|row| (TopicById(row.id), row))
            .collect())
    }
}
