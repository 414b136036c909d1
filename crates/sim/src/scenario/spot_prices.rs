//! Spot prices replayed from a price history: one step function per (instance type, zone),
//! precomputed so that a price lookup is a binary search and the cost of an interval is exact.
//!
//! A series holds the price-change events of one (instance type, zone), as EC2
//! `DescribeSpotPriceHistory` returns them: each price holds until the next change. The first
//! recorded price is taken to hold before its time too (the history starts somewhere; the
//! price in force then is unknown, and the first one seen is the best estimate), and the last
//! one holds after the end. Pairs without history fall back to the catalog discount.

use std::sync::Arc;

use crate::scenario::catalog::catalog;
use crate::scenario::model::CapacityType;
use crate::time::SimDuration;

const MS_PER_HOUR: f64 = 3_600_000.0;

/// A price change: from `at` (simulated time) on, the price is `usd_per_hour`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PricePoint {
    pub at: SimDuration,
    pub usd_per_hour: f64,
}

/// The spot price of one instance type in one zone, as a step function of simulated time.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    pub instance_type: String,
    /// The zone name the scenario uses (`us-east-1a`), not the AWS zone ID.
    pub zone: String,
    points: Vec<PricePoint>,
    /// `cum_usd[i]`: the cost of one node from `points[0].at` to `points[i].at`, so the cost
    /// over many changes is two look-ups instead of a walk.
    cum_usd: Vec<f64>,
}

impl PriceSeries {
    /// A series from its change points. They must be non-empty and strictly increasing in
    /// time, with finite non-negative prices (the loader checks; anything else is a bug).
    pub fn new(instance_type: &str, zone: &str, points: Vec<PricePoint>) -> PriceSeries {
        assert!(!points.is_empty(), "a price series has at least one point");
        assert!(
            points.windows(2).all(|w| w[0].at < w[1].at),
            "price points are strictly increasing in time"
        );
        assert!(
            points
                .iter()
                .all(|p| p.usd_per_hour.is_finite() && p.usd_per_hour >= 0.0),
            "prices are finite and non-negative"
        );
        let mut cum_usd = Vec::with_capacity(points.len());
        let mut total = 0.0;
        cum_usd.push(0.0);
        for w in points.windows(2) {
            total += segment_usd(w[0].usd_per_hour, w[1].at.0 - w[0].at.0);
            cum_usd.push(total);
        }
        PriceSeries {
            instance_type: instance_type.to_string(),
            zone: zone.to_string(),
            points,
            cum_usd,
        }
    }

    pub fn points(&self) -> &[PricePoint] {
        &self.points
    }

    /// The index of the change in force at `t` (the first one before the first change).
    fn segment(&self, t: SimDuration) -> usize {
        self.points.partition_point(|p| p.at <= t).saturating_sub(1)
    }

    /// The price in force at `t`.
    pub fn price_usd_per_hour(&self, t: SimDuration) -> f64 {
        self.points[self.segment(t)].usd_per_hour
    }

    /// What one node costs from `from` to `to` (`from <= to`): the price integrated exactly
    /// over the changes in between.
    pub fn cost_usd(&self, from: SimDuration, to: SimDuration) -> f64 {
        assert!(from <= to, "an interval runs forward");
        let (i, j) = (self.segment(from), self.segment(to));
        let price = |k: usize| self.points[k].usd_per_hour;
        if i == j {
            return segment_usd(price(i), to.0 - from.0);
        }
        // The rest of the first segment, the whole ones in between, the start of the last.
        let head = segment_usd(price(i), self.points[i + 1].at.0 - from.0);
        let middle = self.cum_usd[j] - self.cum_usd[i + 1];
        let tail = segment_usd(price(j), to.0 - self.points[j].at.0);
        head + middle + tail
    }
}

fn segment_usd(usd_per_hour: f64, ms: i64) -> f64 {
    usd_per_hour * ms as f64 / MS_PER_HOUR
}

/// Every replayed series, sorted by (instance type, zone). Empty without a price history.
/// Cheap to clone: scenarios are cloned for sweeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpotPrices {
    series: Arc<Vec<PriceSeries>>,
}

