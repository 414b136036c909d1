//! The HPA controller in the simulator: every sync period each HPA reconciles, with a fixed
//! per-HPA phase offset as a real controller's work queue gives it, from an observation the
//! engine builds: the target's pods (phase, start time, Ready condition), usage samples as
//! metrics-server serves them (a window of `metricsResolution`, `metricsScrapeLag` old), and
//! the metrics workloads expose. The decision goes to the Deployment's replicas.
//!
//! Metrics a workload exposes (documented in scenarios/README.md):
//! - Resource / ContainerResource `cpu` and `memory`: each running pod's usage from the
//!   capacity model (plus the start-up CPU burst while it lasts);
//! - a `Pods` metric, whatever its name: requests per second served by each ready pod;
//! - an `Object` metric: the workload's demand in requests per second;
//! - an `External` metric: the queue length of a queue-driven worker, otherwise its demand.

use autoscaler::hpa::{
    self, ConditionStatus, ControllerSettings, Decision, HpaState, MetricInput, MetricSource,
    Observation, PodPhase as HPhase, ReadyCondition, ResolvedSample, UsageSample, WindowedState,
};
use autoscaler::numeric::round_half_away;

use super::state::{DeploymentState, Engine, Event, Phase};
use crate::rng::Seed;
use crate::scenario::model::HpaControllerSettings;
use crate::time::{SimDuration, SimTime};

/// One HPA's controller state in the run.
#[derive(Default)]
pub(super) struct HpaRuntime {
    /// The controller's stores: windowed (O(1) per sync) with the shortcuts on, the
    /// controller's own lists without them.
    pub windowed: WindowedState,
    pub state: HpaState,
    pub decision: Decision,
    /// The last metrics computation, and the inputs it was computed from: reused while they
    /// are unchanged and no pod is young enough for time to change how it is counted.
    pub metrics: hpa::MetricsResult,
    pub metrics_key: Option<(u64, SimTime, i32, i32)>,
    pub metrics_time_free: bool,
    /// How long the last reconcile's outcome holds while its inputs (current replicas, the
    /// metrics' proposal and ScalingActive) do (`hpa::steady_until`), and those inputs.
    steady: Option<hpa::Steady>,
    steady_inputs: (i32, Option<i32>, Option<hpa::Condition>),
    /// The target's pods as the controller lists them, what their samples need, and their
    /// prepared `uniform` metrics; built at `rows_key` (the Deployment's version and pod
    /// count) and reused, with the shortcuts on, while that holds and the time is before
    /// `rows_until_ms`, when the first of them would be listed differently (merged, sampled,
    /// or out of its start-up burst) or a lone pod would finish its CPU initialization.
    pub rows: Vec<hpa::Pod<'static>>,
    pub row_facts: Vec<RowFacts>,
    pub rows_key: Option<(u64, usize)>,
    rows_until_ms: i64,
    /// With the shortcuts on, when the rows are one entry of pods that the one Resource
    /// Utilization metric counts as ready whatever their sample: its metrics, prepared.
    uniform: Option<hpa::UniformMetrics>,
    /// Timeline columns: the last sync's desired replicas and condition reasons.
    pub last_desired: i32,
    /// Per spec metric: how a Resource metric reads the workload (`None` for other kinds),
    /// resolved once from the pod template.
    resources: Vec<Option<ResourceModel>>,
}

impl HpaRuntime {
    pub(super) fn new(
        sc: &crate::scenario::model::Scenario,
        h: &crate::scenario::model::Hpa,
    ) -> Self {
        let dep = &sc.deployments[h.deployment];
        let req = &dep.template.scheduling.requests;
        let resources = h
            .spec
            .metrics
            .iter()
            .map(|m| match &m.source {
                MetricSource::Resource {
                    resource,
                    container,
                    ..
                } => Some(ResourceModel::of(resource, container.as_deref(), dep, req)),
                _ => None,
            })
            .collect();
        HpaRuntime {
            resources,
            ..HpaRuntime::default()
        }
    }
}

