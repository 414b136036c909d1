//! The validated scenario: every quantity parsed, every default applied, every reference
//! resolved. The engine reads only this; the loader is the only producer.

use std::collections::BTreeMap;
use std::sync::Arc;

use autoscaler::model::{LabelSelector, Labels, PodSchedulingSpec, Resources, Taint};

use crate::scenario::spot_prices::SpotPrices;
use crate::time::SimDuration;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub duration: SimDuration,
    /// The metrics and output step (timeline rows, usage samples).
    pub step: SimDuration,
    /// Wall-clock instant that virtual time 0 stands for (Unix seconds, UTC). Cron schedules
    /// and trace timestamps are read against it.
    pub start_unix_s: i64,
    pub settings: Settings,
    pub node_pools: Vec<NodePool>,
    pub priority_classes: Vec<PriorityClass>,
    pub deployments: Vec<Deployment>,
    pub hpas: Vec<Hpa>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub jobs: Vec<Job>,
    pub cron_jobs: Vec<CronJob>,
    pub slos: Slos,
    /// Non-fatal findings (objects of other kinds skipped, ...), in file order.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub scheduler: SchedulerSettings,
    pub hpa: HpaControllerSettings,
    /// Turns a runaway event loop into an error.
    pub event_budget: u64,
    pub node_autoscaler: NodeAutoscaler,
    pub spot: SpotMarket,
}

/// The node autoscaler a scenario runs.
#[derive(Debug, Clone, Default)]
pub enum NodeAutoscaler {
    /// Pools keep their size; a lost node is replaced in its zone.
    #[default]
    None,
    /// The cluster-autoscaler; each (pool, zone) is a node group `<pool>-<zone>`.
    ClusterAutoscaler(Box<autoscaler::cluster_autoscaler::CaSettings>),
    /// Karpenter: its NodePools are node pools of the scenario (see [`KarpenterSettings`]).
    Karpenter(Box<KarpenterSettings>),
}

/// Karpenter's settings, its NodePools and the catalog it launches from.
#[derive(Debug, Clone)]
pub struct KarpenterSettings {
    /// The zones of the EC2NodeClass's subnets: where offerings exist.
    pub zones: Vec<String>,
    /// The pending-pod batch window (`BATCH_IDLE_DURATION`, `BATCH_MAX_DURATION`).
    pub batch_idle: SimDuration,
    pub batch_max: SimDuration,
    pub disruption: autoscaler::karpenter::disruption::DisruptionSettings,
    pub pools: Vec<KarpenterPool>,
    /// Every catalog type some NodePool accepts, sorted by name. Each Karpenter pool's
    /// `NodePool::instance_types` is this same list, so one index names a type in both.
    pub instance_types: Vec<InstanceType>,
}

/// One karpenter.sh/v1 NodePool.
#[derive(Debug, Clone)]
pub struct KarpenterPool {
    /// Index into `Scenario::node_pools`.
    pub pool: usize,
    pub spec: autoscaler::karpenter::nodepool::NodePool,
    /// Nodes Ready at time 0 (annotation `headroom.io/initial-nodes`): (index into
    /// `KarpenterSettings::instance_types`, capacity type, count), spread over the zones.
    pub initial: Vec<(usize, CapacityType, i32)>,
}