impl SpotPrices {
    /// The table of `series`; at most one per (instance type, zone).
    pub fn new(mut series: Vec<PriceSeries>) -> SpotPrices {
        series.sort_by(|a, b| key(a).cmp(&key(b)));
        assert!(
            series.windows(2).all(|w| key(&w[0]) != key(&w[1])),
            "one series per (instance type, zone)"
        );
        SpotPrices {
            series: Arc::new(series),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    pub fn series(&self) -> &[PriceSeries] {
        &self.series
    }

    /// The index of the series of (`instance_type`, `zone`), for [`SpotPrices::get`].
    pub fn find(&self, instance_type: &str, zone: &str) -> Option<usize> {
        self.series
            .binary_search_by(|s| key(s).cmp(&(instance_type, zone)))
            .ok()
    }

    pub fn get(&self, index: usize) -> &PriceSeries {
        &self.series[index]
    }

    /// The replayed price of (`instance_type`, `zone`) at `t`, if the history has the pair.
    pub fn history_usd_per_hour(
        &self,
        instance_type: &str,
        zone: &str,
        t: SimDuration,
    ) -> Option<f64> {
        self.find(instance_type, zone)
            .map(|i| self.series[i].price_usd_per_hour(t))
    }

    /// The spot price of `instance_type` in `zone` at `t`: the replayed history, else the
    /// built-in catalog's discount from on-demand. `None` for a type in neither.
    pub fn price_usd_per_hour(
        &self,
        instance_type: &str,
        zone: &str,
        t: SimDuration,
    ) -> Option<f64> {
        self.history_usd_per_hour(instance_type, zone, t)
            .or_else(|| {
                catalog()
                    .get(instance_type)
                    .map(|it| it.price_usd_per_hour(CapacityType::Spot))
            })
    }
}

fn key(s: &PriceSeries) -> (&str, &str) {
    (s.instance_type.as_str(), s.zone.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: i64) -> SimDuration {
        SimDuration::from_secs(secs)
    }

    /// 0.36 $/h from the start, 0.72 $/h from 1 h, 0.18 $/h from 2 h.
    fn series() -> PriceSeries {
        let p = |at: i64, usd_per_hour: f64| PricePoint {
            at: s(at),
            usd_per_hour,
        };
        PriceSeries::new(
            "m5.large",
            "us-east-1a",
            vec![p(0, 0.36), p(3600, 0.72), p(7200, 0.18)],
        )
    }

    #[test]
    fn price_is_a_step_function() {
        let table = [
            (-10, 0.36), // before the first change: the first price
            (0, 0.36),
            (3599, 0.36),
            (3600, 0.72), // a change takes effect at its instant
            (7199, 0.72),
            (7200, 0.18),
            (86_400, 0.18), // after the last change it holds
        ];
        let sr = series();
        for (t, expect) in table {
            assert_eq!(sr.price_usd_per_hour(s(t)), expect, "t = {t} s");
        }
    }

    #[test]
    fn cost_integrates_exactly_over_changes() {
        fn check(from_s: i64, to_s: i64, expect_usd: f64) {
            let got = series().cost_usd(s(from_s), s(to_s));
            assert!(
                (got - expect_usd).abs() < 1e-12,
                "{from_s}..{to_s}: {got} != {expect_usd}"
            );
        }
        check(0, 0, 0.0);
        check(0, 1800, 0.18);
        check(1800, 5400, 0.36 / 2.0 + 0.72 / 2.0);
        check(1800, 9000, 0.36 / 2.0 + 0.72 + 0.18 / 2.0);
        check(-3600, 3600, 0.72);
        check(7200, 10_800, 0.18);
        check(3600, 7200, 0.72);
    }

    #[test]
    fn lookups_and_fallback() {
        let prices = SpotPrices::new(vec![series()]);
        assert_eq!(
            prices.price_usd_per_hour("m5.large", "us-east-1a", s(4000)),
            Some(0.72)
        );
        // No history for this zone: the catalog's spot discount.
        let catalog_spot = catalog()
            .get("m5.large")
            .unwrap()
            .price_usd_per_hour(CapacityType::Spot);
        assert_eq!(
            prices.price_usd_per_hour("m5.large", "us-east-1b", s(4000)),
            Some(catalog_spot)
        );
        assert_eq!(
            prices.history_usd_per_hour("m5.large", "us-east-1b", s(4000)),
            None
        );
        assert_eq!(
            prices.price_usd_per_hour("m5.huge", "us-east-1a", s(0)),
            None
        );
        assert!(SpotPrices::default().is_empty());
    }
}
