//! Node autoscaling settings: the cluster-autoscaler's flags (defaults from
//! `CaSettings::default`, checked by `CaSettings::validate`), Karpenter (resolved with its
//! NodePools in `karpenter.rs`) and the spot market
//! (hazard overrides, capacity shortages, interruption waves).

use autoscaler::cluster_autoscaler::settings::parse_expanders;
use autoscaler::cluster_autoscaler::CaSettings;
use autoscaler::spot::SpotHazardTable;

use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::{
    CapacityShortage, InterruptionWave, KarpenterSettings, NodeAutoscaler, NodePool, SpotMarket,
};
use crate::scenario::spec::{ClusterAutoscalerSpec, Dur, NodeAutoscalerSpec, SpotSpec};

pub(crate) fn node_autoscaler(
    ctx: &Ctx,
    spec: &NodeAutoscalerSpec,
    at: &Origin,
    karpenter: Option<KarpenterSettings>,
) -> Result<NodeAutoscaler, LoadError> {
    if let Some(k) = karpenter {
        return Ok(NodeAutoscaler::Karpenter(Box::new(k)));
    }
    match &spec.cluster_autoscaler {
        None => Ok(NodeAutoscaler::None),
        Some(ca) => {
            let at = at.key("clusterAutoscaler");
            Ok(NodeAutoscaler::ClusterAutoscaler(Box::new(
                cluster_autoscaler(ctx, ca, &at)?,
            )))
        }
    }
}

fn ms(d: Option<Dur>, default_ms: i64) -> i64 {
    d.map_or(default_ms, |d| d.0.as_millis())
}

fn cluster_autoscaler(
    ctx: &Ctx,
    s: &ClusterAutoscalerSpec,
    at: &Origin,
) -> Result<CaSettings, LoadError> {
    let d = CaSettings::default();
    let expanders = match &s.expander {
        None => d.expanders.clone(),
        Some(flag) => {
            parse_expanders(flag).map_err(|e| ctx.err(&at.key("expander"), e.to_string()))?
        }
    };
    if s.scan_interval.is_some_and(|i| i.0.as_millis() <= 0) {
        return Err(ctx.err(&at.key("scanInterval"), "must be greater than zero"));
    }
    let ca = CaSettings {
        scan_interval_ms: ms(s.scan_interval, d.scan_interval_ms),
        new_pod_scale_up_delay_ms: ms(s.new_pod_scale_up_delay, d.new_pod_scale_up_delay_ms),
        expanders,
        priority_config: s.priorities.clone(),
        max_nodes_total: s.max_nodes_total.unwrap_or(d.max_nodes_total),
        max_nodes_per_scaleup: s.max_nodes_per_scale_up.unwrap_or(d.max_nodes_per_scaleup),
        balance_similar_node_groups: s
            .balance_similar_node_groups
            .unwrap_or(d.balance_similar_node_groups),
        max_node_provision_time_ms: ms(s.max_node_provision_time, d.max_node_provision_time_ms),
        initial_node_group_backoff_ms: ms(
            s.initial_node_group_backoff_duration,
            d.initial_node_group_backoff_ms,
        ),
        max_node_group_backoff_ms: ms(
            s.max_node_group_backoff_duration,
            d.max_node_group_backoff_ms,
        ),
        node_group_backoff_reset_timeout_ms: ms(
            s.node_group_backoff_reset_timeout,
            d.node_group_backoff_reset_timeout_ms,
        ),
        enforce_node_group_min_size: s
            .enforce_node_group_min_size
            .unwrap_or(d.enforce_node_group_min_size),
        scale_down_enabled: s.scale_down_enabled.unwrap_or(d.scale_down_enabled),
        scale_down_utilization_threshold: s
            .scale_down_utilization_threshold
            .unwrap_or(d.scale_down_utilization_threshold),
        scale_down_unneeded_time_ms: ms(s.scale_down_unneeded_time, d.scale_down_unneeded_time_ms),
        scale_down_unready_time_ms: ms(s.scale_down_unready_time, d.scale_down_unready_time_ms),
        scale_down_delay_after_add_ms: ms(
            s.scale_down_delay_after_add,
            d.scale_down_delay_after_add_ms,
        ),
        scale_down_delay_after_delete_ms: ms(
            s.scale_down_delay_after_delete,
            d.scale_down_delay_after_delete_ms,
        ),
        scale_down_delay_after_failure_ms: ms(
            s.scale_down_delay_after_failure,
            d.scale_down_delay_after_failure_ms,
        ),
        max_scale_down_parallelism: s
            .max_scale_down_parallelism
            .unwrap_or(d.max_scale_down_parallelism),
        max_drain_parallelism: s.max_drain_parallelism.unwrap_or(d.max_drain_parallelism),
        max_graceful_termination_s: s
            .max_graceful_termination_sec
            .unwrap_or(d.max_graceful_termination_s),
        max_pod_eviction_time_ms: ms(s.max_pod_eviction_time, d.max_pod_eviction_time_ms),
        node_delete_delay_after_taint_ms: ms(
            s.node_delete_delay_after_taint,
            d.node_delete_delay_after_taint_ms,
        ),
        expendable_pods_priority_cutoff: s
            .expendable_pods_priority_cutoff
            .unwrap_or(d.expendable_pods_priority_cutoff),
        skip_nodes_with_system_pods: s
            .skip_nodes_with_system_pods
            .unwrap_or(d.skip_nodes_with_system_pods),
        skip_nodes_with_local_storage: s
            .skip_nodes_with_local_storage
            .unwrap_or(d.skip_nodes_with_local_storage),
        ..d
    };
    ca.validate().map_err(|e| {
        // The priorities ConfigMap is the likeliest culprit; point at it when it is.
        let key = match e {
            autoscaler::cluster_autoscaler::ConfigError::Priorities(_) => "priorities",
            _ => "",
        };
        let place = if key.is_empty() {
            at.clone()
        } else {
            at.key(key)
        };
        ctx.err(&place, e.to_string())
    })?;
    Ok(ca)
}

