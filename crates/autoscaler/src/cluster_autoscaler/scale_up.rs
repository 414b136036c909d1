//! Scale-up: which pending pods need new nodes, which node groups could take them, how many
//! nodes each needs, which option the expanders take, and the limits and balancing applied
//! to it (reference §2; CA: `core/scaleup/orchestrator/orchestrator.go`).

use std::sync::Arc;

use rand::Rng;

use crate::model::{well_known, NodeSchedulingSpec, PodSchedulingSpec};
use crate::node_fit::Packing;

use super::estimator::{equivalence_groups, estimate, EquivalenceGroup};
use super::expander::{self, ExpanderInput, ExpansionOption};
use super::observation::{annotations, NodeGroupInfo, Observation, PodInfo};
use super::settings::CaSettings;
use super::{is_expendable, Action, CaState, Cluster, Decision, EventType, ScaleUpRequest};

/// GPU pods get a longer "all pods are new" buffer than others (CA: `static_autoscaler.go`).
pub const UNSCHEDULABLE_POD_TIME_BUFFER_MS: i64 = 2_000;
pub const UNSCHEDULABLE_POD_WITH_GPU_TIME_BUFFER_MS: i64 = 30_000;

const GIB: i64 = 1024 * 1024 * 1024;

/// What the scale-up step tells the rest of the loop.
#[derive(Debug, Clone, Default)]
pub struct ScaleUpOutcome {
    /// The "all pods are new" rule fired: no deletions this loop.
    pub scale_down_disabled: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn run(
    settings: &CaSettings,
    state: &mut CaState,
    obs: &Observation,
    cluster: &mut Cluster,
    now_ms: i64,
    rng: &mut impl Rng,
    d: &mut Decision,
) -> ScaleUpOutcome {
    let mut out = ScaleUpOutcome::default();
    let candidates = pods_to_help(settings, obs, cluster, now_ms, d);
    if candidates.is_empty() {
        return out;
    }
    let ready = obs.nodes.iter().filter(|n| n.ready).count() as i32;
    if settings.max_nodes_total > 0 && ready >= settings.max_nodes_total {
        let msg = format!(
            "max node total count already reached ({})",
            settings.max_nodes_total
        );
        not_triggered(d, &candidates, &msg);
        return out;
    }
    if all_pods_are_new(&candidates, now_ms) {
        out.scale_down_disabled = true;
        return out;
    }
    if !settings.scale_up_from_zero && ready == 0 {
        not_triggered(d, &candidates, "scale-up from zero is disabled");
        return out;
    }
    let pods: Vec<Arc<PodSchedulingSpec>> = candidates.iter().map(|p| p.spec.clone()).collect();
    let groups = equivalence_groups(&candidates);
    let options = expansion_options(settings, state, obs, cluster, &pods, &groups, now_ms);
    if options.is_empty() {
        not_triggered(
            d,
            &candidates,
            "no node group can fit the pod or all are at their limits",
        );
        return out;
    }
    let input = ExpanderInput {
        pods: &pods,
        cluster_nodes: cluster.len(),
        priority_config: settings.priority_config.as_deref(),
    };
    let mut warnings = Vec::new();
    let best = expander::choose(&settings.expanders, &options, &input, rng, &mut warnings);
    for w in warnings {
        d.event(
            EventType::Warning,
            "PriorityConfigMapNotMatchedGroup",
            "configmap/cluster-autoscaler-status".into(),
            w,
        );
    }
    let Some(best) = best else { return out };
    let option = &options[best];
    let increases = apply_limits(settings, obs, cluster, option);
    if increases.is_empty() {
        not_triggered(
            d,
            &candidates,
            "max cluster size, cores or memory limit reached",
        );
        return out;
    }
    execute(
        settings,
        state,
        obs,
        &candidates,
        option,
        &increases,
        now_ms,
        d,
    );
    out
}

/// The pending pods CA tries to help: not nominated, not expendable, not fitting on existing
/// or upcoming nodes (those are committed to the snapshot), old enough.
fn pods_to_help<'a>(
    settings: &CaSettings,
    obs: &'a Observation,
    cluster: &mut Cluster,
    now_ms: i64,
    d: &mut Decision,
) -> Vec<&'a PodInfo> {
    let mut pending: Vec<&PodInfo> = obs
        .unschedulable
        .iter()
        .filter(|p| p.nominated_node.is_none() && !is_expendable(settings, p.pod.spec.priority))
        .map(|p| &p.pod)
        .collect();
    // Highest priority first, so they get the free capacity (filter_out_schedulable.go).
    pending.sort_by_key(|p| std::cmp::Reverse(p.spec.priority));
    let mut out = Vec::new();
    // CA's hinting: identical pods resume the scan where the last one fit, and once one fits
    // nowhere the rest cannot either (placements only take capacity away).
    let mut hints: Vec<(Arc<PodSchedulingSpec>, Option<usize>)> = Vec::new();
    let n = cluster.len();
    for pod in pending {
        if pod.is_daemonset() {
            continue;
        }
        let hint = hints
            .iter()
            .position(|(s, _)| Arc::ptr_eq(s, &pod.spec) || **s == *pod.spec);
        let start = match hint.map(|h| hints[h].1) {
            Some(None) => None,
            Some(Some(slot)) => Some(slot),
            None => Some(0),
        };
        let placed = start.and_then(|st| {
            cluster
                .packing
                .place_first_fit(&pod.spec, (0..n).map(|k| (st + k) % n))
        });
        match hint {
            Some(h) => hints[h].1 = placed,
            None => hints.push((pod.spec.clone(), placed)),
        }
        if placed.is_some() {
            continue;
        }
        match pod_scale_up_delay_ms(settings, pod) {
            Ok(delay) if now_ms - pod.created_ms < delay => continue,
            Ok(_) => out.push(pod),
            Err(msg) => {
                d.event(
                    EventType::Warning,
                    "InvalidPodScaleUpDelay",
                    format!("pod/{}", pod.id),
                    msg,
                );
                out.push(pod);
            }
        }
    }
    out
}

