//! The static filter cache, and what the snapshot remembers per bound spec (its filter
//! class, its default spread constraints), change nothing: a cached and an uncached
//! snapshot driven through the same node additions, removals, taint changes, cordons,
//! binds and fork reverts make the same placements and print the same FitErrors.

use std::sync::Arc;

use rand::Rng;

use super::*;

/// Pod templates exercising every cached filter and the spread inclusion policies.
fn templates() -> Vec<PodSchedulingSpec> {
    let spot = tol(
        "spot",
        TolerationOperator::Exists,
        "",
        Some(TaintEffect::NoSchedule),
    );
    let honor_taints = TopologySpreadConstraint {
        node_taints_policy: SpreadPolicy::Honor,
        ..spread(well_known::ZONE, 1, "zonal")
    };
    let mut required = NodeAffinity::default();
    required.required = vec![NodeSelectorTerm {
        match_expressions: vec![req("pool", SelectorOperator::In, &["general", "spot"])],
        match_fields: vec![],
    }];
    vec![
        PodSchedulingSpec {
            node_selector: labels(&[("pool", "general")]),
            controller_selector: Some(sel(&[("app", "plain")])),
            ..app_pod("plain")
        },
        PodSchedulingSpec {
            node_selector: labels(&[("pool", "spot")]),
            tolerations: vec![spot.clone()],
            ..app_pod("spot")
        },
        PodSchedulingSpec {
            node_affinity: required,
            tolerations: vec![spot],
            topology_spread: vec![honor_taints, spread(well_known::HOSTNAME, 2, "zonal")],
            ..app_pod("zonal")
        },
        PodSchedulingSpec {
            node_name: Some("n3".into()),
            ..app_pod("pinned")
        },
        PodSchedulingSpec {
            tolerations: vec![tol(
                matching::TAINT_NODE_UNSCHEDULABLE,
                TolerationOperator::Exists,
                "",
                None,
            )],
            controller_selector: Some(sel(&[("app", "any")])),
            ..app_pod("any")
        },
    ]
}

fn random_node(i: usize, r: &mut impl Rng) -> NodeSchedulingSpec {
    let mut n = node(
        &format!("n{i}"),
        ["a", "b", "c"][r.random_range(0..3)],
        1000,
        4 * GI,
    );
    let pool = ["general", "spot", "other"][r.random_range(0..3)];
    n.labels.insert("pool".into(), pool.into());
    if pool == "spot" {
        n.taints = vec![taint("spot", "true", TaintEffect::NoSchedule)];
    }
    n
}

fn random_taints(r: &mut impl Rng) -> Vec<Taint> {
    match r.random_range(0..4) {
        0 => vec![],
        1 => vec![taint("spot", "true", TaintEffect::NoSchedule)],
        2 => vec![taint("dedicated", "x", TaintEffect::NoExecute)],
        _ => vec![taint("soft", "y", TaintEffect::PreferNoSchedule)],
    }
}

/// Both snapshots, their schedulers and RNGs, stepped in lockstep.
struct Pair {
    snaps: [ClusterSnapshot; 2],
    scheds: [Scheduler; 2],
    rngs: [ChaCha8Rng; 2],
    next_pod: u64,
    next_node: usize,
}

impl Pair {
    fn new() -> Pair {
        let mut uncached = ClusterSnapshot::new();
        uncached.set_static_fit_cache(false);
        let sched = Scheduler::new(SchedulerConfig::default()).unwrap();
        Pair {
            snaps: [ClusterSnapshot::new(), uncached],
            scheds: [sched.clone(), sched],
            rngs: [rng(7), rng(7)],
            next_pod: 0,
            next_node: 0,
        }
    }

    fn each(&mut self, mut f: impl FnMut(&mut ClusterSnapshot)) {
        self.snaps.iter_mut().for_each(&mut f);
    }

    /// Schedules one pod on both and binds it where it lands; returns the outcome.
    fn schedule(&mut self, pod: &Arc<PodSchedulingSpec>) -> String {
        let id = PodId(self.next_pod);
        self.next_pod += 1;
        let mut got = Vec::new();
        for i in 0..2 {
            check_feasibility_search(&PreFilter::new(&self.snaps[i], pod, Some(id)));
            let out = self.scheds[i].schedule_one(&self.snaps[i], id, pod, &mut self.rngs[i]);
            if let Ok(n) = out {
                self.snaps[i].bind(id, pod.clone(), n, 0);
            }
            got.push(match out {
                Ok(n) => format!("{n:?}"),
                Err(e) => format!("{e} {:?}", e.statuses),
            });
        }
        assert_eq!(got[0], got[1], "cached vs uncached for {pod:?}");
        got.swap_remove(0)
    }

