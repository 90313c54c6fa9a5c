"""Prometheus metrics of the service (``GET /metrics``).

Each app gets its own ``CollectorRegistry``, so several apps (tests) never
clash. Counted in the web process: analysis workers send their counts back
with the results.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    """The service's counters, histograms and gauges, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("medlens_http_requests_total", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("medlens_http_request_duration_seconds", "HTTP request latency by route.",
                                 ["route"], buckets=_LATENCY_BUCKETS, registry=r)
        self.documents = Counter("medlens_documents_total", "Documents analyzed, by outcome (ok or error).",
                                 ["outcome"], registry=r)
        self.entities = Counter("medlens_entities_total", "Entities found, by label.", ["label"], registry=r)
        self.batch_size = Histogram("medlens_batch_documents", "Documents per model call (micro-batch size).",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=r)
        self.queue = Gauge("medlens_queue_documents", "Documents waiting for an analysis worker.", registry=r)
        self.rejected = Counter("medlens_rejected_requests_total", "Requests refused or cut short, by reason: "
                                "queue_full and in_flight (503), timeout (504).", ["reason"], registry=r)
        self.in_flight = Gauge("medlens_http_requests_in_flight", "HTTP requests being served.", registry=r)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def count_results(self, results) -> None:
        """Count documents and entities of a list of :class:`~medlens.serve.batching.WorkResult`."""
        for res in results:
            self.documents.labels("error" if res.error else "ok").inc()
            for label, n in res.labels.items():
                self.entities.labels(label).inc(n)


__all__ = ["ServiceMetrics"]