/// `new-pod-scale-up-delay`, raised (never lowered) by the pod's annotation.
fn pod_scale_up_delay_ms(settings: &CaSettings, pod: &PodInfo) -> Result<i64, String> {
    let global = settings.new_pod_scale_up_delay_ms;
    let Some(raw) = pod.annotations.get(annotations::POD_SCALE_UP_DELAY) else {
        return Ok(global);
    };
    let ms = crate::go_duration::parse_ms(raw)
        .ok_or_else(|| format!("invalid pod-scale-up-delay {raw:?}"))?;
    if ms < global {
        return Err(format!(
            "pod-scale-up-delay {raw} is below new-pod-scale-up-delay; using the flag"
        ));
    }
    Ok(ms)
}

/// CA waits to see a whole burst: no scale-up while the oldest pending pod is under 2 s old,
/// or the oldest GPU pod under 30 s.
pub fn all_pods_are_new(pods: &[&PodInfo], now_ms: i64) -> bool {
    let oldest = pods.iter().map(|p| p.created_ms).min();
    if oldest.is_some_and(|t| t + UNSCHEDULABLE_POD_TIME_BUFFER_MS > now_ms) {
        return true;
    }
    let oldest_gpu = pods
        .iter()
        .filter(|p| p.requests_gpu())
        .map(|p| p.created_ms)
        .min();
    oldest_gpu.is_some_and(|t| t + UNSCHEDULABLE_POD_WITH_GPU_TIME_BUFFER_MS > now_ms)
}

fn not_triggered(d: &mut Decision, pods: &[&PodInfo], why: &str) {
    for p in pods {
        d.event(
            EventType::Normal,
            "NotTriggerScaleUp",
            format!("pod/{}", p.id),
            format!("pod didn't trigger scale-up: {why}"),
        );
    }
}

