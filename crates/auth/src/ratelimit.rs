//! Login throttling: token buckets per account and per client address, in memory.
//!
//! Invariants: an attempt is allowed only if BOTH its account bucket and its address bucket
//! hold a token (and then both are charged); buckets refill continuously; the table is
//! bounded by [`MAX_TRACKED_KEYS`] — when full, buckets that have refilled completely are
//! dropped first (they carry no information), then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::clock::Clock;
use crate::error::{AuthError, Result};

/// Most buckets kept in memory (accounts + addresses).
pub const MAX_TRACKED_KEYS: usize = 100_000;
/// Default burst of login attempts per account.
pub const DEFAULT_ACCOUNT_BURST: u32 = 5;
/// Default sustained rate per account: one attempt per this many seconds.
pub const DEFAULT_ACCOUNT_REFILL_SECS: u64 = 60;
/// Default burst of login attempts per client address.
pub const DEFAULT_ADDRESS_BURST: u32 = 20;
/// Default sustained rate per address: one attempt per this many seconds.
pub const DEFAULT_ADDRESS_REFILL_SECS: u64 = 6;

/// A bucket's size and refill speed.
#[derive(Debug, Clone, Copy)]
pub struct BucketConfig {
    /// Tokens when full (the burst).
    pub burst: u32,
    /// Milliseconds to regain one token.
    pub refill_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens in thousandths, to refill smoothly.
    milli_tokens: u64,
    updated_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Address(IpAddr),
}

/// The login rate limiter.
#[derive(Debug)]
pub struct LoginLimiter {
    account: BucketConfig,
    address: BucketConfig,
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl LoginLimiter {
    /// A limiter with the default buckets.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_config(
            BucketConfig {
                burst: DEFAULT_ACCOUNT_BURST,
                refill_ms: DEFAULT_ACCOUNT_REFILL_SECS * 1000,
            },
            BucketConfig {
                burst: DEFAULT_ADDRESS_BURST,
                refill_ms: DEFAULT_ADDRESS_REFILL_SECS * 1000,
            },
            clock,
        )
    }

    /// A limiter with explicit buckets.
    pub fn with_config(
        account: BucketConfig,
        address: BucketConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        LoginLimiter {
            account,
            address,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn level(cfg: BucketConfig, b: Option<&Bucket>, now: u64) -> u64 {
        let full = u64::from(cfg.burst) * 1000;
        match b {
            None => full,
            Some(b) => {
                let gained =
                    now.saturating_sub(b.updated_ms).saturating_mul(1000) / cfg.refill_ms.max(1);
                b.milli_tokens.saturating_add(gained).min(full)
            }
        }
    }

    /// Records a login attempt for `account` (normalised to lower case) from `addr`;
    /// `rate_limited` (with the wait) if either bucket is empty.
    pub fn check(&self, account: &str, addr: IpAddr) -> Result<()> {
        let now = self.clock.now_ms();
        let ka = Key::Account(account.trim().to_lowercase());
        let kb = Key::Address(addr);
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let la = Self::level(self.account, map.get(&ka), now);
        let lb = Self::level(self.address, map.get(&kb), now);
        if la < 1000 || lb < 1000 {
            let wait = |level: u64, cfg: BucketConfig| {
                if level >= 1000 {
                    0
                } else {
                    ((1000 - level) * cfg.refill_ms.max(1)).div_ceil(1000)
                }
            };
            let wait_ms = wait(la, self.account).max(wait(lb, self.address));
            return Err(AuthError::RateLimited {
                retry_after_secs: wait_ms.div_ceil(1000).max(1),
            });
        }
        if map.len() + 2 > MAX_TRACKED_KEYS {
            self.evict(&mut map, now);
        }
        map.insert(
            ka,
            Bucket {
                milli_tokens: la - 1000,
                updated_ms: now,
            },
        );
        map.insert(
            kb,
            Bucket {
                milli_tokens: lb - 1000,
                updated_ms: now,
            },
        );
        Ok(())
    }

    /// Forgets the account's bucket (after a successful login).
    pub fn reset_account(&self, account: &str) {
        let mut map = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(&Key::Account(account.trim().to_lowercase()));
    }

    /// Number of buckets tracked.
    pub fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    fn evict(&self, map: &mut HashMap<Key, Bucket>, now: u64) {
        let (account, address) = (self.account, self.address);
        map.retain(|k, b| {
            let cfg = match k {
                Key::Account(_) => account,
                Key::Address(_) => address,
            };
            Self::level(cfg, Some(b), now) < u64::from(cfg.burst) * 1000
        });
        while map.len() + 2 > MAX_TRACKED_KEYS {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, b)| b.updated_ms)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn per_account_and_per_address() {
        let clock = Arc::new(ManualClock::new(0));
        let cfg = |burst, refill_ms| BucketConfig { burst, refill_ms };
        let l = LoginLimiter::with_config(cfg(3, 10_000), cfg(5, 1_000), clock.clone());
        let a: IpAddr = "10.0.0.1".parse().expect("ip");
        let b: IpAddr = "10.0.0.2".parse().expect("ip");
        for _ in 0..3 {
            l.check("Alice@x", a).expect("within burst");
        }
        let e = l
            .check("alice@x", b)
            .expect_err("account bucket empty, any address");
        assert_eq!(e.reason(), "rate_limited");
        assert!(
            matches!(
                e,
                AuthError::RateLimited {
                    retry_after_secs: 10
                }
            ),
            "{e:?}"
        );
        l.check("bob@x", a)
            .expect("other account from same address");
        l.check("carol@x", a).expect("5th from address a");
        assert!(l.check("dave@x", a).is_err(), "address bucket empty");
        clock.advance_secs(1);
        l.check("dave@x", a).expect("address refilled one token");
        clock.advance_secs(10);
        l.check("alice@x", b).expect("account refilled");
        l.reset_account("ALICE@x");
        assert_eq!(l.tracked(), 5);
    }
}
