//! Seeded randomness split into named sub-streams.
//!
//! One master seed drives a run. Every subsystem draws from its own stream, derived from the
//! seed and the stream's name (`fork("startup")`), so adding a subsystem or a draw in one
//! stream never shifts the draws of another. Streams are ChaCha8, whose output is specified
//! and portable. Transcendental functions go through `libm` (pure Rust, the same bits on
//! every platform), never the system math library, so a report is byte-identical anywhere.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::model::Distribution;
use crate::time::SimDuration;

/// A deterministic random stream.
pub type Stream = ChaCha8Rng;

/// The master seed, from which named streams are forked.
#[derive(Debug, Clone, Copy)]
pub struct Seed(pub u64);

impl Seed {
    /// The stream named `name`: independent of every other name's stream.
    pub fn fork(self, name: &str) -> Stream {
        // FNV-1a over the name, mixed with the seed by SplitMix64: cheap and stable forever.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut state = self.0 ^ h.rotate_left(17);
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        ChaCha8Rng::from_seed(seed)
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) with 53 bits.
pub fn unit(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box-Muller through libm).
pub fn standard_normal(rng: &mut impl RngCore) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]
    let u2 = unit(rng);
    libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
}

/// True with probability `p`.
pub fn bernoulli(rng: &mut impl RngCore, p: f64) -> bool {
    p > 0.0 && unit(rng) < p
}

impl Distribution {
    /// One sample, never negative.
    pub fn sample(&self, rng: &mut impl RngCore) -> SimDuration {
        let ms = match *self {
            Distribution::Constant(d) => return d,
            Distribution::LogNormal { median, sigma } => {
                median.as_millis() as f64 * libm::exp(sigma * standard_normal(rng))
            }
            Distribution::Uniform { min, max } => {
                let (a, b) = (min.as_millis() as f64, max.as_millis() as f64);
                a + (b - a) * unit(rng)
            }
            Distribution::Exponential { mean } => {
                -(mean.as_millis() as f64) * libm::log(1.0 - unit(rng))
            }
        };
        // A sample is capped at 30 days so an extreme draw cannot stall a run.
        SimDuration(ms.round().clamp(0.0, 2_592_000_000.0) as i64)
    }

    /// The distribution's median, for summaries.
    pub fn median(&self) -> SimDuration {
        match *self {
            Distribution::Constant(d) => d,
            Distribution::LogNormal { median, .. } => median,
            Distribution::Uniform { min, max } => SimDuration((min.0 + max.0) / 2),
            Distribution::Exponential { mean } => {
                SimDuration((mean.0 as f64 * std::f64::consts::LN_2) as i64)
            }
        }
    }
}

/// An index in `0..n`, uniformly (n > 0).
pub fn index(rng: &mut impl Rng, n: usize) -> usize {
    assert!(n > 0);
    rng.random_range(0..n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forks_are_stable_and_independent() {
        let s = Seed(42);
        let a1: Vec<u64> = (0..4).map(|_| s.fork("a").next_u64()).collect();
        assert!(
            a1.windows(2).all(|w| w[0] == w[1]),
            "same name, same stream"
        );
        assert_ne!(s.fork("a").next_u64(), s.fork("b").next_u64());
        assert_ne!(Seed(1).fork("a").next_u64(), Seed(2).fork("a").next_u64());
    }

    #[test]
    fn lognormal_median_is_close() {
        let mut r = Seed(7).fork("t");
        let d = Distribution::LogNormal {
            median: SimDuration::from_secs(90),
            sigma: 0.5,
        };
        let mut v: Vec<i64> = (0..20_001).map(|_| d.sample(&mut r).0).collect();
        v.sort_unstable();
        let med = v[10_000] as f64 / 1000.0;
        assert!((med - 90.0).abs() < 3.0, "median {med}");
    }
}