/// Why a node group cannot take part in a scale-up this loop, if it cannot.
pub fn ineligible_reason(
    settings: &CaSettings,
    state: &CaState,
    cluster: &Cluster,
    ng: &NodeGroupInfo,
    now_ms: i64,
) -> Option<String> {
    if state.backoff.is_backed_off(&ng.id, now_ms) {
        return Some("backed off".into());
    }
    if ng.target_size >= ng.max_size {
        return Some(format!("max node group size reached ({})", ng.max_size));
    }
    let (cores, mem_gib) = cluster_totals(cluster);
    if cores + ng.template_capacity.cpu_m as f64 / 1000.0 > settings.cores_total_max as f64 {
        return Some("max cluster cpu limit reached".into());
    }
    if mem_gib + ng.template_capacity.memory_bytes as f64 / GIB as f64
        > settings.memory_total_gib_max as f64
    {
        return Some("max cluster memory limit reached".into());
    }
    None
}

/// Cores and GiB of memory of autoscaled nodes, real and upcoming, by capacity.
pub fn cluster_totals(cluster: &Cluster) -> (f64, f64) {
    let mut cores = 0.0;
    let mut gib = 0.0;
    for (i, cap) in cluster.capacity.iter().enumerate() {
        if cluster.in_group[i] {
            cores += cap.cpu_m as f64 / 1000.0;
            gib += cap.memory_bytes as f64 / GIB as f64;
        }
    }
    (cores, gib)
}

#[allow(clippy::too_many_arguments)]
fn expansion_options(
    settings: &CaSettings,
    state: &CaState,
    obs: &Observation,
    cluster: &mut Cluster,
    pods: &[Arc<PodSchedulingSpec>],
    groups: &[EquivalenceGroup],
    now_ms: i64,
) -> Vec<ExpansionOption> {
    let eligible: Vec<&NodeGroupInfo> = obs
        .node_groups
        .iter()
        .filter(|ng| ineligible_reason(settings, state, cluster, ng, now_ms).is_none())
        .collect();
    let mut options = Vec::new();
    for ng in &eligible {
        let fitting = schedulable_groups(&mut cluster.packing, &ng.template, pods, groups);
        if fitting.is_empty() {
            continue;
        }
        let mut similar = Vec::new();
        if settings.balance_similar_node_groups {
            for o in eligible
                .iter()
                .filter(|o| o.id != ng.id && similar_groups(settings, ng, o))
            {
                if schedulable_groups(&mut cluster.packing, &o.template, pods, groups) == fitting {
                    similar.push(o.id.clone());
                }
            }
        }
        let max_nodes = limiter(settings, obs, cluster, ng, &similar);
        let est = estimate(
            &mut cluster.packing,
            &ng.template,
            pods,
            &fitting,
            max_nodes,
        );
        if est.node_count == 0 || est.pods.is_empty() {
            continue;
        }
        options.push(ExpansionOption {
            group: ng.id.clone(),
            node_count: est.node_count,
            pods: est.pods,
            node_capacity: ng.template_capacity,
            node_has_gpu: ng.template_has_gpu,
            price_usd_per_hour: ng.price_usd_per_hour,
            similar,
        });
    }
    options
}

/// The equivalence groups whose sample pod passes the filters on a fresh template node.
fn schedulable_groups(
    packing: &mut Packing,
    template: &NodeSchedulingSpec,
    pods: &[Arc<PodSchedulingSpec>],
    groups: &[EquivalenceGroup],
) -> Vec<EquivalenceGroup> {
    // The template node joins the loop's snapshot for the check, as CA adds it to a fork.
    let mark = packing.checkpoint();
    let slot = packing.add_node(template.clone());
    let fitting = groups
        .iter()
        .filter(|g| packing.fits(&pods[g.pods[0]], slot))
        .cloned()
        .collect();
    packing.rollback(mark);
    fitting
}

