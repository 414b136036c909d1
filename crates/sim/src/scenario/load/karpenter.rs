//! Karpenter: `settings.nodeAutoscaler.karpenter` and the karpenter.sh/v1 NodePool objects,
//! resolved into [`KarpenterSettings`] and one scenario node pool per NodePool, whose
//! instance types are the built-in catalog's, filtered by the NodePool's requirements.

use std::collections::BTreeSet;

use autoscaler::karpenter::disruption::DisruptionSettings;
use autoscaler::karpenter::nodepool as kp;
use autoscaler::karpenter::provisioning::{candidate_table, Catalog, UnavailableOfferings};
use autoscaler::model::well_known;
use autoscaler::spot::SpotHazardTable;

use crate::manifest::karpenter::{NodePool as NodePoolManifest, NodePoolManifestError};
use crate::scenario::catalog::catalog;
use crate::scenario::cron::CronSchedule;
use crate::scenario::load::pools::{distribution, resources, MAX_NODES_PER_POOL};
use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::{
    CapacityType, Distribution, InstanceType, KarpenterPool, KarpenterSettings, NodePool,
};
use crate::scenario::spec::KarpenterSpec;
use crate::time::SimDuration;

/// The NodePool annotation that lists the nodes present at time 0.
pub const INITIAL_NODES_ANNOTATION: &str = "headroom.io/initial-nodes";

const DEFAULT_ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

/// What the settings give every Karpenter pool.
struct Common {
    zones: Vec<String>,
    batch_idle: SimDuration,
    batch_max: SimDuration,
    provisioning_delay: Distribution,
    overhead: autoscaler::model::Resources,
}

/// Resolves Karpenter's settings and NodePools. `first_pool` is the index the first
/// NodePool's scenario node pool will have; `taken` are the static pools' names.
pub(crate) fn karpenter(
    ctx: &Ctx,
    spec: &KarpenterSpec,
    at: &Origin,
    objects: &[(Origin, NodePoolManifest)],
    first_pool: usize,
    taken: &[String],
) -> Result<(KarpenterSettings, Vec<NodePool>), LoadError> {
    let common = common(ctx, spec, at)?;
    if objects.is_empty() {
        return Err(ctx.err(
            at,
            "Karpenter needs at least one karpenter.sh/v1 NodePool among the manifests",
        ));
    }
    // Validate every NodePool and find the catalog types each accepts.
    let all: Vec<InstanceType> = catalog().types().to_vec();
    let offered: Vec<_> = all
        .iter()
        .map(|t| t.to_karpenter(&common.zones, &SpotHazardTable::default()))
        .collect();
    let mut validated = Vec::new();
    for (i, (origin, np)) in objects.iter().enumerate() {
        let name = &np.metadata.name;
        if taken.contains(name) || objects[..i].iter().any(|(_, o)| &o.metadata.name == name) {
            return Err(ctx.err(
                &origin.keys("metadata.name"),
                format!("duplicate node pool name `{name}`"),
            ));
        }
        validated.push(validate_pool(ctx, origin, np, &offered, &common)?);
    }
    let union: BTreeSet<usize> = validated.iter().flat_map(|(_, t)| t).copied().collect();
    let instance_types: Vec<InstanceType> = union.iter().map(|&t| all[t].clone()).collect();
    let mut pools = Vec::new();
    let mut kpools = Vec::new();
    for (k, ((origin, np), (pool, accepted))) in objects.iter().zip(validated).enumerate() {
        let initial = initial_nodes(ctx, origin, np, &pool, &instance_types, &all, &accepted)?;
        pools.push(scenario_pool(
            &pool,
            k,
            &accepted,
            &offered,
            &common,
            &instance_types,
        ));
        kpools.push(KarpenterPool {
            pool: first_pool + k,
            spec: pool,
            initial,
        });
    }
    let settings = KarpenterSettings {
        zones: common.zones,
        batch_idle: common.batch_idle,
        batch_max: common.batch_max,
        disruption: DisruptionSettings {
            spot_to_spot_consolidation: spec.spot_to_spot_consolidation.unwrap_or(false),
            // Nothing drifts in a run: NodePools and node classes do not change.
            drift_enabled: false,
            ..DisruptionSettings::default()
        },
        pools: kpools,
        instance_types,
    };
    Ok((settings, pools))
}

