//! The event queue: events ordered by (time, insertion sequence), so events at the same
//! virtual time are delivered in the order they were scheduled (FIFO). That order is a
//! contract the engine relies on for determinism.
//!
//! Most events come within a minute of the event that schedules them (a pod's backoff, an
//! HPA sync period, the metrics step), a few per second of virtual time, so the queue is a
//! timing wheel of one-second slots over the next minute, each a short sorted list, with a
//! bitmap of the occupied ones; events further out wait in a binary heap. A pop takes the
//! earlier of the wheel's first event and the heap's top. Keys are unique, so where an event
//! is kept never changes the order it is delivered in.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// Scheduling into the past, or running past the event budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("event scheduled at {at} which is before the current time {now}")]
    InThePast { at: SimTime, now: SimTime },
    #[error("event budget of {budget} events exhausted at {now}: a runaway loop, or raise settings.eventBudget")]
    BudgetExhausted { budget: u64, now: SimTime },
}

/// An event and its key: its time in the high 64 bits, its insertion sequence in the low
/// (time is never negative: nothing is scheduled before time zero), so keys order as
/// (time, sequence) and compare in one step.
#[derive(Clone, Copy)]
struct Entry<E> {
    key: u128,
    event: E,
}

fn key(at: SimTime, seq: u64) -> u128 {
    (u128::from(at.0 as u64) << 64) | u128::from(seq)
}

fn time_of(key: u128) -> SimTime {
    SimTime((key >> 64) as i64)
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    // Reversed: BinaryHeap is a max-heap and we pop the earliest (time, seq) first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.key.cmp(&self.key)
    }
}

/// The wheel's slots: one per `SLOT_MS` of the next `SLOTS` (whole) slots from the clock's.
/// Events further out wait in the heap (few do: the engine's periodic events and backoffs
/// come within a minute).
const SLOTS: usize = 64;
const SLOT_MS: u64 = 1000;

/// The wheel slot of time `t` (never negative).
fn slot_of(t: SimTime) -> u64 {
    t.0 as u64 / SLOT_MS
}

/// The events of one wheel slot: `entries[head..]`, sorted by key (those before `head` are
/// popped; the list is cleared when the last is).
struct Slot<E> {
    entries: Vec<Entry<E>>,
    head: usize,
}

impl<E> Default for Slot<E> {
    fn default() -> Self {
        Slot {
            entries: Vec::new(),
            head: 0,
        }
    }
}

impl<E> Slot<E> {
    fn insert(&mut self, entry: Entry<E>) {
        // Usually the latest of its slot (the sequence only grows): checked first.
        if self.entries.last().is_none_or(|e| e.key < entry.key) {
            self.entries.push(entry);
        } else {
            let at = self.head + self.entries[self.head..].partition_point(|e| e.key < entry.key);
            self.entries.insert(at, entry);
        }
    }
}

/// A priority queue of events keyed by (time, insertion sequence), with a budget.
pub struct EventQueue<E> {
    /// Slot `s % SLOTS` holds the events of absolute slot `s` (time / `SLOT_MS`), for the
    /// `SLOTS` slots from the clock's one: never two absolute slots in one.
    wheel: [Slot<E>; SLOTS],
    /// Bit `i`: slot `i` is not empty.
    occupied: u64,
    /// Events not in the wheel (scheduled `SLOTS` slots or more ahead of the clock).
    heap: BinaryHeap<Entry<E>>,
    /// Off: every event goes to the heap (tests compare both).
    use_wheel: bool,
    now: SimTime,
    /// `now`'s slot.
    now_slot: u64,
    seq: u64,
    popped: u64,
    budget: u64,
}

impl<E: Copy> EventQueue<E> {
    pub fn new(budget: u64) -> Self {
        EventQueue {
            wheel: std::array::from_fn(|_| Slot::default()),
            occupied: 0,
            heap: BinaryHeap::new(),
            use_wheel: true,
            now: SimTime::ZERO,
            now_slot: 0,
            seq: 0,
            popped: 0,
            budget,
        }
    }

    /// The time of the event most recently popped.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events delivered so far.
    pub fn delivered(&self) -> u64 {
        self.popped
    }

