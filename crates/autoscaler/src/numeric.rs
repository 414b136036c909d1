//! Numeric helpers shared by the policies and the simulator.

/// `math.Round` (half away from zero) to an integer, exactly as `x.round() as i64` (NaN
/// included), without the libm call `f64::round` becomes on baseline x86-64 (it was a tenth
/// of a scheduling attempt, and most of building an HPA's samples). `x - trunc(x)` is exact
/// for every finite double; the saturating steps reproduce the cast's saturation beyond i64
/// and on infinities.
pub fn round_half_away(x: f64) -> i64 {
    let t = x as i64;
    let frac = x - t as f64;
    if frac >= 0.5 {
        t.saturating_add(1)
    } else if frac <= -0.5 {
        t.saturating_sub(1)
    } else {
        t
    }
}