/// The estimator's limiter: the smallest positive of max-nodes-per-scaleup, the free
/// capacity of the group and its similar groups, and the cluster's remaining node count.
fn limiter(
    settings: &CaSettings,
    obs: &Observation,
    cluster: &Cluster,
    ng: &NodeGroupInfo,
    similar: &[String],
) -> i32 {
    let headroom = |id: &str| {
        obs.node_groups
            .iter()
            .find(|g| g.id == id)
            .map_or(0, |g| (g.max_size - g.target_size).max(0))
    };
    let similar_capacity: i32 = headroom(&ng.id) + similar.iter().map(|s| headroom(s)).sum::<i32>();
    let mut limit = settings.max_nodes_per_scaleup.min(similar_capacity);
    if settings.max_nodes_total > 0 {
        limit = limit.min((settings.max_nodes_total - cluster.len() as i32).max(0));
    }
    limit
}

/// CA's default node group comparator: same capacity (memory within a ratio), allocatable
/// within a ratio, identical labels apart from the ignored ones. With `--balancing-label`,
/// only those labels count.
pub fn similar_groups(settings: &CaSettings, a: &NodeGroupInfo, b: &NodeGroupInfo) -> bool {
    if !settings.balancing_labels.is_empty() {
        return settings
            .balancing_labels
            .iter()
            .all(|l| a.template.labels.get(l) == b.template.labels.get(l));
    }
    let (ca, cb) = (&a.template_capacity, &b.template_capacity);
    if ca.cpu_m != cb.cpu_m || ca.gpu != cb.gpu || ca.pods != cb.pods {
        return false;
    }
    let within = |x: i64, y: i64, ratio: f64| {
        let hi = x.max(y) as f64;
        hi == 0.0 || (x - y).abs() as f64 / hi <= ratio
    };
    if !within(
        ca.memory_bytes,
        cb.memory_bytes,
        settings.memory_difference_ratio,
    ) {
        return false;
    }
    let (aa, ab) = (&a.template.allocatable, &b.template.allocatable);
    let ratio = settings.max_allocatable_difference_ratio;
    if !within(aa.cpu_m, ab.cpu_m, ratio) || !within(aa.memory_bytes, ab.memory_bytes, ratio) {
        return false;
    }
    let ignored = |k: &str| is_balancing_ignored_label(settings, k);
    let la: Vec<_> = a
        .template
        .labels
        .iter()
        .filter(|(k, _)| !ignored(k))
        .collect();
    let lb: Vec<_> = b
        .template
        .labels
        .iter()
        .filter(|(k, _)| !ignored(k))
        .collect();
    la == lb
}

/// Labels CA ignores when comparing groups: hostname, zone, region, AWS's list, and
/// `--balancing-ignore-label`.
fn is_balancing_ignored_label(settings: &CaSettings, key: &str) -> bool {
    const IGNORED: [&str; 10] = [
        well_known::HOSTNAME,
        well_known::ZONE,
        well_known::REGION,
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
        "alpha.eksctl.io/instance-id",
        "alpha.eksctl.io/nodegroup-name",
        "eks.amazonaws.com/nodegroup",
        "k8s.io/cloud-provider-aws",
        "lifecycle",
    ];
    IGNORED.contains(&key)
        || key == "topology.ebs.csi.aws.com/zone"
        || key == "topology.k8s.aws/zone-id"
        || settings.balancing_ignore_labels.iter().any(|l| l == key)
}

/// Caps the chosen option by max-nodes-total and the cores/memory quotas, then spreads it
/// over the group and its similar groups. Returns (group, delta) with delta > 0.
fn apply_limits(
    settings: &CaSettings,
    obs: &Observation,
    cluster: &Cluster,
    option: &ExpansionOption,
) -> Vec<(String, i32)> {
    let mut n = option.node_count;
    if settings.max_nodes_total > 0 {
        n = n.min(settings.max_nodes_total - cluster.len() as i32);
    }
    let (cores, gib) = cluster_totals(cluster);
    let node_cores = option.node_capacity.cpu_m as f64 / 1000.0;
    let node_gib = option.node_capacity.memory_bytes as f64 / GIB as f64;
    if node_cores > 0.0 {
        n = n.min(((settings.cores_total_max as f64 - cores) / node_cores).floor() as i32);
    }
    if node_gib > 0.0 {
        n = n.min(((settings.memory_total_gib_max as f64 - gib) / node_gib).floor() as i32);
    }
    if n < 1 {
        return Vec::new();
    }
    let mut members: Vec<&NodeGroupInfo> = std::iter::once(&option.group)
        .chain(option.similar.iter())
        .filter_map(|id| obs.node_groups.iter().find(|g| &g.id == id))
        .collect();
    members.sort_by_key(|g| g.target_size);
    balance(&members, n)
}

