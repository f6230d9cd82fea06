"""Backends built on other libraries (jax, torch, autograd, numdifftools, scipy, symengine).

None of them is a runtime dependency: each module imports its library lazily, and the registry lists a
peer as available only when that library imports (the optional extra ``peers`` installs them all).
"""
