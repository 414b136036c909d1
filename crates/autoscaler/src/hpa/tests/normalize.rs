//! Reconcile-level cases: the short-circuit branches, several and invalid metrics, the legacy
//! path, the behavior path (stabilization, policies over sliding periods, selectPolicy), the
//! stores and the conditions. Proposals are produced with an External AverageValue metric
//! (target 1, status replicas = current), whose proposal is exactly the value.

use super::*;

const S: i64 = 1000;

/// An HPA of `min..=max` on one External AverageValue metric (target 1 milli).
fn hpa(min: i32, max: i32, behavior: Option<Behavior>) -> HpaSpec {
    HpaSpec {
        min_replicas: min,
        max_replicas: max,
        behavior,
        ..spec_with(external_metric(ValueTarget::AverageValue(1000)))
    }
}

/// A world at `current` replicas whose metric proposes `proposal` (outside the tolerance band).
fn asking(current: i32, proposal: i32) -> World {
    World::new(current, pods(current.max(0) as usize, P::new(0)))
        .inputs(vec![Input::External(vec![i64::from(proposal) * 1000])])
}

fn recs(list: &[(i32, i64)]) -> Option<Vec<Recommendation>> {
    Some(
        list.iter()
            .map(|&(replicas, ago_s)| Recommendation {
                replicas,
                timestamp_ms: NOW - ago_s * S,
            })
            .collect(),
    )
}

fn events(list: &[(i32, i64)]) -> Vec<ScaleEvent> {
    list.iter()
        .map(|&(replica_change, ago_s)| ScaleEvent {
            replica_change,
            timestamp_ms: NOW - ago_s * S,
            outdated: false,
        })
        .collect()
}

/// The expected decision: desired replicas, rescale, and the three conditions' reasons
/// (`None`: condition not set; for ScalingLimited also its status).
struct Expect {
    desired: i32,
    rescale: bool,
    able: Reason,
    active: Option<(bool, Reason)>,
    limited: Option<(bool, Reason)>,
}

fn check(
    name: &str,
    spec: &HpaSpec,
    settings: &ControllerSettings,
    world: &World,
    state: &mut HpaState,
    e: Expect,
) -> Decision {
    let d = world.run(spec, settings, state, NOW);
    assert_eq!(
        (d.desired_replicas, d.rescale),
        (e.desired, e.rescale),
        "{name}: desired, rescale"
    );
    assert_eq!(
        d.able_to_scale.map(|c| (c.status, c.reason)),
        Some((true, e.able)),
        "{name}: AbleToScale"
    );
    assert_eq!(
        d.scaling_active.map(|c| (c.status, c.reason)),
        e.active,
        "{name}: ScalingActive"
    );
    assert_eq!(
        d.scaling_limited.map(|c| (c.status, c.reason)),
        e.limited,
        "{name}: ScalingLimited"
    );
    d
}

use Reason::*;
const VALID: Option<(bool, Reason)> = Some((true, ValidMetricFound));
fn within() -> Option<(bool, Reason)> {
    Some((false, DesiredWithinRange))
}

