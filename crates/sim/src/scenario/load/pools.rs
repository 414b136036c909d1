//! Node pools: instance types from the catalog with the pool's overrides, the well-known node
//! labels, taints, provisioning delay and DaemonSet overhead.

use std::collections::BTreeMap;

use autoscaler::model::{well_known, Labels, Resources, Taint};

use crate::manifest::common::ResourceQuantity;
use crate::scenario::catalog::catalog;
use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::{CapacityType, Distribution, InstanceType, NodePool};
use crate::scenario::spec::{CapacityTypeSpec, DistributionSpec, NodePoolSpec, Qty, ScenarioSpec};
use crate::time::SimDuration;

/// Bounds the nodes one pool may have (every queue in the engine has a bound).
pub const MAX_NODES_PER_POOL: i32 = 100_000;

/// The region of the built-in catalog.
pub const REGION: &str = "us-east-1";

pub(crate) fn node_pools(
    ctx: &Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
) -> Result<Vec<NodePool>, LoadError> {
    let mut pools: Vec<NodePool> = Vec::new();
    // Under Karpenter the NodePool objects give the capacity; static pools are optional.
    let karpenter = spec.settings.node_autoscaler.karpenter.is_some();
    if spec.node_pools.is_empty() && !karpenter {
        return Err(ctx.err(
            &root.key("nodePools"),
            "a scenario needs at least one node pool",
        ));
    }
    for (i, p) in spec.node_pools.iter().enumerate() {
        let at = root.key("nodePools").index(i);
        if pools.iter().any(|q| q.name == p.name) {
            return Err(ctx.err(
                &at.key("name"),
                format!("duplicate node pool name `{}`", p.name),
            ));
        }
        pools.push(node_pool(ctx, p, &at)?);
    }
    Ok(pools)
}

fn node_pool(ctx: &Ctx, p: &NodePoolSpec, at: &Origin) -> Result<NodePool, LoadError> {
    if p.name.is_empty() {
        return Err(ctx.err(&at.key("name"), "must not be empty"));
    }
    let capacity_type = match p.capacity_type {
        Some(CapacityTypeSpec::Spot) => CapacityType::Spot,
        _ => CapacityType::OnDemand,
    };
    let instance_types = instance_types(ctx, p, at)?;
    if p.zones.is_empty() {
        return Err(ctx.err(&at.key("zones"), "a node pool needs at least one zone"));
    }
    let (min_nodes, max_nodes, initial_nodes) = sizes(ctx, p, at)?;
    let provisioning_delay = match &p.provisioning_delay {
        Some(d) => distribution(ctx, d, &at.key("provisioningDelay"))?,
        None => Distribution::LogNormal {
            median: SimDuration::from_secs(90),
            sigma: 0.3,
        },
    };
    Ok(NodePool {
        labels: node_labels(p, &instance_types[0], capacity_type),
        name: p.name.clone(),
        instance_types,
        capacity_type,
        zones: p.zones.clone(),
        min_nodes,
        max_nodes,
        initial_nodes,
        taints: p
            .taints
            .iter()
            .map(|t| Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect,
            })
            .collect(),
        provisioning_delay,
        daemonset_overhead: resources(ctx, &p.daemonset_overhead, &at.key("daemonsetOverhead"))?,
        karpenter: None,
    })
}

/// The pool's instance types from the catalog, with its price and allocatable overrides.
fn instance_types(
    ctx: &Ctx,
    p: &NodePoolSpec,
    at: &Origin,
) -> Result<Vec<InstanceType>, LoadError> {
    let names: Vec<&str> = p
        .instance_type
        .iter()
        .chain(&p.instance_types)
        .map(|n| n.0.as_str())
        .collect();
    if names.is_empty() {
        return Err(ctx.err(at, "a node pool needs `instanceType` or `instanceTypes`"));
    }
    if p.price_usd_per_hour
        .is_some_and(|price| !(price.is_finite() && price >= 0.0))
    {
        return Err(ctx.err(&at.key("priceUsdPerHour"), "must be a non-negative number"));
    }
    if p.spot_savings_pct
        .is_some_and(|pct| !(0.0..=100.0).contains(&pct))
    {
        return Err(ctx.err(&at.key("spotSavingsPct"), "must be between 0 and 100"));
    }
    let allocatable = resources(ctx, &p.allocatable, &at.key("allocatable"))?;
    let mut types = Vec::new();
    for name in names {
        let mut t: InstanceType = catalog().get(name).expect("checked when read").clone();
        t.on_demand_usd_per_hour = p.price_usd_per_hour.unwrap_or(t.on_demand_usd_per_hour);
        t.spot_savings_pct = p.spot_savings_pct.unwrap_or(t.spot_savings_pct);
        for key in p.allocatable.keys() {
            match key.as_str() {
                "cpu" => t.allocatable.cpu_m = allocatable.cpu_m,
                "memory" => t.allocatable.memory_bytes = allocatable.memory_bytes,
                "pods" => t.allocatable.pods = allocatable.pods,
                _ => t.allocatable.gpu = allocatable.gpu,
            }
        }
        types.push(t);
    }
    Ok(types)
}

