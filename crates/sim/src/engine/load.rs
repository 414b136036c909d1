//! Demand on a workload over virtual time, from its load model.

use crate::rng::{standard_normal, Stream};
use crate::scenario::model::{LoadModel, SyntheticLoad};
use crate::time::SimTime;

/// One instant on the wall clock, shared by every workload's load at that instant: the
/// hour of day, the weekday, and the daily cycle's cosine per peak hour, computed once
/// (a step has hundreds of workloads and a handful of distinct peak hours).
pub struct Instant {
    t: SimTime,
    hour: f64,
    weekend: bool,
    /// (peak hour's bits, cosine) already computed at this instant.
    cosines: Vec<(u64, f64)>,
}

impl Instant {
    /// `start_unix_s` anchors virtual time to the wall clock.
    pub fn new(t: SimTime, start_unix_s: i64) -> Instant {
        let unix_ms = start_unix_s * 1000 + t.0;
        // 1970-01-01 was a Thursday: day 0 = Thursday, so Saturday and Sunday are days 2 and 3.
        let weekday = (unix_ms.div_euclid(86_400_000) + 3).rem_euclid(7); // 0 = Monday
        Instant {
            t,
            hour: (unix_ms.rem_euclid(86_400_000)) as f64 / 3_600_000.0,
            weekend: weekday >= 5,
            cosines: Vec::new(),
        }
    }

    /// cos(2π (hour − peak) / 24), the same number for every workload with this peak hour.
    fn daily_cos(&mut self, peak_hour: f64) -> f64 {
        let key = peak_hour.to_bits();
        if let Some(&(_, c)) = self.cosines.iter().find(|(k, _)| *k == key) {
            return c;
        }
        let c = libm::cos(2.0 * std::f64::consts::PI * (self.hour - peak_hour) / 24.0);
        self.cosines.push((key, c));
        c
    }
}

/// Demand in requests per second at `at`; `noise` is the workload's own stream, drawn once
/// per call.
#[inline]
pub fn demand_rps(load: &LoadModel, at: &mut Instant, noise: &mut Stream) -> f64 {
    match load {
        LoadModel::Trace { step, values } => {
            if values.is_empty() || step.as_millis() <= 0 {
                return 0.0;
            }
            let i = (at.t.0 / step.as_millis()) as usize % values.len();
            values[i].max(0.0)
        }
        LoadModel::Synthetic(s) => synthetic(s, at, noise),
    }
}

#[inline]
fn synthetic(s: &SyntheticLoad, at: &mut Instant, noise: &mut Stream) -> f64 {
    let daily = 1.0 + s.daily_amplitude * at.daily_cos(s.daily_peak_hour);
    let weekly = if at.weekend {
        1.0 - s.weekly_amplitude
    } else {
        1.0
    };
    let mut v = s.base_rps * daily * weekly;
    if s.noise > 0.0 {
        v *= 1.0 + s.noise * standard_normal(noise);
    }
    let t = at.t;
    for spike in &s.spikes {
        if t.0 >= spike.at.0 && t.0 < spike.at.0 + spike.duration.0 {
            v *= spike.multiplier;
        }
    }
    v.max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Seed;
    use crate::scenario::model::Spike;
    use crate::time::SimDuration;

    fn flat(daily: f64, weekly: f64) -> LoadModel {
        LoadModel::Synthetic(SyntheticLoad {
            base_rps: 100.0,
            daily_amplitude: daily,
            daily_peak_hour: 14.0,
            weekly_amplitude: weekly,
            noise: 0.0,
            spikes: vec![Spike {
                at: SimDuration::from_secs(3600),
                duration: SimDuration::from_secs(60),
                multiplier: 3.0,
            }],
        })
    }

    #[test]
    fn seasonality_and_spikes() {
        let mut r = Seed(1).fork("n");
        // 2026-01-05 is a Monday.
        let monday = 1_767_571_200;
        let at = |h: i64| SimTime(h * 3_600_000);
        let m = flat(0.5, 0.0);
        assert!((demand_rps(&m, &mut Instant::new(at(14), monday), &mut r) - 150.0).abs() < 1e-9);
        assert!((demand_rps(&m, &mut Instant::new(at(2), monday), &mut r) - 50.0).abs() < 1e-9);
        let w = flat(0.0, 0.4);
        assert!(
            (demand_rps(&w, &mut Instant::new(at(5 * 24 + 3), monday), &mut r) - 60.0).abs() < 1e-9,
            "Saturday"
        );
        assert!(
            (demand_rps(&w, &mut Instant::new(at(4 * 24 + 3), monday), &mut r) - 100.0).abs()
                < 1e-9,
            "Friday"
        );
        assert!(
            (demand_rps(
                &w,
                &mut Instant::new(SimTime(3_600_000 + 1), monday),
                &mut r
            ) - 300.0)
                .abs()
                < 1e-9,
            "spike"
        );
    }

    #[test]
    fn trace_is_piecewise_constant_and_wraps() {
        let mut r = Seed(1).fork("n");
        let m = LoadModel::Trace {
            step: SimDuration::from_secs(60),
            values: std::sync::Arc::new(vec![1.0, 2.0, 3.0]),
        };
        assert_eq!(
            demand_rps(&m, &mut Instant::new(SimTime(59_999), 0), &mut r),
            1.0
        );
        assert_eq!(
            demand_rps(&m, &mut Instant::new(SimTime(60_000), 0), &mut r),
            2.0
        );
        assert_eq!(
            demand_rps(&m, &mut Instant::new(SimTime(180_000), 0), &mut r),
            1.0
        );
    }
}