/// A Resource metric of one workload: the pod's request (milli-units) and what share of the
/// pod's usage it reads, both fixed by the pod template.
#[derive(Debug, Clone, Copy)]
struct ResourceModel {
    request_milli: Option<i64>,
    /// The pod's CPU (`Some(true)`) or memory usage, or none for another resource.
    cpu: Option<bool>,
    share: Share,
    /// Milli-units per model unit: CPU is modelled in millicores (already milli), memory in
    /// bytes.
    scale: f64,
}

/// How much of the pod's usage a metric reads.
#[derive(Debug, Clone, Copy)]
enum Share {
    Pod,
    /// One container's share of the pod's usage (by request).
    Container(f64),
    /// The named container does not exist: no usage.
    None,
}

/// What a listed pod's samples depend on besides the workload's usage.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowFacts {
    /// metrics-server has a sample for it (running since before the scrape).
    sampled: bool,
    ready: bool,
    /// The start-up CPU burst its sample includes.
    burst_m: f64,
}

/// Until when an HPA's syncs repeat its last reconcile without a look at anything else,
/// and the last sync skipped so (which the stores catch up with before the next reconcile).
///
/// It holds while the target's Deployment and its usage points do not change: the engine
/// wakes the HPA (`wake`) when one of its pods is created, deleted, bound, started or changes
/// readiness (each bumps the Deployment's version), when its replicas are set, and when a
/// usage point is added; a reconcile sets the time again. A sync past the time, or after a
/// wake, takes the full path, which compares the metrics' inputs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Quiet {
    until_ms: i64,
    skipped_at_ms: Option<i64>,
}

impl Default for Quiet {
    fn default() -> Self {
        Quiet {
            until_ms: i64::MIN,
            skipped_at_ms: None,
        }
    }
}

impl Quiet {
    pub(super) fn wake(&mut self) {
        self.until_ms = i64::MIN;
    }

    /// A usage point was added that syncs see from `visible_ms` on: the metrics change then.
    pub(super) fn point_added(&mut self, visible_ms: i64) {
        self.until_ms = self.until_ms.min(visible_ms - 1);
    }
}

/// The first sync time whose sample reads a usage point taken at `at_ms`: the sample time is
/// the sync time less the scrape lag, rounded down to the metrics resolution.
pub(super) fn first_sync_seeing(at_ms: i64, settings: &HpaControllerSettings) -> i64 {
    let res = settings.metrics_resolution.as_millis().max(1);
    let up = at_ms.div_euclid(res) * res + if at_ms.rem_euclid(res) == 0 { 0 } else { res };
    up + settings.metrics_scrape_lag.as_millis()
}

/// Reusable buffers for building observations, so a sync allocates nothing.
#[derive(Default)]
pub(super) struct HpaBuffers {
    samples: Vec<Vec<ResolvedSample>>,
    per_pod: Vec<Vec<Option<i64>>>,
    external: Vec<[i64; 1]>,
}

/// A usage snapshot of a workload at one metrics step: per-pod usage of its ready pods.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct UsagePoint {
    pub at: SimTime,
    pub cpu_m: f64,
    pub mem_bytes: f64,
    pub rps_per_pod: f64,
    pub demand_rps: f64,
    pub queue: f64,
}

pub(super) fn controller_settings(sc: &crate::scenario::model::Scenario) -> ControllerSettings {
    let h = &sc.settings.hpa;
    ControllerSettings {
        tolerance: h.tolerance,
        cpu_initialization_period_ms: h.cpu_initialization_period.as_millis(),
        initial_readiness_delay_ms: h.initial_readiness_delay.as_millis(),
        downscale_stabilization_ms: h.downscale_stabilization.as_millis(),
        ..ControllerSettings::default()
    }
}

