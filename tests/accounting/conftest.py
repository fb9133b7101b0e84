from __future__ import annotations

import pytest

from factory_app.accounting import REGISTRY
from sandbox.core.testing import SandboxServer

from ..support.packages import CLIENT, DRIVERS, SECRET, settings


@pytest.fixture(params=sorted(REGISTRY))
def package(request) -> str:
    """Each package of the registry in turn; one without a face driver is a failure, not a skip."""
    assert request.param in DRIVERS, f"tests/support/packages.py has no driver for {request.param}"
    return request.param


@pytest.fixture()
def books(tmp_path):
    """The sandbox (every face, one set of books), with its test controls."""
    with SandboxServer(tmp_path / "books.db", CLIENT, SECRET, test_controls=True) as server:
        yield server


@pytest.fixture()
def adapter(package, books):
    return REGISTRY[package](settings(package, books.url))
