//! Benchmarks of the simulator: the event queue, and whole runs of the bundled scenarios
//! (`bench-large` is the speed and memory goal). Prints simulated events per second,
//! wall time and peak RSS (VmHWM) alongside criterion's figures.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sim::engine::queue::EventQueue;
use sim::time::SimTime;

fn event_queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_queue");
    const N: u64 = 100_000;
    g.throughput(Throughput::Elements(N));
    g.bench_function("schedule+pop 100k with 10k pending", |b| {
        b.iter(|| {
            let mut q = EventQueue::new(u64::MAX);
            let mut t = 0i64;
            for i in 0..10_000u64 {
                q.schedule(SimTime((i * 7919 % 10_000) as i64), i).unwrap();
            }
            for _ in 0..N {
                let (at, e) = q.pop_until(SimTime(i64::MAX)).unwrap().unwrap();
                t = at.0;
                q.schedule(SimTime(t + (e * 31 % 5000) as i64), e).unwrap();
            }
            black_box(t)
        })
    });
    g.finish();
}

/// Peak resident set size of this process, from /proc (Linux), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn whole_runs(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut g = c.benchmark_group("run");
    g.sample_size(10);
    // Under `cargo test` (no `--bench`), benches run once as smoke tests in the dev profile:
    // leave the large scenario to real benchmark runs.
    let benchmarking = std::env::args().any(|a| a == "--bench");
    let names: &[&str] = if benchmarking {
        &["quickstart", "production", "bench-large"]
    } else {
        &["quickstart", "production"]
    };
    for &name in names {
        let path = root.join("scenarios").join(format!("{name}.yaml"));
        let scenario = match sim::scenario::load(&path) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        // The same scenario with declared replicas only (no HPAs), and as written.
        let mut declared = scenario.clone();
        declared.hpas.clear();
        for (label, sc) in [
            (format!("{name} (declared replicas)"), &declared),
            (name.to_string(), &scenario),
        ] {
            if label.contains("declared") && scenario.hpas.is_empty() {
                continue;
            }
            // One timed run first, to print the figures the README records.
            let t0 = Instant::now();
            let report = sim::engine::run(sc, &mut sim::engine::NoTimeline).expect("run");
            let wall = t0.elapsed().as_secs_f64();
            let events: u64 = report.events.values().sum();
            eprintln!(
                "{label}: {:.3} s wall, {} events, {:.2} M events/s, peak RSS so far {:.0} MiB",
                wall,
                events,
                events as f64 / wall / 1e6,
                peak_rss_mib().unwrap_or(f64::NAN)
            );
            g.throughput(Throughput::Elements(events));
            g.bench_function(&label, |b| {
                b.iter(|| sim::engine::run(black_box(sc), &mut sim::engine::NoTimeline).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, event_queue, whole_runs);
criterion_main!(benches);