/// How long after a pod's start nothing about it depends on the sync time any more: the CPU
/// initialization period, the initial readiness delay, and the start-up burst seen through
/// the scrape lag and resolution.
pub(super) fn time_horizon_ms(sc: &crate::scenario::model::Scenario) -> i64 {
    let h = &sc.settings.hpa;
    let sampling = h.metrics_scrape_lag.as_millis() + h.metrics_resolution.as_millis();
    let burst = sc
        .deployments
        .iter()
        .map(|d| d.template.startup.cpu_burst_duration.as_millis())
        .max()
        .unwrap_or(0);
    h.cpu_initialization_period
        .as_millis()
        .max(h.initial_readiness_delay.as_millis())
        .max(burst + sampling)
        .max(sampling)
        + 1
}

/// Groups HPAs by their phase offset (whole seconds within the sync period, drawn from the
/// seed): one event per group and period instead of one per HPA.
pub(super) fn sync_groups(sc: &crate::scenario::model::Scenario) -> Vec<(SimDuration, Vec<u32>)> {
    let period_s = (sc.settings.hpa.sync_period.as_millis() / 1000).max(1) as u64;
    let mut rng = Seed(sc.seed).fork("hpa/phase");
    let mut groups: std::collections::BTreeMap<u64, Vec<u32>> = Default::default();
    for i in 0..sc.hpas.len() {
        let offset = rand::RngCore::next_u64(&mut rng) % period_s;
        groups.entry(offset).or_default().push(i as u32);
    }
    groups
        .into_iter()
        .map(|(o, v)| (SimDuration::from_secs(o as i64), v))
        .collect()
}

impl<'a> Engine<'a> {
    pub(super) fn hpa_sync(&mut self, group: u32) {
        let now = self.now();
        let period = self.sc.settings.hpa.sync_period;
        self.at(now + period, Event::HpaSync(group));
        let members = std::mem::take(&mut self.hpa_groups[group as usize].1);
        for &h in &members {
            let quiet = &mut self.hpa_quiet[h as usize];
            if now.0 <= quiet.until_ms {
                quiet.skipped_at_ms = Some(now.0);
                continue;
            }
            self.reconcile_hpa(h as usize);
        }
        self.hpa_groups[group as usize].1 = members;
    }

    /// Deployment `d` changed in a way its HPA reads: its next sync takes the full path.
    pub(super) fn wake_hpa_of(&mut self, d: usize) {
        if let Some(h) = self.hpa_of[d] {
            self.hpa_quiet[h as usize].wake();
        }
    }

