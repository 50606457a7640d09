//! Compiles `proto/**/*.proto` into prost types.
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
    prost_build::Config::new()
        .btree_map(["."])
        // `Name` impls give every message its `type.googleapis.com/c1.connector.v2.<Msg>`
        // URL, which is what annotations (`repeated google.protobuf.Any`) carry.
        .enable_type_names()
        .type_name_domain(["."], "type.googleapis.com")
        .compile_fds(fds)?;
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
