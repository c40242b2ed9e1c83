"""The captive-portal rig for the end-to-end tests (one per module: it takes ~20 s to build)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.portal.topology import PortalRig, start_rig


@pytest.fixture(scope="module")
def portal_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalRig]:
    """Phones, router with the real agent, centre and internet in namespaces; all removed afterwards."""
    rig = start_rig(tmp_path_factory.mktemp("portal-rig"))
    try:
        yield rig
    finally:
        rig.close()
