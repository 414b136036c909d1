//! The failed-attempt memo of `Scheduler::schedule_with`, and not explaining failures,
//! change nothing: three schedulers (remembering failures, not remembering, and remembering
//! without explaining), driven over triplet snapshots through the same node additions,
//! removals, cordons, binds, deletions, preemptions and what-if forks, make the same
//! decisions and leave their RNGs in the same state; the two that explain print the same
//! FitErrors. Along the way, every node's quick verdict matches its full rejection.

use std::sync::Arc;

use rand::{Rng, RngCore};

use super::*;

/// Tiers of pods: preemptible batch, services that preempt it, a zone-spread service
/// (its filters read other nodes), and one that never preempts.
fn templates() -> Vec<Arc<PodSchedulingSpec>> {
    let tier = |app: &str, priority: i32, cpu_m: i64| PodSchedulingSpec {
        priority,
        labels: labels(&[("app", app)]),
        ..pod(cpu_m, GI / 4)
    };
    let zonal = PodSchedulingSpec {
        topology_spread: vec![spread(well_known::ZONE, 1, "zonal")],
        ..tier("zonal", 100, 300)
    };
    let polite = PodSchedulingSpec {
        preemption_policy: PreemptionPolicy::Never,
        ..tier("polite", 100, 400)
    };
    [
        tier("batch", 0, 500),
        tier("batch-big", 0, 900),
        tier("web", 100, 400),
        tier("critical", 1000, 700),
        zonal,
        polite,
    ]
    .into_iter()
    .map(Arc::new)
    .collect()
}

struct Twins {
    snaps: [ClusterSnapshot; 3],
    scheds: [Scheduler; 3],
    rngs: [ChaCha8Rng; 3],
    /// Pending pods, retried every step.
    pending: Vec<(PodId, Arc<PodSchedulingSpec>)>,
    next_pod: u64,
    next_node: usize,
}

impl Twins {
    fn new() -> Twins {
        let sched = Scheduler::new(SchedulerConfig::default()).unwrap();
        let mut forgetful = sched.clone();
        forgetful.set_remember_failures(false);
        let mut quiet = sched.clone();
        quiet.set_explain_failures(false);
        Twins {
            snaps: [
                ClusterSnapshot::new(),
                ClusterSnapshot::new(),
                ClusterSnapshot::new(),
            ],
            scheds: [sched, forgetful, quiet],
            rngs: [rng(5), rng(5), rng(5)],
            pending: Vec::new(),
            next_pod: 0,
            next_node: 0,
        }
    }

    fn each(&mut self, mut f: impl FnMut(&mut ClusterSnapshot)) {
        self.snaps.iter_mut().for_each(&mut f);
    }

    fn add_node(&mut self) {
        let i = self.next_node;
        self.next_node += 1;
        let spec = Arc::new(node(&format!("n{i}"), ["a", "b", "c"][i % 3], 2000, 4 * GI));
        self.each(|s| {
            s.add_node(spec.clone());
        });
    }

