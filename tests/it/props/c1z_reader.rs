//! The c1z reader on hostile files: any bytes, and a small real c1z (written by our `Store`)
//! cut short or with bytes flipped in its header and its zstd payload. Opening and reading
//! every table gives rows or a typed `c1z::Error`, never a panic, and leaves nothing behind
//! in the temp dir it was given (nor anywhere next to the file).

use std::path::Path;
use std::sync::OnceLock;

use baton_haloitsm::c1z::{ReadOptions, Snapshot, Store, ksuid};
use baton_haloitsm::pb;
use proptest::prelude::*;

use super::cases;
use super::strategies::corrupted;

/// The bytes of a small, valid c1z: 3 resource types, 12 resources, 4 entitlements, 20 grants.
fn small_c1z() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("small.c1z");
        let mut store = Store::create(&out).unwrap();
        store.start_sync(&ksuid::new()).unwrap();
        let rid = |t: &str, id: String| pb::ResourceId {
            resource_type: t.into(),
            resource: id,
            baton_resource: false,
        };
        let types: Vec<pb::ResourceType> = ["agent", "team", "role"]
            .iter()
            .map(|t| pb::ResourceType {
                id: t.to_string(),
                display_name: t.to_uppercase(),
                ..Default::default()
            })
            .collect();
        store.put_resource_types(&types).unwrap();
        let resources: Vec<pb::Resource> = (0..12)
            .map(|i| pb::Resource {
                id: Some(rid(["agent", "team", "role"][i % 3], i.to_string())),
                display_name: format!("resource {i}"),
                ..Default::default()
            })
            .collect();
        store.put_resources(&resources).unwrap();
        let entitlements: Vec<pb::Entitlement> = (0..4)
            .map(|i| pb::Entitlement {
                id: format!("team:{i}:member"),
                resource: Some(pb::Resource {
                    id: Some(rid("team", i.to_string())),
                    ..Default::default()
                }),
                slug: "member".into(),
                ..Default::default()
            })
            .collect();
        store.put_entitlements(&entitlements).unwrap();
        let grants: Vec<pb::Grant> = (0..20)
            .map(|i| pb::Grant {
                id: format!("team:{}:member:agent:{i}", i % 4),
                entitlement: Some(entitlements[i % 4].clone()),
                principal: Some(pb::Resource {
                    id: Some(rid("agent", i.to_string())),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        store.put_grants(&grants).unwrap();
        store.end_sync().unwrap();
        store.finish(&out).unwrap();
        std::fs::read(&out).unwrap()
    })
}

/// Opens `bytes` as a c1z and reads everything in it; returns whether it all read.
/// Panics (failing the property) only if something is left behind.
fn open_and_read(bytes: &[u8]) -> bool {
    let input = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let path = input.path().join("in.c1z");
    std::fs::write(&path, bytes).unwrap();
    let opts = ReadOptions {
        // Small enough that a flipped size field cannot make a case write gigabytes.
        max_decoded_bytes: 16 << 20,
        temp_dir: Some(scratch.path().to_path_buf()),
    };
    let read_all = |snap: &Snapshot| -> Result<(), baton_haloitsm::c1z::Error> {
        snap.resource_types()?;
        snap.resources(None)?;
        snap.resources(Some("team"))?;
        snap.entitlements(None)?;
        snap.grants(None)?;
        snap.stats()?;
        Ok(())
    };
    let ok = match Snapshot::open_with(&path, &opts) {
        Ok(snap) => {
            let ok = read_all(&snap).is_ok();
            drop(snap);
            ok
        }
        // Every error names the file it is about.
        Err(e) => {
            assert!(
                e.to_string().contains("in.c1z"),
                "error without the file: {e}"
            );
            false
        }
    };
    assert_eq!(
        names(scratch.path()),
        Vec::<String>::new(),
        "temp files left behind"
    );
    assert_eq!(
        names(input.path()),
        vec!["in.c1z".to_string()],
        "files next to the input"
    );
    ok
}

fn names(dir: &Path) -> Vec<String> {
    crate::support::dir_names(dir)
}

/// The c1z magic, then a zstd frame of `payload`.
fn c1z_of(payload: &[u8]) -> Vec<u8> {
    let mut out = b"C1ZF\0".to_vec();
    out.extend(zstd::encode_all(payload, 1).unwrap());
    out
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_bytes_are_refused_without_a_panic(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| [b"C1ZF\0".as_slice(), &b].concat()),
            prop::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| [b"C1ZF\0\x28\xb5\x2f\xfd".as_slice(), &b].concat()),
        ],
    ) {
        // Random bytes after the magic are never a readable database.
        prop_assert!(!open_and_read(&bytes));
    }

    #[test]
    fn a_corrupted_c1z_is_read_or_refused(bytes in corrupted(small_c1z().to_vec())) {
        open_and_read(&bytes);
    }

    #[test]
    fn a_flipped_header_byte_is_refused(at in 0usize..13, x in 1u8..=255) {
        // The magic (5 bytes), the zstd magic (4) and the frame header after it.
        let mut bytes = small_c1z().to_vec();
        bytes[at] ^= x;
        let ok = open_and_read(&bytes);
        if at < 9 {
            prop_assert!(!ok, "a c1z with a wrong magic read");
        }
    }

    #[test]
    fn a_valid_zstd_frame_of_junk_is_refused(
        payload in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            // A SQLite header and garbage after it.
            prop::collection::vec(any::<u8>(), 84..600)
                .prop_map(|b| [b"SQLite format 3\0".as_slice(), &b].concat()),
        ],
    ) {
        prop_assert!(!open_and_read(&c1z_of(&payload)));
    }
}

#[test]
fn the_small_c1z_reads_whole() {
    assert!(open_and_read(small_c1z()));
}
