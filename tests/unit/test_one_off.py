"""A one-off container's spec: hardened like every container greenlight starts."""

from __future__ import annotations

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.one_off import OneOff, size_bytes


def test_a_one_off_is_hardened_and_limited() -> None:
    spec = OneOff(name="shop-production-migrate", image="shop-backend:abc", command=["python3", "-m", "shop.migrate"],
                  network="shop-production-net", env={"DB_HOST": "db"}, binds=["/s/migrate.password:/run/secrets/db:ro"],
                  memory="256m", cpus=0.5, pids_limit=128, cpu_shares=256).spec()
    host = spec["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True and "/tmp" in host["Tmpfs"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert (host["Memory"], host["MemorySwap"], host["NanoCpus"]) == (256 * 1024 ** 2, 256 * 1024 ** 2, 500_000_000)
    assert (host["PidsLimit"], host["CpuShares"], host["NetworkMode"]) == (128, 256, "shop-production-net")
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3"}}
    assert spec["Env"] == ["DB_HOST=db"] and spec["Cmd"] == ["python3", "-m", "shop.migrate"]


@pytest.mark.parametrize(("text", "size"), [("512m", 512 * 1024 ** 2), ("1g", 1024 ** 3), ("300000k", 300000 * 1024),
                                            ("1048576", 1048576), ("1.5G", int(1.5 * 1024 ** 3))])
def test_sizes_are_read_as_docker_reads_them(text: str, size: int) -> None:
    assert size_bytes(text) == size


def test_a_size_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a size"):
        size_bytes("lots")
