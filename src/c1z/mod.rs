//! c1z v1 snapshots: writer, reader, inspect (issue #5/#6).
