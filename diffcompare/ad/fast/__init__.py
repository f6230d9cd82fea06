"""The fast layer beside the reference engine, switched on by :mod:`diffcompare.ad.policy`.

``scalar``: traced floats record their local partials directly. ``lean``: lean tapes, deferred values,
pooled copies. ``backward``: the reverse pass with scaled adjoints and in-place updates. ``memory``: the
buffer pool. ``refcount``: where reference counts can be trusted to say that nobody else holds an array.
Every trick here is checked against the reference (tests/test_fast_vs_reference.py).
"""
