//! The expanders: which expansion option a scale-up takes (CA: `expander/*`,
//! `expander/factory/chain.go`). Each expander keeps its best options; the chain stops at
//! one option and breaks any remaining tie at random.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::Rng;
use regex::Regex;

use crate::model::{PodSchedulingSpec, Resources};

use super::settings::{ConfigError, ExpanderKind};

/// One way to scale up: a node group, how many nodes, which pods they would take.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpansionOption {
    pub group: String,
    pub node_count: i32,
    /// Indices of the pods the new nodes would take (into [`ExpanderInput::pods`]).
    pub pods: Vec<usize>,
    /// Template capacity of one node (least-waste and price read capacity).
    pub node_capacity: Resources,
    pub node_has_gpu: bool,
    pub price_usd_per_hour: Option<f64>,
    /// Similar groups to balance with.
    pub similar: Vec<String>,
}

/// What the expanders read besides the options themselves.
pub struct ExpanderInput<'a> {
    pub pods: &'a [Arc<PodSchedulingSpec>],
    /// Nodes in the cluster now (the price expander's preferred node size follows it).
    pub cluster_nodes: usize,
    /// The `priorities` value of the priority expander ConfigMap.
    pub priority_config: Option<&'a str>,
}

/// Runs the `--expander` chain and returns the chosen option's index and any warnings
/// (CA records them as events).
pub fn choose(
    chain: &[ExpanderKind],
    options: &[ExpansionOption],
    input: &ExpanderInput,
    rng: &mut impl Rng,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    let mut keep: Vec<usize> = (0..options.len()).collect();
    for kind in chain {
        if keep.len() <= 1 {
            break;
        }
        keep = match kind {
            ExpanderKind::Random => vec![keep[rng.random_range(0..keep.len())]],
            ExpanderKind::MostPods => best_by(&keep, |i| -(options[i].pods.len() as f64)),
            ExpanderKind::LeastNodes => best_by(&keep, |i| options[i].node_count as f64),
            ExpanderKind::LeastWaste => best_by(&keep, |i| waste_score(&options[i], input.pods)),
            ExpanderKind::Price => price_filter(&keep, options, input, warnings),
            ExpanderKind::Priority => {
                priority_filter(&keep, options, input.priority_config, warnings)
            }
        };
    }
    match keep.len() {
        0 => None,
        1 => Some(keep[0]),
        n => Some(keep[rng.random_range(0..n)]),
    }
}

/// The options with the minimum score; exact ties are all kept.
fn best_by(keep: &[usize], score: impl Fn(usize) -> f64) -> Vec<usize> {
    let best = keep.iter().map(|&i| score(i)).fold(f64::INFINITY, f64::min);
    keep.iter().copied().filter(|&i| score(i) == best).collect()
}

/// least-waste as CA computes it: the wasted CPU fraction plus the wasted memory fraction,
/// against node *capacity* times the node count (CA: `expander/waste/waste.go`).
pub fn waste_score(option: &ExpansionOption, pods: &[Arc<PodSchedulingSpec>]) -> f64 {
    let requested = option
        .pods
        .iter()
        .fold(Resources::ZERO, |acc, &p| acc.add(&pods[p].requests));
    let n = option.node_count as f64;
    let fraction = |cap: i64, req: i64| {
        let avail = cap as f64 * n;
        if avail > 0.0 {
            (avail - req as f64) / avail
        } else {
            0.0
        }
    };
    fraction(option.node_capacity.cpu_m, requested.cpu_m)
        + fraction(option.node_capacity.memory_bytes, requested.memory_bytes)
}

/// GCE's per-resource list prices, which CA's price model uses for pods (CA:
/// `cloudprovider/gce/gce_price_model.go`): USD per core-hour and per GiB-hour.
const POD_CPU_USD_PER_CORE_HOUR: f64 = 0.033174;
const POD_MEMORY_USD_PER_GIB_HOUR: f64 = 0.004446;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn pod_price_usd(r: &Resources) -> f64 {
    r.cpu_m as f64 / 1000.0 * POD_CPU_USD_PER_CORE_HOUR
        + r.memory_bytes as f64 / GIB * POD_MEMORY_USD_PER_GIB_HOUR
}

