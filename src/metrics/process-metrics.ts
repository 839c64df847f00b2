import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';

/**
 * prom-client's default gauges whose names end in `_total`: Prometheus reserves that suffix for
 * counters and `promtool check metrics` rejects them. Each is only the sum of a labelled gauge that
 * stays (`nodejs_active_handles{type}`, ...), so dropping them loses nothing.
 */
export const DROPPED_DEFAULT_METRICS: readonly string[] = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

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
    collectDefaultMetrics({ register: registry });
    for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
    // The typings say MetricObject[], but prom-client returns the metric instances themselves.
    shared = registry.getMetricsAsArray() as unknown as Metric[];
  }
  return shared;
}