    fn reconcile_hpa(&mut self, h: usize) {
        let now = self.now();
        let sc = self.sc;
        let spec = &sc.hpas[h];
        let d = spec.deployment;
        let settings = &sc.settings.hpa;
        let res = settings.metrics_resolution.as_millis().max(1);
        let sample_ts = (now.0 - settings.metrics_scrape_lag.as_millis()).div_euclid(res) * res;
        let dep = &self.deployments[d];
        let point = dep.usage_at(SimTime(sample_ts));
        // Past this age no pod's grouping, sample or start-up burst depends on `now`.
        let horizon = self.hpa_time_horizon_ms;
        let time_free = now.0 >= dep.newest_start.0 + horizon;
        let key = (dep.version, point.at, dep.desired, dep.live.len() as i32);
        // When the newest usage point, if the sample does not read it yet, comes into view:
        // the first sync whose sample time reaches it.
        let newest_visible_ms = if dep.usage[0].at.0 > sample_ts {
            first_sync_seeing(dep.usage[0].at.0, settings)
        } else {
            i64::MAX
        };
        let rt = &self.hpas[h];
        if !(self.hpa_shortcuts && rt.metrics_key == Some(key) && rt.metrics_time_free && time_free)
        {
            self.compute_hpa_metrics(h, sample_ts, res, &point);
            let rt = &mut self.hpas[h];
            rt.metrics_key = Some(key);
            rt.metrics_time_free = time_free;
        }
        let current = self.deployments[d].desired;
        let rt = &mut self.hpas[h];
        if self.hpa_shortcuts {
            // A reconcile reads of its metrics only the proposal and ScalingActive: with those
            // and the current replicas as the last reconcile had them, and within its steady
            // time, it repeats the last one, and the stores catch up before the next one.
            let inputs = (current, rt.metrics.proposal, rt.metrics.scaling_active);
            let quiet = &mut self.hpa_quiet[h];
            if let Some(s) = rt.steady {
                if now.0 <= s.until_ms && rt.steady_inputs == inputs {
                    quiet.skipped_at_ms = Some(now.0);
                    // Nothing changes before the steady time ends or the newest usage
                    // point becomes visible, unless the engine wakes the HPA first.
                    if rt.metrics_time_free {
                        quiet.until_ms = s.until_ms.min(newest_visible_ms - 1);
                    }
                    return;
                }
                if let Some(at) = quiet.skipped_at_ms.take() {
                    rt.windowed.repeat_last(s, at);
                }
            }
            // The engine reads only the outcome; the metric statuses stay in `rt.metrics`.
            hpa::reconcile_outcome(
                &spec.spec,
                &self.hpa_settings,
                current,
                &rt.metrics,
                &mut rt.windowed,
                now.0,
                &mut rt.decision,
            );
            rt.steady = hpa::steady_until(
                &spec.spec,
                &self.hpa_settings,
                current,
                &rt.metrics,
                &rt.windowed,
                &rt.decision,
                now.0,
            );
            rt.steady_inputs = inputs;
            if let (Some(s), true) = (rt.steady, rt.metrics_time_free) {
                self.hpa_quiet[h].until_ms = s.until_ms.min(newest_visible_ms - 1);
            }
        } else {
            hpa::reconcile_with_metrics(
                &spec.spec,
                &self.hpa_settings,
                current,
                &rt.metrics,
                &mut rt.state,
                now.0,
                &mut rt.decision,
            );
        }
        rt.last_desired = rt.decision.desired_replicas;
        let (rescale, desired) = (rt.decision.rescale, rt.decision.desired_replicas);
        if rescale {
            self.books.hpa_rescaled(rt_reason(&self.hpas[h].decision));
            self.set_replicas(d as u32, desired);
        }
    }