impl InstanceType {
    /// The type as Karpenter's provisioning sees it: its well-known labels, and one offering
    /// per zone and capacity type (spot only where the catalog gives a spot saving).
    pub fn to_karpenter(
        &self,
        zones: &[String],
        hazard: &autoscaler::spot::SpotHazardTable,
    ) -> autoscaler::karpenter::provisioning::InstanceType {
        use autoscaler::karpenter::nodepool::CapacityType as Ct;
        use autoscaler::karpenter::provisioning::Offering;
        use autoscaler::model::well_known;
        let size = self.name.split_once('.').map_or("", |(_, s)| s);
        let category: String = self
            .family
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let generation: String = self.family[category.len()..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let mut labels = Labels::new();
        for (k, v) in [
            (well_known::ARCH, self.arch.clone()),
            (well_known::OS, "linux".to_string()),
            (well_known::REGION, "us-east-1".to_string()),
            ("karpenter.k8s.aws/instance-category", category),
            ("karpenter.k8s.aws/instance-generation", generation),
            ("karpenter.k8s.aws/instance-cpu", self.vcpu.to_string()),
            (
                "karpenter.k8s.aws/instance-memory",
                self.memory_mib.to_string(),
            ),
            (
                "karpenter.k8s.aws/instance-gpu-count",
                self.gpu_count.to_string(),
            ),
        ] {
            labels.insert(k.to_string(), v);
        }
        let spot_hazard = self
            .spot_interruption_label
            .as_deref()
            .and_then(|l| hazard.hazard_per_hour(l))
            .unwrap_or(0.0);
        let mut offerings = Vec::new();
        for zone in zones {
            if self.spot_savings_pct > 0.0 {
                offerings.push(Offering {
                    zone: zone.clone(),
                    capacity_type: Ct::Spot,
                    price_usd_per_hour: self.price_usd_per_hour(CapacityType::Spot),
                    interruption_per_hour: spot_hazard,
                });
            }
            offerings.push(Offering {
                zone: zone.clone(),
                capacity_type: Ct::OnDemand,
                price_usd_per_hour: self.on_demand_usd_per_hour,
                interruption_per_hour: 0.0,
            });
        }
        autoscaler::karpenter::provisioning::InstanceType {
            name: self.name.clone(),
            family: self.family.clone(),
            size: size.to_string(),
            labels,
            capacity: Resources {
                cpu_m: self.vcpu * 1000,
                memory_bytes: self.memory_mib * 1024 * 1024,
                gpu: self.gpu_count,
                pods: self.allocatable.pods,
            },
            allocatable: self.allocatable,
            offerings,
        }
    }
}

/// The spot market the nodes run in.
#[derive(Debug, Clone, Default)]
pub struct SpotMarket {
    pub hazard: autoscaler::spot::SpotHazardTable,
    pub shortages: Vec<CapacityShortage>,
    pub waves: Vec<InterruptionWave>,
    /// Spot prices replayed from `settings.spot.priceHistory` (empty without one).
    pub prices: SpotPrices,
}

impl SpotMarket {
    /// The spot price of `it` in `zone` at `t`: the replayed history where it has the pair,
    /// else the type's discount from on-demand (with the pool's overrides). Node
    /// autoscalers that pick by price read this.
    pub fn price_usd_per_hour(&self, it: &InstanceType, zone: &str, t: SimDuration) -> f64 {
        self.prices
            .history_usd_per_hour(&it.name, zone, t)
            .unwrap_or_else(|| it.price_usd_per_hour(CapacityType::Spot))
    }
}

impl Scenario {
    /// The price of a node of `it` and `capacity` in `zone` at `t`: on-demand from the
    /// catalog, spot from [`SpotMarket::price_usd_per_hour`].
    pub fn price_usd_per_hour(
        &self,
        it: &InstanceType,
        capacity: CapacityType,
        zone: &str,
        t: SimDuration,
    ) -> f64 {
        match capacity {
            CapacityType::OnDemand => it.on_demand_usd_per_hour,
            CapacityType::Spot => self.settings.spot.price_usd_per_hour(it, zone, t),
        }
    }
}

/// Launches matching it within `[from, until)` fail with probability `probability`.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityShortage {
    pub instance_type: Option<String>,
    pub zone: Option<String>,
    pub from: SimDuration,
    pub until: Option<SimDuration>,
    pub probability: f64,
    pub on_demand: bool,
}

