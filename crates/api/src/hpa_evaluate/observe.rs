//! From the request's Kubernetes objects to the engine's borrowed [`Observation`]: quantities
//! parsed, times converted, PodMetrics linked to their pods by name (last entry wins, as in
//! the controller's map), and one input per spec metric.

use std::collections::BTreeMap;

use autoscaler::hpa::{
    ConditionStatus, Container, ContainerUsage, HpaSpec, MetricInput, MetricSource, Observation,
    Pod, PodPhase, PodUsage, ReadyCondition, ResourceAmount, SelectorCheck,
};
use autoscaler::quantity::parse_quantity;
use sim::manifest::hpa::QuantityValue;

use super::time::{parse_go_duration, parse_rfc3339, GO_ZERO_TIME_MS};
use super::wire::{EvaluateRequest, PodJson, PodMetricsJson};
use super::InputError;

/// A quantity in milli-units, or an error naming `path`.
pub(super) fn milli(q: &QuantityValue, path: &str) -> Result<i64, InputError> {
    let text = q.as_text();
    let parsed = parse_quantity(&text).map_err(|e| InputError::new(path, e.to_string()))?;
    parsed
        .try_milli()
        .ok_or_else(|| InputError::new(path, format!("quantity {text:?} is too large")))
}

pub(super) fn time(text: &str, path: &str) -> Result<i64, InputError> {
    parse_rfc3339(text).map_err(|e| InputError::new(path, e))
}

fn amounts<'r>(
    map: &'r BTreeMap<String, QuantityValue>,
    path: &str,
) -> Result<Vec<ResourceAmount<'r>>, InputError> {
    map.iter()
        .map(|(name, q)| {
            Ok(ResourceAmount {
                resource: name,
                milli: milli(q, &format!("{path}.{name}"))?,
            })
        })
        .collect()
}

/// A pod with its parsed parts, owned so that the engine's views can borrow them.
struct PodParts<'r> {
    name: &'r str,
    phase: PodPhase,
    deleting: bool,
    start_ms: Option<i64>,
    ready: Option<ReadyCondition>,
    /// (name, sidecar, requests) of regular then restartable init containers.
    containers: Vec<(&'r str, bool, Vec<ResourceAmount<'r>>)>,
    pod_requests: Option<Vec<ResourceAmount<'r>>>,
}

fn pod_parts<'r>(p: &'r PodJson, i: usize) -> Result<PodParts<'r>, InputError> {
    let path = format!("pods[{i}]");
    let phase = match p.status.phase.as_deref() {
        Some("Pending") => PodPhase::Pending,
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        _ => PodPhase::Unknown,
    };
    let start_ms = match &p.status.start_time {
        Some(t) => Some(time(t, &format!("{path}.status.startTime"))?),
        None => None,
    };
    let mut ready = None;
    for (j, c) in p
        .status
        .conditions
        .iter()
        .enumerate()
        .filter(|(_, c)| c.type_ == "Ready")
    {
        let status = match c.status.as_str() {
            "True" => ConditionStatus::True,
            "False" => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        };
        let last_transition_ms = match &c.last_transition_time {
            Some(t) => time(
                t,
                &format!("{path}.status.conditions[{j}].lastTransitionTime"),
            )?,
            None => GO_ZERO_TIME_MS,
        };
        // GetPodCondition returns the first Ready condition.
        ready.get_or_insert(ReadyCondition {
            status,
            last_transition_ms,
        });
    }
    let mut containers = Vec::with_capacity(p.spec.containers.len());
    for (j, c) in p.spec.containers.iter().enumerate() {
        let requests = match &c.resources {
            Some(r) => amounts(
                &r.requests,
                &format!("{path}.spec.containers[{j}].resources.requests"),
            )?,
            None => vec![],
        };
        containers.push((c.name.as_str(), false, requests));
    }
    for (j, c) in p.spec.init_containers.iter().enumerate() {
        if c.restart_policy.as_deref() != Some("Always") {
            continue;
        }
        let requests = match &c.resources {
            Some(r) => amounts(
                &r.requests,
                &format!("{path}.spec.initContainers[{j}].resources.requests"),
            )?,
            None => vec![],
        };
        containers.push((c.name.as_str(), true, requests));
    }
    let pod_requests = match &p.spec.resources {
        Some(r) if !r.requests.is_empty() => Some(amounts(
            &r.requests,
            &format!("{path}.spec.resources.requests"),
        )?),
        _ => None,
    };
    Ok(PodParts {
        name: &p.metadata.name,
        phase,
        deleting: p.metadata.deletion_timestamp.is_some(),
        start_ms,
        ready,
        containers,
        pod_requests,
    })
}

/// A PodMetrics entry with its parsed parts.
struct UsageParts<'r> {
    name: &'r str,
    timestamp_ms: i64,
    window_ms: i64,
    containers: Vec<(&'r str, Vec<ResourceAmount<'r>>)>,
}

fn usage_parts<'r>(m: &'r PodMetricsJson, i: usize) -> Result<UsageParts<'r>, InputError> {
    let path = format!("podMetrics[{i}]");
    let window_ms =
        parse_go_duration(&m.window).map_err(|e| InputError::new(&format!("{path}.window"), e))?;
    let mut containers = Vec::with_capacity(m.containers.len());
    for (j, c) in m.containers.iter().enumerate() {
        containers.push((
            c.name.as_str(),
            amounts(&c.usage, &format!("{path}.containers[{j}].usage"))?,
        ));
    }
    Ok(UsageParts {
        name: &m.metadata.name,
        timestamp_ms: time(&m.timestamp, &format!("{path}.timestamp"))?,
        window_ms,
        containers,
    })
}

