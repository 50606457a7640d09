//! HaloITSM simulator (issue #3).
