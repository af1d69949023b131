"""OTLP metrics -> :class:`MetricPoint` rows (stored for charts; a metric never becomes a trace).

One point per data point, attributes merged resource < point (plus ``otel.scope.name``).
Sums and gauges store their value. Histograms, exponential histograms and summaries have no
single value: each yields TWO points, ``<name>.sum`` and ``<name>.count`` (same attributes,
time and temporality), enough to chart totals and averages; bucket counts are not stored.
Temporality: ``delta`` / ``cumulative`` from ``aggregation_temporality``; None for gauges and
summaries. Points with no recorded value (flag bit 1) are skipped silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from pulse.mapping.attrs import as_str
from pulse.mapping.jsonsafe import clean_json, clean_str
from pulse.mapping.otlp.anyvalue import attributes
from pulse.mapping.otlp.items import Rejects
from pulse.mapping.timestamps import from_unix_nanos
from pulse.records import MetricPoint

_TEMPORALITY = {1: "delta", 2: "cumulative"}
_NO_RECORDED_VALUE = 1


def map_metric_points(req: ExportMetricsServiceRequest, rejects: Rejects) -> list[MetricPoint]:
    points: list[MetricPoint] = []
    for rm in req.resource_metrics:
        resource = attributes(rm.resource.attributes)
        service = as_str(resource.get("service.name"))
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for name, value, point, temporality in _values(metric):
                    made = _point(name, value, point, temporality, resource, sm.scope.name,
                                  metric.unit, service, rejects)
                    if made is not None:
                        points.append(made)
    return points


def _values(metric: Any) -> Iterator[tuple[str, float, Any, str | None]]:
    """(name, value, data point, temporality) for every value a metric carries."""
    kind = metric.WhichOneof("data")
    if kind in ("sum", "gauge"):
        data = getattr(metric, kind)
        temporality = _TEMPORALITY.get(data.aggregation_temporality) if kind == "sum" else None
        for dp in data.data_points:
            which = dp.WhichOneof("value")
            value = float(dp.as_int) if which == "as_int" else dp.as_double
            yield metric.name, value, dp, temporality
    elif kind in ("histogram", "exponential_histogram", "summary"):
        data = getattr(metric, kind)
        temporality = _TEMPORALITY.get(getattr(data, "aggregation_temporality", 0))
        for dp in data.data_points:
            yield f"{metric.name}.sum", dp.sum, dp, temporality
            yield f"{metric.name}.count", float(dp.count), dp, temporality


def _point(
    name: str,
    value: float,
    dp: Any,
    temporality: str | None,
    resource: dict[str, Any],
    scope: str,
    unit: str,
    service: str | None,
    rejects: Rejects,
) -> MetricPoint | None:
    if dp.flags & _NO_RECORDED_VALUE:
        return None
    if not math.isfinite(value):
        rejects.add("metric data point with a non-finite value")
        return None
    try:
        timestamp = from_unix_nanos(dp.time_unix_nano or dp.start_time_unix_nano)
        if not (dp.time_unix_nano or dp.start_time_unix_nano):
            raise ValueError("missing time")
    except ValueError:
        rejects.add("metric data point with a missing or out-of-range time")
        return None
    attrs = {**resource, **attributes(dp.attributes)}
    if scope:
        attrs["otel.scope.name"] = scope
    return MetricPoint(
        timestamp=timestamp,
        name=clean_str(name),
        value=value,
        attributes=clean_json(attrs),
        temporality=temporality,
        unit=clean_str(unit) if unit else None,
        service_name=clean_str(service) if service else None,
    )
