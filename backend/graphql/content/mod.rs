//! The partner API: published content (and drafts, for those who may
//! preview) as types with relations both ways, the resource connection
//! with its filters, totals and facets, and search.

pub mod asset;
pub mod connection;
pub mod facets;
pub mod query;
pub mod resource_list;
pub mod search;
pub mod selection;
pub mod types;