    /// `computeReplicasForMetrics` over an observation of the target's pods. Mature, ready pods
    /// (identical to the controller: same phase, sample and request, past every time-based
    /// rule) are passed as one entry with their count. When that entry is all there is and the
    /// one metric is a Resource Utilization target, its prepared `UniformMetrics` computes
    /// from the sample value alone.
    fn compute_hpa_metrics(&mut self, h: usize, sample_ts: i64, res: i64, point: &UsagePoint) {
        let now = self.now();
        let sc = self.sc;
        let spec = &sc.hpas[h];
        let d = spec.deployment;
        let dep_spec = &sc.deployments[d];
        let dep = &self.deployments[d];
        let key = (dep.version, dep.live.len());
        let rt = &self.hpas[h];
        if !(self.hpa_shortcuts && rt.rows_key == Some(key) && now.0 < rt.rows_until_ms) {
            self.list_hpa_pods(h, sample_ts);
            self.hpas[h].rows_key = Some(key);
        } else if let Some(checked) = self.hpa_rows_checked {
            // The kept listing must be the one a listing now gives.
            let kept = format!("{:?}", (&rt.rows, &rt.row_facts, rt.uniform));
            self.list_hpa_pods(h, sample_ts);
            let rt = &self.hpas[h];
            let fresh = format!("{:?}", (&rt.rows, &rt.row_facts, rt.uniform));
            assert_eq!(kept, fresh, "HPA {h} at {} ms", now.0);
            self.hpa_rows_checked = Some(checked + 1);
        }
        // Identical pods, ready whatever their sample: the sample's value alone decides.
        let spec_replicas = self.deployments[d].desired;
        let rt = &mut self.hpas[h];
        if let (Some(uniform), [facts], [Some(model)]) =
            (rt.uniform, rt.row_facts.as_slice(), rt.resources.as_slice())
        {
            if let Some(value) = model.sample_value(facts, point) {
                uniform.compute(value, spec_replicas, &mut rt.metrics);
                return;
            }
        }
        let metrics = &spec.spec.metrics;
        // The common case, one Resource metric over pods that all look alike (one row):
        // one sample and one input, without the buffers.
        if let ([metric], [Some(model)], [facts]) = (
            metrics.as_slice(),
            self.hpas[h].resources.as_slice(),
            self.hpas[h].row_facts.as_slice(),
        ) {
            if matches!(metric.source, MetricSource::Resource { .. }) {
                let sample = [model.sample(facts, point, sample_ts, res)];
                let rt = &mut self.hpas[h];
                let inputs = [MetricInput::ResolvedUsage {
                    per_pod: &sample,
                    unlisted: &[],
                }];
                let dep = &self.deployments[d];
                compute_over_rows(spec, &self.hpa_settings, dep, rt, &inputs, now.0);
                return;
            }
        }
        let buf = &mut self.hpa_buffers;
        buf.samples.resize_with(metrics.len(), Vec::new);
        buf.per_pod.resize_with(metrics.len(), Vec::new);
        buf.external.resize(metrics.len(), [0]);
        let facts = &self.hpas[h].row_facts;
        let resource_models = &self.hpas[h].resources;
        for (m, metric) in metrics.iter().enumerate() {
            buf.samples[m].clear();
            buf.per_pod[m].clear();
            match &metric.source {
                MetricSource::Resource { .. } => {
                    // A metric's request and per-pod usage are the same for every pod of the
                    // workload; only the start-up burst differs.
                    let model = resource_models[m].expect("a Resource metric has its model");
                    buf.samples[m]
                        .extend(facts.iter().map(|f| model.sample(f, point, sample_ts, res)));
                }
                MetricSource::Pods { .. } => {
                    let rps = round_half_away(point.rps_per_pod * 1000.0);
                    buf.per_pod[m]
                        .extend(facts.iter().map(|f| (f.ready && f.sampled).then_some(rps)));
                }
                _ => {}
            }
        }
        let external = if dep_spec.capacity.queue {
            point.queue
        } else {
            point.demand_rps
        };
        for e in buf.external.iter_mut() {
            *e = [round_half_away(external * 1000.0)];
        }
        let input = |m: usize, metric: &hpa::MetricSpec| match &metric.source {
            MetricSource::Resource { .. } => MetricInput::ResolvedUsage {
                per_pod: &buf.samples[m],
                unlisted: &[],
            },
            MetricSource::Pods { .. } => MetricInput::PerPod {
                values: &buf.per_pod[m],
                unlisted: &[],
            },
            MetricSource::Object { .. } => MetricInput::Object {
                value_milli: round_half_away(point.demand_rps * 1000.0),
            },
            MetricSource::External { .. } => MetricInput::External {
                values_milli: &buf.external[m],
            },
        };
        // An HPA has a metric or a few: their inputs live on the stack, so that a sync
        // allocates nothing.
        const INLINE: usize = 8;
        let mut inline = [MetricInput::Object { value_milli: 0 }; INLINE];
        let spilled: Vec<MetricInput<'_>>;
        let inputs: &[MetricInput<'_>] = if metrics.len() <= INLINE {
            for (slot, (m, metric)) in inline.iter_mut().zip(metrics.iter().enumerate()) {
                *slot = input(m, metric);
            }
            &inline[..metrics.len()]
        } else {
            spilled = metrics
                .iter()
                .enumerate()
                .map(|(m, metric)| input(m, metric))
                .collect();
            &spilled
        };
        let dep = &self.deployments[d];
        let rt = &mut self.hpas[h];
        compute_over_rows(spec, &self.hpa_settings, dep, rt, inputs, now.0);
    }
}

