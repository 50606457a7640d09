//! Benchmark (filled by its issue).

fn main() {}
