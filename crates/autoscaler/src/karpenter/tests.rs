//! Table-driven tests of Karpenter-style provisioning and disruption.

use std::sync::Arc;

use super::disruption::*;
use super::nodepool::*;
use super::provisioning::*;
use crate::model::{PodSchedulingSpec, Resources, SelectorOperator, SelectorRequirement};
use crate::node_fit::Packing;

mod base_fit;

const GIB: i64 = 1024 * 1024 * 1024;

/// (name, family, size, vcpu, GiB, on-demand price, spot price or None, spot hazard)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    f64,
    Option<f64>,
    f64,
);

const CATALOG: [Row; 7] = [
    ("c5.xlarge", "c5", "xlarge", 4, 8, 0.17, Some(0.07), 0.002),
    (
        "c5.2xlarge",
        "c5",
        "2xlarge",
        8,
        16,
        0.34,
        Some(0.14),
        0.002,
    ),
    ("m5.large", "m5", "large", 2, 8, 0.096, Some(0.04), 0.001),
    (
        "m5.xlarge",
        "m5",
        "xlarge",
        4,
        16,
        0.192,
        Some(0.075),
        0.0005,
    ),
    (
        "m5.2xlarge",
        "m5",
        "2xlarge",
        8,
        32,
        0.384,
        Some(0.16),
        0.001,
    ),
    ("r5.xlarge", "r5", "xlarge", 4, 32, 0.252, Some(0.10), 0.001),
    ("r5.2xlarge", "r5", "2xlarge", 8, 64, 0.504, None, 0.0),
];

fn catalog(zones: &[&str]) -> Vec<InstanceType> {
    CATALOG
        .iter()
        .map(|&(name, family, size, vcpu, gib, od, spot, hazard)| {
            let mut offerings = Vec::new();
            for z in zones {
                offerings.push(Offering {
                    zone: z.to_string(),
                    capacity_type: CapacityType::OnDemand,
                    price_usd_per_hour: od,
                    interruption_per_hour: 0.0,
                });
                if let Some(sp) = spot {
                    offerings.push(Offering {
                        zone: z.to_string(),
                        capacity_type: CapacityType::Spot,
                        price_usd_per_hour: sp,
                        interruption_per_hour: hazard,
                    });
                }
            }
            let capacity = Resources {
                cpu_m: vcpu * 1000,
                memory_bytes: gib * GIB,
                gpu: 0,
                pods: 58,
            };
            InstanceType {
                name: name.into(),
                family: family.into(),
                size: size.into(),
                labels: Default::default(),
                capacity,
                allocatable: Resources {
                    cpu_m: capacity.cpu_m - 100,
                    memory_bytes: capacity.memory_bytes - GIB / 2,
                    ..capacity
                },
                offerings,
            }
        })
        .collect()
}

fn requirement(key: &str, values: &[&str]) -> Requirement {
    Requirement {
        req: SelectorRequirement {
            key: key.into(),
            operator: SelectorOperator::In,
            values: values.iter().map(|v| v.to_string()).collect(),
        },
        min_values: None,
    }
}

fn on_demand_pool(name: &str) -> NodePool {
    let mut p = NodePool::with_defaults(name);
    p.requirements
        .push(requirement("karpenter.sh/capacity-type", &["on-demand"]));
    p
}

fn pod(cpu_m: i64, mem: i64) -> Arc<PodSchedulingSpec> {
    Arc::new(PodSchedulingSpec {
        namespace: "default".into(),
        requests: Resources {
            cpu_m,
            memory_bytes: mem,
            gpu: 0,
            pods: 1,
        },
        ..Default::default()
    })
}

struct World {
    pools: Vec<NodePool>,
    types: Vec<InstanceType>,
    overhead: Vec<Resources>,
    usage: Vec<PoolUsage>,
    unavailable: UnavailableOfferings,
    now_ms: i64,
}

impl World {
    fn new(pools: Vec<NodePool>) -> World {
        let n = pools.len();
        World {
            pools,
            types: catalog(&["us-east-1a"]),
            overhead: vec![Resources::ZERO; n],
            usage: vec![PoolUsage::default(); n],
            unavailable: Default::default(),
            now_ms: 3_600_000,
        }
    }

