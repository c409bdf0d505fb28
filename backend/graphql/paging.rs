//! Paging for every list that can grow: one page-size bound, one cursor
//! format and one Relay connection shape. Lists that cannot grow past a
//! documented bound (a module's resources, a resource's labels) stay plain
//! lists; everything else is a connection built here.

use async_graphql::{Context, Result, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use diesel_async::AsyncPgConnection;

use super::access::{connection_to_db, require};
use super::error::{bad_input, internal};
use crate::db::DbResult;
use crate::domain::access::Action;

/// Page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;
/// Largest page any connection returns.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Pagination state of a connection.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether items follow the last one of this page.
    pub has_next_page: bool,
    /// Whether items precede the first one of this page.
    pub has_previous_page: bool,
    /// Cursor of the first item of this page; pass it as `before` for the
    /// previous page where the list pages backwards.
    pub start_cursor: Option<String>,
    /// Cursor of the last item; pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// Checks a `first` or `last` argument against the bound.
pub fn page_size(value: Option<i32>, argument: &str) -> Result<Option<i32>> {
    match value {
        Some(size) if !(0..=MAX_PAGE_SIZE).contains(&size) => Err(bad_input(format!(
            "`{argument}` must be between 0 and {MAX_PAGE_SIZE}, got {size}"
        ))),
        other => Ok(other),
    }
}

/// A cursor names the list it came from, so one list's cursor given to
/// another is refused instead of silently meaning something else.
pub fn encode_cursor<K: Serialize>(list: &str, key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&(list, key)).expect("cursor keys serialize"))
}

/// The key inside a cursor from `list`; BAD_USER_INPUT for anything else.
pub fn decode_cursor<K: DeserializeOwned>(list: &str, argument: &str, cursor: &str) -> Result<K> {
    let invalid = || bad_input(format!("`{argument}` is not a cursor returned by `{list}`"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let (from, key): (String, K) = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if from != list {
        return Err(invalid());
    }
    Ok(key)
}

/// A validated request for a page of a list read in one direction by a
/// key (keyset paging: a page never skips or repeats while items are added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Forward<K> {
    list: &'static str,
    pub size: i32,
    pub after: Option<K>,
}

impl<K: Serialize + DeserializeOwned> Forward<K> {
    /// `first` and `after` of the list `list` (its field name).
    pub fn new(list: &'static str, first: Option<i32>, after: Option<&str>) -> Result<Self> {
        let size = page_size(first, "first")?.unwrap_or(DEFAULT_PAGE_SIZE);
        let after = after
            .map(|cursor| decode_cursor(list, "after", cursor))
            .transpose()?;
        Ok(Forward { list, size, after })
    }

    /// Rows to read: one more than the page, to tell whether more follow.
    pub fn limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// The page among `rows` (read with [`Forward::limit`]), each item with
    /// its cursor.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Page<T> {
        let has_next_page = rows.len() > self.size as usize;
        rows.truncate(self.size as usize);
        let items: Vec<(String, T)> = rows
            .into_iter()
            .map(|row| (encode_cursor(self.list, &key(&row)), row))
            .collect();
        Page {
            page_info: PageInfo {
                has_next_page,
                has_previous_page: self.after.is_some(),
                start_cursor: items.first().map(|(cursor, _)| cursor.clone()),
                end_cursor: items.last().map(|(cursor, _)| cursor.clone()),
            },
            items,
        }
    }
}

/// One page: its items with their cursors, and where it stands.
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub page_info: PageInfo,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self
                .items
                .into_iter()
                .map(|(cursor, item)| (cursor, f(item)))
                .collect(),
            page_info: self.page_info,
        }
    }
}

/// Declares a Relay connection and its edge type for a node type, with the
/// descriptions the schema shows.
macro_rules! connection_type {
    ($connection:ident, $edge:ident, $node:ty, $connection_doc:literal, $edge_doc:literal) => {
        #[doc = $connection_doc]
        pub struct $connection {
            edges: Vec<$edge>,
            page_info: $crate::graphql::paging::PageInfo,
        }

        #[doc = $connection_doc]
        #[async_graphql::Object]
        impl $connection {
            /// The page's items with their cursors.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }
            /// The page's items.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|edge| &edge.node).collect()
            }
            /// Where this page stands.
            async fn page_info(&self) -> &$crate::graphql::paging::PageInfo {
                &self.page_info
            }
        }

        impl From<$crate::graphql::paging::Page<$node>> for $connection {
            fn from(page: $crate::graphql::paging::Page<$node>) -> Self {
                $connection {
                    edges: page
                        .items
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor, node })
                        .collect(),
                    page_info: page.page_info,
                }
            }
        }

        #[doc = $edge_doc]
        pub struct $edge {
            cursor: String,
            node: $node,
        }

        #[doc = $edge_doc]
        #[async_graphql::Object]
        impl $edge {
            /// Opaque position of this item; pass it as `after` for the
            /// items that follow.
            async fn cursor(&self) -> &str {
                &self.cursor
            }
            /// The item.
            async fn node(&self) -> &$node {
                &self.node
            }
        }
    };
}

pub(crate) use connection_type;

/// A page of a list only holders of `action` may read (users, API tokens,
/// webhooks, events, seed runs, the audit log), read from the primary:
/// `read` reads the rows after a position, `key` is what a row sorts by.
pub async fn permitted_page<K, Row>(
    ctx: &Context<'_>,
    action: Action,
    list: &'static str,
    (first, after): (Option<i32>, Option<String>),
    read: impl AsyncFnOnce(&mut AsyncPgConnection, Option<K>, i64) -> DbResult<Vec<Row>>,
    key: impl Fn(&Row) -> K,
) -> Result<Page<Row>>
where
    K: Serialize + DeserializeOwned + Clone,
{
    require(ctx, action)?;
    let request = Forward::<K>::new(list, first, after.as_deref())?;
    let mut conn = connection_to_db(ctx).await?;
    let rows = read(&mut conn, request.after.clone(), request.limit())
        .await
        .map_err(internal)?;
    Ok(request.page(rows, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_cursor_is_refused_by_another_list() {
        let key = ("Community".to_string(), Uuid::nil());
        let cursor = encode_cursor("topics", &key);
        let back: (String, Uuid) = decode_cursor("topics", "after", &cursor).unwrap();
        assert_eq!(back, key);
        assert!(decode_cursor::<(String, Uuid)>("tags", "after", &cursor).is_err());
        assert!(decode_cursor::<i64>("topics", "after", &cursor).is_err());
        assert!(decode_cursor::<i64>("topics", "after", "not base64!").is_err());
    }

    #[test]
    fn a_page_reads_one_more_row_than_it_returns() {
        let request = Forward::<i64>::new("auditLog", Some(2), None).unwrap();
        assert_eq!(request.limit(), 3);
        let page = request.page(vec![9_i64, 8, 7], |row| *row);
        assert_eq!(page.items.len(), 2);
        assert!(page.page_info.has_next_page);
        assert!(!page.page_info.has_previous_page);
        let next =
            Forward::<i64>::new("auditLog", Some(2), page.page_info.end_cursor.as_deref()).unwrap();
        assert_eq!(next.after, Some(8));
        assert!(Forward::<i64>::new("auditLog", Some(101), None).is_err());
        assert!(Forward::<i64>::new("auditLog", Some(-1), None).is_err());
    }
}