impl CapacityShortage {
    /// Whether a launch of `instance_type` in `zone` at `t` falls in this shortage.
    pub fn hits(
        &self,
        instance_type: &str,
        zone: &str,
        capacity: CapacityType,
        t: SimDuration,
    ) -> bool {
        (capacity == CapacityType::Spot || self.on_demand)
            && self
                .instance_type
                .as_deref()
                .is_none_or(|i| i == instance_type)
            && self.zone.as_deref().is_none_or(|z| z == zone)
            && t >= self.from
            && self.until.is_none_or(|u| t < u)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct InterruptionWave {
    pub at: SimDuration,
    /// Index into `Scenario::node_pools`; `None` hits every spot pool.
    pub pool: Option<usize>,
    pub fraction: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoringStrategy {
    LeastAllocated,
    MostAllocated,
}

#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    pub scoring: ScoringStrategy,
    /// Back-off of a pod that failed to schedule: 1 s doubling up to 10 s.
    pub pod_initial_backoff: SimDuration,
    pub pod_max_backoff: SimDuration,
}

/// kube-controller-manager's HPA flags, and the metrics pipeline feeding it.
#[derive(Debug, Clone)]
pub struct HpaControllerSettings {
    pub sync_period: SimDuration,
    pub tolerance: f64,
    pub cpu_initialization_period: SimDuration,
    pub initial_readiness_delay: SimDuration,
    pub downscale_stabilization: SimDuration,
    /// metrics-server resolution (the window of a usage sample).
    pub metrics_resolution: SimDuration,
    /// How old the newest sample is when the controller reads it.
    pub metrics_scrape_lag: SimDuration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CapacityType {
    OnDemand,
    Spot,
}

impl CapacityType {
    /// The value of `karpenter.sh/capacity-type`.
    pub fn label(self) -> &'static str {
        match self {
            CapacityType::OnDemand => "on-demand",
            CapacityType::Spot => "spot",
        }
    }
}

/// One instance type from the built-in catalog, with the pool's overrides applied.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    pub name: String,
    pub family: String,
    pub vcpu: i64,
    pub memory_mib: i64,
    pub arch: String,
    pub gpu_count: i64,
    /// What a node of this type offers to pods (kubelet and system reservations taken off),
    /// before DaemonSet overhead. `pods` is max-pods.
    pub allocatable: Resources,
    pub on_demand_usd_per_hour: f64,
    /// Spot Instance Advisor average saving, percent.
    pub spot_savings_pct: f64,
    /// Spot Instance Advisor interruption bucket label (`<5%` .. `>20%`), if known.
    pub spot_interruption_label: Option<String>,
}

impl InstanceType {
    pub fn price_usd_per_hour(&self, capacity: CapacityType) -> f64 {
        match capacity {
            CapacityType::OnDemand => self.on_demand_usd_per_hour,
            CapacityType::Spot => {
                self.on_demand_usd_per_hour * (1.0 - self.spot_savings_pct / 100.0)
            }
        }
    }
}

/// A random duration, sampled from a named RNG stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Constant(SimDuration),
    /// Log-normal given by its median and the sigma of the underlying normal.
    LogNormal {
        median: SimDuration,
        sigma: f64,
    },
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    Exponential {
        mean: SimDuration,
    },
}

#[derive(Debug, Clone)]
pub struct NodePool {
    pub name: String,
    /// The first is used for the pool's own nodes; the cluster-autoscaler's template node and
    /// Karpenter read all of them.
    pub instance_types: Vec<InstanceType>,
    pub capacity_type: CapacityType,
    pub zones: Vec<String>,
    pub min_nodes: i32,
    pub max_nodes: i32,
    /// Nodes that exist (Ready) at time 0, spread round-robin over `zones`.
    pub initial_nodes: i32,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub provisioning_delay: Distribution,
    /// Requests of the DaemonSet pods every node runs; taken off allocatable.
    pub daemonset_overhead: Resources,
    /// Index into `KarpenterSettings::pools` when Karpenter manages this pool; its nodes
    /// then have any of `instance_types` and either capacity type.
    pub karpenter: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct PriorityClass {
    pub name: String,
    pub value: i32,
    pub global_default: bool,
    pub preemption_policy: autoscaler::model::PreemptionPolicy,
}

/// One container's requests and limits, by name (the HPA reads per-container requests).
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub name: String,
    pub requests: Resources,
    pub limits: Resources,
    /// An init container with `restartPolicy: Always` (a sidecar).
    pub sidecar: bool,
}

/// The pod template of a workload, resolved.
#[derive(Debug, Clone)]
pub struct PodTemplate {
    pub scheduling: Arc<PodSchedulingSpec>,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    pub termination_grace: SimDuration,
    pub annotations: Labels,
    pub startup: StartupModel,
}

