//! The windowed recommendation store against the controller's list: long random runs of
//! syncs (proposals, irregular gaps including none and ones landing exactly on a window's
//! cutoff, both paths, windows 0..600 s, rescales feeding the scale-event stores) must give
//! the same normalization and the same decision at every step.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

/// One random HPA: legacy (with a random downscale flag) or behavior with random windows
/// and policies.
fn random_hpa(rng: &mut ChaCha8Rng) -> (HpaSpec, ControllerSettings) {
    // Multiples of 5 s make gaps land exactly on cutoffs; an odd millisecond part checks the
    // behavior path's truncation of the flag to whole seconds.
    let flag_ms = rng.random_range(0..=120) * 5_000 + if rng.random_bool(0.2) { 300 } else { 0 };
    let settings = ControllerSettings {
        downscale_stabilization_ms: flag_ms,
        ..testing_settings()
    };
    let mut rules = |base: ScalingRules| ScalingRules {
        stabilization_window_s: if rng.random_bool(0.8) {
            Some(rng.random_range(0..=120) * 5)
        } else {
            base.stabilization_window_s
        },
        select_policy: [SelectPolicy::Max, SelectPolicy::Min, SelectPolicy::Disabled]
            [rng.random_range(0..3)],
        policies: (0..rng.random_range(1..=3))
            .map(|_| ScalingPolicy {
                kind: if rng.random_bool(0.5) {
                    PolicyKind::Pods
                } else {
                    PolicyKind::Percent
                },
                value: rng.random_range(1..=150),
                period_s: rng.random_range(1..=60) * 5,
            })
            .collect(),
        tolerance: None,
    };
    let behavior = Behavior {
        scale_up: rules(ScalingRules::default_scale_up()),
        scale_down: rules(ScalingRules::default_scale_down()),
    };
    let behavior = rng.random_bool(0.5).then_some(behavior);
    let (min, max) = (rng.random_range(0..=3), rng.random_range(4..=40));
    (normalize::hpa(min, max, behavior), settings)
}

/// How the proposals move: at random, or steadily falling or rising so that the windowed
/// store's deques hold a whole window and recycle their storage.
#[derive(Debug, Clone, Copy)]
enum Trend {
    Random,
    Falling,
    Rising,
}

/// Runs one random HPA for `steps` syncs on both stores, failing at the first difference.
fn check(seed: u64, steps: usize, trend: Trend) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (spec, settings) = random_hpa(&mut rng);
    let (mut list, mut windowed) = (HpaState::default(), WindowedState::default());
    let (mut decision_list, mut decision_windowed) = (Decision::default(), Decision::default());
    let mut now = NOW;
    let mut current = rng.random_range(spec.min_replicas..=spec.max_replicas);
    for step in 0..steps {
        now += match rng.random_range(0..10) {
            0 => 0,
            1 => rng.random_range(1..=700_000),
            _ => rng.random_range(1..=6) * 5_000,
        };
        if rng.random_bool(0.05) {
            // Someone else resized the target (possibly out of bounds or to zero).
            current = rng.random_range(0..=spec.max_replicas + 3);
        }
        let proposal = match trend {
            Trend::Random => rng.random_range(0..=spec.max_replicas + 8),
            Trend::Falling => 100_000 - step as i32,
            Trend::Rising => step as i32,
        };
        let at = format!("{trend:?} seed {seed} step {step} now {now} spec {spec:?} {settings:?}");
        let in_bounds = (spec.min_replicas..=spec.max_replicas).contains(&current);
        match rng.random_range(0..10) {
            0..3 if in_bounds => {
                // Normalization alone, as the reconcile calls it.
                list.record_initial(current, now);
                windowed.record_initial(current, now);
                let a = normalize_proposal(&spec, &settings, &mut list, current, proposal, now);
                let b = normalize_proposal(&spec, &settings, &mut windowed, current, proposal, now);
                assert_eq!(a, b, "normalized: {at}");
                continue;
            }
            3..5 => {
                // The stores' own answers, before limits and clamping can hide a difference.
                list.record_initial(current, now);
                windowed.record_initial(current, now);
                assert_eq!(
                    stabilized(&spec, &settings, &mut list, proposal, now),
                    stabilized(&spec, &settings, &mut windowed, proposal, now),
                    "window extremes: {at}"
                );
                continue;
            }
            _ => {}
        }
        let metrics = MetricsResult {
            proposal: (!rng.random_bool(0.05)).then_some(proposal),
            ..MetricsResult::default()
        };
        let (d_list, d_windowed) = (&mut decision_list, &mut decision_windowed);
        reconcile_outcome(&spec, &settings, current, &metrics, &mut list, now, d_list);
        reconcile_outcome(
            &spec,
            &settings,
            current,
            &metrics,
            &mut windowed,
            now,
            d_windowed,
        );
        assert_same(&decision_list, &list, &decision_windowed, &windowed, &at);
        current = decision_list.desired_replicas;
    }
}

