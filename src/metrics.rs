//! Prometheus metrics: a small lock-light registry of counters and histograms, rendered as text.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Latency buckets in seconds, from a webhook ack to a full sync.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// A monotonically increasing counter.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A fixed-bucket histogram of durations.
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, upper) in BUCKETS.iter().enumerate() {
            if secs <= *upper {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Family<T> {
    help: &'static str,
    series: BTreeMap<String, Arc<T>>,
}

/// All of calsync's metrics. Handles (`Arc<Counter>`) are cheap to keep on hot paths.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<&'static str, Family<Counter>>>,
    histograms: Mutex<BTreeMap<&'static str, Family<Histogram>>>,
}

fn label_key(labels: &Labels) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{k}=\"{v}\"");
    }
    out
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The counter `name{labels}`, created on first use.
    pub fn counter(&self, name: &'static str, help: &'static str, labels: Labels) -> Arc<Counter> {
        let mut map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let family = map.entry(name).or_default();
        family.help = help;
        family.series.entry(label_key(&labels)).or_default().clone()
    }

    /// The histogram `name{labels}` (seconds), created on first use.
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: Labels,
    ) -> Arc<Histogram> {
        let mut map = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
        let family = map.entry(name).or_default();
        family.help = help;
        family.series.entry(label_key(&labels)).or_default().clone()
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        {
            let map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            for (name, family) in map.iter() {
                let _ = writeln!(out, "# HELP {name} {}\n# TYPE {name} counter", family.help);
                for (labels, c) in &family.series {
                    let _ = writeln!(out, "{name}{} {}", braces(labels), c.get());
                }
            }
        }
        let map = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
        for (name, family) in map.iter() {
            let _ = writeln!(
                out,
                "# HELP {name} {}\n# TYPE {name} histogram",
                family.help
            );
            for (labels, h) in &family.series {
                let sep = if labels.is_empty() { "" } else { "," };
                for (i, upper) in BUCKETS.iter().enumerate() {
                    let n = h.buckets[i].load(Ordering::Relaxed);
                    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{upper}\"}} {n}");
                }
                let count = h.count.load(Ordering::Relaxed);
                let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
                let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
                let _ = writeln!(out, "{name}_sum{} {sum}", braces(labels));
                let _ = writeln!(out, "{name}_count{} {count}", braces(labels));
            }
        }
        out
    }
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_in_text_format() {
        let m = Metrics::new();
        m.counter(
            "calsync_test_total",
            "A test.",
            vec![("calendar", "a\"b".into())],
        )
        .add(3);
        m.histogram("calsync_test_seconds", "Timing.", vec![])
            .observe(Duration::from_millis(20));
        let text = m.render();
        assert!(
            text.contains("calsync_test_total{calendar=\"a\\\"b\"} 3"),
            "{text}"
        );
        assert!(
            text.contains("calsync_test_seconds_bucket{le=\"0.025\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("calsync_test_seconds_bucket{le=\"0.01\"} 0"),
            "{text}"
        );
        assert!(text.contains("calsync_test_seconds_count 1"), "{text}");
    }
}