/// Adds one node at a time to the smallest group (by target size), skipping groups at max.
pub fn balance(groups: &[&NodeGroupInfo], n: i32) -> Vec<(String, i32)> {
    let mut sizes: Vec<i32> = groups.iter().map(|g| g.target_size).collect();
    for _ in 0..n {
        let smallest = (0..groups.len())
            .filter(|&i| sizes[i] < groups[i].max_size)
            .min_by_key(|&i| (sizes[i], i));
        let Some(i) = smallest else { break };
        sizes[i] += 1;
    }
    groups
        .iter()
        .zip(sizes)
        .filter(|(g, s)| *s > g.target_size)
        .map(|(g, s)| (g.id.clone(), s - g.target_size))
        .collect()
}

/// Records a scale-up of `group` by `delta`: a scale-up request with its provisioning deadline
/// and the instants the scale-down cooldowns read.
pub fn register_scale_up(
    settings: &CaSettings,
    state: &mut CaState,
    group: &str,
    delta: i32,
    now_ms: i64,
) {
    let deadline = now_ms + settings.max_node_provision_time_ms;
    let req = state
        .scale_up_requests
        .entry(group.to_string())
        .or_insert(ScaleUpRequest {
            increase: 0,
            start_ms: now_ms,
            expected_add_ms: deadline,
        });
    req.increase += delta;
    req.expected_add_ms = deadline;
    state.last_scale_up_ms = Some(now_ms);
    state
        .group_last_scale_up_ms
        .insert(group.to_string(), now_ms);
}

#[allow(clippy::too_many_arguments)]
fn execute(
    settings: &CaSettings,
    state: &mut CaState,
    obs: &Observation,
    candidates: &[&PodInfo],
    option: &ExpansionOption,
    increases: &[(String, i32)],
    now_ms: i64,
    d: &mut Decision,
) {
    let mut summary = Vec::new();
    for (group, delta) in increases {
        let ng = obs
            .node_groups
            .iter()
            .find(|g| &g.id == group)
            .expect("balanced group comes from the observation");
        let deadline_ms = ng
            .options
            .max_node_provision_time_ms
            .unwrap_or(settings.max_node_provision_time_ms);
        let per_group = CaSettings {
            max_node_provision_time_ms: deadline_ms,
            ..settings.clone()
        };
        register_scale_up(&per_group, state, group, *delta, now_ms);
        let new_size = ng.target_size + delta;
        d.actions.push(Action::ScaleUp {
            group: group.clone(),
            delta: *delta,
            new_size,
        });
        let msg = format!(
            "Scale-up: setting group {group} size to {new_size} instead of {} (max: {})",
            ng.target_size, ng.max_size
        );
        d.event(
            EventType::Normal,
            "ScaledUpGroup",
            "configmap/cluster-autoscaler-status".into(),
            msg,
        );
        summary.push(format!(
            "{{{group} {}->{new_size} (max: {})}}",
            ng.target_size, ng.max_size
        ));
    }
    let summary = format!("pod triggered scale-up: [{}]", summary.join(" "));
    let mut helped = vec![false; candidates.len()];
    for &p in &option.pods {
        helped[p] = true;
    }
    for (i, pod) in candidates.iter().enumerate() {
        if helped[i] {
            d.event(
                EventType::Normal,
                "TriggeredScaleUp",
                format!("pod/{}", pod.id),
                summary.clone(),
            );
        }
    }
}
