//! The event queue: events ordered by (time, insertion sequence), so events at the same
//! virtual time are delivered in the order they were scheduled (FIFO). That order is a
//! contract the engine relies on for determinism.

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

struct Entry<E> {
    at: SimTime,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.seq == o.seq
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
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// A priority queue of events keyed by (time, insertion sequence), with a budget.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    now: SimTime,
    seq: u64,
    popped: u64,
    budget: u64,
}

impl<E> EventQueue<E> {
    pub fn new(budget: u64) -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            now: SimTime::ZERO,
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
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn schedule(&mut self, at: SimTime, event: E) -> Result<(), QueueError> {
        if at < self.now {
            return Err(QueueError::InThePast { at, now: self.now });
        }
        self.heap.push(Entry {
            at,
            seq: self.seq,
            event,
        });
        self.seq += 1;
        Ok(())
    }

    /// The next event at or before `until`, advancing the clock to it.
    pub fn pop_until(&mut self, until: SimTime) -> Result<Option<(SimTime, E)>, QueueError> {
        match self.heap.peek() {
            Some(e) if e.at <= until => {}
            _ => return Ok(None),
        }
        if self.popped >= self.budget {
            return Err(QueueError::BudgetExhausted {
                budget: self.budget,
                now: self.now,
            });
        }
        let e = self.heap.pop().expect("peeked");
        self.now = e.at;
        self.popped += 1;
        Ok(Some((e.at, e.event)))
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

    #[test]
    fn pop_until_stops_at_horizon() {
        let mut q = EventQueue::new(10);
        q.schedule(SimTime(50), ()).unwrap();
        assert!(q.pop_until(SimTime(49)).unwrap().is_none());
        assert_eq!(q.now(), SimTime(0));
    }
}