/// The data of one spec metric, owned.
enum InputParts<'r> {
    Usage,
    PerPod(Vec<Option<i64>>, Vec<i64>),
    Object(i64),
    External(Vec<i64>),
    Error(&'r str),
}

fn input_parts<'r>(
    req: &'r EvaluateRequest,
    source: &MetricSource,
    pod_index: &BTreeMap<&str, usize>,
) -> Result<InputParts<'r>, InputError> {
    if let Some(text) = req.metric_errors.get(source.key()) {
        return Ok(InputParts::Error(text));
    }
    Ok(match source {
        MetricSource::Resource { .. } => InputParts::Usage,
        MetricSource::Pods { metric, .. } => {
            let mut values = vec![None; req.pods.len()];
            let mut by_pod: BTreeMap<&str, i64> = BTreeMap::new();
            for (i, v) in req
                .custom_metrics
                .get(metric)
                .into_iter()
                .flatten()
                .enumerate()
            {
                by_pod.insert(
                    &v.pod,
                    milli(&v.value, &format!("customMetrics.{metric}[{i}].value"))?,
                );
            }
            let mut unlisted = vec![];
            for (pod, value) in by_pod {
                match pod_index.get(pod) {
                    Some(&i) => values[i] = Some(value),
                    None => unlisted.push(value),
                }
            }
            InputParts::PerPod(values, unlisted)
        }
        MetricSource::Object { metric, .. } => match req.object_metrics.get(metric) {
            Some(q) => InputParts::Object(milli(q, &format!("objectMetrics.{metric}"))?),
            None => InputParts::Error("no value for this metric in objectMetrics"),
        },
        MetricSource::External { metric, .. } => {
            let series = req
                .external_metrics
                .get(metric)
                .into_iter()
                .flatten()
                .enumerate();
            let values = series
                .map(|(i, q)| milli(q, &format!("externalMetrics.{metric}[{i}]")))
                .collect::<Result<_, _>>()?;
            InputParts::External(values)
        }
    })
}

/// Builds the observation and hands it to `f`.
pub(super) fn with_observation<R>(
    req: &EvaluateRequest,
    spec: &HpaSpec,
    namespace: &str,
    f: impl FnOnce(&Observation<'_>) -> R,
) -> Result<R, InputError> {
    let pods: Vec<PodParts<'_>> = req
        .pods
        .iter()
        .enumerate()
        .map(|(i, p)| pod_parts(p, i))
        .collect::<Result<_, _>>()?;
    let usages: Vec<UsageParts<'_>> = req
        .pod_metrics
        .iter()
        .enumerate()
        .map(|(i, m)| usage_parts(m, i))
        .collect::<Result<_, _>>()?;
    let pod_index: BTreeMap<&str, usize> =
        pods.iter().enumerate().map(|(i, p)| (p.name, i)).collect();
    let inputs_owned: Vec<InputParts<'_>> = spec
        .metrics
        .iter()
        .map(|m| input_parts(req, &m.source, &pod_index))
        .collect::<Result<_, _>>()?;

    let container_usage: Vec<Vec<ContainerUsage<'_>>> = usages
        .iter()
        .map(|u| {
            u.containers
                .iter()
                .map(|(name, usage)| ContainerUsage { name, usage })
                .collect()
        })
        .collect();
    let pod_usage: Vec<PodUsage<'_>> = usages
        .iter()
        .zip(&container_usage)
        .map(|(u, containers)| PodUsage {
            pod_name: u.name,
            timestamp_ms: u.timestamp_ms,
            window_ms: u.window_ms,
            containers,
        })
        .collect();
    // The metrics client keys samples by pod name: a later entry replaces an earlier one.
    let latest: BTreeMap<&str, usize> = usages
        .iter()
        .enumerate()
        .map(|(i, u)| (u.name, i))
        .collect();
    let unlisted: Vec<PodUsage<'_>> = latest
        .iter()
        .filter(|(name, _)| !pod_index.contains_key(*name))
        .map(|(_, &i)| pod_usage[i])
        .collect();
    let containers: Vec<Vec<Container<'_>>> = pods
        .iter()
        .map(|p| {
            p.containers
                .iter()
                .map(|(name, sidecar, requests)| Container {
                    name,
                    sidecar: *sidecar,
                    requests,
                })
                .collect()
        })
        .collect();
    let engine_pods: Vec<Pod<'_>> = pods
        .iter()
        .zip(&containers)
        .map(|(p, containers)| Pod {
            name: p.name,
            phase: p.phase,
            deleting: p.deleting,
            start_ms: p.start_ms,
            ready: p.ready,
            containers,
            pod_requests: p.pod_requests.as_deref(),
            usage: latest.get(p.name).map(|&i| &pod_usage[i]),
            count: 1,
        })
        .collect();
    let inputs: Vec<MetricInput<'_>> = inputs_owned
        .iter()
        .map(|i| match i {
            InputParts::Usage => MetricInput::ResourceUsage,
            InputParts::PerPod(values, unlisted) => MetricInput::PerPod { values, unlisted },
            InputParts::Object(v) => MetricInput::Object { value_milli: *v },
            InputParts::External(values) => MetricInput::External {
                values_milli: values,
            },
            InputParts::Error(text) => MetricInput::FetchError(text),
        })
        .collect();
    let status_replicas = req.scale.status_replicas.unwrap_or(req.scale.spec_replicas);
    let obs = Observation {
        namespace,
        spec_replicas: req.scale.spec_replicas,
        status_replicas,
        pods: &engine_pods,
        unlisted_usage: &unlisted,
        selector: match req.scale.selector.as_deref() {
            Some("") => SelectorCheck::Missing,
            _ => SelectorCheck::Valid,
        },
        metrics: &inputs,
    };
    Ok(f(&obs))
}
