"""Which image a tag of greenlight's own images (proxy, database, monitoring, anonymizer) must
name: the one this environment built or first ran, by ID.

A tag is a name anyone with the Docker engine can move (`docker tag`, `docker load`); an ID is
the hash of the image's content. So every image greenlight runs besides the release's (whose
IDs the history records and promote checks) is pinned: the first time an environment runs a
tag, or each time it builds it, the tag's ID is recorded in the environment's pins file; a
later run that finds the tag naming another image refuses to start anything from it.
"""

from __future__ import annotations

import json

from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically


def decide(pinned: dict, found: dict, built: list) -> tuple[dict, list[str]]:
    """The pins after this run, and a problem for each tag that names another image than its pin.

    `found`: {tag: the ID it names now}; `built`: the tags this run built (their new IDs are pinned).
    """
    pins, problems = dict(pinned), []
    for tag, image_id in sorted(found.items()):
        if not image_id:
            problems.append(f"the image {tag} is not on the host")
        elif tag in built or tag not in pins:
            pins[tag] = image_id
        elif pins[tag] != image_id:
            problems.append(
                f"the image {tag} is now {image_id.removeprefix('sha256:')[:12]}, not the "
                f"{pins[tag].removeprefix('sha256:')[:12]} this environment built or first ran: something re-tagged it "
                f"(a docker load or docker tag on this host). Nothing was started from it. If you did it on purpose, "
                f"remove the tag (docker rmi {tag}) and run again: greenlight builds it anew")
    return pins, problems


def load(path: str) -> dict:
    try:
        with open(path) as stream:
            pins = json.load(stream)
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{path} is not greenlight's image pins ({exc}); remove it to pin the images again") from exc
    if not isinstance(pins, dict) or not all(isinstance(v, str) for v in pins.values()):
        raise ValueError(f"{path} is not greenlight's image pins; remove it to pin the images again")
    return pins


def save(path: str, pins: dict) -> None:
    write_atomically(path, json.dumps(pins, indent=1, sort_keys=True) + "\n", 0o600)