/// The price expander's preferred node size in cores for a cluster of `nodes` nodes (CA:
/// `expander/price/preferred.go`).
pub fn preferred_node_cores(nodes: usize) -> f64 {
    match nodes {
        0..=2 => 1.0,
        3..=6 => 2.0,
        7..=20 => 4.0,
        21..=60 => 8.0,
        61..=200 => 16.0,
        _ => 32.0,
    }
}

/// The price expander's score (lower is better); `None` when the option has no price.
pub fn price_score(option: &ExpansionOption, input: &ExpanderInput) -> Option<f64> {
    let node_price = option.price_usd_per_hour? * option.node_count as f64;
    // A 0.5-CPU / 500 MiB pod keeps the ratio sane for options with few pods.
    let stabilization = pod_price_usd(&Resources::new(500, 500 * 1024 * 1024));
    let pods_price: f64 = option
        .pods
        .iter()
        .map(|&p| pod_price_usd(&input.pods[p].requests))
        .sum();
    let ratio = (node_price + stabilization) / (pods_price + stabilization);
    let unfitness = if option.node_has_gpu {
        1000.0
    } else {
        let preferred = preferred_node_cores(input.cluster_nodes);
        let node_cores = (option.node_capacity.cpu_m as f64 / 1000.0).max(f64::MIN_POSITIVE);
        let raw = (preferred / node_cores).max(node_cores / preferred);
        (raw - 1.0) * (1.0 - ((option.node_count as f64 - 1.0) / 15.0).tanh()) + 1.0
    };
    Some(unfitness * ratio)
}

fn price_filter(
    keep: &[usize],
    options: &[ExpansionOption],
    input: &ExpanderInput,
    warnings: &mut Vec<String>,
) -> Vec<usize> {
    if keep
        .iter()
        .any(|&i| options[i].price_usd_per_hour.is_none())
    {
        warnings.push(
            "price expander: node group without a price; the cloud provider has no Pricing()"
                .into(),
        );
        return keep.to_vec();
    }
    best_by(keep, |i| {
        price_score(&options[i], input).unwrap_or(f64::INFINITY)
    })
}

/// The priority expander ConfigMap's `priorities` value: priority → regexes.
pub type Priorities = BTreeMap<i32, Vec<Regex>>;

/// Parses the `priorities` key of `cluster-autoscaler-priority-expander`: YAML mapping an
/// integer priority to a list of regexes matched (unanchored) against node group IDs.
pub fn parse_priorities(yaml: &str) -> Result<Priorities, ConfigError> {
    let raw: BTreeMap<i32, Vec<String>> =
        serde_yaml::from_str(yaml).map_err(|e| ConfigError::Priorities(e.to_string()))?;
    raw.into_iter()
        .map(|(prio, patterns)| {
            let compiled = patterns
                .iter()
                .map(|p| {
                    Regex::new(p)
                        .map_err(|e| ConfigError::Priorities(format!("priority {prio}: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((prio, compiled))
        })
        .collect()
}

fn priority_filter(
    keep: &[usize],
    options: &[ExpansionOption],
    config: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<usize> {
    let parsed = match config.map(parse_priorities) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            warnings.push(format!("priority expander: {e}; all options pass"));
            return keep.to_vec();
        }
        None => {
            warnings.push(
                "priority expander: ConfigMap cluster-autoscaler-priority-expander not found"
                    .into(),
            );
            return keep.to_vec();
        }
    };
    let priority_of = |group: &str| {
        parsed
            .iter()
            .rev()
            .find(|(_, res)| res.iter().any(|re| re.is_match(group)))
            .map(|(p, _)| *p)
    };
    let scored: Vec<(usize, Option<i32>)> = keep
        .iter()
        .map(|&i| (i, priority_of(&options[i].group)))
        .collect();
    let Some(max) = scored.iter().filter_map(|(_, p)| *p).max() else {
        warnings
            .push("priority expander: no node group matched any priority; all options pass".into());
        return keep.to_vec();
    };
    scored
        .into_iter()
        .filter(|(_, p)| *p == Some(max))
        .map(|(i, _)| i)
        .collect()
}
