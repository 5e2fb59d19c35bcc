"""``/healthz`` for load balancers and ``/metrics`` for Prometheus (loopback only)."""

from __future__ import annotations

import ipaddress

from quart import Response, request
from quart_trio import QuartTrio

from frontdesk.core.errors import FrontdeskError
from frontdesk.engine.edge.context import EdgeContext
from frontdesk.engine.edge.http import json_response
from frontdesk.engine.runtime import metrics


def register(app: QuartTrio, edge: EdgeContext) -> None:
    @app.get("/healthz")
    async def healthz() -> Response:
        ok = await edge.db.ping()
        return json_response({"status": "ok" if ok else "degraded", "database": "ok" if ok else "down"},
                             200 if ok else 503)

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        try:
            loopback = ipaddress.ip_address((request.remote_addr or "").split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise FrontdeskError("forbidden", "metrics are served on loopback only")
        return Response(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
