"""A Kubernetes Deployment and Service running ``ratchet serve`` (``--manifest``).

The container runs the same command in a checkout of the repository (an image that holds the
project, mlratchet with its ``serve`` extra, and DVC's credentials for the remote if the model
is not in the image's cache). Liveness probes ``/health``, readiness ``/ready``; Prometheus
scrapes ``/metrics``; ``terminationGracePeriodSeconds`` leaves room for the drain on SIGTERM.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlratchet.serve.server import ServeOptions

#: The image the manifest names; replace it with the project's own.
IMAGE = "REGISTRY/PROJECT:TAG"


def _name(reference: str | None) -> str:
    """A DNS-1123 name for the Deployment, from the reference."""
    base = re.sub(r"[^a-z0-9-]+", "-", (reference or "model").lower()).strip("-")
    return (base or "model")[:50].rstrip("-")


def manifest(options: ServeOptions, image: str = IMAGE) -> str:
    """The YAML text (two documents) for ``options``."""
    import json

    name = _name(options.reference)
    args = ["ratchet", "serve"]
    if options.reference:
        args.append(options.reference)
    args += ["--host", "0.0.0.0", "--port", str(options.port)]  # noqa: S104 - in a pod
    args += ["--workers", str(options.workers), "--max-body-bytes", str(options.max_body_bytes)]
    args += ["--threads", str(options.threads)]
    if options.batch_wait_ms > 0:
        args += ["--batch-wait-ms", f"{options.batch_wait_ms:g}"]
        args += ["--max-batch-rows", str(options.max_batch_rows)]
    if options.contract:
        args += ["--contract", options.contract]
    if options.log_dir:
        args += ["--log-dir", options.log_dir]
    if options.follow:
        args += ["--follow", "--follow-interval", str(options.follow_interval)]
        if options.follow_remote:
            args += ["--follow-remote", options.follow_remote]
    command = json.dumps(args)
    grace = int(options.graceful_seconds) + 10
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "{options.port}"
        prometheus.io/path: /metrics
    spec:
      terminationGracePeriodSeconds: {grace}
      containers:
        - name: serve
          image: {image}
          command: {command}
          ports:
            - {{name: http, containerPort: {options.port}}}
          livenessProbe:
            httpGet: {{path: /health, port: http}}
            periodSeconds: 10
          readinessProbe:
            httpGet: {{path: /ready, port: http}}
            periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector: {{app: {name}}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
"""
