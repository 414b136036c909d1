//! Table-driven tests of the HPA engine: the Kubernetes unit-test vectors
//! (replica_calculator_test.go, horizontal_test.go) and cases derived from hpa.md.
//!
//! The fixture mirrors Kubernetes' test harness: pods `test-pod-N` with two containers that
//! each request the pod's request, PodMetrics with a 1 min window, pods started long ago
//! ("cool") unless said otherwise, and the controller's testing flags (2 min CPU
//! initialization period, 10 s initial readiness delay, tolerance 0.1).

mod behavior;
mod compact;
mod fast_path;
mod k8s_rules;
mod normalize;
mod plain;
mod replicas;
mod scenarios;
mod window;

use super::*;

/// "Now" in the fixture's clock (ms); pods start at 0 unless said otherwise.
pub(super) const NOW: i64 = 1_000_000_000;

/// One pod of the fixture.
#[derive(Debug, Clone, PartialEq)]
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
    /// How many identical pods this stands for (1 unless said otherwise).
    pub count: u32,
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
            count: 1,
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

    /// One reconcile at `now`, updating `state`. Every pod is listed as its own entry; the
    /// same observation is also reconciled compacted (runs of equal pods merged into one
    /// entry with their total count, count-0 pods kept as entries) and through
    /// `compute_metrics` + `reconcile_with_metrics`, and both must decide and store exactly
    /// the same, so that every vector checks those forms too.
    pub fn run(
        &self,
        spec: &HpaSpec,
        settings: &ControllerSettings,
        state: &mut HpaState,
        now: i64,
    ) -> Decision {
        // One slot per pod a `P` stands for, and one for a count-0 `P` (used only as a
        // count-0 entry of the compact form).
        let slots: Vec<usize> = (self.pods.iter().enumerate())
            .flat_map(|(i, p)| std::iter::repeat_n(i, p.count.max(1) as usize))
            .collect();
        let names: Vec<String> = (0..slots.len() + self.unlisted.len())
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
        let all_usage: Vec<Option<&Vec<i64>>> = (slots.iter())
            .map(|&i| self.pods[i].usage.as_ref())
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
            .map(|(s, u)| {
                let ts = slots.get(s).map_or(0, |&i| self.pods[i].usage_ts);
                u.map(|_| PodUsage {
                    pod_name: &names[s],
                    timestamp_ms: ts,
                    window_ms: 60_000,
                    containers: &container_usage[s],
                })
            })
            .collect();
        let unlisted: Vec<PodUsage<'_>> =
            pod_usage[slots.len()..].iter().flatten().copied().collect();
        let slot_pods: Vec<Pod<'_>> = (slots.iter().enumerate())
            .map(|(s, &i)| {
                let p = &self.pods[i];
                Pod {
                    name: &names[s],
                    phase: p.phase,
                    deleting: p.deleting,
                    start_ms: p.start_ms,
                    ready: p.ready.map(|(status, t)| ReadyCondition {
                        status,
                        last_transition_ms: t,
                    }),
                    containers: &containers[i],
                    pod_requests: None,
                    usage: pod_usage[s].as_ref(),
                    count: 1,
                }
            })
            .collect();
        let forms = [self.listed(&slots), self.compacted()];
        let mut decisions = vec![];
        let mut states = vec![];
        for (entries, pod_of) in &forms {
            let pods: Vec<Pod<'_>> = entries
                .iter()
                .map(|&(s, count)| Pod {
                    count,
                    ..slot_pods[s]
                })
                .collect();
            let (resolved, resolved_unlisted) = self.resolve(pod_of);
            let per_pod = self.per_pod_values(pod_of);
            let inputs: Vec<MetricInput<'_>> = (self.inputs.iter().zip(&per_pod))
                .map(|(i, values)| match i {
                    Input::Usage if self.resolved => MetricInput::ResolvedUsage {
                        per_pod: &resolved,
                        unlisted: &resolved_unlisted,
                    },
                    Input::Usage => MetricInput::ResourceUsage,
                    Input::PerPod(_, unlisted) => MetricInput::PerPod { values, unlisted },
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
            let mut whole = state.clone();
            let mut decision = Decision::default();
            reconcile(spec, settings, &obs, &mut whole, now, &mut decision);
            let mut split = state.clone();
            let (mut metrics, mut split_decision) = (MetricsResult::default(), Decision::default());
            compute_metrics(spec, settings, &obs, now, &mut metrics);
            let current = obs.spec_replicas;
            reconcile_with_metrics(
                spec,
                settings,
                current,
                &metrics,
                &mut split,
                now,
                &mut split_decision,
            );
            assert_eq!(
                split_decision, decision,
                "compute_metrics + reconcile_with_metrics"
            );
            assert_eq!(
                split, whole,
                "state after compute_metrics + reconcile_with_metrics"
            );
            decisions.push(decision);
            states.push(whole);
        }
        assert_eq!(decisions[1], decisions[0], "decision over compacted pods");
        assert_eq!(states[1], states[0], "state over compacted pods");
        *state = states.swap_remove(0);
        decisions.swap_remove(0)
    }

    /// Every pod as its own entry: `(slot, count 1)` per pod, and the `P` of each entry.
    fn listed(&self, slots: &[usize]) -> (Vec<(usize, u32)>, Vec<usize>) {
        (slots.iter().enumerate())
            .filter(|&(_, &i)| self.pods[i].count > 0)
            .map(|(s, &i)| ((s, 1), i))
            .unzip()
    }

    /// Runs of equal pods (with equal Pods-metric values) as one entry each, named after the
    /// run's first pod, with the run's total count.
    fn compacted(&self) -> (Vec<(usize, u32)>, Vec<usize>) {
        let same = |a: usize, b: usize| {
            let (pa, pb) = (&self.pods[a], &self.pods[b]);
            P {
                count: 0,
                ..pa.clone()
            } == P {
                count: 0,
                ..pb.clone()
            } && self.inputs.iter().all(|input| match input {
                Input::PerPod(values, _) => values.get(a) == values.get(b),
                _ => true,
            })
        };
        let mut entries: Vec<(usize, u32)> = vec![];
        let mut pod_of: Vec<usize> = vec![];
        let mut first_slot = 0;
        for (i, p) in self.pods.iter().enumerate() {
            match (entries.last_mut(), pod_of.last()) {
                (Some((slot, count)), Some(&last)) if same(last, i) => {
                    // A run that so far stands for no pod takes the name of its first one.
                    if *count == 0 {
                        *slot = first_slot;
                    }
                    *count += p.count;
                }
                _ => {
                    entries.push((first_slot, p.count));
                    pod_of.push(i);
                }
            }
            first_slot += p.count.max(1) as usize;
        }
        (entries, pod_of)
    }

    /// Each Pods metric's values aligned with entries whose `P`s are `pod_of`; values past
    /// the end of the world's pods stay at the end.
    fn per_pod_values(&self, pod_of: &[usize]) -> Vec<Vec<Option<i64>>> {
        (self.inputs.iter())
            .map(|input| match input {
                Input::PerPod(values, _) => (pod_of.iter())
                    .map(|&i| values.get(i).copied().flatten())
                    .chain(values.iter().skip(self.pods.len()).copied())
                    .collect(),
                _ => vec![],
            })
            .collect()
    }
}

impl World {
    /// What a caller tracking pods would resolve for a pod-level resource metric: the pod's
    /// request (both containers) and its usage summed over containers.
    fn resolve(&self, pod_of: &[usize]) -> (Vec<ResolvedSample>, Vec<i64>) {
        let sum = |usage: &Vec<i64>, ts: i64| {
            (usage.len() == CONTAINERS.len()).then(|| UsageSample {
                value: usage.iter().sum(),
                timestamp_ms: ts,
                window_ms: 60_000,
            })
        };
        let per_pod = (pod_of.iter().map(|&i| &self.pods[i]))
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
