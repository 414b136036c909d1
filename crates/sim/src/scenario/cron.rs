//! Cron schedules as the Kubernetes CronJob controller reads them (standard five fields,
//! plus the `@hourly`-style macros).

/// A parsed schedule. (The parser lands with the scenario loader.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    pub text: String,
}
