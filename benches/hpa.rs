//! One HPA reconcile, the simulator's hot path: a CPU-utilization HPA over 30 pods (and a
//! variant with 3 metrics), with state carried from sync to sync every 15 s; the same 30
//! pods as one counted entry (`Pod::count`), and a reconcile that reuses its metrics (with the
//! controller's list, and as the simulator runs it: `reconcile_outcome` on a `WindowedState`,
//! the stabilization window of 5 min holding 20 recommendations); and one metrics computation
//! for the counted entry, from an observation and through `UniformMetrics`. The issue's
//! budget is well under 100 ns per reconcile on average (300 HPAs × 15 s × 30 days).
//!
//! Time is the thread's on-CPU time (`/proc/thread-self/schedstat`, wall time where that is
//! unavailable), so that figures stay meaningful on a machine shared with other builds.

use autoscaler::hpa::{
    compute_metrics, reconcile_outcome, reconcile_with_metrics, MetricsResult, ResolvedSample,
    SelectorCheck, UniformMetrics, UsageSample, WindowedState,
};
use autoscaler::hpa::{
    reconcile, Behavior, ConditionStatus, Container, ContainerUsage, ControllerSettings, Decision,
    HpaSpec, HpaState, MetricInput, MetricSource, MetricSpec, Observation, Pod, PodPhase, PodUsage,
    ReadyCondition, ResourceAmount, ResourceTarget, ValueTarget,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

/// Nanoseconds this thread has spent on a CPU, if the kernel says.
fn on_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Runs `f` `iters` times and returns the on-CPU (or wall) time it took.
fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let (cpu0, wall0) = (on_cpu_ns(), Instant::now());
    for _ in 0..iters {
        f();
    }
    // The kernel updates a running thread's total at scheduler ticks: a short sample can
    // read zero; long samples (criterion's later ones, or `--sample-size 10`) are accurate
    // to a tick.
    match (cpu0, on_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Duration::from_nanos(b - a),
        _ => wall0.elapsed(),
    }
}

const PODS: usize = 30;

fn cpu_spec(behavior: Option<Behavior>) -> HpaSpec {
    HpaSpec {
        min_replicas: 2,
        max_replicas: 100,
        metrics: vec![MetricSpec {
            source: MetricSource::Resource {
                resource: "cpu".into(),
                container: None,
                target: ResourceTarget::Utilization(60),
            },
            description: "cpu resource utilization (percentage of request)".into(),
        }],
        behavior,
    }
}