#[test]
fn legacy_path() {
    let s = ControllerSettings::default();
    // (name, spec, world, state before, expectation, recommendations after)
    type Row = (
        &'static str,
        HpaSpec,
        World,
        HpaState,
        Expect,
        Option<Vec<Recommendation>>,
    );
    let st = |r: Option<Vec<Recommendation>>| HpaState {
        recommendations: r,
        ..HpaState::default()
    };
    let rows: Vec<Row> = vec![
        (
            "scale-up within range",
            hpa(1, 10, None),
            asking(3, 5),
            st(recs(&[])),
            Expect {
                desired: 5,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(5, 0)]),
        ),
        (
            "scale-up capped at 2 × current",
            hpa(1, 100, None),
            asking(3, 20),
            st(recs(&[])),
            Expect {
                desired: 6,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, ScaleUpLimit)),
            },
            recs(&[(20, 0)]),
        ),
        (
            "scale-up cap is at least 4",
            hpa(1, 100, None),
            asking(1, 10),
            st(recs(&[])),
            Expect {
                desired: 4,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, ScaleUpLimit)),
            },
            recs(&[(10, 0)]),
        ),
        (
            "max below the rate cap: TooManyReplicas",
            hpa(1, 5, None),
            asking(3, 20),
            st(recs(&[])),
            Expect {
                desired: 5,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, TooManyReplicas)),
            },
            recs(&[(20, 0)]),
        ),
        (
            "below min: TooFewReplicas",
            hpa(3, 10, None),
            asking(5, 1),
            st(recs(&[])),
            Expect {
                desired: 3,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, TooFewReplicas)),
            },
            recs(&[(1, 0)]),
        ),
        (
            "hc-scale-down-stabilize-initial-size: first sight blocks the scale-down",
            hpa(1, 10, None),
            asking(8, 4),
            HpaState::default(),
            Expect {
                desired: 8,
                rescale: false,
                able: ScaleDownStabilized,
                active: VALID,
                limited: within(),
            },
            recs(&[(8, 0), (4, 0)]),
        ),
        (
            "recent higher recommendation holds the scale-down",
            hpa(1, 10, None),
            asking(8, 4),
            st(recs(&[(8, 60)])),
            Expect {
                desired: 8,
                rescale: false,
                able: ScaleDownStabilized,
                active: VALID,
                limited: within(),
            },
            recs(&[(8, 60), (4, 0)]),
        ),
        (
            "a recommendation exactly at the cutoff still counts",
            hpa(1, 10, None),
            asking(8, 4),
            st(recs(&[(7, 300)])),
            Expect {
                desired: 7,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(7, 300), (4, 0)]),
        ),
        (
            "stale recommendation is replaced, scale-down proceeds",
            hpa(1, 10, None),
            asking(8, 4),
            st(recs(&[(8, 301)])),
            Expect {
                desired: 4,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(4, 0)]),
        ),
        (
            "the last stale slot is the one reused",
            hpa(1, 10, None),
            asking(5, 5),
            st(recs(&[(5, 400), (6, 10), (7, 350)])),
            Expect {
                desired: 6,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(5, 400), (6, 10), (5, 0)]),
        ),
        (
            "legacy max-over-window can push a scale-up above the metric",
            hpa(1, 100, None),
            asking(3, 5),
            st(recs(&[(9, 60)])),
            Expect {
                desired: 6,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, ScaleUpLimit)),
            },
            recs(&[(9, 60), (5, 0)]),
        ),
        (
            "unchanged proposal: ReadyForNewScale, no rescale",
            hpa(1, 10, None),
            asking(4, 4),
            st(recs(&[])),
            Expect {
                desired: 4,
                rescale: false,
                able: ReadyForNewScale,
                active: VALID,
                limited: within(),
            },
            recs(&[(4, 0)]),
        ),
    ];
    for (name, spec, world, mut state, e, after) in rows {
        check(name, &spec, &s, &world, &mut state, e);
        assert_eq!(state.recommendations, after, "{name}: recommendations");
        assert!(
            state.scale_up_events.is_empty() && state.scale_down_events.is_empty(),
            "{name}: no events without behavior"
        );
    }
}

#[test]
fn legacy_scale_up_limit_factor_is_a_setting() {
    // Kubernetes' controller tests run with factor 8: from 3, max(24, 4) = 24.
    let s = ControllerSettings {
        scale_up_limit_factor: 8.0,
        ..ControllerSettings::default()
    };
    let mut state = HpaState {
        recommendations: recs(&[]),
        ..HpaState::default()
    };
    let e = Expect {
        desired: 24,
        rescale: true,
        able: SucceededRescale,
        active: VALID,
        limited: Some((true, ScaleUpLimit)),
    };
    check(
        "factor 8",
        &hpa(1, 100, None),
        &s,
        &asking(3, 50),
        &mut state,
        e,
    );
}