/// The same decision and the same scale events from the controller's list and the windowed
/// store.
fn assert_same(a: &Decision, list: &HpaState, b: &Decision, windowed: &WindowedState, at: &str) {
    assert_eq!(a, b, "decision: {at}");
    assert_eq!(list.scale_up_events, windowed.scale_up_events, "{at}");
    assert_eq!(list.scale_down_events, windowed.scale_down_events, "{at}");
}

/// The window extremes a store gives for `proposal` on the spec's path, with the cutoffs
/// normalization uses: `(max, max)` on the legacy path, `(up min, down max)` with behavior.
fn stabilized(
    spec: &HpaSpec,
    settings: &ControllerSettings,
    store: &mut impl Stores,
    proposal: i32,
    now: i64,
) -> (i32, i32) {
    let flag_ms = settings.downscale_stabilization_ms;
    match &spec.behavior {
        None => {
            let max = store.stabilize_legacy(proposal, now - flag_ms, now);
            (max, max)
        }
        Some(b) => {
            let window_ms = |r: &ScalingRules| {
                r.stabilization_window_s
                    .map_or(flag_ms / 1000 * 1000, |s| i64::from(s) * 1000)
            };
            let (up, down) = (window_ms(&b.scale_up), window_ms(&b.scale_down));
            store.stabilize_behavior(proposal, now - up, now - down, now)
        }
    }
}

#[test]
fn windowed_store_decides_as_the_list() {
    for seed in 0..600 {
        check(seed, 400, Trend::Random);
    }
    for seed in 0..40 {
        check(seed, 2000, Trend::Falling);
        check(seed, 2000, Trend::Rising);
    }
}

#[test]
fn windowed_store_rejects_a_clock_going_back() {
    let mut s = WindowedState::default();
    s.record_initial(3, NOW);
    s.stabilize_legacy(4, NOW - 300_000, NOW);
    let back = std::panic::catch_unwind(move || s.stabilize_legacy(4, NOW - 301_000, NOW - 1000));
    assert!(back.is_err(), "a clock going back must panic");
}

/// Syncs of one random HPA whose inputs (metrics and current replicas) change now and then:
/// the reference reconciles at every sync on the controller's list; the other skips the
/// syncs [`steady_until`] says repeat the last reconcile, catching up with
/// [`WindowedState::repeat_last`] before its next one. Every sync must decide the same.
/// Returns how many syncs were skipped.
fn check_skipping(seed: u64, steps: usize) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (spec, settings) = random_hpa(&mut rng);
    let (mut list, mut windowed) = (HpaState::default(), WindowedState::default());
    let (mut reference, mut skipping) = (Decision::default(), Decision::default());
    let mut now = NOW;
    let mut current = rng.random_range(spec.min_replicas..=spec.max_replicas);
    let mut metrics = MetricsResult {
        proposal: Some(current),
        ..MetricsResult::default()
    };
    // What the last reconcile of the skipping side was made with, and what it allows.
    let (mut made_with, mut steady, mut skipped_at) = (None, None::<Steady>, None);
    let mut skipped = 0;
    for step in 0..steps {
        now += match rng.random_range(0..20) {
            0 => 0,
            1 => rng.random_range(1..=400_000),
            2 => rng.random_range(1..=6) * 5_000,
            _ => 15_000,
        };
        if rng.random_bool(0.08) {
            metrics.proposal =
                (!rng.random_bool(0.05)).then(|| rng.random_range(0..=spec.max_replicas + 8));
        }
        if rng.random_bool(0.02) {
            // Someone else resized the target (possibly out of bounds or to zero).
            current = rng.random_range(0..=spec.max_replicas + 3);
        }
        let at = format!("seed {seed} step {step} now {now} spec {spec:?} {settings:?}");
        reconcile_outcome(
            &spec,
            &settings,
            current,
            &metrics,
            &mut list,
            now,
            &mut reference,
        );
        let inputs = Some((metrics.proposal, current));
        match steady {
            Some(s) if made_with == inputs && now <= s.until_ms => {
                skipped_at = Some(now);
                skipped += 1;
            }
            _ => {
                if let (Some(s), Some(t)) = (steady, skipped_at.take()) {
                    windowed.repeat_last(s, t);
                }
                reconcile_outcome(
                    &spec,
                    &settings,
                    current,
                    &metrics,
                    &mut windowed,
                    now,
                    &mut skipping,
                );
                steady = steady_until(
                    &spec, &settings, current, &metrics, &windowed, &skipping, now,
                );
                made_with = inputs;
            }
        }
        assert_same(&reference, &list, &skipping, &windowed, &at);
        current = reference.desired_replicas;
    }
    skipped
}

#[test]
fn skipping_steady_reconciles_decides_as_reconciling_every_sync() {
    let skipped: usize = (0..800).map(|seed| check_skipping(seed, 400)).sum();
    // Most syncs repeat the last one; the check is only as good as the skips it made.
    assert!(skipped > 800 * 200, "only {skipped} syncs skipped");
}
