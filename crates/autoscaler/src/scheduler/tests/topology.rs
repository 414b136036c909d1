//! Topology spread (skew, minDomains, inclusion policies, matchLabelKeys, defaults) and inter-pod (anti-)affinity.

use super::*;

#[test]
fn topology_spread_skew() {
    const SKEW: &str = "node(s) didn't match pod topology spread constraints";
    let web = |c: TopologySpreadConstraint| PodSchedulingSpec {
        topology_spread: vec![c],
        ..app_pod("web")
    };
    let zone = |skew| spread(well_known::ZONE, skew, "web");
    let host = |skew| spread(well_known::HOSTNAME, skew, "web");
    let min_domains = |n| TopologySpreadConstraint {
        min_domains: Some(n),
        ..zone(1)
    };
    // Existing web pods: 2 in zone a (n0), 1 in zone b (n2), none in c.
    let bound = || {
        vec![
            (0, app_pod("web")),
            (0, app_pod("web")),
            (2, app_pod("web")),
            (4, app_pod("other")),
        ]
    };
    let cases: Vec<(PodSchedulingSpec, [&str; 6])> = vec![
        // Zone minimum is 0 (zone c): only zone c fits with maxSkew 1.
        (web(zone(1)), [SKEW, SKEW, SKEW, SKEW, "", ""]),
        (web(zone(2)), [SKEW, SKEW, "", "", "", ""]),
        // Hostname: n0 has 2, n2 has 1, the rest 0.
        (web(host(1)), [SKEW, "", SKEW, "", "", ""]),
        // A pod that does not match its own selector adds no self-match.
        (
            PodSchedulingSpec {
                topology_spread: vec![zone(1)],
                ..app_pod("api")
            },
            [SKEW, SKEW, "", "", "", ""],
        ),
    ];
    for (p, expect) in cases {
        let snap = cluster(six_nodes(), bound());
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..6)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect, "{:?}", p.topology_spread);
    }
    // minDomains: with only zones a and b eligible (nodeSelector), the minimum is their
    // least count (1) unless minDomains exceeds the 2 domains, which makes it 0.
    let only_ab = |c| PodSchedulingSpec {
        node_affinity: NodeAffinity {
            required: vec![NodeSelectorTerm {
                match_expressions: vec![req(well_known::ZONE, SelectorOperator::In, &["a", "b"])],
                match_fields: vec![],
            }],
            preferred: vec![],
        },
        ..web(c)
    };
    let cases: Vec<(TopologySpreadConstraint, [&str; 4])> = vec![
        (zone(1), [SKEW, SKEW, "", ""]),
        (min_domains(2), [SKEW, SKEW, "", ""]),
        (min_domains(3), [SKEW, SKEW, SKEW, SKEW]),
        (
            TopologySpreadConstraint {
                min_domains: Some(3),
                max_skew: 2,
                ..zone(1)
            },
            [SKEW, SKEW, "", ""],
        ),
        // nodeAffinityPolicy Ignore counts zone c (0 pods) again.
        (
            TopologySpreadConstraint {
                node_affinity_policy: SpreadPolicy::Ignore,
                ..zone(1)
            },
            [SKEW, SKEW, SKEW, SKEW],
        ),
    ];
    for (c, expect) in cases {
        let snap = cluster(six_nodes(), bound());
        let p = only_ab(c);
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..4)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect, "{:?}", p.topology_spread);
    }
}