#[test]
fn short_circuit_branches() {
    let s = ControllerSettings::default();
    let mut state = HpaState::default();
    let d = check(
        "current 0, min 1: ScalingDisabled",
        &hpa(1, 10, None),
        &s,
        &asking(0, 5),
        &mut state,
        Expect {
            desired: 0,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, ScalingDisabled)),
            limited: None,
        },
    );
    assert!(
        d.metrics.is_empty(),
        "no metric is read when scaling is disabled"
    );
    assert_eq!(
        state.recommendations,
        recs(&[(0, 0)]),
        "only the initial recommendation"
    );

    let mut state = HpaState::default();
    let d = check(
        "current above max",
        &hpa(1, 10, None),
        &s,
        &asking(12, 1),
        &mut state,
        Expect {
            desired: 10,
            rescale: true,
            able: SucceededRescale,
            active: None,
            limited: None,
        },
    );
    assert!(d.metrics.is_empty());
    assert_eq!(state.recommendations, recs(&[(12, 0)]));
    assert_eq!(
        d.able_to_scale.unwrap().message(&hpa(1, 10, None), &d),
        "the HPA controller was able to update the target scale to 10"
    );

    let mut state = HpaState::default();
    check(
        "current below min",
        &hpa(2, 10, None),
        &s,
        &asking(1, 9),
        &mut state,
        Expect {
            desired: 2,
            rescale: true,
            able: SucceededRescale,
            active: None,
            limited: None,
        },
    );

    let b = Behavior::default();
    let mut state = HpaState::default();
    check(
        "current above max with behavior: event stored, no rate limit",
        &hpa(1, 10, Some(b)),
        &s,
        &asking(30, 1),
        &mut state,
        Expect {
            desired: 10,
            rescale: true,
            able: SucceededRescale,
            active: None,
            limited: None,
        },
    );
    assert_eq!(state.scale_down_events, events(&[(20, 0)]));

    // Scale from zero (HPAScaleToZero): an Object metric, no tolerance, no pod count.
    let spec = HpaSpec {
        min_replicas: 0,
        ..spec_with(object_metric(ValueTarget::Value(1000)))
    };
    let world = World::new(0, vec![]).inputs(vec![Input::Object(1000)]);
    let mut state = HpaState {
        recommendations: recs(&[]),
        ..HpaState::default()
    };
    check(
        "hc-object-scale-up-from-zero-ignores-tolerance",
        &spec,
        &s,
        &world,
        &mut state,
        Expect {
            desired: 1,
            rescale: true,
            able: SucceededRescale,
            active: VALID,
            limited: within(),
        },
    );
}

#[test]
fn several_and_invalid_metrics() {
    let s = ControllerSettings::default();
    let two = |first: MetricSource, second: MetricSource| HpaSpec {
        metrics: vec![
            MetricSpec {
                source: first,
                description: "first".into(),
            },
            MetricSpec {
                source: second,
                description: "second".into(),
            },
        ],
        ..hpa(1, 20, None)
    };
    let ext = || external_metric(ValueTarget::AverageValue(1000));
    let world = |current: i32, a: Input, b: Input| {
        World::new(current, pods(current as usize, P::new(0))).inputs(vec![a, b])
    };
    let fresh = || HpaState {
        recommendations: recs(&[]),
        ..HpaState::default()
    };

    let spec = two(ext(), ext());
    let d = check(
        "max over metrics",
        &spec,
        &s,
        &world(5, Input::External(vec![3000]), Input::External(vec![8000])),
        &mut fresh(),
        Expect {
            desired: 8,
            rescale: true,
            able: SucceededRescale,
            active: VALID,
            limited: within(),
        },
    );
    assert_eq!(
        d.scaling_active.unwrap().message(&spec, &d),
        "the HPA was able to successfully calculate a replica count from second"
    );
    assert_eq!(d.metrics_proposal, Some(8));

    let d = check(
        "all invalid: stop with the first error",
        &spec,
        &s,
        &world(5, Input::Error("first down"), Input::Error("second down")),
        &mut fresh(),
        Expect {
            desired: 5,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, FailedGetExternalMetric)),
            limited: None,
        },
    );
    assert_eq!(
        d.scaling_active.unwrap().message(&spec, &d),
        "the HPA was unable to compute the replica count: unable to get external metric test-namespace/qps/<nil>: first down"
    );

    check(
        "one invalid and the rest would scale down: stop",
        &spec,
        &s,
        &world(5, Input::External(vec![2000]), Input::Error("down")),
        &mut fresh(),
        Expect {
            desired: 5,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, FailedGetExternalMetric)),
            limited: None,
        },
    );

    let d = check(
        "one invalid and the rest scale up: proceed",
        &spec,
        &s,
        &world(5, Input::Error("down"), Input::External(vec![9000])),
        &mut fresh(),
        Expect {
            desired: 9,
            rescale: true,
            able: SucceededRescale,
            active: VALID,
            limited: within(),
        },
    );
    assert_eq!(d.metrics[0].proposal, None);
    assert!(d.metrics[0].error.as_deref().unwrap().ends_with("down"));

    let mixed = two(cpu_utilization(50), ext());
    let d = check(
        "first failing metric names the reason",
        &mixed,
        &s,
        &World::new(2, pods(2, P::new(1000))).inputs(vec![Input::Usage, Input::Error("x")]),
        &mut fresh(),
        Expect {
            desired: 2,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, FailedGetResourceMetric)),
            limited: None,
        },
    );
    assert_eq!(d.metrics.len(), 2);
}

