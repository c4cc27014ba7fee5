"""Filters of greenlight's roles: the one derivation of a release's image references.

    {{ release_images | greenlight_image_refs(commit) }}  ->  {image: "<repository>:<tag>"}
    {{ commit | greenlight_image_tag }}                    ->  the commit's first 12 characters

A release's images are tagged by its commit, so every environment on a host shares them and
a worker, a rollback or a promotion finds them from the commit alone.
"""

from __future__ import annotations

TAG_LENGTH = 12


def image_tag(commit: str) -> str:
    commit = str(commit or "")
    if len(commit) < TAG_LENGTH:
        raise ValueError(f"greenlight_image_tag: {commit!r} is not a commit (40 hexadecimal characters)")
    return commit[:TAG_LENGTH]


def image_refs(images: dict, commit: str) -> dict:
    tag = image_tag(commit)
    return {name: f"{repository}:{tag}" for name, repository in dict(images).items()}


class FilterModule:
    def filters(self) -> dict:
        return {"greenlight_image_tag": image_tag, "greenlight_image_refs": image_refs}
