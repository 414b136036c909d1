//! Per-node-group exponential backoff after failed scale-ups (CA:
//! `utils/backoff/exponential_backoff.go`): 5 m first, doubling to 30 m, forgotten 3 h after
//! the last failure.

use std::collections::BTreeMap;

use super::settings::CaSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffEntry {
    pub duration_ms: i64,
    pub until_ms: i64,
    pub last_failure_ms: i64,
}

/// Backoff entries keyed by node group ID.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backoff {
    pub entries: BTreeMap<String, BackoffEntry>,
}

impl Backoff {
    /// Records a failure of `group` at `now_ms` and returns the time the backoff ends.
    /// A failure while still backed off keeps the current duration; one after the backoff
    /// ended doubles it; one more than the reset timeout after the last failure starts over.
    pub fn fail(&mut self, settings: &CaSettings, group: &str, now_ms: i64) -> i64 {
        let mut duration_ms = settings.initial_node_group_backoff_ms;
        if let Some(prev) = self.entries.get(group) {
            let forgotten =
                prev.last_failure_ms + settings.node_group_backoff_reset_timeout_ms < now_ms;
            if !forgotten {
                duration_ms = if prev.until_ms <= now_ms {
                    (prev.duration_ms * 2).min(settings.max_node_group_backoff_ms)
                } else {
                    prev.duration_ms
                };
            }
        }
        let until_ms = now_ms + duration_ms;
        self.entries.insert(
            group.to_string(),
            BackoffEntry {
                duration_ms,
                until_ms,
                last_failure_ms: now_ms,
            },
        );
        until_ms
    }

    pub fn is_backed_off(&self, group: &str, now_ms: i64) -> bool {
        self.entries.get(group).is_some_and(|e| now_ms < e.until_ms)
    }

    /// Drops entries whose history has been forgotten (`RemoveStaleBackoffData`).
    pub fn forget_stale(&mut self, settings: &CaSettings, now_ms: i64) {
        let reset = settings.node_group_backoff_reset_timeout_ms;
        self.entries
            .retain(|_, e| e.last_failure_ms + reset >= now_ms);
    }
}
