//! Score plugins, their normalization, the scoring strategies and the seeded tie-break.

use super::*;

#[test]
fn resource_score_arithmetic() {
    let cases = [
        // (requested, allocatable, least, most)
        (0, 1000, 100, 0),
        (250, 1000, 75, 25),
        (333, 1000, 66, 33),
        (1000, 1000, 0, 100),
        (1500, 1000, 0, 100),
        (10, 0, 0, 0),
    ];
    for (r, a, least, most) in cases {
        assert_eq!(
            (least_requested_score(r, a), most_requested_score(r, a)),
            (least, most),
            "{r}/{a}"
        );
    }
    assert_eq!(default_normalize(&[0, 2, 4], false), vec![0, 50, 100]);
    assert_eq!(default_normalize(&[0, 2, 4], true), vec![100, 50, 0]);
    assert_eq!(default_normalize(&[0, 0], true), vec![100, 100]);
    assert_eq!(default_normalize(&[0, 0], false), vec![0, 0]);
}

#[test]
fn resource_fit_and_balanced_scores() {
    // Node 4000m / 8Gi with 1000m / 2Gi requested.
    let snap = cluster(
        vec![node("n", "a", 4000, 8 * GI)],
        vec![(0, pod(1000, 2 * GI))],
    );
    let info = snap.node(NodeId(0)).unwrap();
    let cases = [
        // (pod, least, most, balanced)
        (pod(1000, 2 * GI), 50, 50, 100),
        // cpu full (0 / 100), memory 2Gi + 200Mi non-zero of 8Gi (72 / 27).
        (pod(3000, 0), 36, 63, 62),
        // A pod without requests counts as 100m / 200Mi for the fit score only.
        (pod(0, 0), 72, 27, 100),
    ];
    for (p, least, most, balanced) in cases {
        let got = (
            resources_fit_score(&p, info, ScoringStrategy::LeastAllocated),
            resources_fit_score(&p, info, ScoringStrategy::MostAllocated),
            balanced_allocation_score(&p, info),
        );
        assert_eq!(got, (least, most, balanced), "{:?}", p.requests);
    }
}

#[test]
fn scoring_strategy_spreads_or_packs() {
    let nodes = || {
        vec![
            node("big", "a", 8000, 16 * GI),
            node("small", "a", 2000, 4 * GI),
        ]
    };
    let half = |n: usize| vec![(n, pod(1000, 2 * GI))];
    let most = SchedulerConfig {
        scoring: ScoringStrategy::MostAllocated,
        ..Default::default()
    };
    let cases = [
        (SchedulerConfig::default(), half(1), "big"),
        (most.clone(), half(1), "small"),
        (SchedulerConfig::default(), half(0), "big"),
        (most, half(0), "small"),
    ];
    for (cfg, bound, expect) in cases {
        let mut snap = cluster(nodes(), bound);
        assert_eq!(place(&mut snap, cfg, &[pod(500, GI)], 7), vec![expect]);
    }
}

#[test]
fn taint_and_node_affinity_preferences() {
    let soft = NodeSchedulingSpec {
        taints: vec![taint(
            "ToBeDeletedByClusterAutoscaler",
            "1",
            TaintEffect::PreferNoSchedule,
        )],
        ..node("soft", "a", 4000, 8 * GI)
    };
    let mut snap = cluster(vec![soft.clone(), node("plain", "a", 4000, 8 * GI)], vec![]);
    assert_eq!(
        place(&mut snap, SchedulerConfig::default(), &[pod(100, MI)], 3),
        vec!["plain"]
    );
    let mut snap = cluster(
        vec![node("a1", "a", 4000, 8 * GI), node("b1", "b", 4000, 8 * GI)],
        vec![],
    );
    let term = NodeSelectorTerm {
        match_expressions: vec![req(well_known::ZONE, SelectorOperator::In, &["b"])],
        match_fields: vec![],
    };
    let p = PodSchedulingSpec {
        node_affinity: NodeAffinity {
            required: vec![],
            preferred: vec![(10, term)],
        },
        ..pod(100, MI)
    };
    assert_eq!(
        place(&mut snap, SchedulerConfig::default(), &[p], 3),
        vec!["b1"]
    );
}

