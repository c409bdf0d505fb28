//! Domain rules: the content model, slugs and validation. Plain data and
//! functions; no database, no GraphQL.

pub mod access;
pub mod content;
pub mod slug;
pub mod validation;

pub use content::{Content, Kind, Stage};
