//! The scenario file as written: serde types in the YAML's own shape (camelCase keys,
//! durations as strings with units, Kubernetes quantities), with `deny_unknown_fields` so
//! typos fail, and a JSON Schema (`headroom schema`) derived from the same types. Scalars
//! that have a grammar (durations, quantities, instance types) are checked while they are
//! read, so their errors carry their own line and column. The loader turns this into
//! [`crate::scenario::model::Scenario`].

use std::collections::BTreeMap;
use std::fmt;

use autoscaler::quantity::Quantity;
use schemars::JsonSchema;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use crate::scenario::catalog::catalog;
use crate::scenario::duration::parse_duration;
use crate::scenario::yaml::did_you_mean;
use crate::time::SimDuration;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(
    title = "headroom scenario",
    description = "One what-if: a cluster, its workloads and their load. See scenarios/README.md."
)]
pub struct ScenarioSpec {
    /// Name shown in reports; defaults to the file name without extension.
    pub name: Option<String>,
    /// Master seed; every random stream is derived from it.
    #[serde(default)]
    pub seed: u64,
    /// Simulated span, e.g. `14d`.
    pub duration: Dur,
    /// Metrics and output step (default `1m`).
    pub step: Option<Dur>,
    /// The instant virtual time 0 stands for, RFC 3339 (default `2024-01-01T00:00:00Z`, a Monday).
    pub start: Option<String>,
    #[serde(default)]
    pub settings: SettingsSpec,
    pub node_pools: Vec<NodePoolSpec>,
    /// Kubernetes objects, inline or `{path: file.yaml}` (relative to this file).
    #[serde(default)]
    #[schemars(with = "Vec<ManifestEntrySchema>")]
    pub manifests: Vec<ManifestEntry>,
    /// Default pod start-up model.
    #[serde(default)]
    pub startup: StartupSpec,
    /// Per-workload models, keyed by Deployment, Job or CronJob name (`name` or `namespace/name`).
    #[serde(default)]
    pub workloads: BTreeMap<String, WorkloadSpec>,
    #[serde(default)]
    pub slos: SlosSpec,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsSpec {
    #[serde(default)]
    pub scheduler: SchedulerSpec,
    #[serde(default)]
    pub hpa: HpaSettingsSpec,
    /// Maximum number of events a run may process (default 200,000,000).
    pub event_budget: Option<u64>,
    /// Which node autoscaler runs; none by default (pools keep their size).
    #[serde(default)]
    pub node_autoscaler: NodeAutoscalerSpec,
    /// The spot market: interruption hazard and capacity shortages.
    #[serde(default)]
    pub spot: SpotSpec,
}

/// At most one key. Without one, pools stay at their declared size and a lost node is
/// replaced in its zone, as an auto-scaling group with a fixed desired capacity does.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeAutoscalerSpec {
    pub cluster_autoscaler: Option<ClusterAutoscalerSpec>,
    pub karpenter: Option<KarpenterSpec>,
}

/// Karpenter (karpenter.sh/v1): the scenario's `NodePool` manifests are its NodePools, and
/// their instance types come from the built-in catalog, filtered by their requirements.
/// `nodePools` may then be empty; pools listed there are static capacity Karpenter does not
/// manage. Settings carry Karpenter's defaults.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KarpenterSpec {
    /// Zones of the EC2NodeClass's subnets (default `[us-east-1a, us-east-1b, us-east-1c]`).
    pub zones: Option<Vec<String>>,
    /// `BATCH_IDLE_DURATION`, default `1s`.
    pub batch_idle_duration: Option<Dur>,
    /// `BATCH_MAX_DURATION`, default `10s`.
    pub batch_max_duration: Option<Dur>,
    /// The `SpotToSpotConsolidation` feature gate, default false.
    pub spot_to_spot_consolidation: Option<bool>,
    /// From NodeClaim launch to a Ready node; default `{lognormal: {median: 60s, sigma: 0.3}}`.
    pub provisioning_delay: Option<DistributionSpec>,
    /// Requests of the DaemonSet pods every Karpenter node runs (`cpu`, `memory`, `pods`).
    #[serde(default)]
    pub daemonset_overhead: BTreeMap<String, Qty>,
}

