"""Convention families: one module per telemetry convention, each declaring a
:class:`~pulse.mapping.families.base.Family` (how its spans are recognised and classified, where
it keeps each field), and the ordered :mod:`~pulse.mapping.families.registry` that assembles the
cross-family chains the builders read.

To support a new convention: add a module declaring its ``Family``, put it in the registry's
orders, and pin the resulting chains in ``tests/mapping/test_registry.py``.
"""
