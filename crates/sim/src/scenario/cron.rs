//! Cron schedules as the Kubernetes CronJob controller reads them (standard five fields,
//! plus the `@hourly`-style macros).

/// A parsed schedule. (The parser lands with the scenario loader.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    pub text: String,
}

impl CronSchedule {
    /// The first scheduled instant strictly after `unix_s`. (Interim: the real parser lands
    /// with the scenario loader.)
    pub fn next_after(&self, _unix_s: i64) -> Option<i64> {
        None
    }
}
