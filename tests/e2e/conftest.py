from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from . import stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def both_on_v1() -> Iterator[None]:
    """Staging and production of the test app, both deployed at v1 from scratch."""
    if shutil.which("docker") is None:
        pytest.fail("docker is not installed; the end-to-end tests need a running Docker engine")
    stack.remove_everything()
    stack.make_app_repo()
    stack.mount_small_backups()
    for env in ("staging", "production"):
        run = stack.deploy(env, "v1")
        assert run.rc == 0, run.output[-3000:]
    yield
    stack.remove_everything()


@pytest.fixture(scope="module")
def command_inventories() -> None:
    """The inventories the greenlight command runs with (a copy with the test overrides)."""
    stack.write_command_inventories()
