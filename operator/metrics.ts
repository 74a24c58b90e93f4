// Prometheus metrics of the operator process (its own registry: no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createOperatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'rockset_sink_operator_process_' });
  const r = [registry];
  return {
    registry,
    reconciles: new Counter({ name: 'rockset_sink_operator_reconciles_total', help: 'Reconcile passes by result (done, requeue, error)', labelNames: ['result'], registers: r }),
    reconcileErrors: new Counter({ name: 'rockset_sink_operator_reconcile_errors_total', help: 'Reconcile passes that failed with an error (retried with backoff)', registers: r }),
    reconcileSeconds: new Histogram({ name: 'rockset_sink_operator_reconcile_duration_seconds', help: 'Duration of one reconcile pass', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: r }),
    queueDepth: new Gauge({ name: 'rockset_sink_operator_workqueue_depth', help: 'Keys waiting in the work queue', registers: r }),
    apiWrites: new Counter({ name: 'rockset_sink_operator_api_writes_total', help: 'Writes to the Kubernetes API by kind (apply, status, event)', labelNames: ['kind'], registers: r }),
    apiReads: new Counter({ name: 'rockset_sink_operator_api_reads_total', help: 'Reads from the Kubernetes API outside the informers (cache misses, lag credentials) by kind', labelNames: ['kind'], registers: r }),
    leader: new Gauge({ name: 'rockset_sink_operator_leader', help: '1 while this replica leads (acts), 0 while it stands by', registers: r }),
    sinks: new Gauge({ name: 'rockset_sink_operator_sinks', help: 'RocksetSinks this operator watches', registers: r }),
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