/// The scenario node pool standing for NodePool `k`: its zones, a nominal capacity type
/// (on-demand if it allows it), the shared instance types and the NodePool's labels and taints.
fn scenario_pool(
    pool: &kp::NodePool,
    k: usize,
    accepted: &BTreeSet<usize>,
    offered: &[autoscaler::karpenter::provisioning::InstanceType],
    common: &Common,
    instance_types: &[InstanceType],
) -> NodePool {
    let on_demand = accepted.iter().any(|&t| {
        offered[t]
            .offerings
            .iter()
            .any(|o| o.capacity_type == kp::CapacityType::OnDemand)
    }) && pool_allows(pool, well_known::KARPENTER_CAPACITY_TYPE, "on-demand");
    NodePool {
        name: pool.name.clone(),
        instance_types: instance_types.to_vec(),
        capacity_type: if on_demand {
            CapacityType::OnDemand
        } else {
            CapacityType::Spot
        },
        // The zones the pool's requirements leave open.
        zones: common
            .zones
            .iter()
            .filter(|z| pool_allows(pool, well_known::ZONE, z))
            .cloned()
            .collect(),
        min_nodes: 0,
        max_nodes: pool.limits.nodes.map_or(MAX_NODES_PER_POOL, |n| {
            n.clamp(0, i64::from(MAX_NODES_PER_POOL)) as i32
        }),
        initial_nodes: 0,
        labels: pool.labels.clone(),
        taints: pool.taints.clone(),
        provisioning_delay: common.provisioning_delay.clone(),
        daemonset_overhead: common.overhead,
        karpenter: Some(k),
    }
}

/// The settings with Karpenter's defaults.
fn common(ctx: &Ctx, spec: &KarpenterSpec, at: &Origin) -> Result<Common, LoadError> {
    let zones: Vec<String> = match &spec.zones {
        Some(z) if z.is_empty() => return Err(ctx.err(&at.key("zones"), "needs at least one zone")),
        Some(z) => z.clone(),
        None => DEFAULT_ZONES.iter().map(|z| z.to_string()).collect(),
    };
    let positive = |d: Option<crate::scenario::spec::Dur>, default_ms: i64, key: &str| {
        let d = d.map_or(SimDuration(default_ms), |d| d.0);
        if d > SimDuration::ZERO {
            Ok(d)
        } else {
            Err(ctx.err(&at.key(key), "must be greater than zero"))
        }
    };
    Ok(Common {
        zones,
        batch_idle: positive(spec.batch_idle_duration, 1_000, "batchIdleDuration")?,
        batch_max: positive(spec.batch_max_duration, 10_000, "batchMaxDuration")?,
        provisioning_delay: match &spec.provisioning_delay {
            Some(d) => distribution(ctx, d, &at.key("provisioningDelay"))?,
            None => Distribution::LogNormal {
                median: SimDuration::from_secs(60),
                sigma: 0.3,
            },
        },
        overhead: resources(ctx, &spec.daemonset_overhead, &at.key("daemonsetOverhead"))?,
    })
}

/// Validates one NodePool into the domain type and finds the catalog types (indices into
/// `offered`) its requirements accept; none is an error.
fn validate_pool(
    ctx: &Ctx,
    origin: &Origin,
    np: &NodePoolManifest,
    offered: &[autoscaler::karpenter::provisioning::InstanceType],
    common: &Common,
) -> Result<(kp::NodePool, BTreeSet<usize>), LoadError> {
    let name = &np.metadata.name;
    if name.is_empty() {
        return Err(ctx.err(&origin.keys("metadata.name"), "must not be empty"));
    }
    if np.spec.replicas.is_some() {
        return Err(ctx.err(
            &origin.keys("spec.replicas"),
            "static NodePools (spec.replicas) are not simulated; list static capacity under `nodePools`",
        ));
    }
    let pool = np
        .to_domain()
        .map_err(|e| ctx.err(&error_place(origin, &e), e.to_string()))?;
    for (b, budget) in pool.budgets.iter().enumerate() {
        if let Some(s) = &budget.schedule {
            CronSchedule::parse(s).map_err(|e| {
                let place = origin
                    .keys("spec.disruption.budgets")
                    .index(b)
                    .key("schedule");
                ctx.err(&place, e.to_string())
            })?;
        }
    }
    let unavailable = UnavailableOfferings::default();
    let cat = Catalog {
        pools: std::slice::from_ref(&pool),
        types: offered,
        daemonset_overhead: std::slice::from_ref(&common.overhead),
        usage: &[],
        unavailable: &unavailable,
        now_ms: 0,
    };
    let types: BTreeSet<usize> = candidate_table(&cat)
        .candidates
        .iter()
        .map(|c| c.type_idx)
        .collect();
    if types.is_empty() {
        let zones = &common.zones;
        return Err(ctx.err(
            &origin.keys("spec.template.spec.requirements"),
            format!("NodePool `{name}` accepts no instance type of the built-in catalog in zones {zones:?}"),
        ));
    }
    Ok((pool, types))
}

