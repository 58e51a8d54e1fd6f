"""Test configuration: hypothesis profiles (the AutoGraph-warning guard is on through pyproject.toml)."""

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["pytester", "tests.workflow_data"]  # the latter: the workflow tests' fixtures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
