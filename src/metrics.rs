//! Prometheus metrics on `prometheus-client` (the Prometheus project's Rust client): counter and
//! histogram families created on first use, gauges set at scrape time, OpenMetrics text out.
//!
//! Names are given as scraped (`calsync_sync_runs_total`); the client adds the `_total` suffix of
//! counters itself, so it is taken off before registering.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter as PromCounter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram as PromHistogram;
use prometheus_client::registry::Registry;

/// Latency buckets in seconds, from a webhook ack to a full sync.
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];

/// The exposition's content type (OpenMetrics text, which Prometheus scrapes natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub type Labels = Vec<(&'static str, String)>;

/// A monotonically increasing counter (a handle into its family: cheap to keep on hot paths).
#[derive(Clone, Default)]
pub struct Counter(PromCounter);

impl Counter {
    pub fn inc(&self) {
        self.0.inc();
    }
    pub fn add(&self, n: u64) {
        self.0.inc_by(n);
    }
    pub fn get(&self) -> u64 {
        self.0.get()
    }
}

/// A histogram of durations, in seconds.
#[derive(Clone)]
pub struct Histogram(PromHistogram);

impl Histogram {
    pub fn observe(&self, d: Duration) {
        self.0.observe(d.as_secs_f64());
    }
}

#[derive(Clone, Copy)]
struct Buckets;

impl MetricConstructor<PromHistogram> for Buckets {
    fn new_metric(&self) -> PromHistogram {
        PromHistogram::new(BUCKETS)
    }
}

type Counters = Family<Labels, PromCounter>;
type Histograms = Family<Labels, PromHistogram, Buckets>;
type Gauges = Family<Labels, Gauge>;

/// All of calsync's metrics.
#[derive(Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
    counters: Mutex<HashMap<&'static str, Counters>>,
    histograms: Mutex<HashMap<&'static str, Histograms>>,
    gauges: Mutex<HashMap<&'static str, Gauges>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The family `name`, registered on first use.
    fn family<F: Clone + prometheus_client::registry::Metric>(
        &self,
        map: &Mutex<HashMap<&'static str, F>>,
        name: &'static str,
        help: &'static str,
        make: impl FnOnce() -> F,
    ) -> F {
        let mut map = lock(map);
        map.entry(name)
            .or_insert_with(|| {
                let family = make();
                let bare = name.strip_suffix("_total").unwrap_or(name);
                lock(&self.registry).register(bare, help, family.clone());
                family
            })
            .clone()
    }

    /// The counter `name{labels}`, created on first use.
    pub fn counter(&self, name: &'static str, help: &'static str, labels: Labels) -> Arc<Counter> {
        let family = self.family(&self.counters, name, help, Counters::default);
        Arc::new(Counter(family.get_or_create_owned(&labels)))
    }

    /// The histogram `name{labels}` (seconds), created on first use.
    pub fn histogram(
        &self,
        name: &'static str,
        help: &'static str,
        labels: Labels,
    ) -> Arc<Histogram> {
        let family = self.family(&self.histograms, name, help, || {
            Histograms::new_with_constructor(Buckets)
        });
        Arc::new(Histogram(family.get_or_create_owned(&labels)))
    }

    /// Sets the gauge family `name` to exactly `values` (series not listed are dropped).
    pub fn set_gauges(&self, name: &'static str, help: &'static str, values: &[(Labels, i64)]) {
        let family = self.family(&self.gauges, name, help, Gauges::default);
        family.clear();
        for (labels, v) in values {
            family.get_or_create(labels).set(*v);
        }
    }

    /// Drops every gauge series (their source, the database, could not be read).
    pub fn clear_gauges(&self) {
        for family in lock(&self.gauges).values() {
            family.clear();
        }
    }

    /// OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &lock(&self.registry)).is_err() {
            tracing::warn!("metrics: encoding failed");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges_in_openmetrics_text() {
        let m = Metrics::new();
        m.counter(
            "calsync_test_total",
            "A test.",
            vec![("calendar", "a\"b".into())],
        )
        .add(3);
        m.histogram("calsync_test_seconds", "Timing.", vec![])
            .observe(Duration::from_millis(20));
        m.set_gauges("calsync_test_live", "Live.", &[(vec![], 2)]);
        m.set_gauges("calsync_test_live", "Live.", &[(vec![], 5)]);
        let text = m.render();
        assert!(text.contains("# TYPE calsync_test counter"), "{text}");
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
        assert!(text.contains("calsync_test_live 5\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
