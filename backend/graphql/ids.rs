//! Global ids as GraphQL `ID`s; their format is the domain's.

use async_graphql::ID;
use uuid::Uuid;

pub use crate::domain::ids::{NodeType, decode};

pub fn encode(node_type: NodeType, id: Uuid) -> ID {
    ID(crate::domain::ids::encode(node_type, id))
}
