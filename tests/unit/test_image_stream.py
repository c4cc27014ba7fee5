"""Only the release's images, by ID and under the expected tags, get from staging's `docker
save` into production's `docker load` (greenlight/image_stream.py). Archives are built here
in docker save's own layout; tests/e2e/test_ssh.py sends a real one from a second engine."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from greenlight.image_stream import StreamRefused, filter_stream


def image(tag_layer: bytes = b"layer") -> tuple[str, bytes, str]:
    config = json.dumps({"rootfs": {"diff_ids": ["sha256:" + hashlib.sha256(tag_layer).hexdigest()]}}).encode()
    image_id = hashlib.sha256(config).hexdigest()
    return image_id, config, hashlib.sha256(b"dir" + tag_layer).hexdigest()


def archive(images: list[tuple[str, bytes, str, list[str]]], extra: dict[str, bytes] | None = None,
            manifest: list | None = None) -> io.BytesIO:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        entries = []
        for image_id, config, layer, tags in images:
            directory = tarfile.TarInfo(layer + "/")
            directory.type = tarfile.DIRTYPE
            tar.addfile(directory)
            add(f"{layer}/layer.tar", b"layer-bytes")
            add(f"{layer}/VERSION", b"1.0")
            add(f"{image_id}.json", config)
            entries.append({"Config": f"{image_id}.json", "RepoTags": tags, "Layers": [f"{layer}/layer.tar"]})
        for name, data in (extra or {}).items():
            add(name, data)
        add("manifest.json", json.dumps(manifest if manifest is not None else entries).encode())
        add("repositories", b'{"greenlight/haproxy": {"x": "y"}}')
    out.seek(0)
    return out


def names_and_manifest(data: bytes) -> tuple[list[str], list]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        return sorted(tar.getnames()), manifest


BACKEND, FRONTEND, PROXY = image(b"backend"), image(b"frontend"), image(b"proxy")
EXPECTED = {"shop-backend:abc": "sha256:" + BACKEND[0], "shop-frontend:abc": "sha256:" + FRONTEND[0]}


def test_the_release_images_pass_under_the_expected_tags_and_nothing_else() -> None:
    out = io.BytesIO()
    sent = archive([(*BACKEND, ["shop-backend:abc"]), (*FRONTEND, ["shop-frontend:abc"])])
    assert filter_stream(sent, out, EXPECTED) == sorted(EXPECTED)
    names, manifest = names_and_manifest(out.getvalue())
    assert "repositories" not in names and f"{BACKEND[0]}.json" in names
    assert sorted(tag for entry in manifest for tag in entry["RepoTags"]) == sorted(EXPECTED)


def test_two_tags_of_one_image_are_loaded_as_one_image_with_both() -> None:
    out = io.BytesIO()
    both = {"shop-backend:abc": "sha256:" + BACKEND[0], "shop-backend:def": "sha256:" + BACKEND[0]}
    filter_stream(archive([(*BACKEND, ["shop-backend:abc", "shop-backend:def"])]), out, both)
    assert names_and_manifest(out.getvalue())[1][0]["RepoTags"] == ["shop-backend:abc", "shop-backend:def"]


@pytest.mark.parametrize(("sent", "phrase"), [
    # A compromised staging re-tags another image as greenlight's proxy and sends it along.
    (archive([(*BACKEND, ["shop-backend:abc"]), (*FRONTEND, ["shop-frontend:abc"]), (*PROXY, ["greenlight/haproxy:c7"])]),
     "greenlight/haproxy:c7"),
    # ... or adds the proxy's tag to a release image.
    (archive([(*BACKEND, ["shop-backend:abc", "greenlight/haproxy:c7"]), (*FRONTEND, ["shop-frontend:abc"])]),
     "greenlight/haproxy:c7"),
    # ... or sends another image under a release tag.
    (archive([(*PROXY, ["shop-backend:abc"]), (*FRONTEND, ["shop-frontend:abc"])]), "shop-backend:abc as image"),
    (archive([(*BACKEND, ["shop-backend:abc"])]), "lacks shop-frontend:abc"),
    (archive([(*BACKEND, ["shop-backend:abc"]), (*FRONTEND, ["shop-frontend:abc"])], extra={"etc/cron.d/x": b"* * * * *"}),
     "not part of an image"),
    (archive([(BACKEND[0], b'{"tampered": true}', BACKEND[2], ["shop-backend:abc"]), (*FRONTEND, ["shop-frontend:abc"])]),
     "does not hash to its name"),
    (archive([(*BACKEND, ["shop-backend:abc"]), (*FRONTEND, ["shop-frontend:abc"])], manifest={"not": "a list"}),
     "not a list of images"),
])
def test_anything_else_in_the_stream_is_refused(sent: io.BytesIO, phrase: str) -> None:
    with pytest.raises(StreamRefused, match=phrase.replace("(", r"\(")):
        filter_stream(sent, io.BytesIO(), EXPECTED)


def test_a_second_member_of_a_name_or_a_link_to_another_config_is_refused() -> None:
    """docker load keeps the last member of a name, and follows links: a checked config must
    not be replaced or pointed elsewhere after its check."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in ((f"blobs/sha256/{BACKEND[0]}", BACKEND[1]), (f"blobs/sha256/{PROXY[0]}", PROXY[1])):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo(f"blobs/sha256/{BACKEND[0]}")
        link.type, link.linkname = tarfile.SYMTYPE, f"../../blobs/sha256/{PROXY[0]}"
        tar.addfile(link)
    out.seek(0)
    with pytest.raises(StreamRefused, match="twice"):
        filter_stream(out, io.BytesIO(), {"shop-backend:abc": "sha256:" + BACKEND[0]})
    alone = io.BytesIO()
    with tarfile.open(fileobj=alone, mode="w", format=tarfile.GNU_FORMAT) as tar:
        link = tarfile.TarInfo(f"blobs/sha256/{BACKEND[0]}")
        link.type, link.linkname = tarfile.SYMTYPE, f"../../blobs/sha256/{PROXY[0]}"
        tar.addfile(link)
    alone.seek(0)
    with pytest.raises(StreamRefused, match="not part of an image"):
        filter_stream(alone, io.BytesIO(), {"shop-backend:abc": "sha256:" + BACKEND[0]})


def test_a_release_without_image_ids_is_refused() -> None:
    with pytest.raises(StreamRefused, match="no image ID"):
        filter_stream(archive([]), io.BytesIO(), {"shop-backend:abc": ""})
