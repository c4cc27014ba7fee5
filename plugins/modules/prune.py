#!/usr/bin/python
"""Remove what no environment of the app needs any more (plugins/module_utils/prune.py decides)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prune
short_description: Remove the app's images, source trees and abandoned one-shot containers that nothing needs
description:
  - >-
      Reads every history of the app on the host, every container (any app, any state) and
      every image, and removes what plugins/module_utils/prune.py says may go; in check mode only says
      what would go (C(greenlight prune --dry-run)).
  - >-
      Safe to kill at any point; each removal is one call, and a rerun finds what is left.
options:
  labels: {description: "Labels every container of the environment carries (greenlight_labels).", type: dict, required: true}
  histories: {description: "A glob of the history files of every environment of the app on this host (greenlight_app_histories).", type: str, required: true}
  colors: {description: "The color slots.", type: list, elements: str, required: true}
  release_dir: {description: "The app's release folder (its src/ holds one source tree per commit).", type: path, required: true}
  app_repositories: {description: "The app's image repositories (tag = commit[:12]).", type: list, elements: str, required: true}
  own_repositories: {description: "greenlight's own image repositories (proxy, database, monitoring, anonymizer).", type: list, elements: str, required: true}
  keep_releases: {description: "Successful releases of each environment kept besides the live and warm ones.", type: int, default: 3}
  min_age_s: {description: "Nothing younger than this goes (another run may be building it).", type: float, default: 3600}
  docker_socket: {description: "The Docker engine's socket on the host.", type: path, default: /var/run/docker.sock}
author: greenlight
"""

EXAMPLES = r"""
- name: Prune the shop app
  greenlight.deploy.prune:
    labels: {greenlight.app: shop, greenlight.env: production}
    histories: /var/lib/greenlight/shop-*/history.jsonl
    colors: [blue, green]
    release_dir: /var/lib/greenlight/shop
    app_repositories: [shop-backend, shop-frontend]
    own_repositories: [greenlight/haproxy, greenlight/mariadb]
"""

RETURN = r"""
images: {description: "Image tags removed (or that would be): ref, id, size, freed bytes.", returned: always, type: list}
trees: {description: "Source trees removed: name, size.", returned: always, type: list}
containers: {description: "Abandoned one-shot containers removed.", returned: always, type: list}
in_use: {description: "Tags Docker refused to remove because a container started using them meanwhile.", returned: always, type: list}
freed_bytes: {description: "Disk space freed (or that would be).", returned: always, type: int}
kept: {description: "The commits kept, and why.", returned: always, type: dict}
"""

import glob
import os
import shutil
import time

from ansible_collections.greenlight.deploy.plugins.module_utils import docker_api, history, prune
from ansible.module_utils.basic import AnsibleModule


def tree_size(path: str) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "labels": {"type": "dict", "required": True},
            "histories": {"type": "str", "required": True},
            "colors": {"type": "list", "elements": "str", "required": True},
            "release_dir": {"type": "path", "required": True},
            "app_repositories": {"type": "list", "elements": "str", "required": True},
            "own_repositories": {"type": "list", "elements": "str", "required": True},
            "keep_releases": {"type": "int", "default": 3},
            "min_age_s": {"type": "float", "default": 3600.0},
            "docker_socket": {"type": "path", "default": "/var/run/docker.sock"},
        },
        supports_check_mode=True,
    )
    p = module.params
    socket = p["docker_socket"]
    try:
        histories = {os.path.basename(os.path.dirname(path)): history.read(path).records
                     for path in sorted(glob.glob(p["histories"]))}
        kept = prune.kept_commits(histories, max(1, p["keep_releases"]), p["colors"])
        everything = docker_api.list_all_containers(socket)
        used = {c.image_id for c in everything}
        # A container records its commit: whatever exists keeps its release, even with another image.
        for container in everything:
            if container.commit and container.labels.get("greenlight.app") == p["labels"].get("greenlight.app"):
                kept.setdefault(container.commit, f"container {container.name}")
        images = [prune.Image(i["Id"], tuple(t for t in i.get("RepoTags") or [] if t != "<none>:<none>"),
                              float(i.get("Created", 0)), int(i.get("Size", 0))) for i in docker_api.list_images(socket)]
        src = os.path.join(p["release_dir"], "src")
        trees = []
        if os.path.isdir(src):
            for name in os.listdir(src):
                path = os.path.join(src, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    trees.append(prune.Tree(name, os.lstat(path).st_mtime, tree_size(path)))
        own = [{"name": c.name, "part": c.part, "state": c.state} for c in everything
               if all(c.labels.get(k) == v for k, v in p["labels"].items())]
        plan = prune.plan(images=images, used_image_ids=used, app_repositories=p["app_repositories"],
                          own_repositories=p["own_repositories"], kept=kept, trees=trees, containers=own,
                          now=time.time(), min_age_s=p["min_age_s"])
        in_use = []
        if not module.check_mode:
            for name in plan.containers:
                docker_api.remove_container(socket, name)
            for image in plan.images:
                if not docker_api.remove_image(socket, image["ref"]):
                    in_use.append(image["ref"])
            for tree in plan.trees:
                shutil.rmtree(os.path.join(src, tree["name"]), ignore_errors=True)
    except (OSError, ValueError, docker_api.DockerError) as exc:
        module.fail_json(msg=f"cannot prune: {exc}")
    images = [i for i in plan.images if i["ref"] not in in_use]
    freed = sum(i["freed"] for i in images) + sum(t["size"] for t in plan.trees)
    module.exit_json(changed=bool(images or plan.trees or plan.containers), images=images, trees=plan.trees,
                     containers=plan.containers, in_use=in_use, freed_bytes=freed, kept=plan.kept)


if __name__ == "__main__":
    main()
