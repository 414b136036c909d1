//! The Job and CronJob controllers: parallelism and completions, backoffLimit retries with the
//! Job controller's exponential back-off, activeDeadlineSeconds, ttlSecondsAfterFinished, and
//! CronJob schedules with concurrencyPolicy and startingDeadlineSeconds.
//!
//! Simplifications, stated: every Job pod runs with `restartPolicy: Never` semantics (a failed
//! run is a failed pod and a new pod retries it); a pod deleted from outside (preempted,
//! evicted) counts as failed, as it does with the Job controller's pod-tracking finalizers.

use super::placement::PodId;
use super::state::{Engine, Event, Owner, Phase, PodRef};
use crate::rng::bernoulli;
use crate::scenario::model::{ConcurrencyPolicy, JobSpec, Scenario};
use crate::time::{SimDuration, SimTime};

/// The Job controller's pod-failure back-off: 10 s, doubling, capped at 6 minutes.
const JOB_BACKOFF_BASE: SimDuration = SimDuration::from_secs(10);
const JOB_BACKOFF_MAX: SimDuration = SimDuration::from_secs(360);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobSource {
    Plain(u32),
    Cron(u32),
}

pub(super) struct JobState {
    pub source: JobSource,
    pub gen: u32,
    pub active: Vec<PodId>,
    pub succeeded: i32,
    pub failed: i32,
    pub finished: bool,
    /// A scheduled CronJob run that Forbid held back: (schedule time).
    pub retry_pending: bool,
}

impl JobState {
    pub fn spec<'s>(&self, sc: &'s Scenario) -> &'s JobSpec {
        match self.source {
            JobSource::Plain(j) => &sc.jobs[j as usize].spec,
            JobSource::Cron(c) => &sc.cron_jobs[c as usize].job,
        }
    }
}

/// A CronJob's controller state.
#[derive(Default)]
pub(super) struct CronState {
    pub active: Vec<(u32, u32)>,
    /// The most recent schedule time Forbid held back.
    pub missed: Option<SimTime>,
}

