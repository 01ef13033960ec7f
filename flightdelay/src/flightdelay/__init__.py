"""flightdelay: mlratchet's reference project, NYC flights 2013.

Predict whether a flight from New York arrives more than 15 minutes late, from what is known when
it is scheduled. The pipeline (``dvc.yaml``, ``stages/``) calls this package; this package calls
only mlratchet's public API, as any project would.
"""

__version__ = "0.1.0"