#[test]
fn topology_spread_policies_and_labels() {
    const MISSING: &str =
        "node(s) didn't match pod topology spread constraints (missing required label)";
    const SKEW: &str = "node(s) didn't match pod topology spread constraints";
    let mut nodes = six_nodes();
    // Zone c's nodes are tainted: with nodeTaintsPolicy Honor they stop counting.
    for n in &mut nodes[4..] {
        n.taints
            .push(taint("dedicated", "batch", TaintEffect::NoSchedule));
    }
    let mut unlabeled = node("bare", "x", 8000, 32 * GI);
    unlabeled.labels.remove(well_known::ZONE);
    nodes.push(unlabeled);
    let bound = vec![(0, app_pod("web")), (2, app_pod("web"))];
    let zone = spread(well_known::ZONE, 1, "web");
    let tolerating = |c: TopologySpreadConstraint| PodSchedulingSpec {
        topology_spread: vec![c],
        tolerations: vec![tol("dedicated", TolerationOperator::Exists, "", None)],
        ..app_pod("web")
    };
    let cases: Vec<(PodSchedulingSpec, [&str; 7])> = vec![
        // Ignore (default): zone c counts with 0, so a and b are over the skew.
        (
            PodSchedulingSpec {
                topology_spread: vec![zone.clone()],
                ..app_pod("web")
            },
            [
                SKEW,
                SKEW,
                SKEW,
                SKEW,
                "node(s) had untolerated taint {dedicated: batch}",
                "node(s) had untolerated taint {dedicated: batch}",
                MISSING,
            ],
        ),
        (
            tolerating(zone.clone()),
            [SKEW, SKEW, SKEW, SKEW, "", "", MISSING],
        ),
        // Honor, pod does not tolerate: zone c is not a domain, min becomes 1.
        (
            PodSchedulingSpec {
                topology_spread: vec![TopologySpreadConstraint {
                    node_taints_policy: SpreadPolicy::Honor,
                    ..zone.clone()
                }],
                ..app_pod("web")
            },
            [
                "",
                "",
                "",
                "",
                "node(s) had untolerated taint {dedicated: batch}",
                "node(s) had untolerated taint {dedicated: batch}",
                MISSING,
            ],
        ),
    ];
    for (p, expect) in cases {
        let snap = cluster(nodes.clone(), bound.clone());
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..7)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect);
    }
    // matchLabelKeys: only pods of the same revision count.
    let rev = |r: &str| PodSchedulingSpec {
        labels: labels(&[("app", "web"), ("rev", r)]),
        ..pod(100, MI)
    };
    let c = TopologySpreadConstraint {
        match_label_keys: vec!["rev".into()],
        ..spread(well_known::HOSTNAME, 1, "web")
    };
    let snap = cluster(six_nodes(), vec![(0, rev("1")), (0, rev("1"))]);
    let new_rev = PodSchedulingSpec {
        topology_spread: vec![c.clone()],
        ..rev("2")
    };
    let old_rev = PodSchedulingSpec {
        topology_spread: vec![c],
        ..rev("1")
    };
    assert_eq!(snap.fits(&new_rev, NodeId(0)), Ok(()));
    assert!(snap.fits(&old_rev, NodeId(0)).is_err());
}

#[test]
fn topology_spread_places_evenly_and_default_constraints_spread() {
    let c = spread(well_known::ZONE, 1, "web");
    let web = PodSchedulingSpec {
        topology_spread: vec![c],
        ..app_pod("web")
    };
    let mut snap = cluster(six_nodes(), vec![]);
    let placed = place(&mut snap, SchedulerConfig::default(), &vec![web; 9], 11);
    let zone_of = |n: &str| ["a", "a", "b", "b", "c", "c"][n[1..].parse::<usize>().unwrap()];
    for z in ["a", "b", "c"] {
        assert_eq!(
            placed.iter().filter(|n| zone_of(n) == z).count(),
            3,
            "{placed:?}"
        );
    }
    // Default (system) constraints: a workload's pods spread over hostnames even under
    // MostAllocated, which alone would pack them onto one node.
    let owned = PodSchedulingSpec {
        controller_selector: Some(sel(&[("app", "api")])),
        ..app_pod("api")
    };
    let most = SchedulerConfig {
        scoring: ScoringStrategy::MostAllocated,
        ..Default::default()
    };
    let mut snap = cluster(six_nodes(), vec![]);
    let placed = place(&mut snap, most.clone(), &vec![owned; 6], 5);
    let mut distinct = placed.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 3, "{placed:?}");
    let bare = app_pod("api");
    let mut snap = cluster(six_nodes(), vec![]);
    let placed = place(&mut snap, most, &vec![bare; 6], 5);
    assert!(placed.iter().all(|n| *n == placed[0]), "{placed:?}");
}

