//! Slowing down repeated sign-in failures, as Cognito does: after a few free failures
//! for a user (or from an address), each further attempt waits an exponentially
//! growing delay (1 s, 2 s, 4 s, ... up to 15 minutes), then a success or a quiet
//! period clears it. Nobody is ever locked out for good, and the right password is
//! accepted again once the delay has passed. Counters live in this process (each
//! gateway instance throttles what it serves).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one user allowed before any delay.
pub const USER_FREE: u32 = 5;
/// Failures from one address allowed before any delay (many users may share one).
pub const IP_FREE: u32 = 50;
/// Longest delay between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Entries are kept at most this long after their last failure.
const FORGET_AFTER: Duration = Duration::from_secs(30 * 60);
/// Bound on remembered keys; past it, forgotten entries are dropped first.
const MAX_KEYS: usize = 200_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last: Instant,
}

#[derive(Debug)]
pub struct Throttle {
    free: u32,
    entries: Mutex<HashMap<String, Entry>>,
}

fn delay(free: u32, failures: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let exp = (failures - free).min(10);
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

impl Throttle {
    /// A throttle that lets `free` failures through before slowing down.
    pub fn new(free: u32) -> Self {
        Self {
            free,
            entries: Mutex::default(),
        }
    }

    /// How long `key` must still wait before its next attempt (zero: go ahead).
    pub fn wait(&self, key: &str, now: Instant) -> Duration {
        let Ok(map) = self.entries.lock() else {
            return Duration::ZERO;
        };
        map.get(key).map_or(Duration::ZERO, |e| {
            (e.last + delay(self.free, e.failures)).saturating_duration_since(now)
        })
    }

    /// Counts a failure of `key`.
    pub fn failed(&self, key: &str, now: Instant) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, e| now.saturating_duration_since(e.last) < FORGET_AFTER);
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        let e = map.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(e.last) >= FORGET_AFTER {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last = now;
    }

    /// Clears `key` after a success.
    pub fn succeeded(&self, key: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slows_down_then_lets_through() {
        let t = Throttle::new(USER_FREE);
        let start = Instant::now();
        for _ in 0..USER_FREE - 1 {
            t.failed("u", start);
        }
        assert_eq!(t.wait("u", start), Duration::ZERO);
        t.failed("u", start);
        assert_eq!(t.wait("u", start), Duration::from_secs(1));
        t.failed("u", start);
        assert_eq!(t.wait("u", start), Duration::from_secs(2));
        // Once the delay has passed, an attempt is allowed again.
        assert_eq!(t.wait("u", start + Duration::from_secs(2)), Duration::ZERO);
        // Other keys are not affected.
        assert_eq!(t.wait("v", start), Duration::ZERO);
        // Many failures are capped at 15 minutes, never a permanent lock.
        for _ in 0..100 {
            t.failed("u", start);
        }
        assert_eq!(t.wait("u", start), MAX_DELAY);
        assert_eq!(t.wait("u", start + MAX_DELAY), Duration::ZERO);
        t.succeeded("u");
        assert_eq!(t.wait("u", start), Duration::ZERO);
    }

    #[test]
    fn a_quiet_period_forgets() {
        let t = Throttle::new(USER_FREE);
        let start = Instant::now();
        for _ in 0..20 {
            t.failed("u", start);
        }
        let later = start + FORGET_AFTER;
        t.failed("u", later);
        assert_eq!(t.wait("u", later), Duration::ZERO);
    }
}
