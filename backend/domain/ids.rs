//! Opaque global ids (Relay object identification): the type name and the
//! document id, base64url-encoded. Clients must treat them as opaque.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The types that have global ids (named as the GraphQL schema names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Module,
    Resource,
    Topic,
    ResourceType,
    Tag,
    Asset,
}

impl NodeType {
    pub const ALL: [NodeType; 6] = [
        NodeType::Module,
        NodeType::Resource,
        NodeType::Topic,
        NodeType::ResourceType,
        NodeType::Tag,
        NodeType::Asset,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NodeType::Module => "Module",
            NodeType::Resource => "Resource",
            NodeType::Topic => "Topic",
            NodeType::ResourceType => "ResourceType",
            NodeType::Tag => "Tag",
            NodeType::Asset => "Asset",
        }
    }
}

impl From<crate::domain::Kind> for NodeType {
    fn from(kind: crate::domain::Kind) -> Self {
        use crate::domain::Kind;
        match kind {
            Kind::Module => NodeType::Module,
            Kind::Resource => NodeType::Resource,
            Kind::Topic => NodeType::Topic,
            Kind::ResourceType => NodeType::ResourceType,
            Kind::Tag => NodeType::Tag,
            Kind::Asset => NodeType::Asset,
        }
    }
}

impl NodeType {
    pub fn kind(self) -> crate::domain::Kind {
        use crate::domain::Kind;
        match self {
            NodeType::Module => Kind::Module,
            NodeType::Resource => Kind::Resource,
            NodeType::Topic => Kind::Topic,
            NodeType::ResourceType => Kind::ResourceType,
            NodeType::Tag => Kind::Tag,
            NodeType::Asset => Kind::Asset,
        }
    }
}

pub fn encode(node_type: NodeType, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", node_type.name()))
}

/// The type and document id behind a global id; `None` for anything that is
/// not one of ours.
pub fn decode(id: &str) -> Option<(NodeType, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, uuid) = text.split_once(':')?;
    let node_type = NodeType::ALL.into_iter().find(|t| t.name() == name)?;
    Some((node_type, Uuid::parse_str(uuid).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        let uuid = Uuid::now_v7();
        for node_type in NodeType::ALL {
            assert_eq!(decode(&encode(node_type, uuid)), Some((node_type, uuid)));
        }
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("User:1")), None);
    }
}