pub(crate) fn spot_market(
    ctx: &Ctx,
    s: &SpotSpec,
    pools: &[NodePool],
    at: &Origin,
) -> Result<SpotMarket, LoadError> {
    let hazard = SpotHazardTable::default()
        .with_overrides(
            s.interruption_probability
                .iter()
                .map(|(k, v)| (k.as_str(), *v)),
        )
        .map_err(|e| ctx.err(&at.key("interruptionProbability"), e.to_string()))?;
    let mut shortages = Vec::new();
    for (i, c) in s.capacity_shortages.iter().enumerate() {
        let at = at.key("capacityShortages").index(i);
        let probability = c.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err(ctx.err(&at.key("probability"), "must be within 0..=1"));
        }
        if let (Some(f), Some(u)) = (c.from, c.until) {
            if u.0 <= f.0 {
                return Err(ctx.err(&at.key("until"), "must be after `from`"));
            }
        }
        shortages.push(CapacityShortage {
            instance_type: c.instance_type.clone(),
            zone: c.zone.clone(),
            from: c.from.map_or(crate::time::SimDuration::ZERO, |d| d.0),
            until: c.until.map(|d| d.0),
            probability,
            on_demand: c.on_demand,
        });
    }
    let mut waves = Vec::new();
    for (i, w) in s.interruption_waves.iter().enumerate() {
        let at = at.key("interruptionWaves").index(i);
        if !(0.0..=1.0).contains(&w.fraction) {
            return Err(ctx.err(&at.key("fraction"), "must be within 0..=1"));
        }
        let pool = match &w.pool {
            None => None,
            Some(name) => {
                Some(pools.iter().position(|p| &p.name == name).ok_or_else(|| {
                    ctx.err(&at.key("pool"), format!("no node pool named `{name}`"))
                })?)
            }
        };
        waves.push(InterruptionWave {
            at: w.at.0,
            pool,
            fraction: w.fraction,
        });
    }
    Ok(SpotMarket {
        hazard,
        shortages,
        waves,
        // Read with the file it names, in `load/spot_prices.rs`.
        prices: Default::default(),
    })
}
