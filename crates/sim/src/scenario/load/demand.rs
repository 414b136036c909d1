//! Demand on a Deployment (a trace or a synthetic model) and how it becomes usage (the
//! capacity model).

use std::sync::Arc;

use crate::scenario::load::trace::load_trace;
use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::{CapacityModel, LoadModel, Spike, SyntheticLoad};
use crate::scenario::spec::{LoadSpec, WorkloadSpec};

/// Capacity of a workload without a model: usage 0, never saturates.
pub(crate) fn no_capacity() -> CapacityModel {
    CapacityModel {
        cpu_m_baseline: 0.0,
        cpu_m_per_rps: 0.0,
        memory_bytes_baseline: 0.0,
        memory_bytes_per_rps: 0.0,
        max_rps_per_pod: f64::INFINITY,
        queue: false,
    }
}

/// The load and capacity models of one `workloads` entry (at `at`).
pub(crate) fn load_and_capacity(
    ctx: &Ctx,
    w: &WorkloadSpec,
    at: &Origin,
) -> Result<(Option<LoadModel>, CapacityModel), LoadError> {
    let load = match &w.load {
        None => None,
        Some(LoadSpec {
            trace: Some(t),
            synthetic: None,
        }) => {
            let (step, values) = load_trace(ctx, t, &at.keys("load.trace"))?;
            Some(LoadModel::Trace {
                step,
                values: Arc::new(values),
            })
        }
        Some(LoadSpec {
            trace: None,
            synthetic: Some(s),
        }) => Some(LoadModel::Synthetic(synthetic(
            ctx,
            s,
            &at.keys("load.synthetic"),
        )?)),
        Some(_) => {
            return Err(ctx.err(
                &at.key("load"),
                "write exactly one of `trace` and `synthetic`",
            ))
        }
    };
    let capacity = match &w.capacity {
        None if load.is_some() => {
            return Err(ctx.err(
                &at.key("load"),
                "a workload with `load` needs `capacity` (how load becomes usage)",
            ))
        }
        None => no_capacity(),
        Some(c) => {
            if !(c.max_rps_per_pod.is_finite() && c.max_rps_per_pod > 0.0) {
                return Err(ctx.err(
                    &at.keys("capacity.maxRpsPerPod"),
                    "must be a positive number",
                ));
            }
            let f = |q: Option<crate::scenario::spec::Qty>, per: f64| {
                q.map_or(0.0, |q| q.0.as_nano() as f64 / per)
            };
            CapacityModel {
                cpu_m_baseline: f(c.cpu_baseline, 1e6),
                cpu_m_per_rps: f(c.cpu_per_rps, 1e6),
                memory_bytes_baseline: f(c.memory_baseline, 1e9),
                memory_bytes_per_rps: f(c.memory_per_rps, 1e9),
                max_rps_per_pod: c.max_rps_per_pod,
                queue: c.queue,
            }
        }
    };
    Ok((load, capacity))
}

fn synthetic(
    ctx: &Ctx,
    s: &crate::scenario::spec::SyntheticSpec,
    at: &Origin,
) -> Result<SyntheticLoad, LoadError> {
    let unit = |v: f64, key: &str| -> Result<f64, LoadError> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(ctx.err(&at.keys(key), "must be between 0 and 1"))
        }
    };
    if !(s.base_rps.is_finite() && s.base_rps >= 0.0) {
        return Err(ctx.err(&at.key("baseRps"), "must be a non-negative number"));
    }
    let noise = s.noise.unwrap_or(0.0);
    if !(noise.is_finite() && (0.0..=10.0).contains(&noise)) {
        return Err(ctx.err(&at.key("noise"), "must be between 0 and 10"));
    }
    let peak = s.daily.as_ref().and_then(|d| d.peak_hour).unwrap_or(14.0);
    if !(0.0..24.0).contains(&peak) {
        return Err(ctx.err(&at.keys("daily.peakHour"), "must be in 0..24"));
    }
    let mut spikes = Vec::new();
    for (i, sp) in s.spikes.iter().enumerate() {
        if !(sp.multiplier.is_finite() && sp.multiplier >= 0.0) {
            return Err(ctx.err(
                &at.key("spikes").index(i).key("multiplier"),
                "must be a non-negative number",
            ));
        }
        spikes.push(Spike {
            at: sp.at.0,
            duration: sp.duration.0,
            multiplier: sp.multiplier,
        });
    }
    Ok(SyntheticLoad {
        base_rps: s.base_rps,
        daily_amplitude: s
            .daily
            .as_ref()
            .map_or(Ok(0.0), |d| unit(d.amplitude, "daily.amplitude"))?,
        daily_peak_hour: peak,
        weekly_amplitude: s
            .weekly
            .as_ref()
            .map_or(Ok(0.0), |w| unit(w.amplitude, "weekly.amplitude"))?,
        noise,
        spikes,
    })
}