fn bench_reconcile(c: &mut Criterion) {
    let requests = [
        ResourceAmount {
            resource: "cpu",
            milli: 500,
        },
        ResourceAmount {
            resource: "memory",
            milli: 268_435_456_000,
        },
    ];
    let containers = [Container {
        name: "app",
        sidecar: false,
        requests: &requests,
    }];
    // Usage alternates around the target so that the decision varies a little.
    let usage_amounts: Vec<[ResourceAmount<'_>; 1]> = (0..PODS)
        .map(|i| {
            [ResourceAmount {
                resource: "cpu",
                milli: 270 + (i as i64 % 7) * 10,
            }]
        })
        .collect();
    let container_usage: Vec<[ContainerUsage<'_>; 1]> = usage_amounts
        .iter()
        .map(|u| {
            [ContainerUsage {
                name: "app",
                usage: u,
            }]
        })
        .collect();
    let now0: i64 = 10_000_000;
    let usages: Vec<PodUsage<'_>> = container_usage
        .iter()
        .map(|c| PodUsage {
            pod_name: "p",
            timestamp_ms: now0 - 15_000,
            window_ms: 15_000,
            containers: c,
        })
        .collect();
    let pods: Vec<Pod<'_>> = usages
        .iter()
        .map(|u| Pod {
            name: "p",
            phase: PodPhase::Running,
            deleting: false,
            start_ms: Some(0),
            ready: Some(ReadyCondition {
                status: ConditionStatus::True,
                last_transition_ms: 1_000,
            }),
            containers: &containers,
            pod_requests: None,
            usage: Some(u),
            count: 1,
        })
        .collect();
    let inputs = [MetricInput::ResourceUsage];
    let obs = Observation {
        namespace: "default",
        spec_replicas: PODS as i32,
        status_replicas: PODS as i32,
        pods: &pods,
        unlisted_usage: &[],
        selector: SelectorCheck::Valid,
        metrics: &inputs,
    };
    let settings = ControllerSettings::default();
    for (name, spec) in [
        ("legacy", cpu_spec(None)),
        ("behavior", cpu_spec(Some(Behavior::default()))),
    ] {
        let mut state = HpaState::default();
        let mut decision = Decision::default();
        let mut now = now0;
        c.bench_function(&format!("hpa_reconcile_cpu_30_pods_{name}"), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    now += 15_000;
                    reconcile(
                        black_box(&spec),
                        &settings,
                        black_box(&obs),
                        &mut state,
                        now,
                        &mut decision,
                    );
                    black_box(decision.desired_replicas);
                })
            })
        });
    }

    // The same pods as the simulator would hand them over: requests resolved once per pod.
    let resolved: Vec<ResolvedSample> = usage_amounts
        .iter()
        .map(|u| ResolvedSample {
            request_milli: Some(500),
            sample: Some(UsageSample {
                value: u[0].milli,
                timestamp_ms: now0 - 15_000,
                window_ms: 15_000,
            }),
        })
        .collect();
    let resolved_inputs = [MetricInput::ResolvedUsage {
        per_pod: &resolved,
        unlisted: &[],
    }];
    let obs_resolved = Observation {
        metrics: &resolved_inputs,
        ..obs
    };
    for (name, spec) in [
        ("legacy", cpu_spec(None)),
        ("behavior", cpu_spec(Some(Behavior::default()))),
    ] {
        let mut state = HpaState::default();
        let mut decision = Decision::default();
        let mut now = now0;
        c.bench_function(&format!("hpa_reconcile_cpu_30_pods_resolved_{name}"), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    now += 15_000;
                    reconcile(
                        black_box(&spec),
                        &settings,
                        black_box(&obs_resolved),
                        &mut state,
                        now,
                        &mut decision,
                    );
                    black_box(decision.desired_replicas);
                })
            })
        });
    }

    bench_counted(c, &pods[0], &settings, now0);

    let external = [1_200_000i64, 300_000];
    let three_inputs = [
        MetricInput::ResourceUsage,
        MetricInput::PerPod {
            values: &[],
            unlisted: &[],
        },
        MetricInput::External {
            values_milli: &external,
        },
    ];
    let mut spec3 = cpu_spec(Some(Behavior::default()));
    spec3.metrics.push(MetricSpec {
        source: MetricSource::Pods {
            metric: "rps".into(),
            target_average_milli: 10_000,
        },
        description: "pods metric rps".into(),
    });
    spec3.metrics.push(MetricSpec {
        source: MetricSource::External {
            metric: "queue".into(),
            selector_text: "<nil>".into(),
            target: ValueTarget::AverageValue(50_000),
        },
        description: "external metric queue(<nil>)".into(),
    });
    let rps: Vec<Option<i64>> = (0..PODS).map(|i| Some(9_000 + i as i64 * 50)).collect();
    let three_inputs = [
        three_inputs[0],
        MetricInput::PerPod {
            values: &rps,
            unlisted: &[],
        },
        three_inputs[2],
    ];
    let obs3 = Observation {
        metrics: &three_inputs,
        ..obs
    };
    let mut state = HpaState::default();
    let mut decision = Decision::default();
    let mut now = now0;
    c.bench_function("hpa_reconcile_3_metrics_30_pods_behavior", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                now += 15_000;
                reconcile(
                    black_box(&spec3),
                    &settings,
                    black_box(&obs3),
                    &mut state,
                    now,
                    &mut decision,
                );
                black_box(decision.desired_replicas);
            })
        })
    });
}

criterion_group!(benches, bench_reconcile);
criterion_main!(benches);

