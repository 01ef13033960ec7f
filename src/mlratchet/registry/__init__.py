"""The model registry: GTO-format git tags, gated promotion, model cards, audit.

- :mod:`~mlratchet.registry.tags`: GTO's names and messages, semantic versions, create-only tags;
- :mod:`~mlratchet.registry.state`: the registry read from one ``git for-each-ref``, decided as
  GTO decides it;
- :mod:`~mlratchet.registry.gates`: the promotion policy evaluated into a gate table;
- :mod:`~mlratchet.registry.promote`: ``register`` and ``promote``, safe under races;
- :mod:`~mlratchet.registry.card`: the model card stored in each assignment tag;
- :mod:`~mlratchet.registry.audit`: tags that make the registry unreliable;
- :mod:`~mlratchet.registry.views`: what ``registry show`` and ``registry history`` report.

Submodules are imported where used; this package imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
