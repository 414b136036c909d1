//! Pod multiplicity ([`Pod::count`]) and the split reconcile: random observations, and a
//! table of hand-computed cases.
//!
//! [`World::run`] reconciles every observation three ways (each pod its own entry; runs of
//! equal pods merged into one counted entry, count-0 entries kept; and `compute_metrics`
//! followed by `reconcile_with_metrics`) and fails unless all three give the same decision
//! and state. The property test feeds it random worlds: Resource (cpu or memory,
//! Utilization or AverageValue, read from PodMetrics or pre-resolved), ContainerResource,
//! Pods, Object and External metrics and failed fetches, over ready, unready, pending,
//! failed, deleting, initializing and metric-less pods, over several syncs of one state.

use super::*;
use proptest::prelude::*;
use proptest::sample::select;

/// A pod kind and how often it repeats as separate, equal `P`s (so that compaction has runs
/// to merge), with its Pods-metric value.
fn pod_strategy() -> impl Strategy<Value = (P, Option<i64>, usize)> {
    let phase = select(vec![
        PodPhase::Running,
        PodPhase::Running,
        PodPhase::Running,
        PodPhase::Pending,
        PodPhase::Failed,
        PodPhase::Succeeded,
        PodPhase::Unknown,
    ]);
    let start = select(vec![
        None,
        Some(0),
        Some(NOW),
        Some(NOW - 60_000),
        Some(NOW - 180_000),
    ]);
    let ready_status = select(vec![
        ConditionStatus::True,
        ConditionStatus::False,
        ConditionStatus::Unknown,
    ]);
    let ready_ms = select(vec![0, NOW - 100_000, NOW - 30_000, NOW]);
    let ready = proptest::option::weighted(0.9, (ready_status, ready_ms));
    let request = proptest::option::weighted(0.9, 1i64..1_000);
    let usage = proptest::option::weighted(
        0.8,
        prop_oneof![
            9 => (0i64..1_500, 0i64..1_500).prop_map(|(a, b)| vec![a, b]),
            1 => (0i64..1_500).prop_map(|a| vec![a]),
        ],
    );
    let usage_ts = select(vec![0, NOW - 90_000, NOW - 30_000, NOW]);
    let flags = (0u32..4, proptest::bool::weighted(0.1), 1usize..3);
    let value = proptest::option::weighted(0.8, 0i64..5_000);
    (phase, start, ready, request, usage, usage_ts, flags, value).prop_map(
        |(phase, start_ms, ready, request, usage, usage_ts, (count, deleting, repeat), value)| {
            let p = P {
                phase,
                deleting,
                start_ms,
                ready,
                request,
                usage,
                usage_ts,
                count,
            };
            (p, value, repeat)
        },
    )
}

/// One spec metric and the input the world hands over for it.
#[derive(Debug, Clone)]
enum Kind {
    Utilization(i32),
    ContainerUtilization(i32),
    AverageValue(i64),
    Pods(i64),
    Object(ValueTarget, i64),
    External(ValueTarget, Vec<i64>),
    Error,
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    let value_target = prop_oneof![
        (1i64..5_000).prop_map(ValueTarget::Value),
        (1i64..5_000).prop_map(ValueTarget::AverageValue),
    ];
    prop_oneof![
        3 => (10i32..200).prop_map(Kind::Utilization),
        1 => (10i32..200).prop_map(Kind::ContainerUtilization),
        2 => (100i64..2_000).prop_map(Kind::AverageValue),
        2 => (100i64..5_000).prop_map(Kind::Pods),
        1 => (value_target.clone(), 0i64..50_000).prop_map(|(t, v)| Kind::Object(t, v)),
        1 => (value_target, proptest::collection::vec(0i64..20_000, 0..3))
            .prop_map(|(t, v)| Kind::External(t, v)),
        1 => Just(Kind::Error),
    ]
}

