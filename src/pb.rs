//! Generated protobuf types (see `proto/` and `build.rs`), plus helpers to pack and unpack
//! annotations (`google.protobuf.Any`).
//!
//! `crate::pb::*` is the `c1.connector.v2` package (the c1z data model and connector messages).
//! The other packages sit in modules that mirror their proto package, because generated code
//! refers across packages by relative paths: `pb::c1::connectorapi::baton::v1` (alias
//! [`baton`]), `pb::c1::config::v1`, `pb::google::rpc` (alias [`rpc`]).
//!
//! Encoding is deterministic: prost writes fields in tag order and maps are
//! `BTreeMap`s, so the same message always gives the same bytes.

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod c1 {
    pub mod connector {
        pub mod v2 {
            include!(concat!(env!("OUT_DIR"), "/c1.connector.v2.rs"));
        }
    }
    pub mod connectorapi {
        pub mod baton {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/c1.connectorapi.baton.v1.rs"));
            }
        }
    }
    pub mod config {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/c1.config.v1.rs"));
        }
    }
}

#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod google {
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
    }
}

pub use c1::connector::v2::*;
/// `c1.connectorapi.baton.v1`: BatonService, its client and server stubs, and its messages.
pub use c1::connectorapi::baton::v1 as baton;
/// `google.rpc.Status`, sent with FinishTask.
pub use google::rpc;

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

    /// Wire tags are the interface with C1: check a few that matter against the SDK's numbers
    /// by looking at the encoded bytes, not at our own declarations.
    #[test]
    fn baton_wire_tags_match_the_sdk() {
        use baton::task::TaskType;
        let task = baton::Task {
            id: "a".into(),
            task_type: Some(TaskType::SyncFull(baton::task::SyncFullTask::default())),
            ..Default::default()
        };
        // field 1 "a", then field 102 (wire type 2): tag (102 << 3) | 2 = 818 = varint b2 06.
        assert_eq!(
            task.encode_to_vec(),
            vec![0x0a, 0x01, b'a', 0xb2, 0x06, 0x00]
        );

        let eof = baton::BatonServiceUploadAssetRequest {
            msg: Some(baton::baton_service_upload_asset_request::Msg::Eof(
                baton::baton_service_upload_asset_request::UploadEof {
                    sha256_checksum: vec![7; 32],
                    annotations: vec![],
                },
            )),
        };
        // field 102, length 34, then field 1 (bytes) of length 32.
        assert_eq!(&eof.encode_to_vec()[..5], &[0xb2, 0x06, 34, 0x0a, 32]);

        let finish = baton::BatonServiceFinishTaskRequest {
            status: Some(rpc::Status {
                code: 9,
                message: String::new(),
                details: vec![],
            }),
            final_state: Some(baton::baton_service_finish_task_request::FinalState::Error(
                baton::baton_service_finish_task_request::Error {
                    non_retryable: true,
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        // status = field 3 {code = 9}, error = field 100 (tag 802 = a2 06) {non_retryable = 1}.
        assert_eq!(
            finish.encode_to_vec(),
            vec![0x1a, 0x02, 0x08, 0x09, 0xa2, 0x06, 0x02, 0x08, 0x01]
        );

        assert_eq!(
            baton::BatonServiceHelloRequest::type_url(),
            "type.googleapis.com/c1.connectorapi.baton.v1.BatonServiceHelloRequest"
        );
        assert_eq!(
            GrantManagerServiceGrantResponse::type_url(),
            "type.googleapis.com/c1.connector.v2.GrantManagerServiceGrantResponse"
        );
        assert_eq!(ActionType::AccountEnable as i32, 5);
        assert_eq!(ActionType::AccountDisable as i32, 4);
        assert_eq!(Capability::Ticketing as i32, 4);
    }
}