#[derive(Debug, Clone)]
pub struct StartupModel {
    pub image_pull: Distribution,
    pub container_start: Distribution,
    /// From container start to Ready.
    pub readiness_delay: Distribution,
    /// CPU used during start-up on top of the load-driven usage, millicores, for
    /// `cpu_burst_duration` after the container starts (exercises the HPA's CPU
    /// initialization period).
    pub cpu_burst_m: f64,
    pub cpu_burst_duration: SimDuration,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub namespace: String,
    pub name: String,
    pub replicas: i32,
    pub selector: LabelSelector,
    pub template: PodTemplate,
    pub load: Option<LoadModel>,
    pub capacity: CapacityModel,
}

/// Demand on a workload, in requests per second, as a function of virtual time.
#[derive(Debug, Clone)]
pub enum LoadModel {
    /// Piecewise-constant samples: `values[i]` holds from `i * step` (after scale and time
    /// offset were applied), wrapping around at the end.
    Trace {
        step: SimDuration,
        values: Arc<Vec<f64>>,
    },
    Synthetic(SyntheticLoad),
}

#[derive(Debug, Clone)]
pub struct SyntheticLoad {
    pub base_rps: f64,
    /// Relative amplitude of the daily sine (0.5 = ±50 %), peaking at `daily_peak_hour`.
    pub daily_amplitude: f64,
    pub daily_peak_hour: f64,
    /// Relative amplitude of the weekly shape (weekends lower by this share).
    pub weekly_amplitude: f64,
    /// Relative standard deviation of multiplicative noise, redrawn every `step`.
    pub noise: f64,
    pub spikes: Vec<Spike>,
}

#[derive(Debug, Clone)]
pub struct Spike {
    pub at: SimDuration,
    pub duration: SimDuration,
    /// Demand multiplier during the spike.
    pub multiplier: f64,
}

/// How demand becomes usage, and how much one pod can serve.
#[derive(Debug, Clone)]
pub struct CapacityModel {
    pub cpu_m_baseline: f64,
    pub cpu_m_per_rps: f64,
    pub memory_bytes_baseline: f64,
    pub memory_bytes_per_rps: f64,
    /// Requests per second one ready pod serves before it saturates.
    pub max_rps_per_pod: f64,
    /// A queue-driven worker: unserved demand waits in a queue (its length is the
    /// workload's External metric) instead of being lost.
    pub queue: bool,
}

/// A HorizontalPodAutoscaler, validated as the API server would and defaulted.
#[derive(Debug, Clone)]
pub struct Hpa {
    pub namespace: String,
    pub name: String,
    /// Index of the target in `Scenario::deployments`.
    pub deployment: usize,
    pub spec: autoscaler::hpa::HpaSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i32),
    Percent(i32),
}

#[derive(Debug, Clone)]
pub struct PodDisruptionBudget {
    pub namespace: String,
    pub name: String,
    pub selector: LabelSelector,
    pub min_available: Option<IntOrPercent>,
    pub max_unavailable: Option<IntOrPercent>,
}

#[derive(Debug, Clone)]
pub struct JobSpec {
    pub template: PodTemplate,
    pub parallelism: i32,
    pub completions: i32,
    pub backoff_limit: i32,
    pub active_deadline: Option<SimDuration>,
    pub ttl_after_finished: Option<SimDuration>,
    /// How long one pod runs once started.
    pub run_time: Distribution,
    /// Probability that one pod run fails (drives backoffLimit retries).
    pub failure_probability: f64,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub namespace: String,
    pub name: String,
    /// When the Job object is created.
    pub start: SimDuration,
    pub spec: JobSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcurrencyPolicy {
    Allow,
    Forbid,
    Replace,
}

#[derive(Debug, Clone)]
pub struct CronJob {
    pub namespace: String,
    pub name: String,
    pub schedule: crate::scenario::cron::CronSchedule,
    pub concurrency_policy: ConcurrencyPolicy,
    pub starting_deadline: Option<SimDuration>,
    pub suspend: bool,
    pub successful_jobs_history_limit: i32,
    pub failed_jobs_history_limit: i32,
    pub job: JobSpec,
}

#[derive(Debug, Clone, Default)]
pub struct Slos {
    /// Minimum share of demand served, 0..=1.
    pub demand_served_min: Option<f64>,
    /// Maximum pending time per priority class name.
    pub max_pending_by_tier: BTreeMap<String, SimDuration>,
}