/// `computeReplicasForMetrics` over the HPA's listed rows and the metrics' `inputs`, into its
/// metrics result.
fn compute_over_rows(
    spec: &crate::scenario::model::Hpa,
    settings: &ControllerSettings,
    dep: &DeploymentState,
    rt: &mut HpaRuntime,
    inputs: &[MetricInput<'_>],
    now_ms: i64,
) {
    let obs = Observation {
        namespace: &spec.namespace,
        spec_replicas: dep.desired,
        status_replicas: dep.live.len() as i32,
        pods: &rt.rows,
        unlisted_usage: &[],
        metrics: inputs,
        selector: hpa::SelectorCheck::Valid,
    };
    hpa::compute_metrics(&spec.spec, settings, &obs, now_ms, &mut rt.metrics);
}

impl Engine<'_> {
    /// The target's pods as the controller lists them, into the HPA's rows. Mature, ready
    /// pods (identical to the controller: same phase, sample and request, past every
    /// time-based rule) are one row with their count.
    fn list_hpa_pods(&mut self, h: usize, sample_ts: i64) {
        let now = self.now();
        let d = self.sc.hpas[h].deployment;
        let startup = &self.sc.deployments[d].template.startup;
        let horizon = self.hpa_time_horizon_ms;
        let shortcuts = self.hpa_shortcuts;
        let rt = &mut self.hpas[h];
        rt.rows.clear();
        rt.row_facts.clear();
        let settings = &self.sc.settings.hpa;
        let burst_ms = startup.cpu_burst_duration.as_millis();
        let mut until = i64::MAX;
        let mut merged: Option<usize> = None;
        for &id in &self.deployments[d].live {
            let pod = &self.pods[id as usize];
            if shortcuts && pod.phase == Phase::Ready {
                if now.0 >= pod.started.0 + horizon {
                    if let Some(at) = merged {
                        rt.rows[at].count += 1;
                        continue;
                    }
                    merged = Some(rt.rows.len());
                } else {
                    // Merged from then on.
                    until = until.min(pod.started.0 + horizon);
                }
            }
            let bound = !matches!(pod.phase, Phase::Pending);
            let running = matches!(pod.phase, Phase::Running | Phase::Ready);
            let ready = pod.phase == Phase::Ready;
            rt.rows.push(hpa::Pod {
                name: "",
                phase: if running {
                    HPhase::Running
                } else {
                    HPhase::Pending
                },
                deleting: false,
                start_ms: bound.then_some(pod.bound.0),
                ready: bound.then_some(ReadyCondition {
                    status: if ready {
                        ConditionStatus::True
                    } else {
                        ConditionStatus::False
                    },
                    last_transition_ms: if ready { pod.ready_at.0 } else { pod.bound.0 },
                }),
                containers: &[],
                pod_requests: None,
                usage: None,
                count: 1,
            });
            let bursting = sample_ts < pod.started.0 + burst_ms;
            let sampled = running && pod.started.0 <= sample_ts;
            // The first sync whose sample sees the pod's start, or the end of its burst.
            if running && !sampled {
                until = until.min(first_sync_seeing(pod.started.0, settings));
            }
            if bursting {
                until = until.min(first_sync_seeing(pod.started.0 + burst_ms, settings));
            }
            rt.row_facts.push(RowFacts {
                sampled,
                ready,
                burst_m: if bursting { startup.cpu_burst_m } else { 0.0 },
            });
        }
        rt.uniform = match (rt.rows.as_slice(), rt.resources.as_slice()) {
            ([row], [Some(model)]) if shortcuts => {
                let prepared = hpa::UniformMetrics::prepare(
                    &self.sc.hpas[h].spec,
                    &self.hpa_settings,
                    row,
                    model.request_milli,
                    now.0,
                );
                // Not yet, maybe, for a pod still in its CPU initialization period.
                let initialized = row
                    .start_ms
                    .map(|s| s + self.hpa_settings.cpu_initialization_period_ms);
                if let (None, Some(t)) = (prepared, initialized.filter(|&t| t > now.0)) {
                    until = until.min(t);
                }
                prepared
            }
            _ => None,
        };
        rt.rows_until_ms = until;
    }
}

