//! Generated `c1.connector.v2` protobuf types (see `proto/` and `build.rs`),
//! plus helpers to pack and unpack annotations (`google.protobuf.Any`).
//!
//! Encoding is deterministic: prost writes fields in tag order and maps are
//! `BTreeMap`s, so the same message always gives the same bytes.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/c1.connector.v2.rs"));
}

pub use generated::*;

use prost::{Message, Name};

/// Packs `msg` as an annotation: type URL `type.googleapis.com/c1.connector.v2.<Msg>`,
/// value = the message's deterministic encoding.
pub fn pack_any<M: Message + Name>(msg: &M) -> prost_types::Any {
    prost_types::Any {
        type_url: M::type_url(),
        value: msg.encode_to_vec(),
    }
}

/// Unpacks an annotation if it holds an `M`; `None` for other types or undecodable bytes.
pub fn unpack_any<M: Message + Name + Default>(any: &prost_types::Any) -> Option<M> {
    if any.type_url != M::type_url() {
        return None;
    }
    M::decode(any.value.as_slice()).ok()
}

/// The first annotation of type `M` in a list, if any.
pub fn find_annotation<M: Message + Name + Default>(annotations: &[prost_types::Any]) -> Option<M> {
    annotations.iter().find_map(unpack_any::<M>)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_type_url_matches_the_sdk() {
        let any = pack_any(&SkipEntitlementsAndGrants {});
        assert_eq!(
            any.type_url,
            "type.googleapis.com/c1.connector.v2.SkipEntitlementsAndGrants"
        );
        assert!(any.value.is_empty());
        let link = pack_any(&ExternalLink {
            url: "https://x".into(),
        });
        assert_eq!(
            unpack_any::<ExternalLink>(&link).map(|l| l.url),
            Some("https://x".to_string())
        );
        assert!(unpack_any::<ExternalLink>(&any).is_none());
    }
}