impl Engine<'_> {
    fn count(&mut self, what: &str) {
        *self.books.jobs.entry(what.to_string()).or_default() += 1;
    }

    pub(super) fn job_create(&mut self, plain: u32) {
        self.new_job(JobSource::Plain(plain));
    }

    fn new_job(&mut self, source: JobSource) -> (u32, u32) {
        let state = JobState {
            source,
            gen: 0,
            active: vec![],
            succeeded: 0,
            failed: 0,
            finished: false,
            retry_pending: false,
        };
        let j = match self.free_jobs.pop() {
            Some(j) => {
                let gen = self.jobs[j as usize].gen.wrapping_add(1);
                self.jobs[j as usize] = JobState { gen, ..state };
                j
            }
            None => {
                self.jobs.push(state);
                (self.jobs.len() - 1) as u32
            }
        };
        self.count("jobs created");
        let gen = self.jobs[j as usize].gen;
        if let Some(d) = self.jobs[j as usize].spec(self.sc).active_deadline {
            self.at(self.now() + d, Event::JobDeadline(j, gen));
        }
        self.fill_job(j);
        (j, gen)
    }

    /// Creates pods until `parallelism` run or the remaining completions are covered.
    fn fill_job(&mut self, j: u32) {
        loop {
            let job = &self.jobs[j as usize];
            let spec = job.spec(self.sc);
            let running = job.active.len() as i32;
            if job.finished
                || running >= spec.parallelism
                || job.succeeded + running >= spec.completions
            {
                return;
            }
            let id = self.create_pod(Owner::Job(j));
            self.jobs[j as usize].active.push(id);
        }
    }

    pub(super) fn job_pod_started(&mut self, j: u32, p: PodRef) {
        let spec = self.jobs[j as usize].spec(self.sc);
        let run = spec.run_time.sample(&mut self.rng_jobs);
        let ok = !bernoulli(&mut self.rng_jobs, spec.failure_probability);
        self.at(self.now() + run, Event::PodFinished(p, ok));
    }

    pub(super) fn pod_finished(&mut self, p: PodRef, ok: bool) {
        let pod = &self.pods[p.id as usize];
        if pod.gen != p.gen || pod.phase != Phase::Running {
            return;
        }
        let Owner::Job(j) = pod.owner else { return };
        self.jobs[j as usize].active.retain(|x| *x != p.id);
        self.release(p.id);
        if ok {
            self.jobs[j as usize].succeeded += 1;
            let done =
                self.jobs[j as usize].succeeded >= self.jobs[j as usize].spec(self.sc).completions;
            if done {
                self.finish_job(j, "jobs succeeded");
            } else {
                self.fill_job(j);
            }
        } else {
            self.job_pod_failed(j);
        }
    }

    fn job_pod_failed(&mut self, j: u32) {
        let job = &mut self.jobs[j as usize];
        job.failed += 1;
        let (failed, limit, gen) = (job.failed, job.spec(self.sc).backoff_limit, job.gen);
        if failed > limit {
            self.finish_job(j, "jobs failed: BackoffLimitExceeded");
        } else if !self.jobs[j as usize].retry_pending {
            self.jobs[j as usize].retry_pending = true;
            let exp = (failed - 1).clamp(0, 16) as u32;
            let delay = SimDuration((JOB_BACKOFF_BASE.0 << exp).min(JOB_BACKOFF_MAX.0));
            self.at(self.now() + delay, Event::JobRetry(j, gen));
        }
    }

    pub(super) fn job_retry(&mut self, j: u32, gen: u32) {
        if self.jobs[j as usize].gen == gen {
            self.jobs[j as usize].retry_pending = false;
            self.fill_job(j);
        }
    }

    /// A Job pod deleted before it finished. `involuntary`: deleted from outside the Job
    /// (preempted, evicted), which counts as a failure.
    pub(super) fn job_pod_lost(&mut self, j: u32, id: PodId, involuntary: bool) {
        let job = &mut self.jobs[j as usize];
        let was_active = job.active.contains(&id);
        job.active.retain(|x| *x != id);
        if was_active && involuntary && !job.finished {
            self.job_pod_failed(j);
        }
    }

    pub(super) fn job_deadline(&mut self, j: u32, gen: u32) {
        let job = &self.jobs[j as usize];
        if job.gen == gen && !job.finished {
            self.finish_job(j, "jobs failed: DeadlineExceeded");
        }
    }

    fn finish_job(&mut self, j: u32, outcome: &str) {
        self.count(outcome);
        let job = &mut self.jobs[j as usize];
        job.finished = true;
        let (gen, source) = (job.gen, job.source);
        for id in std::mem::take(&mut job.active) {
            self.delete_pod(id, "");
        }
        if let Some(ttl) = self.jobs[j as usize].spec(self.sc).ttl_after_finished {
            self.at(self.now() + ttl, Event::JobTtl(j, gen));
        }
        if let JobSource::Cron(c) = source {
            self.cron_job_finished(c);
        }
    }

    /// ttlSecondsAfterFinished: the finished Job object is deleted and its slot reused.
    pub(super) fn job_ttl(&mut self, j: u32, gen: u32) {
        if self.jobs[j as usize].gen == gen && self.jobs[j as usize].finished {
            self.count("jobs deleted by TTL");
            self.jobs[j as usize].gen = gen.wrapping_add(1);
            self.free_jobs.push(j);
        }
    }

    // ----- CronJobs -----

    pub(super) fn schedule_next_cron(&mut self, c: u32, after: SimTime) {
        let cj = &self.sc.cron_jobs[c as usize];
        let after_unix_s = self.sc.start_unix_s + after.0.div_euclid(1000);
        if let Some(next) = cj.schedule.next_after(after_unix_s) {
            let t = SimTime((next - self.sc.start_unix_s) * 1000);
            self.at(t, Event::CronTick(c));
        }
    }

    pub(super) fn cron_tick(&mut self, c: u32) {
        let now = self.now();
        self.schedule_next_cron(c, now);
        let cj = &self.sc.cron_jobs[c as usize];
        if cj.suspend {
            self.count("cron runs skipped: suspended");
            return;
        }
        self.prune_cron(c);
        let busy = !self.crons[c as usize].active.is_empty();
        match cj.concurrency_policy {
            ConcurrencyPolicy::Forbid if busy => {
                self.count("cron runs held back: Forbid");
                self.crons[c as usize].missed = Some(now);
                return;
            }
            ConcurrencyPolicy::Replace if busy => {
                for (j, gen) in std::mem::take(&mut self.crons[c as usize].active) {
                    if self.jobs[j as usize].gen == gen && !self.jobs[j as usize].finished {
                        self.finish_job(j, "jobs replaced: Replace");
                    }
                }
            }
            _ => {}
        }
        self.start_cron_run(c);
    }

    fn start_cron_run(&mut self, c: u32) {
        self.count("cron runs started");
        let job = self.new_job(JobSource::Cron(c));
        self.crons[c as usize].missed = None;
        self.crons[c as usize].active.push(job);
    }

    fn prune_cron(&mut self, c: u32) {
        let jobs = &self.jobs;
        self.crons[c as usize]
            .active
            .retain(|(j, gen)| jobs[*j as usize].gen == *gen && !jobs[*j as usize].finished);
    }

    /// A CronJob's Job finished: a run that Forbid held back starts now if it is still within
    /// startingDeadlineSeconds of its schedule time (or there is no deadline).
    fn cron_job_finished(&mut self, c: u32) {
        self.prune_cron(c);
        let cron = &self.crons[c as usize];
        let Some(missed) = cron.missed else { return };
        if !cron.active.is_empty() {
            return;
        }
        let deadline = self.sc.cron_jobs[c as usize].starting_deadline;
        if deadline.is_none_or(|d| self.now().since(missed) <= d) {
            self.start_cron_run(c);
        } else {
            self.crons[c as usize].missed = None;
            self.count("cron runs missed: starting deadline");
        }
    }
}
