//! Configuration (issue #2).