/// 30 identical ready pods as one entry of count 30, resolved as the simulator hands them
/// over; and the same HPA reusing one metrics computation (`reconcile_with_metrics`).
fn bench_counted(c: &mut Criterion, pod: &Pod<'_>, settings: &ControllerSettings, now0: i64) {
    let entry = [Pod {
        count: PODS as u32,
        usage: None,
        ..*pod
    }];
    let resolved = [ResolvedSample {
        request_milli: Some(500),
        sample: Some(UsageSample {
            value: 300,
            timestamp_ms: now0 - 15_000,
            window_ms: 15_000,
        }),
    }];
    let inputs = [MetricInput::ResolvedUsage {
        per_pod: &resolved,
        unlisted: &[],
    }];
    let obs = Observation {
        namespace: "default",
        spec_replicas: PODS as i32,
        status_replicas: PODS as i32,
        pods: &entry,
        unlisted_usage: &[],
        selector: SelectorCheck::Valid,
        metrics: &inputs,
    };
    for (name, spec) in [
        ("legacy", cpu_spec(None)),
        ("behavior", cpu_spec(Some(Behavior::default()))),
    ] {
        let mut state = HpaState::default();
        let mut decision = Decision::default();
        let mut now = now0;
        c.bench_function(&format!("hpa_reconcile_cpu_30_pods_count30_{name}"), |b| {
            b.iter_custom(|iters| {
                timed(iters, || {
                    now += 15_000;
                    reconcile(
                        black_box(&spec),
                        settings,
                        black_box(&obs),
                        &mut state,
                        now,
                        &mut decision,
                    );
                    black_box(decision.desired_replicas);
                })
            })
        });
    }
    // One metrics computation over the counted entry: the calculator from an observation,
    // and `UniformMetrics` prepared for the entry (what the simulator runs at each new usage
    // point of such an HPA), from a sample value that changes every call.
    let spec = cpu_spec(None);
    let mut metrics = MetricsResult::default();
    c.bench_function("hpa_metrics_cpu_30_pods_count30", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                compute_metrics(
                    black_box(&spec),
                    settings,
                    black_box(&obs),
                    now0,
                    &mut metrics,
                );
                black_box(metrics.proposal);
            })
        })
    });
    let uniform = UniformMetrics::prepare(&spec, settings, &entry[0], Some(500), now0)
        .expect("30 ready pods past their CPU initialization");
    let mut value = 300;
    c.bench_function("hpa_metrics_uniform_cpu_30_pods", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                value = (value + 7) % 1000;
                uniform.compute(black_box(value), PODS as i32, &mut metrics);
                black_box(metrics.proposal);
            })
        })
    });
    let spec = cpu_spec(Some(Behavior::default()));
    let mut metrics = MetricsResult::default();
    compute_metrics(&spec, settings, &obs, now0, &mut metrics);
    let mut state = HpaState::default();
    let mut decision = Decision::default();
    let mut now = now0;
    c.bench_function("hpa_reconcile_with_metrics_cached_behavior", |b| {
        b.iter_custom(|iters| {
            timed(iters, || {
                now += 15_000;
                reconcile_with_metrics(
                    black_box(&spec),
                    settings,
                    PODS as i32,
                    black_box(&metrics),
                    &mut state,
                    now,
                    &mut decision,
                );
                black_box(decision.desired_replicas);
            })
        })
    });
    for (name, spec) in [
        ("legacy", cpu_spec(None)),
        ("behavior", cpu_spec(Some(Behavior::default()))),
    ] {
        let mut metrics = MetricsResult::default();
        compute_metrics(&spec, settings, &obs, now0, &mut metrics);
        let mut state = WindowedState::default();
        let mut decision = Decision::default();
        let mut now = now0;
        c.bench_function(
            &format!("hpa_reconcile_outcome_cached_windowed_{name}"),
            |b| {
                b.iter_custom(|iters| {
                    timed(iters, || {
                        now += 15_000;
                        reconcile_outcome(
                            black_box(&spec),
                            settings,
                            PODS as i32,
                            black_box(&metrics),
                            &mut state,
                            now,
                            &mut decision,
                        );
                        black_box(decision.desired_replicas);
                    })
                })
            },
        );
    }
}
