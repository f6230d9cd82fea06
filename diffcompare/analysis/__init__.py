"""Analyses: each takes a function and a point, runs the backends, returns plain dataclasses."""
