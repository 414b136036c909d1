//! Table-driven tests of the HPA engine: the Kubernetes unit-test vectors
//! (replica_calculator_test.go, horizontal_test.go) and cases derived from hpa.md.
//!
//! The fixture mirrors Kubernetes' test harness: pods `test-pod-N` with two containers that
//! each request the pod's request, PodMetrics with a 1 min window, pods started long ago
//! ("cool") unless said otherwise, and the controller's testing flags (2 min CPU
//! initialization period, 10 s initial readiness delay, tolerance 0.1).

mod behavior;
mod k8s_rules;
mod normalize;
mod plain;
mod replicas;
mod scenarios;

use super::*;

/// "Now" in the fixture's clock (ms); pods start at 0 unless said otherwise.
pub(super) const NOW: i64 = 1_000_000_000;

/// One pod of the fixture.
#[derive(Debug, Clone)]
pub(super) struct P {
    pub phase: PodPhase,
    pub deleting: bool,
    pub start_ms: Option<i64>,
    pub ready: Option<(ConditionStatus, i64)>,
    /// Each container's request (both containers request it); `None`: no request.
    pub request: Option<i64>,
    /// Per-container usage; `None`: no PodMetrics entry.
    pub usage: Option<Vec<i64>>,
    pub usage_ts: i64,
}

impl P {
    /// A Running, Ready pod started long ago, requesting `request` per container.
    pub fn new(request: i64) -> P {
        P {
            phase: PodPhase::Running,
            deleting: false,
            start_ms: Some(0),
            ready: Some((ConditionStatus::True, 0)),
            request: Some(request),
            usage: None,
            usage_ts: 0,
        }
    }
    /// Both containers use `each`.
    pub fn uses(mut self, each: i64) -> P {
        self.usage = Some(vec![each, each]);
        self
    }
    pub fn uses_containers(mut self, usage: &[i64]) -> P {
        self.usage = Some(usage.to_vec());
        self
    }
    pub fn unready(mut self) -> P {
        self.ready = Some((ConditionStatus::False, 0));
        self
    }
    /// Started just now: inside the CPU initialization period, no full window since ready.
    pub fn hot(mut self) -> P {
        self.start_ms = Some(NOW);
        self
    }
    /// Started 3 minutes ago: past the testing initialization period.
    pub fn cool(mut self) -> P {
        self.start_ms = Some(NOW - 180_000);
        self
    }
    pub fn phase(mut self, phase: PodPhase) -> P {
        self.phase = phase;
        self
    }
    pub fn deleting(mut self) -> P {
        self.deleting = true;
        self
    }
}

/// The data of one spec metric, owned.
#[derive(Debug, Clone)]
pub(super) enum Input {
    Usage,
    PerPod(Vec<Option<i64>>, Vec<i64>),
    Object(i64),
    External(Vec<i64>),
    Error(&'static str),
}

/// Everything the controller observes, owned; [`World::run`] lends it to the engine.
#[derive(Debug, Clone)]
pub(super) struct World {
    pub resource: &'static str,
    pub spec_replicas: i32,
    pub status_replicas: i32,
    pub pods: Vec<P>,
    /// Per-container usage of PodMetrics entries for pods not in the list.
    pub unlisted: Vec<Vec<i64>>,
    pub inputs: Vec<Input>,
    /// Hand resource metrics to the engine pre-resolved ([`MetricInput::ResolvedUsage`]).
    pub resolved: bool,
    pub selector: SelectorCheck<'static>,
}

const CONTAINERS: [&str; 2] = ["container1", "container2"];

impl World {
    pub fn new(spec_replicas: i32, pods: Vec<P>) -> World {
        World {
            resource: "cpu",
            spec_replicas,
            status_replicas: spec_replicas,
            pods,
            unlisted: vec![],
            inputs: vec![Input::Usage],
            resolved: false,
            selector: SelectorCheck::Valid,
        }
    }

    pub fn inputs(mut self, inputs: Vec<Input>) -> World {
        self.inputs = inputs;
        self
    }

