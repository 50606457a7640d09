//! Daemon frame: supervisor, HTTP endpoint, watchdog (issue #2).
