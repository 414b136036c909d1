//! The shortcut for all-ready pods against the general path: random observations of a
//! Utilization metric over resolved samples (ready, unready, initializing, pending, failed,
//! deleting and sample-less pods; missing, zero and huge requests; entries of count 0;
//! values past the pod list; samples outside it; both CPU and memory; every compatibility
//! switch the path reads) must give the same proposal, current value and error.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn random_pod(rng: &mut ChaCha8Rng) -> (Pod<'static>, ResolvedSample) {
    // Mostly pods the shortcut takes, so that both of its outcomes are exercised.
    let plain = rng.random_bool(0.7);
    let phase = if plain {
        PodPhase::Running
    } else {
        [
            PodPhase::Running,
            PodPhase::Pending,
            PodPhase::Failed,
            PodPhase::Unknown,
        ][rng.random_range(0..4)]
    };
    let start_ms = if plain || rng.random_bool(0.8) {
        Some(NOW - rng.random_range(0..600_000))
    } else {
        None
    };
    let ready = (plain || rng.random_bool(0.8)).then(|| ReadyCondition {
        status: if plain || rng.random_bool(0.5) {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        last_transition_ms: NOW - rng.random_range(0..600_000),
    });
    let pod = Pod {
        name: "p",
        phase,
        deleting: !plain && rng.random_bool(0.1),
        start_ms,
        ready,
        containers: &[],
        pod_requests: None,
        usage: None,
        count: if rng.random_bool(0.1) {
            0
        } else {
            rng.random_range(1..=30)
        },
    };
    let request_milli = match rng.random_range(0..20) {
        0 if !plain => None,
        1 => Some(0),
        2 => Some(i64::MAX / 4),
        _ => Some(rng.random_range(1..2_000)),
    };
    let sample = (plain || rng.random_bool(0.8)).then(|| random_sample(rng, NOW, 120_000));
    (
        pod,
        ResolvedSample {
            request_milli,
            sample,
        },
    )
}

/// A sample taken up to `max_age_ms` before `now`, now and then a huge one.
fn random_sample(rng: &mut ChaCha8Rng, now: i64, max_age_ms: i64) -> UsageSample {
    UsageSample {
        value: if rng.random_bool(0.02) {
            i64::MAX / 3
        } else {
            rng.random_range(0..3_000)
        },
        timestamp_ms: now - rng.random_range(0..max_age_ms),
        window_ms: [15_000, 30_000, 60_000][rng.random_range(0..3)],
    }
}

#[test]
fn all_ready_shortcut_proposes_as_the_general_path() {
    let mut taken = 0;
    for seed in 0..20_000 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (pods, mut per_pod): (Vec<_>, Vec<_>) = (0..rng.random_range(0..5))
            .map(|_| random_pod(&mut rng))
            .unzip();
        if rng.random_bool(0.05) {
            per_pod.push(random_pod(&mut rng).1);
        }
        let unlisted: Vec<i64> = if rng.random_bool(0.05) {
            vec![500]
        } else {
            vec![]
        };
        let mut settings = testing_settings();
        settings.compat.missing_pod_at_target_over_100 = rng.random_bool(0.5);
        settings.tolerance = [0.0, 0.1, 0.5][rng.random_range(0..3)];
        let inputs = [MetricInput::ResolvedUsage {
            per_pod: &per_pod,
            unlisted: &unlisted,
        }];
        let obs = Observation {
            namespace: "default",
            spec_replicas: rng.random_range(0..40),
            status_replicas: 0,
            pods: &pods,
            unlisted_usage: &[],
            metrics: &inputs,
            selector: SelectorCheck::Valid,
        };
        let resource = if rng.random_bool(0.8) {
            "cpu"
        } else {
            "memory"
        };
        let source = MetricSource::Resource {
            resource: resource.into(),
            container: None,
            target: ResourceTarget::Utilization(rng.random_range(1..150)),
        };
        let ctx = calc::Ctx {
            settings: &settings,
            obs: &obs,
            tolerances: calc::Tolerances {
                down: settings.tolerance,
                up: settings.tolerance,
            },
            now_ms: NOW,
        };
        let fast = calc::propose(&ctx, &source, &inputs[0]);
        let general = calc::propose_general(&ctx, &source, &inputs[0]);
        assert_eq!(
            fast, general,
            "seed {seed}: {pods:?} {per_pod:?} {unlisted:?}"
        );
        taken += usize::from(
            calc::all_ready_resolved(&ctx, &per_pod, &unlisted, resource == "cpu").is_some(),
        );
    }
    // The comparison means something only if the shortcut was taken often.
    assert!(taken > 5_000, "the shortcut was taken {taken} times");
}