    /// One attempt for `pod` on both; acts on the outcome as the simulator does and returns
    /// whether the pod is still pending.
    fn attempt(&mut self, id: PodId, pod: &Arc<PodSchedulingSpec>) -> bool {
        let pdbs = vec![Pdb {
            namespace: "default".into(),
            selector: sel(&[("app", "batch")]),
            disruptions_allowed: 1,
        }];
        let pre = PreFilter::new(&self.snaps[0], pod, Some(id));
        for &n in self.snaps[0].node_ids() {
            let code = pre.filter(n).err().map(|r| r.code);
            assert_eq!(pre.verdict(n), code, "{n:?} for {pod:?}");
        }
        let mut got = Vec::new();
        for i in 0..3 {
            let (snap, rng) = (&mut self.snaps[i], &mut self.rngs[i]);
            let out = self.scheds[i].schedule_with(snap, id, pod, || pdbs.clone(), rng);
            match &out {
                ScheduleOutcome::Scheduled(n) => snap.bind(id, pod.clone(), *n, 0),
                ScheduleOutcome::Nominated { preemption, .. } => {
                    for &v in &preemption.victims {
                        snap.unbind(v);
                    }
                    for &c in &preemption.clear_nominations {
                        snap.clear_nomination(c);
                    }
                    snap.nominate(id, pod, preemption.node);
                }
                ScheduleOutcome::Unschedulable(_) => {}
            }
            got.push(match out {
                ScheduleOutcome::Unschedulable(Some(e)) => format!("{e} {:?}", e.statuses),
                ScheduleOutcome::Unschedulable(None) => "unexplained".into(),
                ScheduleOutcome::Nominated { preemption, error } => {
                    format!("Nominated {preemption:?} explained: {}", error.is_some())
                }
                other => format!("{other:?}"),
            });
        }
        assert_eq!(got[0], got[1], "with and without the memo, for {pod:?}");
        let quietly = match got[0].as_str() {
            g if g.starts_with("Scheduled") => got[0].clone(),
            g if g.starts_with("Nominated") => g.replace("explained: true", "explained: false"),
            _ => "unexplained".into(),
        };
        assert_eq!(got[2], quietly, "explaining or not, for {pod:?}");
        !got[0].starts_with("Scheduled")
    }

    fn step(&mut self, r: &mut impl Rng, templates: &[Arc<PodSchedulingSpec>]) {
        match r.random_range(0..20) {
            0 => self.add_node(),
            1 if self.snaps[0].num_nodes() > 3 => {
                let live = self.snaps[0].node_ids().to_vec();
                let n = live[r.random_range(0..live.len())];
                self.each(|s| {
                    s.remove_node(n);
                });
            }
            2 => {
                let live = self.snaps[0].node_ids().to_vec();
                let (n, on) = (live[r.random_range(0..live.len())], r.random_bool(0.3));
                self.each(|s| s.set_unschedulable(n, on));
            }
            3..=5 => {
                let pods: Vec<PodId> = self.snaps[0].pods().map(|(p, _)| p).collect();
                if !pods.is_empty() {
                    let p = pods[r.random_range(0..pods.len())];
                    self.each(|s| {
                        s.unbind(p);
                    });
                }
            }
            6 => {
                // A what-if thrown away, as the cluster-autoscaler does.
                let live = self.snaps[0].node_ids().to_vec();
                let n = live[r.random_range(0..live.len())];
                self.each(|s| {
                    let fork = s.fork();
                    s.remove_node(n);
                    s.revert(fork);
                });
            }
            _ => {
                let spec = templates[r.random_range(0..templates.len())].clone();
                self.pending.push((PodId(self.next_pod), spec));
                self.next_pod += 1;
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for (id, spec) in pending {
            if self.attempt(id, &spec) {
                self.pending.push((id, spec));
            }
        }
    }
}

#[test]
fn remembering_or_not_explaining_failed_attempts_changes_nothing() {
    let templates = templates();
    let mut twins = Twins::new();
    for _ in 0..6 {
        twins.add_node();
    }
    let mut r = rng(11);
    for _ in 0..400 {
        twins.step(&mut r, &templates);
    }
    // The run must exercise the memo (pods waiting on a full cluster), and pods must land too,
    // or it proves little.
    let reused = twins.scheds[0].failures_reused;
    assert!(reused > 200, "only {reused} attempts answered from memory");
    assert_eq!(twins.scheds[1].failures_reused, 0);
    assert_eq!(twins.scheds[2].failures_reused, reused);
    assert!(twins.snaps[0].num_pods() > 10, "pods must land too");
    let next = twins.rngs[0].next_u64();
    for i in 1..3 {
        assert_eq!(dump(&twins.snaps[0]), dump(&twins.snaps[i]));
        assert_eq!(next, twins.rngs[i].next_u64());
    }
}