/// A behavior with the given scale-up and scale-down rules (defaults otherwise).
fn behavior(up: Option<ScalingRules>, down: Option<ScalingRules>) -> Option<Behavior> {
    Some(Behavior {
        scale_up: up.unwrap_or_else(ScalingRules::default_scale_up),
        scale_down: down.unwrap_or_else(ScalingRules::default_scale_down),
    })
}

fn rules(
    window_s: Option<i32>,
    select: SelectPolicy,
    policies: &[(PolicyKind, i32, i32)],
) -> ScalingRules {
    ScalingRules {
        stabilization_window_s: window_s,
        select_policy: select,
        policies: policies
            .iter()
            .map(|&(kind, value, period_s)| ScalingPolicy {
                kind,
                value,
                period_s,
            })
            .collect(),
        tolerance: None,
    }
}

#[test]
fn behavior_path() {
    use PolicyKind::{Percent, Pods};
    let s = ControllerSettings::default();
    type Row = (
        &'static str,
        Option<Behavior>,
        World,
        HpaState,
        Expect,
        Vec<ScaleEvent>,
        Vec<ScaleEvent>,
    );
    let st =
        |r: Option<Vec<Recommendation>>, up: Vec<ScaleEvent>, down: Vec<ScaleEvent>| HpaState {
            recommendations: r,
            scale_up_events: up,
            scale_down_events: down,
        };
    let limited = |reason| Some((true, reason));
    let rows: Vec<Row> = vec![
        (
            "default scale-up from 3 allows max(+4, ×2) = 7",
            behavior(None, None),
            asking(3, 20),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 7,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: limited(ScaleUpLimit),
            },
            events(&[(4, 0)]),
            vec![],
        ),
        (
            "default scale-up from 1 allows 5",
            behavior(None, None),
            asking(1, 20),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 5,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: limited(ScaleUpLimit),
            },
            events(&[(4, 0)]),
            vec![],
        ),
        (
            "the 15 s budget is spent: no further scale-up",
            behavior(None, None),
            asking(7, 20),
            st(recs(&[]), events(&[(4, 5)]), vec![]),
            Expect {
                desired: 7,
                rescale: false,
                able: ReadyForNewScale,
                active: VALID,
                limited: limited(ScaleUpLimit),
            },
            events(&[(4, 5)]),
            vec![],
        ),
        (
            "beh-rate-24: 15 pods added in 120 s with Pods 5/120 s",
            behavior(
                Some(rules(Some(0), SelectPolicy::Max, &[(Pods, 5, 120)])),
                None,
            ),
            asking(20, 40),
            st(recs(&[]), events(&[(15, 60)]), vec![]),
            Expect {
                desired: 20,
                rescale: false,
                able: ReadyForNewScale,
                active: VALID,
                limited: limited(ScaleUpLimit),
            },
            events(&[(15, 60)]),
            vec![],
        ),
        (
            "selectPolicy Min picks the smaller scale-up",
            behavior(
                Some(rules(
                    Some(0),
                    SelectPolicy::Min,
                    &[(Pods, 4, 15), (Percent, 100, 15)],
                )),
                None,
            ),
            asking(10, 40),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 14,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: limited(ScaleUpLimit),
            },
            events(&[(4, 0)]),
            vec![],
        ),
        (
            "scale-up Disabled",
            behavior(
                Some(rules(Some(0), SelectPolicy::Disabled, &[(Pods, 4, 15)])),
                None,
            ),
            asking(10, 40),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 10,
                rescale: false,
                able: ReadyForNewScale,
                active: VALID,
                limited: limited(ScaleUpLimit),
            },
            vec![],
            vec![],
        ),
        (
            "max binds before the policy: TooManyReplicas",
            behavior(None, None),
            asking(20, 60),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 30,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: limited(TooManyReplicas),
            },
            events(&[(10, 0)]),
            vec![],
        ),
        (
            "default scale-down window holds on first sight",
            behavior(None, None),
            asking(10, 2),
            HpaState::default(),
            Expect {
                desired: 10,
                rescale: false,
                able: ScaleDownStabilized,
                active: VALID,
                limited: within(),
            },
            vec![],
            vec![],
        ),
        (
            "default scale-down allows 100 % per 15 s",
            behavior(None, None),
            asking(10, 2),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 2,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            vec![],
            events(&[(8, 0)]),
        ),
        (
            "scale-down Pods 1/60 s",
            behavior(
                None,
                Some(rules(Some(0), SelectPolicy::Max, &[(Pods, 1, 60)])),
            ),
            asking(10, 2),
            st(recs(&[]), vec![], events(&[(1, 70)])),
            Expect {
                desired: 9,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: limited(ScaleDownLimit),
            },
            vec![],
            vec![ScaleEvent {
                replica_change: 1,
                timestamp_ms: NOW,
                outdated: false,
            }],
        ),
        (
            "scale-down budget spent in the period",
            behavior(
                None,
                Some(rules(Some(0), SelectPolicy::Max, &[(Pods, 1, 60)])),
            ),
            asking(9, 2),
            st(recs(&[]), vec![], events(&[(1, 30)])),
            Expect {
                desired: 9,
                rescale: false,
                able: ReadyForNewScale,
                active: VALID,
                limited: limited(ScaleDownLimit),
            },
            vec![],
            events(&[(1, 30)]),
        ),
        (
            "scale-down Percent truncates: 7 × 50 % → 3",
            behavior(
                None,
                Some(rules(Some(0), SelectPolicy::Max, &[(Percent, 50, 60)])),
            ),
            asking(7, 1),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 3,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: limited(ScaleDownLimit),
            },
            vec![],
            events(&[(4, 0)]),
        ),
        (
            "scale-down Disabled",
            behavior(
                None,
                Some(rules(
                    Some(0),
                    SelectPolicy::Disabled,
                    &[(Percent, 100, 15)],
                )),
            ),
            asking(7, 1),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 7,
                rescale: false,
                able: ReadyForNewScale,
                active: VALID,
                limited: limited(ScaleDownLimit),
            },
            vec![],
            vec![],
        ),
        (
            "min binds before the policy: TooFewReplicas",
            behavior(
                None,
                Some(rules(Some(0), SelectPolicy::Max, &[(Percent, 100, 15)])),
            ),
            asking(7, 1),
            st(recs(&[]), vec![], vec![]),
            Expect {
                desired: 1,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            vec![],
            events(&[(6, 0)]),
        ),
        (
            "scale-up window waits for the lowest recent recommendation",
            behavior(
                Some(rules(Some(60), SelectPolicy::Max, &[(Pods, 4, 15)])),
                None,
            ),
            asking(3, 8),
            st(recs(&[(3, 30)]), vec![], vec![]),
            Expect {
                desired: 3,
                rescale: false,
                able: ScaleUpStabilized,
                active: VALID,
                limited: within(),
            },
            vec![],
            vec![],
        ),
        (
            "beh-stab: both windows, recommendations against the trend keep current",
            behavior(
                Some(rules(Some(60), SelectPolicy::Max, &[(Pods, 4, 15)])),
                None,
            ),
            asking(5, 8),
            st(recs(&[(3, 30), (9, 40)]), vec![], vec![]),
            Expect {
                desired: 5,
                rescale: false,
                able: ScaleUpStabilized,
                active: VALID,
                limited: within(),
            },
            vec![],
            vec![],
        ),
        (
            "outdated scale events are reused",
            behavior(None, None),
            asking(3, 5),
            st(recs(&[]), events(&[(2, 100), (1, 5)]), vec![]),
            Expect {
                desired: 5,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            vec![
                ScaleEvent {
                    replica_change: 2,
                    timestamp_ms: NOW,
                    outdated: false,
                },
                ScaleEvent {
                    replica_change: 1,
                    timestamp_ms: NOW - 5 * S,
                    outdated: false,
                },
            ],
            vec![],
        ),
    ];
    let min1 = |b: Option<Behavior>| hpa(1, 30, b);
    for (name, b, world, mut state, e, up, down) in rows {
        check(name, &min1(b), &s, &world, &mut state, e);
        assert_eq!(state.scale_up_events, up, "{name}: scale-up events");
        assert_eq!(state.scale_down_events, down, "{name}: scale-down events");
    }
}

