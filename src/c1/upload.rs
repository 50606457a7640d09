//! UploadAsset: streams a finished c1z to C1 as metadata{task_id}, 512 KiB data chunks read
//! from disk as the stream is consumed, then eof{sha256}. The file is read once per attempt
//! and hashed on the way, so memory stays at a chunk or two whatever the file size.

use std::path::Path;

use aws_lc_rs::digest;
use futures::StreamExt;
use tokio::io::AsyncReadExt;

use crate::pb::baton::BatonServiceUploadAssetRequest;
use crate::pb::baton::baton_service_upload_asset_request::{
    Msg, UploadData, UploadEof, UploadMetadata,
};
use crate::telemetry;

/// The SDK's chunk size.
pub const CHUNK: usize = 512 * 1024;

enum Step {
    Metadata(tokio::fs::File),
    Data(tokio::fs::File, digest::Context),
    Done,
}

fn msg(m: Msg) -> BatonServiceUploadAssetRequest {
    BatonServiceUploadAssetRequest { msg: Some(m) }
}

/// The request stream for one attempt. A read error ends the stream early without an eof,
/// so C1 never accepts a truncated file.
pub async fn request_stream(
    host_id: String,
    task_id: String,
    path: &Path,
) -> std::io::Result<impl futures::Stream<Item = BatonServiceUploadAssetRequest> + Send + 'static> {
    let file = tokio::fs::File::open(path).await?;
    let stream = futures::stream::unfold(Step::Metadata(file), move |step| {
        let (host_id, task_id) = (host_id.clone(), task_id.clone());
        async move {
            match step {
                Step::Metadata(file) => Some((
                    msg(Msg::Metadata(UploadMetadata {
                        host_id,
                        task_id,
                        annotations: Vec::new(),
                    })),
                    Step::Data(file, digest::Context::new(&digest::SHA256)),
                )),
                Step::Data(mut file, mut hash) => {
                    let mut buf = vec![0u8; CHUNK];
                    let mut filled = 0;
                    // Fill the whole chunk (a read may return less) unless the file ends.
                    while filled < CHUNK {
                        match file.read(&mut buf[filled..]).await {
                            Ok(0) => break,
                            Ok(n) => filled += n,
                            Err(e) => {
                                tracing::warn!(error = %e, "reading the c1z for upload failed");
                                return None;
                            }
                        }
                    }
                    if filled == 0 {
                        let sum = hash.finish().as_ref().to_vec();
                        return Some((
                            msg(Msg::Eof(UploadEof {
                                sha256_checksum: sum,
                                annotations: Vec::new(),
                            })),
                            Step::Done,
                        ));
                    }
                    buf.truncate(filled);
                    hash.update(&buf);
                    telemetry::c1::upload_bytes(filled as u64);
                    Some((
                        msg(Msg::Data(UploadData { data: buf })),
                        Step::Data(file, hash),
                    ))
                }
                Step::Done => None,
            }
        }
    });
    Ok(stream.boxed())
}

/// SHA-256 of a file, read in chunks (tests and diagnostics).
pub fn sha256_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(ctx.finish().as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stream_is_metadata_chunks_eof_with_matching_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.c1z");
        let bytes: Vec<u8> = (0..(CHUNK * 2 + 10)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let msgs: Vec<_> = request_stream("h".into(), "t".into(), &path)
            .await
            .expect("open")
            .collect()
            .await;
        assert_eq!(msgs.len(), 5, "metadata, 3 chunks, eof");
        let mut data = Vec::new();
        for m in &msgs[1..4] {
            match &m.msg {
                Some(Msg::Data(d)) => data.extend_from_slice(&d.data),
                other => panic!("expected data, got {other:?}"),
            }
        }
        assert_eq!(data, bytes);
        match &msgs[4].msg {
            Some(Msg::Eof(e)) => {
                assert_eq!(e.sha256_checksum, sha256_file(&path).expect("hash"));
                assert_eq!(e.sha256_checksum.len(), 32);
            }
            other => panic!("expected eof, got {other:?}"),
        }
    }
}