    fn cat(&self) -> Catalog<'_> {
        Catalog {
            pools: &self.pools,
            types: &self.types,
            daemonset_overhead: &self.overhead,
            usage: &self.usage,
            unavailable: &self.unavailable,
            now_ms: self.now_ms,
        }
    }

    fn launches(&self, pods: &[Arc<PodSchedulingSpec>]) -> Vec<Launch> {
        let cat = self.cat();
        let sched = schedule(&cat, &candidate_table(&cat), &mut Packing::new(), pods);
        sched
            .claims
            .iter()
            .filter_map(|c| choose_launch(&sched, c, &cat, &LaunchSettings::default()))
            .collect()
    }
}

fn launched(ls: &[Launch]) -> Vec<(String, CapacityType)> {
    ls.iter()
        .map(|l| (l.instance_type.clone(), l.capacity_type))
        .collect()
}

#[test]
fn provisioning_picks_cheapest_fitting_type_and_capacity() {
    struct Case {
        name: &'static str,
        pools: Vec<NodePool>,
        pods: Vec<Arc<PodSchedulingSpec>>,
        unavailable: Vec<(&'static str, CapacityType)>,
        expect: Vec<(&'static str, CapacityType)>,
    }
    let od = CapacityType::OnDemand;
    let spot = CapacityType::Spot;
    let cases = [
        Case {
            name: "three pods share the cheapest on-demand type",
            pools: vec![on_demand_pool("od")],
            pods: vec![pod(1000, GIB); 3],
            unavailable: vec![],
            expect: vec![("c5.xlarge", od)],
        },
        Case {
            name: "memory-heavy pods go to r5",
            pools: vec![on_demand_pool("od")],
            pods: vec![pod(500, 20 * GIB)],
            unavailable: vec![],
            expect: vec![("r5.xlarge", od)],
        },
        Case {
            name: "largest first opens a second claim",
            pools: vec![on_demand_pool("od")],
            pods: vec![pod(7000, GIB), pod(3000, GIB)],
            unavailable: vec![],
            expect: vec![("c5.2xlarge", od), ("c5.xlarge", od)],
        },
        Case {
            name: "spot before on-demand, cheapest spot wins within the band",
            pools: vec![NodePool::with_defaults("any")],
            pods: vec![pod(1000, GIB)],
            unavailable: vec![],
            expect: vec![("m5.large", spot)],
        },
        Case {
            name: "price-capacity-optimized prefers the lower hazard within 10 %",
            pools: vec![NodePool::with_defaults("any")],
            pods: vec![pod(3000, GIB)],
            unavailable: vec![],
            // c5.xlarge spot 0.07 (hazard 0.002) vs m5.xlarge 0.075 (0.0005): within 10 %.
            expect: vec![("m5.xlarge", spot)],
        },
        Case {
            name: "insufficient capacity: spot offerings skipped, fall back to on-demand",
            pools: vec![NodePool::with_defaults("any")],
            pods: vec![pod(7000, GIB)],
            unavailable: vec![("c5.2xlarge", spot), ("m5.2xlarge", spot)],
            expect: vec![("c5.2xlarge", od)],
        },
    ];
    for c in cases {
        let mut w = World::new(c.pools);
        for (t, ct) in c.unavailable {
            w.unavailable.mark(t, "us-east-1a", ct, w.now_ms - 60_000);
        }
        let expect: Vec<(String, CapacityType)> = c
            .expect
            .into_iter()
            .map(|(t, ct)| (t.to_string(), ct))
            .collect();
        assert_eq!(launched(&w.launches(&c.pods)), expect, "{}", c.name);
    }
}

#[test]
fn unavailable_offerings_expire_after_three_minutes() {
    let mut u = UnavailableOfferings::default();
    u.mark("m5.large", "a", CapacityType::Spot, 0);
    assert!(u.is_unavailable("m5.large", "a", CapacityType::Spot, 179_999));
    assert!(!u.is_unavailable("m5.large", "a", CapacityType::Spot, 180_000));
    assert!(!u.is_unavailable("m5.large", "a", CapacityType::OnDemand, 1));
}

#[test]
fn pools_by_weight_limits_and_existing_nodes() {
    let mut heavy = on_demand_pool("heavy");
    heavy.weight = 50;
    heavy
        .requirements
        .push(requirement("karpenter.k8s.aws/instance-family", &["m5"]));
    let light = on_demand_pool("light");
    let w = World::new(vec![light.clone(), heavy.clone()]);
    let cat = w.cat();
    let sched = schedule(
        &cat,
        &candidate_table(&cat),
        &mut Packing::new(),
        &[pod(1000, GIB)],
    );
    assert_eq!(
        sched.claims[0].pool, 1,
        "the higher weight pool is tried first"
    );

    let mut limited = heavy.clone();
    limited.limits.cpu_m = Some(4000);
    let w = World::new(vec![light, limited]);
    let cat = w.cat();
    let sched = schedule(
        &cat,
        &candidate_table(&cat),
        &mut Packing::new(),
        &[pod(3000, GIB), pod(3000, GIB)],
    );
    let pools: Vec<usize> = sched.claims.iter().map(|c| c.pool).collect();
    assert_eq!(
        pools,
        vec![1, 0],
        "the second claim overflows into the lower-weight pool"
    );

    let mut existing = Packing::new();
    existing.add_node(crate::model::NodeSchedulingSpec {
        name: "existing".into(),
        allocatable: Resources {
            cpu_m: 2000,
            memory_bytes: 4 * GIB,
            gpu: 0,
            pods: 10,
        },
        ..Default::default()
    });
    let sched = schedule(
        &cat,
        &candidate_table(&cat),
        &mut existing,
        &[pod(1500, GIB), pod(1500, GIB)],
    );
    assert_eq!((sched.on_existing.len(), sched.claims.len()), (1, 1));
}

#[test]
fn budgets_allow_by_reason_and_percentage() {
    fn check(
        nodes: &str,
        reasons: Vec<DisruptionReason>,
        total: i32,
        disrupting: i32,
        reason: DisruptionReason,
        expect: i32,
    ) {
        let mut p = NodePool::with_defaults("p");
        p.budgets = vec![Budget {
            nodes: BudgetNodes::parse("p", nodes).unwrap(),
            reasons,
            schedule: None,
            duration_ms: None,
        }];
        assert_eq!(
            p.available_disruptions(reason, total, disrupting, &|_| true),
            expect,
            "{nodes} of {total}"
        );
    }
    use DisruptionReason::*;
    check("10%", vec![], 2, 0, Empty, 1);
    check("10%", vec![], 25, 0, Underutilized, 3);
    check("10%", vec![], 25, 2, Underutilized, 1);
    check("0", vec![], 10, 0, Drifted, 0);
    check("5", vec![Drifted], 10, 0, Underutilized, i32::MAX);
    check("50%", vec![Underutilized], 10, 1, Underutilized, 4);
    assert!(BudgetNodes::parse("p", "ten").is_err());
    let mut p = NodePool::with_defaults("p");
    p.budgets.push(Budget {
        nodes: BudgetNodes::Count(0),
        reasons: vec![],
        schedule: Some("0 9 * * *".into()),
        duration_ms: Some(3_600_000),
    });
    assert_eq!(
        p.available_disruptions(Empty, 10, 0, &|_| false),
        1,
        "inactive schedule"
    );
    assert_eq!(
        p.available_disruptions(Empty, 10, 0, &|_| true),
        0,
        "active schedule"
    );
}

fn knode(
    world: &World,
    pool: usize,
    ty: &str,
    ct: CapacityType,
    pods: Vec<Arc<PodSchedulingSpec>>,
) -> KNode {
    let it = world.types.iter().find(|t| t.name == ty).unwrap();
    let off = it.offerings.iter().find(|o| o.capacity_type == ct).unwrap();
    KNode {
        spec: Arc::new(node_spec(&world.pools[pool], it, off, Resources::ZERO)),
        pool,
        instance_type: ty.into(),
        capacity_type: ct,
        zone: off.zone.clone(),
        price_usd_per_hour: off.price_usd_per_hour,
        pods: pods
            .into_iter()
            .map(|spec| KPod {
                spec,
                deletion_cost: 0,
                do_not_disrupt: false,
                reschedulable: true,
                pdb_blocked: false,
            })
            .collect(),
        initialized: true,
        ready: true,
        marked_for_deletion: false,
        nominated: false,
        do_not_disrupt: false,
        drifted: false,
        created_ms: 0,
        last_pod_event_ms: 0,
    }
}

fn run_disrupt(w: &World, nodes: &[KNode], settings: DisruptionSettings) -> Vec<Command> {
    disrupt(&w.cat(), nodes, &[], &settings, &|_| true)
}

#[test]
fn consolidation_replaces_two_underused_nodes_with_one_cheaper_within_budget() {
    struct Case {
        name: &'static str,
        budget: &'static str,
        expect_method: Option<Method>,
        expect_candidates: usize,
        expect_type: Option<&'static str>,
    }
    let cases = [
        Case {
            name: "budget 100%: both nodes, one c5.2xlarge",
            budget: "100%",
            expect_method: Some(Method::MultiNodeConsolidation),
            expect_candidates: 2,
            expect_type: Some("c5.2xlarge"),
        },
        Case {
            name: "default 10% of 2 nodes: one node at a time",
            budget: "10%",
            expect_method: Some(Method::SingleNodeConsolidation),
            expect_candidates: 1,
            expect_type: Some("c5.xlarge"),
        },
        Case {
            name: "budget 0: nothing",
            budget: "0",
            expect_method: None,
            expect_candidates: 0,
            expect_type: None,
        },
    ];
    for c in cases {
        let mut pool = on_demand_pool("od");
        pool.budgets[0].nodes = BudgetNodes::parse("od", c.budget).unwrap();
        let w = World::new(vec![pool]);
        let od = CapacityType::OnDemand;
        // Each r5.xlarge (4 CPU) runs a 2.5-CPU pod: neither pod fits beside the other.
        let nodes = vec![
            knode(&w, 0, "r5.xlarge", od, vec![pod(2500, 4 * GIB)]),
            knode(&w, 0, "r5.xlarge", od, vec![pod(2500, 4 * GIB)]),
        ];
        let cmds = run_disrupt(&w, &nodes, DisruptionSettings::default());
        let cmd = cmds.first();
        assert_eq!(cmd.map(|c| c.method), c.expect_method, "{}", c.name);
        assert_eq!(
            cmd.map_or(0, |c| c.candidates.len()),
            c.expect_candidates,
            "{}",
            c.name
        );
        let ty = cmd
            .and_then(|c| c.replacements.first())
            .map(|l| l.instance_type.as_str());
        assert_eq!(ty, c.expect_type, "{}", c.name);
        if let Some(cmd) = cmd {
            assert!(
                cmd.savings_usd_per_hour > 0.0,
                "{}: strictly cheaper",
                c.name
            );
        }
    }
}

#[test]
fn disruption_methods_and_gates() {
    struct Case {
        name: &'static str,
        setup: fn(&mut World, &mut Vec<KNode>),
        settings: DisruptionSettings,
        expect: Option<(Method, usize)>,
    }
    let od = CapacityType::OnDemand;
    let base = |w: &World| {
        vec![
            knode(w, 0, "m5.2xlarge", od, vec![pod(1000, GIB)]),
            knode(w, 0, "m5.2xlarge", od, vec![pod(5000, GIB)]),
        ]
    };
    let d = DisruptionSettings::default();
    let cases: Vec<Case> = vec![
        Case {
            name: "both merge into one cheaper c5.2xlarge",
            setup: |_, _| {},
            settings: d,
            expect: Some((Method::MultiNodeConsolidation, 0)),
        },
        Case {
            name: "budget of one: single-node delete, its pod fits on the other",
            setup: |w, _| w.pools[0].budgets[0].nodes = BudgetNodes::Count(1),
            settings: d,
            expect: Some((Method::SingleNodeConsolidation, 0)),
        },
        Case {
            name: "empty node goes first",
            setup: |_, n| n[1].pods.clear(),
            settings: d,
            expect: Some((Method::Emptiness, 1)),
        },
        Case {
            name: "WhenEmpty does not consolidate underused nodes",
            setup: |w, _| w.pools[0].consolidation_policy = ConsolidationPolicy::WhenEmpty,
            settings: d,
            expect: None,
        },
        Case {
            name: "consolidateAfter not yet passed",
            setup: |w, n| {
                w.pools[0].consolidate_after_ms = Some(600_000);
                n.iter_mut()
                    .for_each(|x| x.last_pod_event_ms = w.now_ms - 60_000);
            },
            settings: d,
            expect: None,
        },
        Case {
            name: "consolidateAfter Never",
            setup: |w, _| w.pools[0].consolidate_after_ms = None,
            settings: d,
            expect: None,
        },
        Case {
            name: "do-not-disrupt pod protects node 0; node 1 moves onto it",
            setup: |_, n| n[0].pods[0].do_not_disrupt = true,
            settings: d,
            expect: Some((Method::SingleNodeConsolidation, 1)),
        },
        Case {
            name: "blocking PDB protects both",
            setup: |_, n| n.iter_mut().for_each(|x| x.pods[0].pdb_blocked = true),
            settings: d,
            expect: None,
        },
        Case {
            name: "expiry is forceful",
            setup: |w, n| {
                w.pools[0].budgets[0].nodes = BudgetNodes::Count(0);
                n[1].created_ms = w.now_ms - DEFAULT_EXPIRE_AFTER_MS;
            },
            settings: d,
            expect: Some((Method::Expiration, 1)),
        },
        Case {
            name: "drift replaces when enabled",
            setup: |_, n| n[1].drifted = true,
            settings: DisruptionSettings {
                drift_enabled: true,
                ..d
            },
            expect: Some((Method::Drift, 1)),
        },
    ];
    for c in cases {
        let mut w = World::new(vec![on_demand_pool("od")]);
        w.pools[0].budgets[0].nodes = BudgetNodes::Percent(100);
        let mut nodes = base(&w);
        (c.setup)(&mut w, &mut nodes);
        let cmds = run_disrupt(&w, &nodes, c.settings);
        let got = cmds.first().map(|cmd| (cmd.method, cmd.candidates[0]));
        assert_eq!(got, c.expect, "{}", c.name);
    }
}

#[test]
fn spot_to_spot_needs_the_gate_and_fifteen_cheaper_types() {
    let w = World::new(vec![NodePool::with_defaults("any")]);
    let spot = CapacityType::Spot;
    // One spot m5.2xlarge with a small pod: only a replacement could save money.
    let nodes = vec![knode(&w, 0, "m5.2xlarge", spot, vec![pod(1000, GIB)])];
    assert!(
        run_disrupt(&w, &nodes, DisruptionSettings::default()).is_empty(),
        "gate off: spot nodes are only deleted"
    );
    let gated = DisruptionSettings {
        spot_to_spot_consolidation: true,
        ..DisruptionSettings::default()
    };
    assert!(
        run_disrupt(&w, &nodes, gated).is_empty(),
        "fewer than 15 cheaper spot types"
    );
    let od = CapacityType::OnDemand;
    let nodes = vec![knode(&w, 0, "m5.2xlarge", od, vec![pod(1000, GIB)])];
    let cmds = run_disrupt(&w, &nodes, DisruptionSettings::default());
    assert_eq!(
        cmds[0].replacements[0].capacity_type, spot,
        "on-demand to spot-capable replacement is forced to spot"
    );
}

#[test]
fn eviction_cost_and_emptiness() {
    let w = World::new(vec![on_demand_pool("od")]);
    let mut n = knode(
        &w,
        0,
        "m5.large",
        CapacityType::OnDemand,
        vec![pod(100, GIB)],
    );
    assert_eq!(reschedule_cost(&n), 2.0);
    n.pods[0].reschedulable = false;
    assert!(is_empty(&n), "DaemonSet-only nodes are empty");
    n.pods[0].reschedulable = true;
    n.pods[0].deletion_cost = -(1 << 30);
    assert!(is_empty(&n), "negative-cost pods do not count");
    assert_eq!(eviction_cost(&n.pods[0]), -7.0);
}

#[test]
fn nodepool_validation() {
    let mut p = NodePool::with_defaults("p");
    assert!(p.validate().is_ok());
    p.weight = 101;
    assert!(matches!(p.validate(), Err(NodePoolError::Weight { .. })));
    p.weight = 10;
    p.requirements.push(Requirement {
        req: SelectorRequirement {
            key: "k".into(),
            operator: SelectorOperator::In,
            values: vec![],
        },
        min_values: None,
    });
    assert!(matches!(
        p.validate(),
        Err(NodePoolError::Requirement { .. })
    ));
    assert!(ConsolidationPolicy::parse("p", "WhenUnderutilized").is_err());
}

#[test]
fn next_deadline_is_consolidatable_or_expiry() {
    let mut w = World::new(vec![on_demand_pool("od")]);
    w.pools[0].consolidate_after_ms = Some(600_000);
    let mut n = knode(
        &w,
        0,
        "m5.large",
        CapacityType::OnDemand,
        vec![pod(100, GIB)],
    );
    n.last_pod_event_ms = w.now_ms - 60_000;
    assert_eq!(
        next_deadline_ms(&w.cat(), &[n.clone()]),
        Some(w.now_ms + 540_000)
    );
    n.last_pod_event_ms = 0;
    assert_eq!(
        next_deadline_ms(&w.cat(), &[n]),
        Some(DEFAULT_EXPIRE_AFTER_MS)
    );
}