#[test]
fn inter_pod_affinity_filter() {
    const ANTI: &str = "node(s) didn't match pod anti-affinity rules";
    const EXISTING: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
    const AFFINITY: &str = "node(s) didn't match pod affinity rules";
    let with_anti = |app: &str, on: &str, key: &str| PodSchedulingSpec {
        pod_anti_affinity: anti(on, key),
        ..app_pod(app)
    };
    let with_aff = |app: &str, on: &str, key: &str| PodSchedulingSpec {
        pod_affinity: anti(on, key),
        ..app_pod(app)
    };
    let other_ns = PodSchedulingSpec {
        namespace: "other".into(),
        ..app_pod("db")
    };
    // (case, bound pods by node index, incoming pod, expected verdict per node)
    type Case = (
        &'static str,
        Vec<(usize, PodSchedulingSpec)>,
        PodSchedulingSpec,
        [&'static str; 6],
    );
    let cases: Vec<Case> = vec![
        (
            "anti by hostname",
            vec![(0, app_pod("db"))],
            with_anti("web", "db", well_known::HOSTNAME),
            [ANTI, "", "", "", "", ""],
        ),
        (
            "anti by zone",
            vec![(0, app_pod("db"))],
            with_anti("web", "db", well_known::ZONE),
            [ANTI, ANTI, "", "", "", ""],
        ),
        (
            "anti ignores other namespaces",
            vec![(0, other_ns.clone())],
            with_anti("web", "db", well_known::ZONE),
            [""; 6],
        ),
        (
            "existing anti",
            vec![(2, with_anti("db", "web", well_known::ZONE))],
            app_pod("web"),
            ["", "", EXISTING, EXISTING, "", ""],
        ),
        (
            "existing anti, not matching",
            vec![(2, with_anti("db", "web", well_known::ZONE))],
            app_pod("api"),
            [""; 6],
        ),
        (
            "affinity by zone",
            vec![(4, app_pod("db"))],
            with_aff("web", "db", well_known::ZONE),
            [AFFINITY, AFFINITY, AFFINITY, AFFINITY, "", ""],
        ),
        (
            "first pod of a self-affine group",
            vec![],
            with_aff("web", "web", well_known::ZONE),
            [""; 6],
        ),
        (
            "affinity with no match anywhere",
            vec![],
            with_aff("web", "db", well_known::ZONE),
            [AFFINITY; 6],
        ),
    ];
    for (name, bound, p, expect) in cases {
        let snap = cluster(six_nodes(), bound);
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..6)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn anti_affinity_replicas_one_per_node() {
    let p = PodSchedulingSpec {
        pod_anti_affinity: anti("web", well_known::HOSTNAME),
        ..app_pod("web")
    };
    let mut snap = cluster(six_nodes()[..3].to_vec(), vec![]);
    let placed = place(&mut snap, SchedulerConfig::default(), &vec![p; 4], 2);
    let mut first3 = placed[..3].to_vec();
    first3.sort();
    assert_eq!(first3, vec!["n0", "n1", "n2"]);
    assert_eq!(
        placed[3],
        "pending: 0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
    );
}

#[test]
fn preferred_pod_affinity_score() {
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
            preferred: vec![(100, term)],
        },
        ..app_pod("web")
    };
    let bound = || vec![(2, app_pod("cache")), (3, app_pod("cache"))];
    let zone_of = |n: &String| ["a", "a", "b", "b", "c", "c"][n[1..].parse::<usize>().unwrap()];
    let mut snap = cluster(six_nodes(), bound());
    assert_eq!(
        place(&mut snap, SchedulerConfig::default(), &[near], 1)
            .iter()
            .map(zone_of)
            .collect::<Vec<_>>(),
        ["b"]
    );
    let mut snap = cluster(six_nodes(), bound());
    assert_ne!(
        place(&mut snap, SchedulerConfig::default(), &[far], 1)
            .iter()
            .map(zone_of)
            .collect::<Vec<_>>(),
        ["b"]
    );
}

#[test]
fn terminating_pods_keep_resources_but_leave_spread_counts() {
    let c = spread(well_known::HOSTNAME, 1, "web");
    let web = PodSchedulingSpec {
        topology_spread: vec![c],
        ..app_pod("web")
    };
    let mut snap = cluster(six_nodes()[..2].to_vec(), vec![(0, app_pod("web"))]);
    assert!(snap.fits(&web, NodeId(0)).is_err());
    snap.set_terminating(PodId(1000), Termination::Preempted);
    assert_eq!(snap.fits(&web, NodeId(0)), Ok(()));
    assert_eq!(snap.node(NodeId(0)).unwrap().requested.pods, 1);
    snap.unbind(PodId(1000));
    assert_eq!(snap.node(NodeId(0)).unwrap().requested, Resources::ZERO);
}