/// A random world and a spec over it.
fn world_strategy() -> impl Strategy<Value = (World, HpaSpec, bool)> {
    let pods = proptest::collection::vec(pod_strategy(), 0..7);
    let unlisted = proptest::collection::vec((0i64..1_500, 0i64..1_500), 0..2);
    let kinds = proptest::collection::vec(kind_strategy(), 1..4);
    let replicas = (0i32..12, 0i32..12, 0i32..3, 4i32..20);
    let switches = (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>());
    (pods, unlisted, kinds, replicas, switches).prop_map(
        |(
            pods,
            unlisted,
            kinds,
            (spec_r, status_r, min, max),
            (memory, resolved, behavior, oldest),
        )| {
            let resource = if memory { "memory" } else { "cpu" };
            let expanded: Vec<(P, Option<i64>)> = pods
                .iter()
                .flat_map(|(p, v, repeat)| std::iter::repeat_n((p.clone(), *v), *repeat))
                .collect();
            let values: Vec<Option<i64>> = expanded.iter().map(|(_, v)| *v).collect();
            let per_pod_unlisted: Vec<i64> = unlisted.iter().map(|(a, _)| *a).collect();
            let mut metrics = vec![];
            let mut inputs = vec![];
            for (i, kind) in kinds.into_iter().enumerate() {
                let (source, input) = metric(kind, resource, i, &values, &per_pod_unlisted);
                metrics.push(MetricSpec {
                    source,
                    description: format!("metric {i}"),
                });
                inputs.push(input);
            }
            let world = World {
                resource,
                spec_replicas: spec_r,
                status_replicas: status_r,
                pods: expanded.into_iter().map(|(p, _)| p).collect(),
                unlisted: unlisted.iter().map(|(a, b)| vec![*a, *b]).collect(),
                inputs,
                resolved,
                selector: SelectorCheck::Valid,
            };
            let spec = HpaSpec {
                min_replicas: min,
                max_replicas: max,
                metrics,
                behavior: behavior.then(Behavior::default),
            };
            (world, spec, oldest)
        },
    )
}