/// The field a NodePool error is about, as near as the error tells.
fn error_place(origin: &Origin, e: &NodePoolManifestError) -> Origin {
    use crate::manifest::karpenter::NodePoolManifestError as E;
    let spec = origin.key("spec");
    match e {
        E::Duration { field, .. } => match *field {
            "expireAfter" | "terminationGracePeriod" => spec.keys("template.spec").key(field),
            "consolidateAfter" => spec.keys("disruption.consolidateAfter"),
            _ => spec.keys("disruption.budgets"),
        },
        E::Enum { field, .. } if field.starts_with("taints") => spec.keys("template.spec.taints"),
        E::Enum { .. } => spec.keys("template.spec.requirements"),
        E::Quantity { resource, .. } => spec.key("limits").key(resource),
        E::Invalid(kp::NodePoolError::Weight { .. }) => spec.key("weight"),
        E::Invalid(kp::NodePoolError::Policy { .. }) => spec.keys("disruption.consolidationPolicy"),
        E::Invalid(kp::NodePoolError::Requirement { .. }) => {
            spec.keys("template.spec.requirements")
        }
        E::Invalid(_) => spec.keys("disruption.budgets"),
    }
}

/// Whether the pool's requirements allow `value` for label `key` (an absent key allows all).
fn pool_allows(pool: &kp::NodePool, key: &str, value: &str) -> bool {
    use autoscaler::model::SelectorOperator as Op;
    pool.requirements
        .iter()
        .filter(|r| r.req.key == key)
        .all(|r| match r.req.operator {
            Op::In => r.req.values.iter().any(|v| v == value),
            Op::NotIn => !r.req.values.iter().any(|v| v == value),
            Op::DoesNotExist => false,
            _ => true,
        })
}

/// `headroom.io/initial-nodes: "m5.xlarge=2, m5.large:spot=1"`: types the pool accepts,
/// on-demand unless `:spot` is written.
fn initial_nodes(
    ctx: &Ctx,
    origin: &Origin,
    np: &NodePoolManifest,
    pool: &kp::NodePool,
    instance_types: &[InstanceType],
    all: &[InstanceType],
    accepted: &BTreeSet<usize>,
) -> Result<Vec<(usize, CapacityType, i32)>, LoadError> {
    let Some(text) = np.metadata.annotations.get(INITIAL_NODES_ANNOTATION) else {
        return Ok(Vec::new());
    };
    let at = origin
        .keys("metadata.annotations")
        .key(INITIAL_NODES_ANNOTATION);
    let mut out = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |why: String| {
            ctx.err(
                &at,
                format!("`{item}`: {why}; write `<instance-type>[:spot]=<count>, ...`"),
            )
        };
        let (ty, count) = item
            .split_once('=')
            .ok_or_else(|| bad("missing `=<count>`".into()))?;
        let count: i32 = count
            .trim()
            .parse()
            .ok()
            .filter(|c| (0..=MAX_NODES_PER_POOL).contains(c))
            .ok_or_else(|| bad("the count must be a non-negative integer".into()))?;
        let (name, capacity) = match ty.trim().split_once(':') {
            Some((n, "spot")) => (n, CapacityType::Spot),
            Some((n, "on-demand")) => (n, CapacityType::OnDemand),
            Some((_, other)) => return Err(bad(format!("unknown capacity type `{other}`"))),
            None => (ty.trim(), CapacityType::OnDemand),
        };
        let in_catalog = all.iter().position(|t| t.name == name);
        if !in_catalog.is_some_and(|t| accepted.contains(&t))
            || !pool_allows(pool, well_known::KARPENTER_CAPACITY_TYPE, capacity.label())
        {
            return Err(bad(format!(
                "NodePool `{}` does not accept {} {name}",
                pool.name,
                capacity.label()
            )));
        }
        let t = instance_types
            .iter()
            .position(|t| t.name == name)
            .expect("accepted types are in the union");
        out.push((t, capacity, count));
    }
    Ok(out)
}
