"""``ratchet serve``: the model a registry reference names, loaded with proof, behind HTTP.

- :mod:`~mlratchet.serve.loading`: the model's bytes checked against the registry's record,
  its types against the allow-list, its inputs and their types (the serving contract);
- :mod:`~mlratchet.serve.holder`: the one object that holds the model being served;
- :mod:`~mlratchet.serve.follow`: ``--follow``, a newly promoted version verified and swapped in;
- :mod:`~mlratchet.serve.payload`: request bodies (MLflow's and KServe's formats, CSV) to rows;
- :mod:`~mlratchet.serve.inputs`: rows checked before the model, every failure in one answer;
- :mod:`~mlratchet.serve.exposition`: the service's counters in Prometheus' text format;
- :mod:`~mlratchet.serve.predlog`: the prediction log, Parquet files written in batches;
- :mod:`~mlratchet.serve.batching`: concurrent requests' rows gathered into one model call;
- :mod:`~mlratchet.serve.app`: the ASGI application (Starlette);
- :mod:`~mlratchet.serve.server`: uvicorn, signals, workers;
- :mod:`~mlratchet.serve.manifest`: a Kubernetes Deployment and Service for it.

Submodules are imported where used; this package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