/// `UniformMetrics` against `compute_metrics` over the same one-entry observation: once
/// prepared, every computation at that time or later, with any sample, must write what
/// `compute_metrics` writes. Specs vary in their metrics (a Utilization target of cpu or
/// memory, of the pod or a container, an AverageValue target, or two metrics) and in
/// per-direction tolerances; pods in their phase, readiness, start and count; requests
/// include none, zero and huge ones.
#[test]
fn uniform_metrics_are_compute_metrics() {
    let mut prepared = 0;
    for seed in 0..20_000 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (pod, resolved) = random_pod(&mut rng);
        let resource = if rng.random_bool(0.8) {
            "cpu"
        } else {
            "memory"
        };
        let target = rng.random_range(1..150);
        let mut spec = spec_with(match rng.random_range(0..10) {
            0 => MetricSource::Resource {
                resource: resource.into(),
                container: None,
                target: ResourceTarget::AverageValue(rng.random_range(1..2_000)),
            },
            1 => MetricSource::Resource {
                resource: resource.into(),
                container: Some("app".into()),
                target: ResourceTarget::Utilization(target),
            },
            _ => MetricSource::Resource {
                resource: resource.into(),
                container: None,
                target: ResourceTarget::Utilization(target),
            },
        });
        if rng.random_bool(0.05) {
            spec.metrics.push(spec.metrics[0].clone());
        }
        if rng.random_bool(0.3) {
            let mut b = Behavior::default();
            b.scale_up.tolerance = Some([0.0, 0.05, 0.3][rng.random_range(0..3)]);
            b.scale_down.tolerance = Some([0.0, 0.05, 0.3][rng.random_range(0..3)]);
            spec.behavior = Some(b);
        }
        let mut settings = testing_settings();
        settings.compat.missing_pod_at_target_over_100 = rng.random_bool(0.5);
        settings.compat.configurable_tolerance = rng.random_bool(0.8);
        settings.tolerance = [0.0, 0.1, 0.5][rng.random_range(0..3)];

        let request = resolved.request_milli;
        let Some(uniform) = UniformMetrics::prepare(&spec, &settings, &pod, request, NOW) else {
            continue;
        };
        prepared += 1;
        for _ in 0..4 {
            let now = NOW + rng.random_range(0..900_000);
            let sample = random_sample(&mut rng, now, 900_000);
            let spec_replicas = rng.random_range(0..40);
            let per_pod = [ResolvedSample {
                request_milli: request,
                sample: Some(sample),
            }];
            let inputs: Vec<_> = spec
                .metrics
                .iter()
                .map(|_| MetricInput::ResolvedUsage {
                    per_pod: &per_pod,
                    unlisted: &[],
                })
                .collect();
            let obs = Observation {
                namespace: "default",
                spec_replicas,
                status_replicas: spec_replicas,
                pods: std::slice::from_ref(&pod),
                unlisted_usage: &[],
                metrics: &inputs,
                selector: SelectorCheck::Valid,
            };
            let mut general = MetricsResult::default();
            compute_metrics(&spec, &settings, &obs, now, &mut general);
            // A result left from another HPA must be overwritten.
            let mut fast = MetricsResult {
                proposal: Some(77),
                metrics: vec![MetricStatus::default(); 2],
                scaling_active: None,
                selector_error: Some("stale".into()),
            };
            uniform.compute(sample.value, spec_replicas, &mut fast);
            assert_eq!(fast, general, "seed {seed}: {pod:?} {sample:?} {spec:?}");
        }
    }
    // The comparison means something only if many cases were prepared.
    assert!(prepared > 4_000, "{prepared} cases were prepared");
}