/// (minNodes, maxNodes, initialNodes): 0 <= min <= initial <= max <= [`MAX_NODES_PER_POOL`].
fn sizes(ctx: &Ctx, p: &NodePoolSpec, at: &Origin) -> Result<(i32, i32, i32), LoadError> {
    let min = p.min_nodes;
    let initial = p.initial_nodes.unwrap_or(min);
    let max = p.max_nodes.unwrap_or(initial.max(min));
    if min < 0 {
        return Err(ctx.err(&at.key("minNodes"), "must be greater than or equal to 0"));
    }
    if max < min {
        return Err(ctx.err(
            &at.key("maxNodes"),
            format!("must be greater than or equal to minNodes ({min})"),
        ));
    }
    if max > MAX_NODES_PER_POOL {
        return Err(ctx.err(
            &at.key("maxNodes"),
            format!("must be at most {MAX_NODES_PER_POOL}"),
        ));
    }
    if initial < min || initial > max {
        return Err(ctx.err(
            &at.key("initialNodes"),
            format!("must be between minNodes ({min}) and maxNodes ({max})"),
        ));
    }
    Ok((min, max, initial))
}

/// The pool's labels plus the well-known ones every node of it carries. The zone label is
/// added here only for single-zone pools; the engine sets it (and the hostname) per node.
fn node_labels(p: &NodePoolSpec, t: &InstanceType, capacity: CapacityType) -> Labels {
    let mut labels = p.labels.clone();
    let size = t.name.split_once('.').map_or("", |(_, s)| s);
    let well = [
        (well_known::INSTANCE_TYPE, t.name.as_str()),
        (well_known::ARCH, t.arch.as_str()),
        (well_known::OS, "linux"),
        (well_known::REGION, REGION),
        (well_known::KARPENTER_CAPACITY_TYPE, capacity.label()),
        (
            well_known::EKS_CAPACITY_TYPE,
            if capacity == CapacityType::Spot {
                "SPOT"
            } else {
                "ON_DEMAND"
            },
        ),
        (well_known::KARPENTER_NODEPOOL, p.name.as_str()),
        (well_known::INSTANCE_FAMILY, t.family.as_str()),
        (well_known::INSTANCE_SIZE, size),
    ];
    for (k, v) in well {
        labels.entry(k.to_string()).or_insert_with(|| v.to_string());
    }
    if let [zone] = p.zones.as_slice() {
        labels
            .entry(well_known::ZONE.to_string())
            .or_insert_with(|| zone.clone());
    }
    labels
}

/// A resource map (`cpu`, `memory`, `pods`, `nvidia.com/gpu`) of the scenario file.
pub(crate) fn resources(
    ctx: &Ctx,
    map: &BTreeMap<String, Qty>,
    at: &Origin,
) -> Result<Resources, LoadError> {
    let mut list = BTreeMap::new();
    for (k, q) in map {
        if !["cpu", "memory", "pods", well_known::GPU_RESOURCE].contains(&k.as_str()) {
            return Err(ctx.err(
                &at.key(k),
                format!(
                    "unknown resource `{k}`; expected `cpu`, `memory`, `pods` or `nvidia.com/gpu`"
                ),
            ));
        }
        list.insert(k.clone(), ResourceQuantity(q.0));
    }
    Ok(crate::manifest::common::resources_of(&list))
}

/// Validates a distribution of durations: exactly one kind, sane parameters.
pub(crate) fn distribution(
    ctx: &Ctx,
    d: &DistributionSpec,
    at: &Origin,
) -> Result<Distribution, LoadError> {
    let set = [
        d.constant.is_some(),
        d.lognormal.is_some(),
        d.uniform.is_some(),
        d.exponential.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        return Err(ctx.err(
            at,
            "write exactly one of `constant`, `lognormal`, `uniform`, `exponential`",
        ));
    }
    if let Some(c) = d.constant {
        return Ok(Distribution::Constant(c.0));
    }
    if let Some(l) = &d.lognormal {
        if !(l.sigma.is_finite() && (0.0..=10.0).contains(&l.sigma)) {
            return Err(ctx.err(&at.keys("lognormal.sigma"), "must be between 0 and 10"));
        }
        return Ok(Distribution::LogNormal {
            median: l.median.0,
            sigma: l.sigma,
        });
    }
    if let Some(u) = &d.uniform {
        if u.min.0 > u.max.0 {
            return Err(ctx.err(&at.keys("uniform.max"), "must be at least `min`"));
        }
        return Ok(Distribution::Uniform {
            min: u.min.0,
            max: u.max.0,
        });
    }
    let e = d.exponential.as_ref().expect("one kind is set");
    Ok(Distribution::Exponential { mean: e.mean.0 })
}