#[test]
fn behavior_stores_recommendations_against_both_windows() {
    let s = ControllerSettings::default();
    let b = behavior(
        Some(rules(
            Some(60),
            SelectPolicy::Max,
            &[(PolicyKind::Pods, 4, 15)],
        )),
        None,
    );
    // Stale only when older than both the 60 s up window and the 300 s down window.
    let mut state = HpaState {
        recommendations: recs(&[(5, 100), (5, 400), (5, 30)]),
        ..HpaState::default()
    };
    asking(5, 5).run(&hpa(1, 20, b), &s, &mut state, NOW);
    assert_eq!(state.recommendations, recs(&[(5, 100), (5, 0), (5, 30)]));
}

#[test]
fn per_direction_tolerance() {
    let s = ControllerSettings::default();
    let tolerant_up = ScalingRules {
        tolerance: Some(0.5),
        ..ScalingRules::default_scale_up()
    };
    let spec = hpa(1, 20, behavior(Some(tolerant_up), None));
    // 13 for 10 replicas: ratio 1.3 is inside an up tolerance of 0.5.
    let d = asking(10, 13).run(
        &spec,
        &s,
        &mut HpaState {
            recommendations: recs(&[]),
            ..HpaState::default()
        },
        NOW,
    );
    assert_eq!((d.desired_replicas, d.metrics[0].proposal), (10, Some(10)));
    // The down tolerance is still the cluster's 0.1: 8 for 10 scales down.
    let d = asking(10, 8).run(
        &spec,
        &s,
        &mut HpaState {
            recommendations: recs(&[]),
            ..HpaState::default()
        },
        NOW,
    );
    assert_eq!(d.desired_replicas, 8);
    // With HPAConfigurableTolerance off, the field is dropped.
    let old = ControllerSettings {
        compat: Compat {
            configurable_tolerance: false,
            ..Compat::default()
        },
        ..s
    };
    let d = asking(10, 13).run(
        &spec,
        &old,
        &mut HpaState {
            recommendations: recs(&[]),
            ..HpaState::default()
        },
        NOW,
    );
    assert_eq!(d.desired_replicas, 13);
    // A cluster-wide tolerance of 0.5 applies to both directions.
    let wide = ControllerSettings {
        tolerance: 0.5,
        ..ControllerSettings::default()
    };
    let d = asking(10, 6).run(
        &hpa(1, 20, None),
        &wide,
        &mut HpaState {
            recommendations: recs(&[]),
            ..HpaState::default()
        },
        NOW,
    );
    assert_eq!(d.desired_replicas, 10);
}

#[test]
fn absurd_numbers_do_not_panic() {
    let s = ControllerSettings::default();
    let spec = hpa(1, i32::MAX, behavior(None, None));
    for (current, proposal) in [
        (i32::MAX - 1, i32::MAX),
        (i32::MAX, 1),
        (1, i32::MAX),
        (i32::MAX / 2 + 1, i32::MAX),
    ] {
        let world = World::new(current, vec![P::new(0)])
            .inputs(vec![Input::External(vec![i64::from(proposal) * 1000])]);
        let d = world.run(
            &spec,
            &s,
            &mut HpaState {
                recommendations: recs(&[]),
                ..HpaState::default()
            },
            NOW,
        );
        assert!(
            d.desired_replicas >= 1,
            "current {current}, proposal {proposal}: {d:?}"
        );
    }
    let legacy = hpa(1, i32::MAX, None);
    let world =
        World::new(i32::MAX - 1, vec![P::new(0)]).inputs(vec![Input::External(vec![i64::MAX])]);
    let d = world.run(&legacy, &s, &mut HpaState::default(), NOW);
    assert_eq!(d.desired_replicas, i32::MAX);
}
