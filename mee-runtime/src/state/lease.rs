//! Leases: which process works on a pipeline index, so that two followers (`mee run`) or two full
//! updates (`mee update`) of one index never run at once, and `mee update` knows whether a
//! follower will take over the alias move.
//!
//! A lease lives in the [`PipelineState`](super::PipelineState) (`follower`, `updater`) and is
//! renewed every [`LEASE_RENEW`] by its holder. It counts as held while renewed within
//! [`LEASE_TTL`], unless its holder is known to be gone: a process on this host that no longer
//! exists (so a restart after a crash does not wait for the lease to expire), or an earlier holder
//! in this very process that did not release it.

use super::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A lease not renewed for this long is free.
pub const LEASE_TTL: Duration = Duration::from_secs(15);

/// How often a holder renews its lease.
pub const LEASE_RENEW: Duration = Duration::from_secs(3);

/// Who holds a lease and since when.
///
/// Stored as `{"owner": {"host", "pid", "token"}, "acquired_at", "renewed_at"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// json: `owner`
    pub owner: LeaseOwner,
    /// json: `acquired_at`
    pub acquired_at: Timestamp,
    /// json: `renewed_at`
    pub renewed_at: Timestamp,
}

/// One holder: a process on a host, and a token that tells apart several holders in one process
/// (and a restarted process that got the same pid).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaseOwner {
    /// json: `host`
    pub host: String,
    /// json: `pid`
    pub pid: u32,
    /// json: `token`
    pub token: String,
}

/// Tokens of the holders alive in this process (see [`LeaseOwner::current`]).
static LIVE_TOKENS: Mutex<Option<HashSet<String>>> = Mutex::new(None);
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

impl LeaseOwner {
    /// A new holder in this process. It counts as alive until [`LeaseOwner::retire`].
    pub fn current() -> Self {
        let n = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        let token = format!("{}-{n}", Timestamp::now().as_millis());
        live_tokens(|t| {
            t.insert(token.clone());
        });
        LeaseOwner {
            host: host_name(),
            pid: std::process::id(),
            token,
        }
    }

    /// This holder is done: a lease it left behind is free from now on.
    pub fn retire(&self) {
        live_tokens(|t| {
            t.remove(&self.token);
        });
    }

    /// Whether the holder is known to be gone (only knowable on the same host).
    fn is_gone(&self) -> bool {
        if self.host != host_name() {
            return false;
        }
        if self.pid == std::process::id() {
            return !live_tokens(|t| t.contains(&self.token));
        }
        // Linux: a process that exists has a /proc entry. Elsewhere, rely on the TTL.
        cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

impl std::fmt::Display for LeaseOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)
    }
}

impl Lease {
    pub fn new(owner: LeaseOwner, now: Timestamp) -> Self {
        Lease {
            owner,
            acquired_at: now,
            renewed_at: now,
        }
    }

    /// Whether someone other than `me` holds this lease at `now`.
    pub fn held_by_other(&self, me: &LeaseOwner, now: Timestamp) -> bool {
        self.owner != *me
            && now.saturating_since(self.renewed_at) < LEASE_TTL
            && !self.owner.is_gone()
    }
}

fn live_tokens<R>(f: impl FnOnce(&mut HashSet<String>) -> R) -> R {
    let mut guard = LIVE_TOKENS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    f(guard.get_or_insert_with(HashSet::new))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_lease_of_a_live_holder_is_held() {
        let holder = LeaseOwner::current();
        let me = LeaseOwner::current();
        let now = Timestamp::now();
        let lease = Lease::new(holder.clone(), now);
        assert!(lease.held_by_other(&me, now));
        assert!(!lease.held_by_other(&holder, now), "not against its holder");
        holder.retire();
        me.retire();
    }

    #[test]
    fn an_expired_lease_is_free() {
        let holder = LeaseOwner::current();
        let me = LeaseOwner::current();
        let now = Timestamp::now();
        let lease = Lease::new(
            holder.clone(),
            now.minus(LEASE_TTL + Duration::from_secs(1)),
        );
        assert!(!lease.held_by_other(&me, now));
        holder.retire();
        me.retire();
    }

    #[test]
    fn a_retired_holder_in_this_process_frees_its_lease_at_once() {
        let holder = LeaseOwner::current();
        let me = LeaseOwner::current();
        let now = Timestamp::now();
        let lease = Lease::new(holder.clone(), now);
        holder.retire();
        assert!(!lease.held_by_other(&me, now));
        me.retire();
    }

    #[test]
    fn a_dead_process_on_this_host_frees_its_lease_at_once() {
        let mut dead = LeaseOwner::current();
        dead.retire();
        // Pids are below 2^22 on Linux; this one cannot exist.
        dead.pid = u32::MAX - 1;
        let me = LeaseOwner::current();
        let now = Timestamp::now();
        assert!(!Lease::new(dead.clone(), now).held_by_other(&me, now));
        // On another host nothing can be known: the TTL decides.
        dead.host = "elsewhere.invalid".into();
        assert!(Lease::new(dead, now).held_by_other(&me, now));
        me.retire();
    }
}
