//! Compiles `proto/**/*.proto` into prost types, plus tonic client and server stubs for the
//! services (BatonService: the client is the daemon, the server is the tests' fake C1).
//!
//! protox parses the files in pure Rust, so the build needs no system `protoc`.
//! Map fields become `BTreeMap`s so that encoding walks keys in sorted order:
//! c1z blobs must be deterministic (the SDK marshals with `Deterministic: true`
//! because sync diffs compare bytes).

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new("proto");
    println!("cargo:rerun-if-changed=proto");

    let mut files = Vec::new();
    collect_protos(root, &mut files)?;
    files.sort();
    let relative: Vec<PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(root).map(Path::to_path_buf))
        .collect::<Result<_, _>>()?;

    let fds = protox::compile(&relative, [root])?;
    let mut config = prost_build::Config::new();
    config
        .btree_map(["."])
        // `Name` impls give every message its `type.googleapis.com/<package>.<Msg>`
        // URL, which is what annotations (`repeated google.protobuf.Any`) carry.
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com");
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds_with_config(fds, config)?;
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            println!("cargo:rerun-if-changed={}", path.display());
            out.push(path);
        }
    }
    Ok(())
}
