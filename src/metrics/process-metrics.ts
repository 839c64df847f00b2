import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, Registry, type Metric } from 'prom-client';

/**
 * prom-client defaults left out, with why:
 * - the three gauges whose names end in `_total`: Prometheus reserves that suffix for counters
 *   and `promtool check metrics` rejects them. Each is the sum of a labelled gauge that stays
 *   (`nodejs_active_handles{type}`, ...), so nothing is lost.
 * - `nodejs_eventloop_lag_stddev_seconds`: computing it walks every bucket of Node's event-loop
 *   delay histogram, about 0.5 ms, half the cost of a whole scrape. The other event-loop gauges
 *   are kept under their usual names (see eventLoopGauges).
 */
export const DROPPED_DEFAULT_METRICS: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
  'nodejs_eventloop_lag_stddev_seconds',
];

/** The event-loop gauges prom-client fills in one collect, the stddev with them. */
const DEFAULT_EVENT_LOOP_METRICS = [
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
];

/**
 * How often the event-loop delay is sampled, in ms: each sample wakes the process. In a sidecar
 * that otherwise idles, prom-client's 10 ms cost about 0.5 % of a core and 100 ms about 0.07 %,
 * as much as its ZooKeeper pings and JobManager checks together (bench:footprint, Node 20); once a
 * second costs next to nothing. A block of a second or more (what fails a probe with a 1 s
 * timeout) always delays a sample; a shorter one shows in proportion to its length.
 */
const EVENT_LOOP_RESOLUTION_MS = 1000;
/** prom-client's own monitor, replaced below but impossible to stop: as rarely as it allows. */
const UNREAD_MONITOR_RESOLUTION_MS = 2 ** 31 - 1;

let shared: readonly Metric[] | undefined;

/**
 * Node's process metrics (prom-client's defaults, unprefixed so that stock Node dashboards work,
 * minus DROPPED_DEFAULT_METRICS), made once per process and shared by every registry that asks.
 * Once per process because they describe the process, and because each set starts an event-loop
 * delay monitor and a GC observer that prom-client offers no way to stop: tests that start many
 * sidecars in one process would otherwise pile them up.
 */
export function processMetrics(): readonly Metric[] {
  if (shared === undefined) {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: UNREAD_MONITOR_RESOLUTION_MS });
    // prom-client's own event-loop collect computes the stddev whether or not its gauge is
    // registered, so its gauges are replaced as a whole (its monitor keeps sampling, unread, as
    // rarely as it can be made to).
    for (const name of [...DROPPED_DEFAULT_METRICS, ...DEFAULT_EVENT_LOOP_METRICS]) registry.removeSingleMetric(name);
    eventLoopGauges(registry);
    // The typings say MetricObject[], but prom-client returns the metric instances themselves.
    shared = registry.getMetricsAsArray() as unknown as Metric[];
  }
  return shared;
}

/**
 * prom-client's event-loop gauges under the same names, without the stddev: the delay statistics
 * since the previous scrape, and `nodejs_eventloop_lag_seconds`, the time from one scrape's collect
 * to the next turn of the loop (reported by the following scrape). Node's histogram records the
 * time between two samples, the sampling period included (prom-client reports that as it is, so an
 * idle process shows its 10 ms); here the period is taken off, so each value is how late a sample
 * came: about zero when the loop is free, whatever the period.
 */
function eventLoopGauges(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  /** Seconds a sample came late: the recorded interval (ns) less the sampling period. */
  const late = (intervalNs: number): number => Math.max(0, intervalNs - EVENT_LOOP_RESOLUTION_MS * 1e6) / 1e9;
  histogram.enable();
  const registers = [registry];
  // Registered first: a scrape reads the gauges in registration order, and this collect sets the
  // others, so it must run before they are read (prom-client orders them the same way).
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds.',
    registers,
    collect() {
      const start = process.hrtime.bigint();
      setImmediate(() => this.set(Number(process.hrtime.bigint() - start) / 1e9));
      // Before the first sample the histogram reports min as 2^63 - 1 and mean as NaN.
      if (histogram.count > 0) {
        min.set(late(histogram.min));
        max.set(late(histogram.max));
        mean.set(late(histogram.mean));
        p50.set(late(histogram.percentile(50)));
        p90.set(late(histogram.percentile(90)));
        p99.set(late(histogram.percentile(99)));
      }
      histogram.reset();
    },
  });
  const stat = (suffix: string, help: string): Gauge => new Gauge({ name: `nodejs_eventloop_lag_${suffix}seconds`, help, registers });
  const min = stat('min_', 'The minimum recorded event loop delay.');
  const max = stat('max_', 'The maximum recorded event loop delay.');
  const mean = stat('mean_', 'The mean of the recorded event loop delays.');
  const p50 = stat('p50_', 'The 50th percentile of the recorded event loop delays.');
  const p90 = stat('p90_', 'The 90th percentile of the recorded event loop delays.');
  const p99 = stat('p99_', 'The 99th percentile of the recorded event loop delays.');
}
