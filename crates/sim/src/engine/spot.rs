//! The spot market in the engine: interruptions and capacity shortages.
//!
//! Every spot node draws, when it turns Ready, its time to interruption from the hazard of
//! its instance type's Spot Advisor bucket (`autoscaler::spot`, stream `spot`); scheduled
//! waves send notices to a share of the running spot nodes at once. A notice cordons and
//! drains the node (eviction cause `spot-interruption`) and AWS reclaims it two minutes later;
//! its group launches a replacement, which a capacity shortage may make fail (stream
//! `capacity`). Under Karpenter the evicted pods' pending state drives provisioning instead,
//! and a failed launch marks the offering unavailable (`engine/karpenter.rs`).

use autoscaler::spot::{sample_time_to_interruption_ms, INTERRUPTION_NOTICE_MS};

use super::placement::NodeId;
use super::state::{Engine, Event, NodeState};
use crate::rng::{bernoulli, index};
use crate::scenario::model::CapacityType;
use crate::time::{SimDuration, SimTime};

impl Engine<'_> {
    pub(super) fn start_spot_market(&mut self) {
        for (w, wave) in self.sc.settings.spot.waves.iter().enumerate() {
            self.at(SimTime(wave.at.as_millis()), Event::SpotWave(w as u32));
        }
    }

    /// Draws when a spot node that just turned Ready will get its notice.
    pub(super) fn schedule_spot_interruption(&mut self, n: NodeId) {
        let node = &self.nodes[n as usize];
        if node.capacity != CapacityType::Spot {
            return;
        }
        let it =
            &self.sc.node_pools[node.pool as usize].instance_types[usize::from(node.instance_type)];
        let Some(hazard) = it
            .spot_interruption_label
            .as_deref()
            .and_then(|l| self.sc.settings.spot.hazard.hazard_per_hour(l))
        else {
            return; // no Advisor bucket: never interrupted
        };
        if let Some(dt) = sample_time_to_interruption_ms(hazard, &mut self.scaling.rng_spot) {
            self.at(self.now() + SimDuration(dt), Event::SpotNotice(n));
        }
    }

    /// The two-minute notice: cordon, drain, and reclaim.
    pub(super) fn spot_notice(&mut self, n: NodeId) {
        if self.nodes[n as usize].state != NodeState::Ready {
            return;
        }
        self.books.count("spot interruptions", 1);
        self.karpenter_spot_notice(n);
        self.drain_node(n, "spot-interruption", SimDuration(INTERRUPTION_NOTICE_MS));
    }

    /// A wave: `fraction` of the Ready spot nodes of the wave's pool(s), picked at random.
    pub(super) fn spot_wave(&mut self, w: u32) {
        let wave = &self.sc.settings.spot.waves[w as usize];
        let mut ready: Vec<NodeId> = (0..self.nodes.len() as NodeId)
            .filter(|&n| {
                let node = &self.nodes[n as usize];
                node.state == NodeState::Ready
                    && node.capacity == CapacityType::Spot
                    && wave.pool.is_none_or(|p| p == usize::from(node.pool))
            })
            .collect();
        let hit = (wave.fraction * ready.len() as f64).round() as usize;
        for _ in 0..hit {
            let k = index(&mut self.scaling.rng_spot, ready.len());
            let n = ready.swap_remove(k);
            self.spot_notice(n);
        }
    }

    /// Whether launching a node of `pool` in its `zone`-th zone now fails for insufficient
    /// capacity.
    pub(super) fn launch_fails(&mut self, pool: usize, zone: usize) -> bool {
        let p = &self.sc.node_pools[pool];
        let zone = p.zones.get(zone).map_or("", String::as_str);
        self.launch_fails_for(&p.instance_types[0].name, zone, p.capacity_type)
    }

    /// Whether launching `instance_type` in `zone` as `capacity` now fails for insufficient
    /// capacity.
    pub(super) fn launch_fails_for(
        &mut self,
        it: &str,
        zone: &str,
        capacity: CapacityType,
    ) -> bool {
        let t = SimDuration(self.now().0);
        let mut fails = false;
        for s in &self.sc.settings.spot.shortages {
            if s.hits(it, zone, capacity, t) {
                // One draw per matching window, so adding a window elsewhere shifts nothing here.
                fails |= bernoulli(&mut self.scaling.rng_capacity, s.probability);
            }
        }
        fails
    }
}
