//! Halo's rolling-window rate limit, as a sliding log of admitted request instants.
//!
//! A sliding log (not fixed buckets, not a token bucket) is what "N requests per rolling W"
//! means: a request is admitted iff fewer than N were admitted in the last W. Rejected requests
//! are not logged, so a client that backs off long enough always gets through again.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::RateLimitConfig;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    Allowed,
    Limited {
        /// Whole seconds until the oldest admitted request leaves the window (when enabled).
        retry_after: Option<u64>,
        body: String,
    },
}

#[derive(Debug, Default)]
pub(crate) struct SlidingWindow {
    cfg: Option<RateLimitConfig>,
    admitted: VecDeque<Instant>,
}

impl SlidingWindow {
    pub(crate) fn new(cfg: Option<RateLimitConfig>) -> Self {
        Self {
            cfg,
            admitted: VecDeque::new(),
        }
    }

    pub(crate) fn config(&self) -> Option<&RateLimitConfig> {
        self.cfg.as_ref()
    }

    /// Swapping the limit keeps the recent history, so tightening it takes effect at once.
    pub(crate) fn set_config(&mut self, cfg: Option<RateLimitConfig>) {
        if cfg.is_none() {
            self.admitted.clear();
        }
        self.cfg = cfg;
    }

    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        let Some(cfg) = &self.cfg else {
            return Admission::Allowed;
        };
        while let Some(&oldest) = self.admitted.front() {
            if now.saturating_duration_since(oldest) >= cfg.window {
                self.admitted.pop_front();
            } else {
                break;
            }
        }
        if self.admitted.len() < cfg.requests as usize {
            self.admitted.push_back(now);
            return Admission::Allowed;
        }
        let retry_after = cfg.retry_after.then(|| {
            let oldest = self.admitted.front().copied().unwrap_or(now);
            let wait = cfg
                .window
                .saturating_sub(now.saturating_duration_since(oldest));
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        });
        Admission::Limited {
            retry_after,
            body: limit_message(cfg),
        }
    }
}

/// Halo's exact wording, e.g. "Rate Limit Reached - 300 Requests per rolling 5 minute window".
pub(crate) fn limit_message(cfg: &RateLimitConfig) -> String {
    format!(
        "Rate Limit Reached - {} Requests per rolling {} window",
        cfg.requests,
        window_words(cfg.window)
    )
}

fn window_words(w: Duration) -> String {
    let secs = w.as_secs();
    if w.subsec_nanos() != 0 {
        format!("{} millisecond", w.as_millis())
    } else if secs.is_multiple_of(3600) {
        format!("{} hour", secs / 3600)
    } else if secs.is_multiple_of(60) {
        format!("{} minute", secs / 60)
    } else {
        format!("{secs} second")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(requests: u32, window_ms: u64, retry_after: bool) -> RateLimitConfig {
        RateLimitConfig {
            requests,
            window: Duration::from_millis(window_ms),
            retry_after,
        }
    }

    #[test]
    fn window_slides_per_request_not_per_bucket() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut w = SlidingWindow::new(Some(cfg(3, 1000, true)));
        assert_eq!(w.admit(t0), Admission::Allowed);
        assert_eq!(w.admit(t0 + ms(400)), Admission::Allowed);
        assert_eq!(w.admit(t0 + ms(800)), Admission::Allowed);
        match w.admit(t0 + ms(900)) {
            Admission::Limited { retry_after, .. } => assert_eq!(retry_after, Some(1)),
            other => panic!("{other:?}"),
        }
        // The first request left the window at t0+1000, the second has not.
        assert_eq!(w.admit(t0 + ms(1000)), Admission::Allowed);
        assert!(matches!(w.admit(t0 + ms(1300)), Admission::Limited { .. }));
        assert_eq!(w.admit(t0 + ms(1400)), Admission::Allowed);
    }

    #[test]
    fn message_uses_halo_wording() {
        assert_eq!(
            limit_message(&RateLimitConfig::default()),
            "Rate Limit Reached - 300 Requests per rolling 5 minute window"
        );
        assert_eq!(
            limit_message(&cfg(10, 1000, false)),
            "Rate Limit Reached - 10 Requests per rolling 1 second window"
        );
    }
}
