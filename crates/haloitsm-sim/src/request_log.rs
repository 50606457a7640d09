//! Log of Halo-facing requests, so tests can count calls (one token call, no N+1 paging).
//!
//! An entry is appended when the request arrives (so the sequence is arrival order and a
//! stalled request is visible while it stalls) and its status is filled in when answered.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// `status` while the request is in flight, or when it never got an answer (reset, client gone).
pub const NO_RESPONSE: u16 = 0;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Strictly increasing across the simulator's life (never reused after `clear_requests`).
    pub seq: u64,
    pub method: String,
    /// As received (original case).
    pub path: String,
    /// Raw query string, `""` when absent.
    pub query: String,
    /// HTTP status answered, or `NO_RESPONSE` (0).
    pub status: u16,
}

#[derive(Debug)]
pub(crate) struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    next_seq: u64,
    limit: usize,
}

impl RequestLog {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            next_seq: 1,
            limit: limit.max(1),
        }
    }

    pub(crate) fn begin(&mut self, method: &str, path: &str, query: &str) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() >= self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(LoggedRequest {
            seq,
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            status: NO_RESPONSE,
        });
        seq
    }

    pub(crate) fn finish(&mut self, seq: u64, status: u16) {
        // Entries are in seq order with no gaps, so the index is an offset from the front.
        let Some(front) = self.entries.front().map(|e| e.seq) else {
            return;
        };
        if let Some(e) = seq
            .checked_sub(front)
            .and_then(|i| self.entries.get_mut(i as usize))
        {
            e.status = status;
        }
    }

    pub(crate) fn entries(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_after_clear_and_rollover_is_harmless() {
        let mut log = RequestLog::new(2);
        let a = log.begin("GET", "/a", "");
        let b = log.begin("GET", "/b", "x=1");
        let c = log.begin("GET", "/c", "");
        log.finish(a, 200); // rolled out
        log.finish(c, 404);
        let e = log.entries();
        assert_eq!(e.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![b, c]);
        assert_eq!(e[1].status, 404);
        log.clear();
        log.finish(b, 200);
        let d = log.begin("POST", "/d", "");
        assert_eq!(d, c + 1);
        assert_eq!(log.entries().len(), 1);
    }
}