#[test]
fn tie_break_is_seeded_and_deterministic() {
    let nodes = || {
        (0..8)
            .map(|i| node(&format!("n{i}"), "a", 4000, 8 * GI))
            .collect::<Vec<_>>()
    };
    // Pods without requests leave every node equally scored: only the RNG decides.
    let pods = vec![pod(0, 0); 12];
    let run = |seed| {
        place(
            &mut cluster(nodes(), vec![]),
            SchedulerConfig::default(),
            &pods,
            seed,
        )
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn num_feasible_nodes_to_find() {
    let adaptive = Scheduler::new(SchedulerConfig::default()).unwrap();
    let fixed = Scheduler::new(SchedulerConfig {
        percentage_of_nodes_to_score: Some(10),
        ..Default::default()
    })
    .unwrap();
    let cases = [
        (50, 50, 50),
        (100, 100, 100),
        (500, 230, 100),
        (1000, 420, 100),
        (5000, 500, 500),
        (6000, 300, 600),
    ];
    for (nodes, adaptive_n, fixed_n) in cases {
        assert_eq!(
            (
                adaptive.num_feasible_nodes_to_find(nodes),
                fixed.num_feasible_nodes_to_find(nodes)
            ),
            (adaptive_n, fixed_n),
            "{nodes}"
        );
    }
    assert!(SchedulerConfig {
        percentage_of_nodes_to_score: Some(101),
        ..Default::default()
    }
    .validate()
    .is_err());
}

#[test]
fn spread_and_inter_pod_scores_normalize_like_the_plugins() {
    let three = || {
        vec![
            node("n0", "a", 8000, 32 * GI),
            node("n1", "a", 8000, 32 * GI),
            node("n2", "b", 8000, 32 * GI),
        ]
    };
    let soft = |key: &str| TopologySpreadConstraint {
        when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
        ..spread(key, 1, "web")
    };
    let web = |key: &str| PodSchedulingSpec {
        topology_spread: vec![soft(key)],
        ..app_pod("web")
    };
    let spread_score = |s: &super::super::scores::NodeScore| s.pod_topology_spread;
    let interpod_score = |s: &super::super::scores::NodeScore| s.inter_pod_affinity;
    // Hostname: counts 2, 1, 0 weighted by ln(3 + 2): raw 3, 2, 0 -> 100 × (3 + 0 − s) ÷ 3.
    check_scores(
        three(),
        vec![
            (0, app_pod("web")),
            (0, app_pod("web")),
            (1, app_pod("web")),
        ],
        web(well_known::HOSTNAME),
        spread_score,
        &[0, 33, 100],
    );
    // Zone: a holds 2, b none, weighted by ln(2 + 2): raw 3, 3, 0.
    check_scores(
        three(),
        vec![(0, app_pod("web")), (1, app_pod("web"))],
        web(well_known::ZONE),
        spread_score,
        &[0, 0, 100],
    );
    // No matching pods anywhere: every node scores 100.
    check_scores(
        three(),
        vec![],
        web(well_known::ZONE),
        spread_score,
        &[100, 100, 100],
    );
    let term = PodAffinityTerm {
        label_selector: sel(&[("app", "cache")]),
        topology_key: well_known::ZONE.into(),
        namespaces: vec![],
    };
    let near = PodSchedulingSpec {
        pod_affinity: PodAffinity {
            required: vec![],
            preferred: vec![(100, term.clone())],
        },
        ..app_pod("web")
    };
    let far = PodSchedulingSpec {
        pod_anti_affinity: PodAffinity {
            required: vec![],
            preferred: vec![(100, term.clone())],
        },
        ..app_pod("web")
    };
    check_scores(
        three(),
        vec![(2, app_pod("cache"))],
        near,
        interpod_score,
        &[0, 0, 100],
    );
    check_scores(
        three(),
        vec![(2, app_pod("cache"))],
        far,
        interpod_score,
        &[100, 100, 0],
    );
    // An existing pod's required affinity to the incoming pod pulls it near (weight 1).
    let follower = PodSchedulingSpec {
        pod_affinity: PodAffinity {
            required: vec![PodAffinityTerm {
                label_selector: sel(&[("app", "web")]),
                ..term
            }],
            preferred: vec![],
        },
        ..app_pod("cache")
    };
    check_scores(
        three(),
        vec![(2, follower)],
        app_pod("web"),
        interpod_score,
        &[0, 0, 100],
    );
}

#[test]
fn taint_and_node_affinity_scores() {
    let soft = |k: &str| taint(k, "1", TaintEffect::PreferNoSchedule);
    let mut nodes = vec![
        node("n0", "a", 8000, 32 * GI),
        node("n1", "a", 8000, 32 * GI),
        node("n2", "b", 8000, 32 * GI),
    ];
    nodes[0].taints = vec![
        soft("x"),
        soft("y"),
        taint("z", "1", TaintEffect::NoSchedule),
    ];
    nodes[1].taints = vec![soft("x")];
    let taint_score = |s: &super::super::scores::NodeScore| s.taint_toleration;
    let affinity_score = |s: &super::super::scores::NodeScore| s.node_affinity;
    // Untolerated PreferNoSchedule taints 2, 1, 0, reversed: 100 − 100 × n ÷ 2.
    check_scores(
        nodes.clone(),
        vec![],
        pod(100, MI),
        taint_score,
        &[0, 50, 100],
    );
    // A toleration for x (any effect) leaves 1, 0, 0; a NoSchedule-only one does not count.
    let tolerating = |effect| PodSchedulingSpec {
        tolerations: vec![tol("x", TolerationOperator::Exists, "", effect)],
        ..pod(100, MI)
    };
    check_scores(
        nodes.clone(),
        vec![],
        tolerating(None),
        taint_score,
        &[0, 100, 100],
    );
    check_scores(
        nodes.clone(),
        vec![],
        tolerating(Some(TaintEffect::NoSchedule)),
        taint_score,
        &[0, 50, 100],
    );
    // Preferred terms: zone a weighs 30, hostname n2 weighs 10: raw 30, 30, 10.
    let term = |k: &str, v: &str| NodeSelectorTerm {
        match_expressions: vec![req(k, SelectorOperator::In, &[v])],
        match_fields: vec![],
    };
    let preferring = PodSchedulingSpec {
        node_affinity: NodeAffinity {
            required: vec![],
            preferred: vec![
                (30, term(well_known::ZONE, "a")),
                (10, term(well_known::HOSTNAME, "n2")),
            ],
        },
        ..pod(100, MI)
    };
    check_scores(
        nodes.clone(),
        vec![],
        preferring,
        affinity_score,
        &[100, 100, 33],
    );
    check_scores(nodes, vec![], pod(100, MI), affinity_score, &[0, 0, 0]);
}

#[test]
fn round_half_away_is_f64_round() {
    use rand::Rng;
    let check = |x: f64| {
        assert_eq!(
            crate::scheduler::spread::round_half_away(x),
            x.round() as i64,
            "{x:e} ({:#x})",
            x.to_bits()
        )
    };
    let edges = [
        0.0,
        -0.0,
        0.49999999999999994,
        0.5,
        1.5,
        2.5,
        -0.5,
        -2.5,
        -0.49999999999999994,
        4503599627370495.5,
        9007199254740993.0,
        9.2e18,
        1e19,
        -1e19,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
    ];
    edges.into_iter().for_each(check);
    let mut r = rng(3);
    for _ in 0..100_000 {
        // Random bit patterns cover every exponent; scaled uniforms cover the score range.
        check(f64::from_bits(r.random()));
        check(r.random_range(-1e6..1e6));
        check(r.random_range(0..4000) as f64 / 8.0);
    }
}