/// The spec metric and the world's input for one kind. Each Pods metric is named apart so
/// that error messages tell them apart.
fn metric(
    kind: Kind,
    resource: &str,
    i: usize,
    values: &[Option<i64>],
    unlisted: &[i64],
) -> (MetricSource, Input) {
    let resource_metric = |container: Option<&str>, target| MetricSource::Resource {
        resource: resource.into(),
        container: container.map(Into::into),
        target,
    };
    match kind {
        Kind::Utilization(pct) => (
            resource_metric(None, ResourceTarget::Utilization(pct)),
            Input::Usage,
        ),
        Kind::ContainerUtilization(pct) => (
            resource_metric(Some("container1"), ResourceTarget::Utilization(pct)),
            Input::Usage,
        ),
        Kind::AverageValue(avg) => (
            resource_metric(None, ResourceTarget::AverageValue(avg)),
            Input::Usage,
        ),
        Kind::Pods(target) => (
            MetricSource::Pods {
                metric: format!("qps{i}"),
                target_average_milli: target,
            },
            Input::PerPod(values.to_vec(), unlisted.to_vec()),
        ),
        Kind::Object(target, value) => (object_metric(target), Input::Object(value)),
        Kind::External(target, values) => (external_metric(target), Input::External(values)),
        Kind::Error => (pods_metric(1_000), Input::Error("server unavailable")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    /// Counted entries and the split reconcile decide as the one-by-one listing, sync after
    /// sync (the checks are in `World::run`).
    #[test]
    fn counted_pods_decide_as_listed_pods((world, spec, oldest) in world_strategy()) {
        let mut settings = testing_settings();
        if oldest {
            settings.compat = Compat::oldest();
        }
        // The pre-resolved form sums both containers, so it stands only for pod-level metrics.
        let container_metric = spec.metrics.iter().any(|m| matches!(
            m.source,
            MetricSource::Resource { container: Some(_), .. }
        ));
        let world = World { resolved: world.resolved && !container_metric, ..world };
        let mut state = HpaState::default();
        for sync in 0..3 {
            world.run(&spec, &settings, &mut state, NOW + sync * 15_000);
        }
    }
}

/// Runs a one-metric world and compares the metric's proposal and current value.
fn check(name: &str, world: World, source: MetricSource, expect: (i32, CurrentValue)) {
    let spec = spec_with(source);
    let d = world.run(&spec, &testing_settings(), &mut HpaState::default(), NOW);
    let m = &d.metrics[0];
    assert_eq!(
        (m.proposal, m.current),
        (Some(expect.0), expect.1),
        "{name}"
    );
}

fn counted(count: u32, p: P) -> P {
    P { count, ..p }
}

#[test]
fn counts_weight_every_group() {
    let utilization = |pct, avg| CurrentValue {
        average_utilization: Some(pct),
        average_value_milli: Some(avg),
        value_milli: None,
    };
    let average = |avg| CurrentValue {
        average_value_milli: Some(avg),
        ..CurrentValue::default()
    };
    let cases: Vec<(&str, World, MetricSource, (i32, CurrentValue))> = vec![
        (
            // 30 pods at 300m of 1000m: 30% against 60% halves the count.
            "30 ready pods as one entry",
            World::new(30, vec![counted(30, P::new(500).uses(150))]),
            cpu_utilization(60),
            (15, utilization(30, 300)),
        ),
        (
            // Count 0 stands for nothing: its missing request and high usage are not read.
            "count 0 entry is no pod",
            World::new(
                4,
                vec![
                    counted(4, P::new(500).uses(400)),
                    counted(
                        0,
                        P {
                            request: None,
                            ..P::new(0).uses(5_000)
                        },
                    ),
                ],
            ),
            cpu_utilization(100),
            (4, utilization(80, 800)),
        ),
        (
            // 2 ready at 200% scale up; 3 unready pods count at zero usage: 400/500 = 80%,
            // which is below target, so the direction flips and the count stays.
            "unready entry counted in the rebalance",
            World::new(
                5,
                vec![
                    counted(2, P::new(500).uses(1_000)),
                    counted(3, P::new(500).unready().hot().uses(1_000)),
                ],
            ),
            cpu_utilization(100),
            (5, utilization(200, 2_000)),
        ),
        (
            // 2 pods at 500 per pod, 2 missing pods: a scale-up fills them at 0:
            // (2×500)/4 = 250 per pod against 200, ceil(1.25 × 4) = 5.
            "missing entry filled at zero on a scale-up",
            World::new(4, vec![counted(2, P::new(500)), counted(2, P::new(500))])
                .inputs(vec![Input::PerPod(vec![Some(500), None], vec![])]),
            pods_metric(200),
            (5, average(500)),
        ),
    ];
    for (name, world, source, expect) in cases {
        check(name, world, source, expect);
    }
}

/// The simulator's use of the split: recompute the metrics only when the replica count
/// changed, reuse them otherwise; sync after sync, the same decisions and state as
/// `reconcile` every time. The pods (one counted entry) follow the replica count at a
/// fixed per-pod usage, so the HPA keeps scaling up as fast as its policies allow, then
/// settles at `maxReplicas`.
#[test]
fn cached_metrics_decide_as_reconcile_sync_after_sync() {
    let settings = testing_settings();
    for behavior in [None, Some(Behavior::default())] {
        let spec = HpaSpec {
            max_replicas: 40,
            behavior,
            ..spec_with(cpu_utilization(50))
        };
        let (mut whole, mut split) = (HpaState::default(), HpaState::default());
        let (mut d_whole, mut d_split) = (Decision::default(), Decision::default());
        let mut cached = MetricsResult::default();
        let mut cached_for = None;
        let mut current = 3;
        let mut rescales = 0;
        for sync in 0..80 {
            let now = NOW + sync * 15_000;
            let pod = Pod {
                name: "web",
                phase: PodPhase::Running,
                deleting: false,
                start_ms: Some(0),
                ready: Some(ReadyCondition {
                    status: ConditionStatus::True,
                    last_transition_ms: 0,
                }),
                containers: &[],
                pod_requests: None,
                usage: None,
                count: current as u32,
            };
            let per_pod = [ResolvedSample {
                request_milli: Some(1_000),
                sample: Some(UsageSample {
                    value: 800,
                    timestamp_ms: 0,
                    window_ms: 60_000,
                }),
            }];
            let inputs = [MetricInput::ResolvedUsage {
                per_pod: &per_pod,
                unlisted: &[],
            }];
            let obs = Observation {
                namespace: "default",
                spec_replicas: current,
                status_replicas: current,
                pods: &[pod],
                unlisted_usage: &[],
                metrics: &inputs,
                selector: SelectorCheck::Valid,
            };
            reconcile(&spec, &settings, &obs, &mut whole, now, &mut d_whole);
            if cached_for != Some(current) {
                compute_metrics(&spec, &settings, &obs, now, &mut cached);
                cached_for = Some(current);
            }
            reconcile_with_metrics(
                &spec,
                &settings,
                current,
                &cached,
                &mut split,
                now,
                &mut d_split,
            );
            assert_eq!(
                d_split,
                d_whole,
                "sync {sync}, behavior {}",
                spec.behavior.is_some()
            );
            assert_eq!(
                split,
                whole,
                "sync {sync}, behavior {}",
                spec.behavior.is_some()
            );
            if d_whole.rescale {
                rescales += 1;
                current = d_whole.desired_replicas;
            }
        }
        assert_eq!(current, 40, "settles at maxReplicas");
        assert!(rescales >= 2, "scaled in several steps: {rescales}");
    }
}
