"""Settings packages: ``embedded`` (default), ``production`` and ``test``.

Every value comes from the environment (SPEC §12); see ``base.py``.
"""
