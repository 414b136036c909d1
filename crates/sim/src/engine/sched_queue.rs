//! kube-scheduler's scheduling queue, as the engine keeps it: the activeQ (pods to try,
//! higher priority first, then first in) and unschedulablePods (pods that failed and wait
//! for a cluster change or the periodic flush). Pod backoff is a timer event of the engine.

use super::placement::PodId;
use crate::time::SimTime;

/// The activeQ's order: higher priority first, then first in. One FIFO per priority,
/// highest priority first: as items only join at the back, each FIFO stays in arrival
/// order, and a pop reads the fronts of the few priorities there are.
pub(super) struct PriorityFifo<T> {
    /// By priority, highest first.
    fifos: Vec<Fifo<T>>,
}

/// The items of one priority: `items[head..]` in arrival order (those before `head` are
/// popped; the list is cleared when the last is).
struct Fifo<T> {
    priority: i32,
    items: Vec<T>,
    head: usize,
}

impl<T> Default for PriorityFifo<T> {
    fn default() -> Self {
        PriorityFifo { fifos: Vec::new() }
    }
}

impl<T: Copy> PriorityFifo<T> {
    #[inline]
    pub fn push(&mut self, priority: i32, item: T) {
        // The first FIFO of this priority or lower: this one's, or where it goes.
        let i = self
            .fifos
            .iter()
            .position(|f| f.priority <= priority)
            .unwrap_or(self.fifos.len());
        if self.fifos.get(i).is_none_or(|f| f.priority != priority) {
            let fifo = Fifo {
                priority,
                items: Vec::new(),
                head: 0,
            };
            self.fifos.insert(i, fifo);
        }
        self.fifos[i].items.push(item);
    }

    /// The first in of the highest priority.
    pub fn pop(&mut self) -> Option<T> {
        let f = self.fifos.iter_mut().find(|f| f.head < f.items.len())?;
        let item = f.items[f.head];
        f.head += 1;
        if f.head == f.items.len() {
            f.items.clear();
            f.head = 0;
        }
        Some(item)
    }
}

/// unschedulablePods: each pod in it and since when. Taking pods out yields them by id, as
/// kube-scheduler's map iterates here.
#[derive(Default)]
pub(super) struct UnschedulablePods {
    /// When each pod slot came in, while it is in.
    since: Vec<Option<SimTime>>,
    /// The pods in, in no order; may repeat a pod, or name one that has left (its `since`
    /// is None): both are dropped when pods are taken out.
    ids: Vec<PodId>,
    /// How many pods are in.
    len: usize,
}

impl UnschedulablePods {
    /// Puts pod `id` in at `now` (or re-dates it, if it is in).
    #[inline]
    pub fn insert(&mut self, id: PodId, now: SimTime) {
        let i = id as usize;
        if i >= self.since.len() {
            self.since.resize(i + 1, None);
        }
        if self.since[i].replace(now).is_none() {
            self.ids.push(id);
            self.len += 1;
        }
    }

    pub fn remove(&mut self, id: PodId) {
        if let Some(since @ Some(_)) = self.since.get_mut(id as usize) {
            *since = None;
            self.len -= 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes out the pods for which `leaves` (given when each came in) is true, by id.
    pub fn take(&mut self, mut leaves: impl FnMut(SimTime) -> bool) -> Vec<PodId> {
        let mut out = Vec::with_capacity(self.len);
        // A pod listed twice is taken at its first entry (which clears its `since`), so
        // `out` names each pod once.
        // The pods that stay are moved down over those that leave or have left.
        let mut kept = 0;
        for at in 0..self.ids.len() {
            let id = self.ids[at];
            let since = &mut self.since[id as usize];
            match *since {
                Some(t) if leaves(t) => {
                    *since = None;
                    self.len -= 1;
                    out.push(id);
                }
                Some(_) => {
                    self.ids[kept] = id;
                    kept += 1;
                }
                None => {}
            }
        }
        self.ids.truncate(kept);
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BinaryHeap};

    /// The FIFOs pop what a heap of (−priority, arrival) pops, pushes and pops interleaved.
    #[test]
    fn priority_fifo_is_a_heap_of_priority_then_arrival() {
        use rand::Rng;
        use std::cmp::Reverse;
        let mut rng = crate::rng::Seed(3).fork("fifo");
        let (mut fifo, mut heap) = (PriorityFifo::default(), BinaryHeap::new());
        for arrival in 0..10_000u32 {
            let priority = [-5, 0, 7, 1000][rng.random_range(0..4)];
            fifo.push(priority, arrival);
            heap.push(Reverse((-i64::from(priority), arrival)));
            for _ in 0..rng.random_range(0..3) {
                assert_eq!(fifo.pop(), heap.pop().map(|Reverse((_, a))| a));
            }
        }
        while let Some(Reverse((_, a))) = heap.pop() {
            assert_eq!(fifo.pop(), Some(a));
        }
        assert_eq!(fifo.pop(), None);
    }

    /// Random inserts, removals and takes (all, or the long-waiting): the same pods, in the
    /// same order, as an ordered map of pod to entry time.
    #[test]
    fn unschedulable_pods_are_an_ordered_map() {
        use rand::Rng;
        let mut rng = crate::rng::Seed(4).fork("unschedulable");
        let (mut pods, mut map) = (UnschedulablePods::default(), BTreeMap::new());
        for now in 0..20_000i64 {
            let id = rng.random_range(0..64u32);
            match rng.random_range(0..10) {
                0..=4 => {
                    pods.insert(id, SimTime(now));
                    map.insert(id, SimTime(now));
                }
                5..=7 => {
                    pods.remove(id);
                    map.remove(&id);
                }
                8 => {
                    let due = |t: SimTime| now - t.0 >= 30;
                    let want: Vec<PodId> = map
                        .iter()
                        .filter(|(_, t)| due(**t))
                        .map(|(id, _)| *id)
                        .collect();
                    map.retain(|_, t| !due(*t));
                    assert_eq!(pods.take(due), want);
                }
                _ => {
                    let want: Vec<PodId> = std::mem::take(&mut map).into_keys().collect();
                    assert_eq!(pods.take(|_| true), want);
                }
            }
            assert_eq!(pods.is_empty(), map.is_empty());
        }
    }
}
