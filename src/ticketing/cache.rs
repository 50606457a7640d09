//! What schemas are built from (the ticket type list, statuses, and each type's field
//! definitions), kept for `cache_ttl` so that C1's polling costs few Halo requests.
//!
//! Bounded: at most `max_types` type details are kept (the oldest is dropped first).
//! Times are passed in, so the expiry rules are tested without sleeping.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::halo::{Status, TicketType};

#[derive(Debug)]
struct Entry<T> {
    at: Instant,
    value: T,
}

#[derive(Debug, Default)]
struct Inner {
    types: Option<Entry<Vec<TicketType>>>,
    statuses: Option<Entry<Vec<Status>>>,
    details: HashMap<i64, Entry<TicketType>>,
    /// Unmappable fields already logged, by (type id, field name): logged once each.
    logged: HashSet<(i64, String)>,
}

#[derive(Debug)]
pub struct Cache {
    ttl: Duration,
    max_types: usize,
    inner: Mutex<Inner>,
}

const MAX_LOGGED: usize = 10_000;

impl Cache {
    pub fn new(ttl: Duration, max_types: usize) -> Self {
        Cache {
            ttl,
            max_types: max_types.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh<T: Clone>(&self, e: &Option<Entry<T>>, now: Instant) -> Option<T> {
        e.as_ref()
            .filter(|e| now.saturating_duration_since(e.at) < self.ttl)
            .map(|e| e.value.clone())
    }

    pub fn types(&self, now: Instant) -> Option<Vec<TicketType>> {
        self.fresh(&self.lock().types, now)
    }

    pub fn put_types(&self, value: Vec<TicketType>, now: Instant) {
        self.lock().types = Some(Entry { at: now, value });
    }

    pub fn statuses(&self, now: Instant) -> Option<Vec<Status>> {
        self.fresh(&self.lock().statuses, now)
    }

    pub fn put_statuses(&self, value: Vec<Status>, now: Instant) {
        self.lock().statuses = Some(Entry { at: now, value });
    }

    pub fn detail(&self, id: i64, now: Instant) -> Option<TicketType> {
        let inner = self.lock();
        inner
            .details
            .get(&id)
            .filter(|e| now.saturating_duration_since(e.at) < self.ttl)
            .map(|e| e.value.clone())
    }

    pub fn put_detail(&self, value: TicketType, now: Instant) {
        let mut inner = self.lock();
        if !inner.details.contains_key(&value.id) && inner.details.len() >= self.max_types {
            let oldest = inner
                .details
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                inner.details.remove(&id);
            }
        }
        inner.details.insert(value.id, Entry { at: now, value });
    }

    /// Forget everything (a schema change in Halo that must show at once).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.types = None;
        inner.statuses = None;
        inner.details.clear();
    }

    /// True the first time a (type, field) pair is reported.
    pub fn first_report(&self, type_id: i64, field: &str) -> bool {
        let mut inner = self.lock();
        if inner.logged.len() >= MAX_LOGGED {
            return false;
        }
        inner.logged.insert((type_id, field.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tt(id: i64) -> TicketType {
        TicketType {
            id,
            ..TicketType::default()
        }
    }

    #[test]
    fn entries_expire_after_ttl() {
        let c = Cache::new(Duration::from_secs(60), 10);
        let t0 = Instant::now();
        c.put_types(vec![tt(1)], t0);
        c.put_detail(tt(1), t0);
        assert_eq!(
            c.types(t0 + Duration::from_secs(59)).map(|v| v.len()),
            Some(1)
        );
        assert!(c.detail(1, t0 + Duration::from_secs(59)).is_some());
        assert!(c.types(t0 + Duration::from_secs(60)).is_none());
        assert!(c.detail(1, t0 + Duration::from_secs(61)).is_none());
        assert!(c.statuses(t0).is_none());
    }

    #[test]
    fn zero_ttl_caches_nothing() {
        let c = Cache::new(Duration::ZERO, 10);
        let t0 = Instant::now();
        c.put_types(vec![tt(1)], t0);
        assert!(c.types(t0).is_none());
    }

    #[test]
    fn details_are_bounded_oldest_first() {
        let c = Cache::new(Duration::from_secs(60), 2);
        let t0 = Instant::now();
        c.put_detail(tt(1), t0);
        c.put_detail(tt(2), t0 + Duration::from_secs(1));
        c.put_detail(tt(3), t0 + Duration::from_secs(2));
        let now = t0 + Duration::from_secs(3);
        assert!(c.detail(1, now).is_none());
        assert!(c.detail(2, now).is_some() && c.detail(3, now).is_some());
    }

    #[test]
    fn unmappable_fields_are_reported_once() {
        let c = Cache::new(Duration::from_secs(60), 2);
        assert!(c.first_report(3, "CFTime"));
        assert!(!c.first_report(3, "CFTime"));
        assert!(c.first_report(4, "CFTime"));
    }
}