fn rt_reason(d: &Decision) -> &'static str {
    d.limiting_reason()
        .map_or("SucceededRescale", |r| r.as_str())
}

impl ResourceModel {
    /// The pod's request (milli-units) of `resource` and the share of its usage, for the
    /// whole pod or one container. A container without a request for it gives no request,
    /// which the controller reports as a missing request.
    fn of(
        resource: &str,
        container: Option<&str>,
        dep: &crate::scenario::model::Deployment,
        pod_req: &autoscaler::model::Resources,
    ) -> ResourceModel {
        let pick = |r: &autoscaler::model::Resources| match resource {
            "cpu" => Some(r.cpu_m),
            "memory" => Some(r.memory_bytes.saturating_mul(1000)),
            _ => None,
        };
        let t = &dep.template;
        let request_milli = match container {
            None => {
                let all = t
                    .containers
                    .iter()
                    .chain(t.init_containers.iter().filter(|c| c.sidecar));
                if all
                    .clone()
                    .any(|c| pick(&c.requests).is_none_or(|v| v <= 0))
                {
                    None
                } else {
                    pick(pod_req).map(|_| all.map(|c| pick(&c.requests).unwrap_or(0)).sum())
                }
            }
            Some(name) => t
                .containers
                .iter()
                .find(|c| c.name == name)
                .and_then(|c| pick(&c.requests))
                .filter(|v| *v > 0),
        };
        // A container's usage is the pod's divided over its containers by their requests.
        let share = match container {
            None => Share::Pod,
            Some(name) => match t.containers.iter().find(|c| c.name == name) {
                None => Share::None,
                Some(c) => {
                    let total: i64 = t
                        .containers
                        .iter()
                        .map(|c| pick(&c.requests).unwrap_or(0))
                        .sum();
                    Share::Container(if total > 0 {
                        pick(&c.requests).unwrap_or(0) as f64 / total as f64
                    } else {
                        1.0 / t.containers.len() as f64
                    })
                }
            },
        };
        ResourceModel {
            request_milli,
            cpu: match resource {
                "cpu" => Some(true),
                "memory" => Some(false),
                _ => None,
            },
            share,
            scale: if resource == "cpu" { 1.0 } else { 1000.0 },
        }
    }

    /// A listed pod's request and sample, as the metrics client resolves them: the usage this
    /// metric reads at `point` (with the pod's start-up burst, for CPU), scaled to milli-units,
    /// if metrics-server has sampled the pod.
    fn sample(&self, f: &RowFacts, point: &UsagePoint, sample_ts: i64, res: i64) -> ResolvedSample {
        ResolvedSample {
            request_milli: self.request_milli,
            sample: self.sample_value(f, point).map(|value| UsageSample {
                value,
                timestamp_ms: sample_ts,
                window_ms: res,
            }),
        }
    }

    /// The value (milli-units) of a listed pod's sample at `point`, if it has one.
    #[inline]
    fn sample_value(&self, f: &RowFacts, point: &UsagePoint) -> Option<i64> {
        let burst = if self.cpu == Some(true) {
            f.burst_m
        } else {
            0.0
        };
        let u = self.usage(point).filter(|_| f.sampled)?;
        Some(round_half_away((u + burst) * self.scale))
    }

    /// The per-pod usage (model units) this metric reads at `point`.
    fn usage(&self, point: &UsagePoint) -> Option<f64> {
        let pod = if self.cpu? {
            point.cpu_m
        } else {
            point.mem_bytes
        };
        match self.share {
            Share::Pod => Some(pod),
            Share::Container(s) => Some(pod * s),
            Share::None => None,
        }
    }
}
