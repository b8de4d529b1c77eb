import pytest
from django.db import connection


@pytest.fixture
def postgres_only():
    """Skip, with the reason, where the behaviour under test exists only on PostgreSQL."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks / triggers); runs in CI's PostgreSQL pass")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Demo and factory users get passwords; a real hasher would dominate the suite's time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