    /// One reconcile at `now`, updating `state`.
    pub fn run(
        &self,
        spec: &HpaSpec,
        settings: &ControllerSettings,
        state: &mut HpaState,
        now: i64,
    ) -> Decision {
        let names: Vec<String> = (0..self.pods.len() + self.unlisted.len())
            .map(|i| format!("test-pod-{i}"))
            .collect();
        let amount = |milli: i64| {
            [ResourceAmount {
                resource: self.resource,
                milli,
            }]
        };
        let requests: Vec<Option<[ResourceAmount<'_>; 1]>> =
            self.pods.iter().map(|p| p.request.map(amount)).collect();
        let containers: Vec<Vec<Container<'_>>> = requests
            .iter()
            .map(|r| {
                let requests: &[ResourceAmount<'_>] = r.as_ref().map_or(&[], |a| &a[..]);
                CONTAINERS
                    .iter()
                    .map(|name| Container {
                        name,
                        sidecar: false,
                        requests,
                    })
                    .collect()
            })
            .collect();
        let all_usage: Vec<Option<&Vec<i64>>> = self
            .pods
            .iter()
            .map(|p| p.usage.as_ref())
            .chain(self.unlisted.iter().map(Some))
            .collect();
        let usage_amounts: Vec<Vec<[ResourceAmount<'_>; 1]>> = all_usage
            .iter()
            .map(|u| u.map_or(vec![], |v| v.iter().map(|m| amount(*m)).collect()))
            .collect();
        let container_usage: Vec<Vec<ContainerUsage<'_>>> = usage_amounts
            .iter()
            .map(|per| {
                per.iter()
                    .zip(CONTAINERS)
                    .map(|(a, name)| ContainerUsage {
                        name,
                        usage: &a[..],
                    })
                    .collect()
            })
            .collect();
        let pod_usage: Vec<Option<PodUsage<'_>>> = all_usage
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let ts = self.pods.get(i).map_or(0, |p| p.usage_ts);
                u.map(|_| PodUsage {
                    pod_name: &names[i],
                    timestamp_ms: ts,
                    window_ms: 60_000,
                    containers: &container_usage[i],
                })
            })
            .collect();
        let unlisted: Vec<PodUsage<'_>> = pod_usage[self.pods.len()..]
            .iter()
            .flatten()
            .copied()
            .collect();
        let pods: Vec<Pod<'_>> = self
            .pods
            .iter()
            .enumerate()
            .map(|(i, p)| Pod {
                name: &names[i],
                phase: p.phase,
                deleting: p.deleting,
                start_ms: p.start_ms,
                ready: p.ready.map(|(status, t)| ReadyCondition {
                    status,
                    last_transition_ms: t,
                }),
                containers: &containers[i],
                pod_requests: None,
                usage: pod_usage[i].as_ref(),
                count: 1,
            })
            .collect();
        let (resolved, resolved_unlisted) = self.resolve();
        let inputs: Vec<MetricInput<'_>> = self
            .inputs
            .iter()
            .map(|i| match i {
                Input::Usage if self.resolved => MetricInput::ResolvedUsage {
                    per_pod: &resolved,
                    unlisted: &resolved_unlisted,
                },
                Input::Usage => MetricInput::ResourceUsage,
                Input::PerPod(values, unlisted) => MetricInput::PerPod { values, unlisted },
                Input::Object(v) => MetricInput::Object { value_milli: *v },
                Input::External(values) => MetricInput::External {
                    values_milli: values,
                },
                Input::Error(text) => MetricInput::FetchError(text),
            })
            .collect();
        let obs = Observation {
            namespace: "test-namespace",
            spec_replicas: self.spec_replicas,
            status_replicas: self.status_replicas,
            pods: &pods,
            unlisted_usage: &unlisted,
            selector: self.selector,
            metrics: &inputs,
        };
        let mut decision = Decision::default();
        reconcile(spec, settings, &obs, state, now, &mut decision);
        decision
    }
}

impl World {
    /// What a caller tracking pods would resolve for a pod-level resource metric: the pod's
    /// request (both containers) and its usage summed over containers.
    fn resolve(&self) -> (Vec<ResolvedSample>, Vec<i64>) {
        let sum = |usage: &Vec<i64>, ts: i64| {
            (usage.len() == CONTAINERS.len()).then(|| UsageSample {
                value: usage.iter().sum(),
                timestamp_ms: ts,
                window_ms: 60_000,
            })
        };
        let per_pod = self
            .pods
            .iter()
            .map(|p| ResolvedSample {
                request_milli: p.request.map(|r| r * 2),
                sample: p.usage.as_ref().and_then(|u| sum(u, p.usage_ts)),
            })
            .collect();
        let unlisted = self
            .unlisted
            .iter()
            .filter_map(|u| sum(u, 0))
            .map(|s| s.value)
            .collect();
        (per_pod, unlisted)
    }
}

/// The controller settings of Kubernetes' replica calculator tests.
pub(super) fn testing_settings() -> ControllerSettings {
    ControllerSettings {
        cpu_initialization_period_ms: 120_000,
        initial_readiness_delay_ms: 10_000,
        ..ControllerSettings::default()
    }
}

/// A spec with one metric, bounds 1..=1000 and no behavior.
pub(super) fn spec_with(source: MetricSource) -> HpaSpec {
    HpaSpec {
        min_replicas: 1,
        max_replicas: 1000,
        metrics: vec![MetricSpec {
            source,
            description: "test metric".into(),
        }],
        behavior: None,
    }
}

pub(super) fn cpu_utilization(target: i32) -> MetricSource {
    MetricSource::Resource {
        resource: "cpu".into(),
        container: None,
        target: ResourceTarget::Utilization(target),
    }
}

pub(super) fn container_utilization(container: &str, target: i32) -> MetricSource {
    MetricSource::Resource {
        resource: "cpu".into(),
        container: Some(container.into()),
        target: ResourceTarget::Utilization(target),
    }
}

pub(super) fn pods_metric(target: i64) -> MetricSource {
    MetricSource::Pods {
        metric: "qps".into(),
        target_average_milli: target,
    }
}

pub(super) fn object_metric(target: ValueTarget) -> MetricSource {
    MetricSource::Object {
        metric: "qps".into(),
        described_kind: "Deployment".into(),
        described_name: "some-deployment".into(),
        target,
    }
}

pub(super) fn external_metric(target: ValueTarget) -> MetricSource {
    MetricSource::External {
        metric: "qps".into(),
        selector_text: "<nil>".into(),
        target,
    }
}

/// `n` copies of a pod.
pub(super) fn pods(n: usize, pod: P) -> Vec<P> {
    vec![pod; n]
}
