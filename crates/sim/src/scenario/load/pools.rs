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

/// The region of the built-in catalog.
pub const REGION: &str = "us-east-1";

pub(crate) fn node_pools(
    ctx: &Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
) -> Result<Vec<NodePool>, LoadError> {
    let mut pools: Vec<NodePool> = Vec::new();
    if spec.node_pools.is_empty() {
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
    let names: Vec<&str> = p
        .instance_type
        .iter()
        .chain(&p.instance_types)
        .map(|n| n.0.as_str())
        .collect();
    if names.is_empty() {
        return Err(ctx.err(at, "a node pool needs `instanceType` or `instanceTypes`"));
    }
    let allocatable_override = resources(ctx, &p.allocatable, &at.key("allocatable"))?;
    let mut instance_types = Vec::new();
    for name in names {
        let mut t: InstanceType = catalog().get(name).expect("checked when read").clone();
        if let Some(price) = p.price_usd_per_hour {
            if !(price.is_finite() && price >= 0.0) {
                return Err(ctx.err(&at.key("priceUsdPerHour"), "must be a non-negative number"));
            }
            t.on_demand_usd_per_hour = price;
        }
        if let Some(pct) = p.spot_savings_pct {
            if !(0.0..=100.0).contains(&pct) {
                return Err(ctx.err(&at.key("spotSavingsPct"), "must be between 0 and 100"));
            }
            t.spot_savings_pct = pct;
        }
        for key in p.allocatable.keys() {
            match key.as_str() {
                "cpu" => t.allocatable.cpu_m = allocatable_override.cpu_m,
                "memory" => t.allocatable.memory_bytes = allocatable_override.memory_bytes,
                "pods" => t.allocatable.pods = allocatable_override.pods,
                _ => t.allocatable.gpu = allocatable_override.gpu,
            }
        }
        instance_types.push(t);
    }
    if p.zones.is_empty() {
        return Err(ctx.err(&at.key("zones"), "a node pool needs at least one zone"));
    }
    let initial_nodes = p.initial_nodes.unwrap_or(p.min_nodes);
    let max_nodes = p.max_nodes.unwrap_or(initial_nodes.max(p.min_nodes));
    if p.min_nodes < 0 {
        return Err(ctx.err(&at.key("minNodes"), "must be greater than or equal to 0"));
    }
    if max_nodes < p.min_nodes {
        return Err(ctx.err(
            &at.key("maxNodes"),
            format!(
                "must be greater than or equal to minNodes ({})",
                p.min_nodes
            ),
        ));
    }
    if initial_nodes < p.min_nodes || initial_nodes > max_nodes {
        return Err(ctx.err(
            &at.key("initialNodes"),
            format!(
                "must be between minNodes ({}) and maxNodes ({max_nodes})",
                p.min_nodes
            ),
        ));
    }
    let daemonset_overhead = resources(ctx, &p.daemonset_overhead, &at.key("daemonsetOverhead"))?;
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
        min_nodes: p.min_nodes,
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
        daemonset_overhead,
    })
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
fn resources(ctx: &Ctx, map: &BTreeMap<String, Qty>, at: &Origin) -> Result<Resources, LoadError> {
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
