//! Behavior-path cases (stabilization windows, policies over sliding periods, selectPolicy,
//! per-direction tolerance), overflow, and selector conditions.

use super::normalize::*;
use super::*;
use Reason::*;

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

#[test]
fn selector_problems_stop_the_reconcile() {
    let s = ControllerSettings::default();
    let spec = hpa(1, 10, None);
    let cases: Vec<(SelectorCheck<'static>, Reason, &str)> = vec![
        (SelectorCheck::Missing, InvalidSelector, "the HPA target's scale is missing a selector"),
        (
            SelectorCheck::Unparsable("unable to parse requirement"),
            InvalidSelector,
            "couldn't convert selector into a corresponding internal selector object: unable to parse requirement",
        ),
        (
            SelectorCheck::Ambiguous { selector: "app=web", hpas: "[shop/web shop/web-2]" },
            AmbiguousSelector,
            "pods by selector app=web are controlled by multiple HPAs: [shop/web shop/web-2]",
        ),
    ];
    for (selector, reason, message) in cases {
        let world = World {
            selector,
            ..asking(3, 9)
        };
        let mut state = HpaState::default();
        let d = check(
            message,
            &spec,
            &s,
            &world,
            &mut state,
            Expect {
                desired: 3,
                rescale: false,
                able: SucceededGetScale,
                active: Some((false, reason)),
                limited: None,
            },
        );
        assert_eq!(d.scaling_active.unwrap().message(&spec, &d), message);
        assert!(d.metrics.is_empty());
    }
}

#[test]
fn policy_periods_start_from_both_directions_events() {
    // Newest upstream: periodStart = current − added + removed within the period. A scale-down
    // of 3 ten seconds ago makes the default scale-up budget start from 8, not 5.
    let s = ControllerSettings::default();
    let mut state = HpaState {
        recommendations: recs(&[]),
        scale_up_events: vec![],
        scale_down_events: events(&[(3, 10)]),
    };
    let e = Expect {
        desired: 16,
        rescale: true,
        able: SucceededRescale,
        active: VALID,
        limited: Some((true, ScaleUpLimit)),
    };
    check(
        "scale-up after a scale-down",
        &hpa(1, 30, behavior(None, None)),
        &s,
        &asking(5, 20),
        &mut state,
        e,
    );
    assert_eq!(state.scale_up_events, events(&[(11, 0)]));

    // And a recent scale-up lowers a scale-down's start: 10 with 4 just added → Pods 1/60 s
    // from 6 allows 5.
    let down = Some(rules(
        Some(0),
        SelectPolicy::Max,
        &[(PolicyKind::Pods, 1, 60)],
    ));
    let mut state = HpaState {
        recommendations: recs(&[]),
        scale_up_events: events(&[(4, 10)]),
        scale_down_events: vec![],
    };
    let e = Expect {
        desired: 5,
        rescale: true,
        able: SucceededRescale,
        active: VALID,
        limited: Some((true, ScaleDownLimit)),
    };
    check(
        "scale-down after a scale-up",
        &hpa(1, 30, behavior(None, down)),
        &s,
        &asking(10, 2),
        &mut state,
        e,
    );
}
