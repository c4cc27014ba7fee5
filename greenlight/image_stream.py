"""What production's engine takes from staging's: only the release's app images, by ID.

`docker load` takes every image and every tag a `docker save` stream names. A staging host
that is compromised could send, with the release's images, a re-tagged proxy, database or
base image, and production would then run it. So the stream passes through this filter on
the way (greenlight/host.py move_images), and what reaches `docker load` is:

- each image config whose ID production expects (the digests staging's deploy reported and
  production's deploy checks again), its content hashed here against that ID; every other
  config dropped;
- the layers as they come (docker load checks each one against the diff IDs of the config
  that lists it, which is hashed here);
- a manifest.json written here: the expected images only, under exactly the expected tags.
  `repositories`, `index.json` and `oci-layout` (other ways to name tags) are dropped.

A stream whose manifest names any other image or tag, lacks an expected image, holds a
config that does not hash to its name, or a file that is not part of an image, is refused:
`StreamRefused`, and the caller kills `docker load` before the archive ends, so nothing of
it is loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from typing import BinaryIO

# The files of a `docker save` archive: legacy layout (<layer>/layer.tar, <id>.json) and OCI (blobs/sha256/<hex>).
HEX = r"[0-9a-f]{64}"
LAYER_FILE = re.compile(rf"^{HEX}/(VERSION|json|layer\.tar)$")
LAYER_DIR = re.compile(rf"^({HEX}|blobs|blobs/sha256)/?$")
CONFIG_FILE = re.compile(rf"^({HEX})\.json$")
BLOB = re.compile(rf"^blobs/sha256/({HEX})$")
# docker save links a layer it holds twice to its first copy; nothing else is a link.
LAYER_LINK = re.compile(rf"^{HEX}/layer\.tar$")
LINK_TARGET = re.compile(rf"^\.\./{HEX}/layer\.tar$")
DROPPED = ("repositories", "index.json", "oci-layout")
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024


class StreamRefused(Exception):
    """The stream is not only the expected images; the message says what it held."""


def _hex(image_id: str) -> str:
    return image_id.removeprefix("sha256:")


def _config_of(path: str) -> str:
    """The hex ID a manifest's Config path names ("" for none)."""
    found = CONFIG_FILE.match(path) or BLOB.match(path)
    return found.group(1) if found else ""


def filter_stream(source: BinaryIO, target: BinaryIO, expected: dict[str, str]) -> list[str]:
    """Copy the `docker save` archive on `source` to `target`, keeping only the images of
    `expected` ({tag: image ID}) under those tags. Returns the tags written; raises
    StreamRefused (the archive on `target` then has no end: load nothing of it)."""
    wanted = {_hex(image_id) for image_id in expected.values()}
    if not expected or any(not re.fullmatch(HEX, image_id) for image_id in wanted):
        raise StreamRefused(f"the release names no image ID to check the stream by: {expected}")
    archive = tarfile.open(fileobj=source, mode="r|")
    out = tarfile.open(fileobj=target, mode="w|", format=tarfile.GNU_FORMAT)
    try:
        return _copy(archive, out, expected, wanted)
    except BaseException:
        # No end of archive, not even when the stream object is collected: load nothing of it.
        out.closed = True
        out.fileobj.closed = True  # type: ignore[union-attr]
        raise


def _copy(archive: tarfile.TarFile, out: tarfile.TarFile, expected: dict[str, str], wanted: set[str]) -> list[str]:
    manifest: list | None = None
    configs: set[str] = set()
    names: set[str] = set()
    for member in archive:
        name = member.name.removeprefix("./")
        # A second member of a name would replace the first when docker load unpacks it.
        if name.rstrip("/") in names:
            raise StreamRefused(f"the stream holds {name!r} twice")
        names.add(name.rstrip("/"))
        if name == "manifest.json" and member.isfile():
            manifest = json.loads(_read(archive, member, MAX_MANIFEST_BYTES))
            continue
        if name in DROPPED:
            continue
        config = CONFIG_FILE.match(name) or BLOB.match(name)
        if member.isdir() and LAYER_DIR.match(name):
            out.addfile(member)
        elif member.issym() and LAYER_LINK.match(name) and LINK_TARGET.match(member.linkname):
            out.addfile(member)
        elif member.isfile() and config and config.group(1) in wanted:
            data = _read(archive, member, MAX_CONFIG_BYTES)
            if hashlib.sha256(data).hexdigest() != config.group(1):
                raise StreamRefused(f"the image config {name} does not hash to its name: it is not the image staging ran")
            configs.add(config.group(1))
            out.addfile(member, io.BytesIO(data))
        elif member.isfile() and CONFIG_FILE.match(name):
            continue  # an image production did not ask for: not loaded
        elif member.isfile() and (LAYER_FILE.match(name) or BLOB.match(name)):
            out.addfile(member, archive.extractfile(member))
        else:
            raise StreamRefused(f"the stream holds {name!r}, which is not part of an image")
    entries = _entries(manifest, expected, configs)
    data = json.dumps(entries).encode()
    info = tarfile.TarInfo("manifest.json")
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))
    out.close()
    return sorted(tag for entry in entries for tag in entry["RepoTags"])


def _read(archive: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if member.size > limit:
        raise StreamRefused(f"{member.name} is {member.size} bytes, more than an image's {limit}")
    stream = archive.extractfile(member)
    return stream.read() if stream else b""


def _entries(manifest: list | None, expected: dict[str, str], configs: set[str]) -> list[dict]:
    """The manifest docker load gets: each expected image once, under exactly its expected tags."""
    if manifest is None:
        raise StreamRefused("the stream has no manifest.json: it is not what docker save writes")
    if not isinstance(manifest, list):
        raise StreamRefused("manifest.json is not a list of images")
    tags_of: dict[str, list[str]] = {}
    for tag, image_id in sorted(expected.items()):
        tags_of.setdefault(_hex(image_id), []).append(tag)
    entries, seen = [], set()
    for entry in manifest:
        if not isinstance(entry, dict):
            raise StreamRefused("manifest.json is not a list of images")
        config = _config_of(str(entry.get("Config", "")))
        tags = [str(tag) for tag in entry.get("RepoTags") or []]
        layers = [str(layer) for layer in entry.get("Layers") or []]
        for tag in tags:
            if tag in expected and _hex(expected[tag]) != config:
                raise StreamRefused(f"the stream holds {tag} as image {config[:12] or '?'}, not as image "
                                    f"{_hex(expected[tag])[:12]}, the one staging's deploy reported")
        strange = [tag for tag in tags if tag not in expected]
        if config not in tags_of or strange:
            raise StreamRefused(f"the stream holds {', '.join(strange or tags) or 'an untagged image'} "
                                f"(image {config[:12] or '?'}), which production did not ask for; "
                                f"it expects only {', '.join(sorted(expected))}")
        if not all(LAYER_FILE.match(layer) or BLOB.match(layer) for layer in layers):
            raise StreamRefused(f"the manifest lists layers that are not layer files: {layers}")
        if config in seen:
            continue
        seen.add(config)
        entries.append({"Config": entry["Config"], "RepoTags": tags_of[config], "Layers": layers})
    missing = sorted(tag for tag, image_id in expected.items() if _hex(image_id) not in seen & configs)
    if missing:
        raise StreamRefused(f"the stream lacks {', '.join(missing)} (image {_hex(expected[missing[0]])[:12]}) as staging ran it")
    return entries
