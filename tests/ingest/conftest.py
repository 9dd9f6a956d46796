from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures.s3"]


@pytest.fixture
def cat(tmp_path):
    """A fresh embedded catalog + local warehouse per test."""
    import curata

    return curata.connect(home=tmp_path / "home")