    /// One random mutation of the node set or the pods, applied to both.
    fn mutate(&mut self, r: &mut impl Rng) {
        let live = self.snaps[0].node_ids().to_vec();
        let pick = |r: &mut dyn rand::RngCore| live[r.random_range(0..live.len())];
        match r.random_range(0..6) {
            0 => {
                let spec = Arc::new(random_node(self.next_node, r));
                self.next_node += 1;
                self.each(|s| {
                    s.add_node(spec.clone());
                });
            }
            1 if live.len() > 3 => {
                let n = pick(r);
                self.each(|s| {
                    s.remove_node(n);
                });
            }
            2 => {
                let (n, taints) = (pick(r), random_taints(r));
                self.each(|s| s.set_taints(n, taints.clone()));
            }
            3 => {
                let (n, on) = (pick(r), r.random_bool(0.5));
                self.each(|s| s.set_unschedulable(n, on));
            }
            4 => {
                let pods: Vec<PodId> = self.snaps[0].pods().map(|(p, _)| p).collect();
                if !pods.is_empty() {
                    let p = pods[r.random_range(0..pods.len())];
                    self.each(|s| {
                        s.unbind(p);
                    });
                }
            }
            _ => {
                // A what-if that is thrown away, as the cluster-autoscaler does.
                let (spec, n, taints) = (Arc::new(random_node(999, r)), pick(r), random_taints(r));
                self.each(|s| {
                    let fork = s.fork();
                    s.add_node(spec.clone());
                    s.set_taints(n, taints.clone());
                    s.remove_node(n);
                    s.revert(fork);
                });
            }
        }
    }
}

/// The feasibility search, which looks only at the nodes the cache lists as passing the
/// static filters, finds what a visit of every live node finds, from every start index and
/// for a few numbers of nodes to find: the same feasible nodes, the same count of nodes
/// visited and, when it finds too few, the same resolvable nodes.
fn check_feasibility_search(pre: &PreFilter<'_>) {
    let nodes = pre.snap.node_ids();
    for start in 0..nodes.len() {
        for to_find in [1, 2, nodes.len()] {
            let (mut feasible, mut resolvable) = (Vec::new(), Vec::new());
            let visited = pre.find_feasible(start, to_find, &mut feasible, &mut resolvable);
            if feasible.len() >= to_find {
                // Stopped early: what it saw as resolvable so far is no list of anything.
                resolvable.clear();
            }
            let mut plain = (Vec::new(), Vec::new(), nodes.len());
            for (i, &n) in nodes[start..].iter().chain(&nodes[..start]).enumerate() {
                match pre.verdict(n) {
                    None => plain.0.push(n),
                    Some(Code::Unschedulable) => plain.1.push(n),
                    Some(Code::UnschedulableAndUnresolvable) => {}
                }
                if plain.0.len() >= to_find {
                    plain.1.clear();
                    plain.2 = i + 1;
                    break;
                }
            }
            plain.1.sort();
            assert_eq!((feasible, resolvable, visited), plain, "from {start}");
        }
    }
}

#[test]
fn cached_and_uncached_static_filters_place_pods_identically() {
    let templates: Vec<Arc<PodSchedulingSpec>> = templates().into_iter().map(Arc::new).collect();
    let mut pair = Pair::new();
    let mut r = rng(42);
    for _ in 0..12 {
        let spec = Arc::new(random_node(pair.next_node, &mut r));
        pair.next_node += 1;
        pair.each(|s| {
            s.add_node(spec.clone());
        });
    }
    let (mut placed, mut pending) = (0, 0);
    for step in 0..600 {
        if step % 3 == 0 {
            pair.mutate(&mut r);
        }
        let pod = &templates[r.random_range(0..templates.len())];
        if pair.schedule(pod).starts_with("NodeId") {
            placed += 1;
        } else {
            pending += 1;
        }
    }
    // The run must exercise both outcomes, or it proves little.
    assert!(
        placed > 100 && pending > 20,
        "placed {placed}, pending {pending}"
    );
    assert_eq!(dump(&pair.snaps[0]), dump(&pair.snaps[1]));
}