/// cluster-autoscaler flags, camelCase of their `--kebab-case` names, Kubernetes defaults.
/// Each zone of a node pool is one node group `<pool>-<zone>`, bounded by the pool's
/// `minNodes`/`maxNodes`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterAutoscalerSpec {
    /// Default `10s`.
    pub scan_interval: Option<Dur>,
    /// `--expander`, a chain such as `priority,least-waste` (default `least-waste`).
    pub expander: Option<String>,
    /// The `priorities` value of the `cluster-autoscaler-priority-expander` ConfigMap:
    /// YAML mapping a priority to a list of node-group regexes.
    pub priorities: Option<String>,
    /// Default `0s`.
    pub new_pod_scale_up_delay: Option<Dur>,
    /// Default 0 (no limit).
    pub max_nodes_total: Option<i32>,
    /// Default 1000.
    pub max_nodes_per_scale_up: Option<i32>,
    /// Default false.
    pub balance_similar_node_groups: Option<bool>,
    /// Default `15m`.
    pub max_node_provision_time: Option<Dur>,
    /// Default `5m`.
    pub initial_node_group_backoff_duration: Option<Dur>,
    /// Default `30m`.
    pub max_node_group_backoff_duration: Option<Dur>,
    /// Default `3h`.
    pub node_group_backoff_reset_timeout: Option<Dur>,
    /// Default false.
    pub enforce_node_group_min_size: Option<bool>,
    /// Default true.
    pub scale_down_enabled: Option<bool>,
    /// Default 0.5.
    pub scale_down_utilization_threshold: Option<f64>,
    /// Default `10m`.
    pub scale_down_unneeded_time: Option<Dur>,
    /// Default `20m`.
    pub scale_down_unready_time: Option<Dur>,
    /// Default `10m`.
    pub scale_down_delay_after_add: Option<Dur>,
    /// Default `0s`.
    pub scale_down_delay_after_delete: Option<Dur>,
    /// Default `3m`.
    pub scale_down_delay_after_failure: Option<Dur>,
    /// Default 10.
    pub max_scale_down_parallelism: Option<i32>,
    /// Default 1.
    pub max_drain_parallelism: Option<i32>,
    /// Default 600.
    pub max_graceful_termination_sec: Option<i64>,
    /// Default `2m`.
    pub max_pod_eviction_time: Option<Dur>,
    /// Default `5s`.
    pub node_delete_delay_after_taint: Option<Dur>,
    /// Default -10.
    pub expendable_pods_priority_cutoff: Option<i32>,
    /// Default true.
    pub skip_nodes_with_system_pods: Option<bool>,
    /// Default true.
    pub skip_nodes_with_local_storage: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpotSpec {
    /// Monthly interruption probability per Spot Instance Advisor bucket (`<5%`, `5-10%`,
    /// `10-15%`, `15-20%`, `>20%`), replacing the bucket midpoints.
    #[serde(default)]
    pub interruption_probability: BTreeMap<String, f64>,
    /// Windows in which launches of spot instances fail with InsufficientInstanceCapacity.
    #[serde(default)]
    pub capacity_shortages: Vec<CapacityShortageSpec>,
    /// Interruption notices sent at one instant to a share of the running spot nodes.
    #[serde(default)]
    pub interruption_waves: Vec<InterruptionWaveSpec>,
    /// Spot prices replayed from a price-history CSV instead of the catalog discount.
    pub price_history: Option<PriceHistorySpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceHistorySpec {
    /// CSV of price changes (columns `timestamp_utc`, `availability_zone_id`,
    /// `instance_type`, `product_description`, `spot_price_usd_per_hour`), relative to the
    /// scenario file.
    pub path: String,
    /// Zone name -> AWS zone ID (`us-east-1a: use1-az4`); the mapping differs per AWS
    /// account. Default `us-east-1a`..`f` -> `use1-az1`..`az6`. When given, it is the
    /// whole mapping.
    #[serde(default)]
    pub zone_ids: BTreeMap<String, String>,
    /// How history timestamps map to simulated time: `start` (default; the earliest
    /// timestamp in the file is time 0) or `absolute` (read against the scenario's `start`).
    pub align: Option<PriceAlignSpec>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PriceAlignSpec {
    Start,
    Absolute,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacityShortageSpec {
    /// Instance type the shortage hits (default: every type).
    pub instance_type: Option<String>,
    /// Zone the shortage hits (default: every zone).
    pub zone: Option<String>,
    /// Start of the window (default `0s`).
    pub from: Option<Dur>,
    /// End of the window (default: the end of the run).
    pub until: Option<Dur>,
    /// Probability that one launch in the window fails (default 1).
    pub probability: Option<f64>,
    /// Also hit on-demand launches (default false: spot only).
    #[serde(default)]
    pub on_demand: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InterruptionWaveSpec {
    pub at: Dur,
    /// Node pool whose spot nodes are hit (default: every spot pool).
    pub pool: Option<String>,
    /// Share of the running spot nodes that get a notice, 0..=1.
    pub fraction: f64,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchedulerSpec {
    /// `LeastAllocated` (kube-scheduler's default) or `MostAllocated`.
    pub scoring_strategy: Option<ScoringStrategySpec>,
    /// Default `1s` (kube-scheduler `podInitialBackoffSeconds`).
    pub pod_initial_backoff: Option<Dur>,
    /// Default `10s` (kube-scheduler `podMaxBackoffSeconds`).
    pub pod_max_backoff: Option<Dur>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum ScoringStrategySpec {
    LeastAllocated,
    MostAllocated,
}

/// kube-controller-manager's `--horizontal-pod-autoscaler-*` flags, Kubernetes defaults.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HpaSettingsSpec {
    /// Default `15s`.
    pub sync_period: Option<Dur>,
    /// Default 0.1.
    pub tolerance: Option<f64>,
    /// Default `5m`.
    pub cpu_initialization_period: Option<Dur>,
    /// Default `30s`.
    pub initial_readiness_delay: Option<Dur>,
    /// Default `5m`.
    pub downscale_stabilization: Option<Dur>,
    /// metrics-server `--metric-resolution`; default `15s` (its deployment manifest's value).
    pub metrics_resolution: Option<Dur>,
    /// Age of the newest usage sample when the HPA reads it; default `15s`.
    pub metrics_scrape_lag: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePoolSpec {
    pub name: String,
    /// One instance type from the built-in catalog ...
    pub instance_type: Option<InstanceTypeName>,
    /// ... or several (the first is used for the pool's own nodes).
    #[serde(default)]
    pub instance_types: Vec<InstanceTypeName>,
    /// `on-demand` (default) or `spot`.
    pub capacity_type: Option<CapacityTypeSpec>,
    pub zones: Vec<String>,
    #[serde(default)]
    pub min_nodes: i32,
    pub max_nodes: Option<i32>,
    /// Nodes Ready at time 0 (default `minNodes`), spread round-robin over the zones.
    pub initial_nodes: Option<i32>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub taints: Vec<TaintSpec>,
    /// Default `{lognormal: {median: 90s, sigma: 0.3}}`.
    pub provisioning_delay: Option<DistributionSpec>,
    /// Requests of the DaemonSet pods each node runs (`cpu`, `memory`, `pods`).
    #[serde(default)]
    pub daemonset_overhead: BTreeMap<String, Qty>,
    /// Overrides the catalog's on-demand price.
    pub price_usd_per_hour: Option<f64>,
    /// Overrides the catalog's spot saving.
    pub spot_savings_pct: Option<f64>,
    /// Overrides the catalog's allocatable (`cpu`, `memory`, `pods`, `nvidia.com/gpu`).
    #[serde(default)]
    pub allocatable: BTreeMap<String, Qty>,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub enum CapacityTypeSpec {
    #[serde(rename = "on-demand")]
    OnDemand,
    #[serde(rename = "spot")]
    Spot,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaintSpec {
    pub key: String,
    #[serde(default)]
    pub value: String,
    #[schemars(with = "TaintEffectSchema")]
    pub effect: autoscaler::model::TaintEffect,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum TaintEffectSchema {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// A random duration: exactly one of the keys, e.g. `{lognormal: {median: 90s, sigma: 0.4}}`.
/// (A struct of options rather than an enum: serde_yaml reads enums only from YAML tags.)
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistributionSpec {
    pub constant: Option<Dur>,
    pub lognormal: Option<LognormalSpec>,
    pub uniform: Option<UniformSpec>,
    pub exponential: Option<ExponentialSpec>,
}

/// Log-normal by its median and the sigma of the underlying normal.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LognormalSpec {
    pub median: Dur,
    pub sigma: f64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UniformSpec {
    pub min: Dur,
    pub max: Dur,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExponentialSpec {
    pub mean: Dur,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartupSpec {
    /// Default `{lognormal: {median: 3s, sigma: 0.5}}`.
    pub image_pull: Option<DistributionSpec>,
    /// Default `{constant: 1s}`.
    pub container_start: Option<DistributionSpec>,
    /// From container start to Ready; default `{constant: 5s}`.
    pub readiness_delay: Option<DistributionSpec>,
    /// Extra CPU while starting, e.g. `500m` (default 0).
    pub cpu_burst: Option<Qty>,
    /// How long the start-up burst lasts (default `30s`).
    pub cpu_burst_duration: Option<Dur>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Deployments: the demand on the workload.
    pub load: Option<LoadSpec>,
    /// Deployments: how demand becomes usage.
    pub capacity: Option<CapacitySpec>,
    /// Overrides of the default start-up model.
    pub startup: Option<StartupSpec>,
    /// Jobs and CronJobs: how long one pod runs (default `{constant: 5m}`).
    pub run_time: Option<DistributionSpec>,
    /// Jobs and CronJobs: probability one pod run fails (default 0).
    pub failure_probability: Option<f64>,
    /// Jobs: when the Job object is created (default `0`).
    pub start_at: Option<Dur>,
}

/// Demand: exactly one of `trace` and `synthetic`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadSpec {
    pub trace: Option<TraceSpec>,
    pub synthetic: Option<SyntheticSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TraceSpec {
    /// CSV file with a header row, relative to the scenario file.
    pub path: String,
    /// Column with Unix seconds; without it rows are `step` apart.
    pub time_column: Option<String>,
    pub value_column: String,
    /// What one value counts: requests per `valuePer` (default `1s`; `1m` for per-minute counts).
    pub value_per: Option<Dur>,
    /// Multiplies every value (default 1).
    pub scale: Option<f64>,
    /// Skips this much of the trace from its first row (default `0`).
    pub time_offset: Option<Dur>,
    /// Resampling step (default `1m`): values are averaged per step; gaps repeat the last value.
    pub step: Option<Dur>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyntheticSpec {
    /// Mean demand, requests per second.
    pub base_rps: f64,
    pub daily: Option<DailySpec>,
    pub weekly: Option<WeeklySpec>,
    /// Relative standard deviation of multiplicative noise (default 0).
    pub noise: Option<f64>,
    #[serde(default)]
    pub spikes: Vec<SpikeSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DailySpec {
    /// Relative amplitude of the daily sine, 0..1.
    pub amplitude: f64,
    /// Hour of the peak (UTC, default 14).
    pub peak_hour: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeeklySpec {
    /// Weekends are lower by this share, 0..1.
    pub amplitude: f64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpikeSpec {
    pub at: Dur,
    pub duration: Dur,
    pub multiplier: f64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CapacitySpec {
    /// CPU per pod with no load, e.g. `50m`.
    pub cpu_baseline: Option<Qty>,
    /// CPU per request/s, e.g. `2m`.
    pub cpu_per_rps: Option<Qty>,
    /// Memory per pod with no load, e.g. `128Mi`.
    pub memory_baseline: Option<Qty>,
    /// Memory per request/s, e.g. `1Mi`.
    pub memory_per_rps: Option<Qty>,
    /// Requests per second one ready pod serves before it saturates.
    pub max_rps_per_pod: f64,
    /// A queue-driven worker: demand arrives in a queue (`load` is the arrival rate, in
    /// messages per second), work beyond capacity waits in the queue instead of being lost,
    /// and the queue length is the workload's External metric.
    #[serde(default)]
    pub queue: bool,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlosSpec {
    /// Minimum share of demand served, 0..1 (e.g. 0.999).
    pub demand_served_min: Option<f64>,
    /// Maximum pending time per PriorityClass name.
    #[serde(default)]
    pub max_pending_by_tier: BTreeMap<String, Dur>,
}

/// One `manifests` entry: a file reference or an inline object. Only which of the two it is
/// is read here; inline objects are deserialized later, in place, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ManifestEntry {
    Path(String),
    Inline,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ManifestEntrySchema {
    /// A multi-document YAML file (`kubectl get -o yaml`, `helm template`), relative to the scenario.
    File { path: String },
    /// An inline Kubernetes object (Deployment, HorizontalPodAutoscaler, PodDisruptionBudget,
    /// PriorityClass, Job, CronJob, karpenter.sh/v1 NodePool, or a List of them).
    Object(BTreeMap<String, serde_json::Value>),
}

impl<'de> Deserialize<'de> for ManifestEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ManifestEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a Kubernetes object or `{path: file.yaml}`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ManifestEntry, A::Error> {
                let (mut path, mut others) = (None, 0);
                while let Some(key) = m.next_key::<String>()? {
                    if key == "path" {
                        path = Some(m.next_value::<String>()?);
                    } else {
                        others += 1;
                        m.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(match path {
                    Some(p) if others == 0 => ManifestEntry::Path(p),
                    _ => ManifestEntry::Inline,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// A duration such as `90s`, `1h30m`, `14d`, parsed when read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub SimDuration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with units such as `90s`, `5m`, `1h30m`, `14d`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Dur, E> {
                parse_duration(s).map(Dur).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Dur {
    fn schema_name() -> String {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        string_schema(
            r"^(0|(?=[0-9])([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?)$",
            "A duration: `500ms`, `90s`, `5m`, `1h30m`, `14d`.",
        )
    }
}

/// A Kubernetes quantity (`250m`, `1`, `512Mi`), parsed when read; never negative here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Qty(pub Quantity);

impl<'de> Deserialize<'de> for Qty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::manifest::common::ResourceQuantity::deserialize(d).map(|q| Qty(q.0))
    }
}

impl JsonSchema for Qty {
    fn schema_name() -> String {
        "Quantity".into()
    }
    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut s = string_schema(
            r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][-+]?[0-9]+)?$",
            "A Kubernetes quantity: `250m`, `1`, `512Mi`.",
        );
        if let schemars::schema::Schema::Object(o) = &mut s {
            o.instance_type = Some(schemars::schema::SingleOrVec::Vec(vec![
                schemars::schema::InstanceType::String,
                schemars::schema::InstanceType::Number,
            ]));
        }
        s
    }
}

/// An instance type of the built-in catalog, checked when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceTypeName(pub String);

impl<'de> Deserialize<'de> for InstanceTypeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Checked inside the visitor so that serde_yaml stamps the scalar's own position.
        struct V;
        impl Visitor<'_> for V {
            type Value = InstanceTypeName;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an instance type such as `m5.large`")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<InstanceTypeName, E> {
                if catalog().get(name).is_some() {
                    return Ok(InstanceTypeName(name.to_string()));
                }
                let hint = did_you_mean(name, catalog().types().iter().map(|t| t.name.as_str()))
                    .map(|h| format!("; {h}"))
                    .unwrap_or_default();
                Err(E::custom(format!("unknown instance type `{name}` (not in the built-in AWS us-east-1 catalog){hint}")))
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for InstanceTypeName {
    fn schema_name() -> String {
        "InstanceType".into()
    }
    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut s = string_schema(
            "",
            "An EC2 instance type of the built-in us-east-1 catalog.",
        );
        if let schemars::schema::Schema::Object(o) = &mut s {
            o.string = None;
            o.enum_values = Some(
                catalog()
                    .types()
                    .iter()
                    .map(|t| serde_json::Value::String(t.name.clone()))
                    .collect(),
            );
        }
        s
    }
}

fn string_schema(pattern: &str, description: &str) -> schemars::schema::Schema {
    use schemars::schema::{InstanceType, Metadata, SchemaObject, StringValidation};
    SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        string: (!pattern.is_empty()).then(|| {
            Box::new(StringValidation {
                pattern: Some(pattern.into()),
                ..Default::default()
            })
        }),
        metadata: Some(Box::new(Metadata {
            description: Some(description.into()),
            ..Default::default()
        })),
        ..Default::default()
    }
    .into()
}

/// The JSON Schema of the scenario format.
pub fn json_schema() -> schemars::schema::RootSchema {
    let mut root = schemars::schema_for!(ScenarioSpec);
    // Structs standing for "exactly one of these keys" (serde_yaml reads enums only from
    // tags) say so in the schema, so editors flag `{}` and two kinds at once.
    for name in ["DistributionSpec", "LoadSpec"] {
        if let Some(schemars::schema::Schema::Object(o)) = root.definitions.get_mut(name) {
            let object = o.object();
            object.min_properties = Some(1);
            object.max_properties = Some(1);
        }
    }
    root
}
