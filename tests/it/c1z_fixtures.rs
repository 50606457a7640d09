//! Reads the real SDK-written c1z fixtures (../shared/fixtures/c1z) and checks
//! the counts documented in their README. Skipped, with a message, when the
//! shared folder is not next to the crate.

use std::collections::BTreeMap;
use std::path::PathBuf;

use baton_haloitsm::c1z::Snapshot;
use baton_haloitsm::pb;
use prost::Message;

use crate::support::c1z::raw_db;

pub(crate) fn fixture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/c1z")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: fixture {} not found", p.display());
        None
    }
}

fn by_type(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn sync_in_progress_fixture() {
    let Some(path) = fixture("sync-in-progress.c1z") else {
        return;
    };
    let snap = Snapshot::open(&path).expect("open fixture");

    // The only sync is unfinished: shown, but flagged as not a finished full sync.
    let sync = snap.sync().expect("a sync run");
    assert_eq!(sync.sync_id, "3ARefY5G8eOytquwYgm41Nq07IZ");
    assert_eq!(sync.sync_type, "full");
    assert!(sync.ended_at.is_none());
    assert!(!sync.is_latest_finished_full);

    let rts = snap.resource_types().unwrap();
    assert_eq!(rts.len(), 5);
    let user = rts.iter().find(|r| r.id == "user").expect("user type");
    assert_eq!(user.traits, vec![pb::resource_type::Trait::User as i32]);
    assert!(pb::find_annotation::<pb::SkipEntitlementsAndGrants>(&user.annotations).is_some());

    let stats = snap.stats().unwrap();
    assert_eq!(stats.counts.resource_types, 5);
    assert_eq!(stats.counts.resources, 79);
    assert_eq!(
        stats.counts.resources_by_resource_type,
        by_type(&[
            ("group", 31),
            ("project", 25),
            ("role", 10),
            ("scoped_role", 3),
            ("user", 10)
        ])
    );
    assert_eq!(stats.counts.entitlements, 0);
    assert_eq!(stats.counts.grants, 0);
    assert_eq!(snap.resources(Some("user")).unwrap().len(), 10);
    assert_eq!(snap.resources(None).unwrap().len(), 79);
}

#[test]
fn expanded_fixture_older_layout() {
    let Some(path) = fixture("sync.36zfOAoWMxQdISbixanQCRBiX7E.unexpanded") else {
        return;
    };
    let snap = Snapshot::open(&path).expect("open fixture");
    let sync = snap.sync().expect("a sync run");
    assert_eq!(sync.sync_id, "36zfOAoWMxQdISbixanQCRBiX7E");

    let stats = snap.stats().unwrap();
    assert_eq!(stats.counts.resource_types, 4);
    assert_eq!(stats.counts.resources, 1_221);
    assert_eq!(
        stats.counts.resources_by_resource_type,
        by_type(&[
            ("group", 21),
            ("project", 100),
            ("role", 100),
            ("user", 1_000)
        ])
    );
    assert_eq!(stats.counts.entitlements, 342);
    assert_eq!(stats.counts.grants, 2_909);
    assert_eq!(stats.cached, None);

    let grants = snap.grants(None).unwrap();
    assert_eq!(grants.len(), 2_909);
    let principals = grants
        .iter()
        .fold(BTreeMap::<String, u64>::new(), |mut m, g| {
            let t = g
                .principal
                .as_ref()
                .and_then(|p| p.id.as_ref())
                .map(|i| i.resource_type.clone());
            *m.entry(t.unwrap_or_default()).or_default() += 1;
            m
        });
    assert_eq!(principals, by_type(&[("group", 409), ("user", 2_500)]));
    // The old writer kept GrantExpandable inside the blob.
    let expandable = grants
        .iter()
        .filter(|g| pb::find_annotation::<pb::GrantExpandable>(&g.annotations).is_some())
        .count();
    assert_eq!(expandable, 409);

    // Grant ids follow the SDK's `<entitlement id>:<principal type>:<principal id>` contract.
    for g in &grants {
        let ent = g.entitlement.as_ref().unwrap();
        let p = g.principal.as_ref().and_then(|p| p.id.as_ref()).unwrap();
        assert_eq!(
            g.id,
            format!("{}:{}:{}", ent.id, p.resource_type, p.resource)
        );
    }

    let ents = snap.entitlements(Some("project")).unwrap();
    assert!(!ents.is_empty());
    assert!(ents.iter().all(|e| {
        e.resource
            .as_ref()
            .and_then(|r| r.id.as_ref())
            .unwrap()
            .resource_type
            == "project"
    }));
}

#[test]
fn fixture_blobs_reencode_byte_identically() {
    // Our prost types and the SDK's deterministic marshalling agree byte for byte.
    let Some(path) = fixture("sync.36zfOAoWMxQdISbixanQCRBiX7E.unexpanded") else {
        return;
    };
    let (_db, conn) = raw_db(&path);
    for (table, check) in [
        (
            "v1_resource_types",
            reencode::<pb::ResourceType> as fn(&[u8]) -> Vec<u8>,
        ),
        ("v1_resources", reencode::<pb::Resource>),
        ("v1_entitlements", reencode::<pb::Entitlement>),
        ("v1_grants", reencode::<pb::Grant>),
    ] {
        let mut stmt = conn.prepare(&format!("SELECT data FROM {table}")).unwrap();
        let mut rows = stmt.query([]).unwrap();
        let mut n = 0;
        while let Some(r) = rows.next().unwrap() {
            let data: Vec<u8> = r.get(0).unwrap();
            assert_eq!(check(&data), data, "{table} blob differs after re-encoding");
            n += 1;
        }
        assert!(n > 0, "{table} empty");
    }
}

fn reencode<M: Message + Default>(data: &[u8]) -> Vec<u8> {
    M::decode(data).unwrap().encode_to_vec()
}
