//! Spot interruption hazard per AWS Spot Instance Advisor bucket.
//!
//! The Advisor publishes, per instance type and region, a bucket for "frequency of
//! interruption over the trailing month": `<5%`, `5-10%`, `10-15%`, `15-20%`, `>20%`
//! (`shared/data/pricing`, `interruption_bucket` 0..4). We read a bucket as the probability
//! that a spot instance running for a month (30 days) is interrupted in it, take the bucket's
//! midpoint (25 % for the open-ended `>20%` bucket: an assumption, the feed gives no upper
//! edge), and turn it into a constant hazard rate:
//!
//! `hazard_per_hour = -ln(1 - p_month) / 720`
//!
//! so the time to interruption is exponential and the month-long survival matches the
//! bucket. Scenarios override the per-bucket probabilities with [`SpotHazardTable::with_overrides`].
//! AWS gives a 2-minute notice ([`INTERRUPTION_NOTICE_MS`]) before it reclaims the instance.

use rand::Rng;
use thiserror::Error;

/// The interruption notice AWS gives a spot instance.
pub const INTERRUPTION_NOTICE_MS: i64 = 120_000;
/// The Advisor's window: a month of 30 days.
pub const MONTH_HOURS: f64 = 720.0;
/// Bucket labels in index order, as the Advisor feed writes them.
pub const BUCKET_LABELS: [&str; 5] = ["<5%", "5-10%", "10-15%", "15-20%", ">20%"];

#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum SpotError {
    #[error(
        "unknown Spot Advisor bucket {0:?} (expected one of <5%, 5-10%, 10-15%, 15-20%, >20%)"
    )]
    UnknownBucket(String),
    #[error(
        "monthly interruption probability for bucket {bucket} must be within 0..1, got {value}"
    )]
    Probability { bucket: String, value: f64 },
}

/// Monthly interruption probability per Advisor bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpotHazardTable {
    pub monthly_probability: [f64; 5],
}

impl Default for SpotHazardTable {
    /// Bucket midpoints: 2.5 %, 7.5 %, 12.5 %, 17.5 %, 25 %.
    fn default() -> Self {
        SpotHazardTable {
            monthly_probability: [0.025, 0.075, 0.125, 0.175, 0.25],
        }
    }
}

impl SpotHazardTable {
    /// Replaces the probability of the named buckets (`">20%": 0.4`).
    pub fn with_overrides<'a>(
        mut self,
        overrides: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Self, SpotError> {
        for (label, p) in overrides {
            let b =
                bucket_index(label).ok_or_else(|| SpotError::UnknownBucket(label.to_string()))?;
            if !(0.0..1.0).contains(&p) {
                return Err(SpotError::Probability {
                    bucket: label.to_string(),
                    value: p,
                });
            }
            self.monthly_probability[b] = p;
        }
        Ok(self)
    }

    /// Interruptions per instance-hour for a bucket label; `None` for an unknown label.
    pub fn hazard_per_hour(&self, label: &str) -> Option<f64> {
        bucket_index(label).map(|b| -(1.0 - self.monthly_probability[b]).ln() / MONTH_HOURS)
    }
}

/// The bucket index of an Advisor label.
pub fn bucket_index(label: &str) -> Option<usize> {
    BUCKET_LABELS.iter().position(|l| *l == label)
}

/// Probability of at least one interruption within `dt_ms` at a constant hazard.
pub fn interruption_probability(hazard_per_hour: f64, dt_ms: i64) -> f64 {
    1.0 - (-hazard_per_hour * dt_ms as f64 / 3_600_000.0).exp()
}

/// Draws the time until the next interruption (exponential); `None` for a zero hazard.
pub fn sample_time_to_interruption_ms(hazard_per_hour: f64, rng: &mut impl Rng) -> Option<i64> {
    if hazard_per_hour <= 0.0 {
        return None;
    }
    // 1 - U lies in (0, 1], so the logarithm is finite.
    let u: f64 = 1.0 - rng.random::<f64>();
    Some((-u.ln() / hazard_per_hour * 3_600_000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn month_survival_matches_bucket() {
        fn check(label: &str, expect_p: f64) {
            let t = SpotHazardTable::default();
            let h = t.hazard_per_hour(label).unwrap();
            let p = interruption_probability(h, (MONTH_HOURS * 3_600_000.0) as i64);
            assert!((p - expect_p).abs() < 1e-9, "{label}: {p}");
        }
        check("<5%", 0.025);
        check("5-10%", 0.075);
        check("10-15%", 0.125);
        check("15-20%", 0.175);
        check(">20%", 0.25);
    }

    #[test]
    fn overrides_and_errors() {
        let t = SpotHazardTable::default()
            .with_overrides([(">20%", 0.5)])
            .unwrap();
        assert_eq!(t.monthly_probability[4], 0.5);
        assert!(matches!(
            SpotHazardTable::default().with_overrides([("30%", 0.1)]),
            Err(SpotError::UnknownBucket(_))
        ));
        assert!(matches!(
            SpotHazardTable::default().with_overrides([("<5%", 1.0)]),
            Err(SpotError::Probability { .. })
        ));
        assert_eq!(SpotHazardTable::default().hazard_per_hour("nope"), None);
    }

    #[test]
    fn sampled_mean_follows_hazard() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let h = 0.01;
        let n = 20_000;
        let mean_h: f64 = (0..n)
            .map(|_| sample_time_to_interruption_ms(h, &mut rng).unwrap() as f64 / 3.6e6)
            .sum::<f64>()
            / n as f64;
        assert!((mean_h - 100.0).abs() < 3.0, "{mean_h}");
        assert_eq!(sample_time_to_interruption_ms(0.0, &mut rng), None);
    }
}
