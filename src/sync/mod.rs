//! Full sync pipeline (issue #5).