    pub fn len(&self) -> usize {
        self.heap.len()
            + self
                .wheel
                .iter()
                .map(|s| s.entries.len() - s.head)
                .sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn schedule(&mut self, at: SimTime, event: E) -> Result<(), QueueError> {
        if at < self.now {
            return Err(QueueError::InThePast { at, now: self.now });
        }
        let entry = Entry {
            key: key(at, self.seq),
            event,
        };
        self.seq += 1;
        let slot = slot_of(at);
        if self.use_wheel && slot - self.now_slot < SLOTS as u64 {
            let i = slot as usize % SLOTS;
            self.wheel[i].insert(entry);
            self.occupied |= 1 << i;
        } else {
            self.heap.push(entry);
        }
        Ok(())
    }

    /// The next event at or before `until`, advancing the clock to it.
    pub fn pop_until(&mut self, until: SimTime) -> Result<Option<(SimTime, E)>, QueueError> {
        // The wheel's earliest event is in the first occupied slot from the clock's on.
        let wheel = (self.occupied != 0).then(|| {
            let from = self.now_slot as usize % SLOTS;
            let i =
                (from + self.occupied.rotate_right(from as u32).trailing_zeros() as usize) % SLOTS;
            (i, self.wheel[i].entries[self.wheel[i].head].key)
        });
        let heap = self.heap.peek().map(|e| e.key);
        let (slot, k) = match (wheel, heap) {
            (Some((i, w)), h) if h.is_none_or(|h| w < h) => (Some(i), w),
            (_, Some(h)) => (None, h),
            (_, None) => return Ok(None),
        };
        if time_of(k) > until {
            return Ok(None);
        }
        if self.popped >= self.budget {
            return Err(QueueError::BudgetExhausted {
                budget: self.budget,
                now: self.now,
            });
        }
        let e = match slot {
            Some(i) => {
                let slot = &mut self.wheel[i];
                let e = slot.entries[slot.head];
                slot.head += 1;
                if slot.head == slot.entries.len() {
                    slot.entries.clear();
                    slot.head = 0;
                    self.occupied &= !(1 << i);
                }
                e
            }
            None => self.heap.pop().expect("a heap with a top"),
        };
        self.now = time_of(e.key);
        self.now_slot = slot_of(self.now);
        self.popped += 1;
        Ok(Some((self.now, e.event)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_time_is_fifo_and_time_orders() {
        let mut q = EventQueue::new(100);
        q.schedule(SimTime(5), "b").unwrap();
        q.schedule(SimTime(1), "a").unwrap();
        q.schedule(SimTime(5), "c").unwrap();
        q.schedule(SimTime(5), "d").unwrap();
        let mut got = vec![];
        while let Some((_, e)) = q.pop_until(SimTime(10)).unwrap() {
            got.push(e);
        }
        assert_eq!(got, ["a", "b", "c", "d"]);
    }

    #[test]
    fn past_and_budget_are_errors() {
        let mut q = EventQueue::new(1);
        q.schedule(SimTime(5), ()).unwrap();
        q.schedule(SimTime(6), ()).unwrap();
        q.pop_until(SimTime(10)).unwrap();
        assert!(matches!(
            q.schedule(SimTime(4), ()),
            Err(QueueError::InThePast { .. })
        ));
        assert!(matches!(
            q.pop_until(SimTime(10)),
            Err(QueueError::BudgetExhausted { .. })
        ));
    }

    /// Random schedules, near (in the wheel) and far (in the heap), recurring delays and
    /// one-off ones, interleaved with pops: the wheel delivers exactly what the heap alone does.
    #[test]
    fn the_wheel_delivers_the_heap_order() {
        use rand::Rng;
        for seed in 0..20 {
            let mut rng = crate::rng::Seed(seed).fork("queue");
            let (mut with, mut without) = (EventQueue::new(u64::MAX), EventQueue::new(u64::MAX));
            without.use_wheel = false;
            let (mut got, mut want) = (vec![], vec![]);
            for id in 0..5_000u32 {
                let delay = match rng.random_range(0..5) {
                    0 => rng.random_range(0..5_000),
                    1 => 1000 * rng.random_range(0..20),
                    2 => rng.random_range(0..200_000),
                    _ => [0, 1000, 2000, 10_000][rng.random_range(0..4)],
                };
                let at = SimTime(with.now().0 + delay);
                with.schedule(at, id).unwrap();
                without.schedule(at, id).unwrap();
                for _ in 0..rng.random_range(0..3) {
                    let until = SimTime(with.now().0 + rng.random_range(0..3_000));
                    got.push(with.pop_until(until).unwrap());
                    want.push(without.pop_until(until).unwrap());
                }
            }
            assert!(
                !with.heap.is_empty() && with.heap.len() < without.len(),
                "both the wheel and the heap hold events"
            );
            while let Some(e) = without.pop_until(SimTime(i64::MAX)).unwrap() {
                want.push(Some(e));
                got.push(with.pop_until(SimTime(i64::MAX)).unwrap());
            }
            assert_eq!(got, want, "seed {seed}");
            assert!(with.is_empty());
        }
    }

    #[test]
    fn pop_until_stops_at_horizon() {
        let mut q = EventQueue::new(10);
        q.schedule(SimTime(50), ()).unwrap();
        assert!(q.pop_until(SimTime(49)).unwrap().is_none());
        assert_eq!(q.now(), SimTime(0));
    }
}
