"""Shared test settings: a fixed hypothesis profile so property tests are fast and repeatable."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "partialstem", max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("partialstem")
