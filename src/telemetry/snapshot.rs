//! snapshot happenings (filled by the issue that owns this concern).

pub fn init() {}
