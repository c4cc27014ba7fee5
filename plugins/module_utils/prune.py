"""What `greenlight prune` (and the end of every deploy) may remove, decided from facts only.

Per commit, an app's images (<app>-backend:<commit[:12]>, ...) and its source tree
(<release_dir>/src/<commit>) are shared by every environment of the app on the host, so
what is kept is read from every one of their histories (<root>/<app>-*/history.jsonl):

- what each history says serves, and its warm color's release (a rollback is one switch);
- the last `keep_releases` releases each environment deployed successfully (a rollback to
  one of them, or a promote of staging's, finds its images);
- whatever any container on the host, of any app, in any state, was made from;
- anything younger than `min_age_s` (a build of another run, not yet in any history).

greenlight's own images (proxy, database, monitoring, anonymizer) are shared by every app
on the host: the newest of each repository stays, and an older one goes when no container
uses it. Of the environment's containers, only a one-shot part's (migrations, seeding, a
backup check, the anonymizer) left stopped by a run that was killed goes. Backups are the
backup role's to keep or drop (backup_keep); prune never touches them, nor volumes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.greenlight.deploy.plugins.module_utils import history

# Parts a run starts, waits for and removes; one left stopped was abandoned by a killed run.
ONE_SHOT_PARTS = ("migrate", "seed", "backup-verify", "anonymize", "import")


@dataclass(frozen=True)
class Image:
    id: str
    tags: tuple[str, ...]  # repository:tag
    created: float         # seconds since the epoch
    size: int


@dataclass(frozen=True)
class Tree:
    name: str              # a commit, or <commit>.part (a build cut short)
    modified: float
    size: int


@dataclass
class Plan:
    images: list[dict] = field(default_factory=list)      # {ref, id, size, freed}
    trees: list[dict] = field(default_factory=list)       # {name, size}
    containers: list[str] = field(default_factory=list)
    kept: dict = field(default_factory=dict)              # {commits: [...], why: {commit: reason}}


def kept_commits(histories: dict[str, list[dict]], keep_releases: int, colors: list[str]) -> dict[str, str]:
    """commit -> why it is kept, from every environment's history."""
    kept: dict[str, str] = {}
    for env, records in histories.items():
        live = history.recorded_live(records, colors)
        if live is not None:
            kept.setdefault(live.commit, f"live in {env}")
            if live.warm_commit:
                kept.setdefault(live.warm_commit, f"warm in {env}")
        recent: list[str] = []
        for record in reversed(records):
            commit = record.get("commit") or ""
            if (record.get("kind") in ("deploy", "rollback") and record.get("outcome") == "success"
                    and commit and commit not in recent):
                recent.append(commit)
            if len(recent) >= keep_releases:
                break
        for commit in recent:
            kept.setdefault(commit, f"one of the last {keep_releases} releases of {env}")
    return kept


def plan(*, images: list[Image], used_image_ids: set[str], app_repositories: list[str],
         own_repositories: list[str], kept: dict[str, str], trees: list[Tree], containers: list[dict],
         now: float, min_age_s: float) -> Plan:
    """What goes. `containers` are the environment's own: {name, part, state}."""
    result = Plan(kept={"commits": sorted(kept), "why": kept})
    kept_tags = {commit[:12] for commit in kept}
    newest_own: dict[str, str] = {}
    for image in sorted(images, key=lambda i: i.created):
        for tag in image.tags:
            newest_own[tag.rsplit(":", 1)[0]] = image.id
    for image in images:
        if image.id in used_image_ids or now - image.created < min_age_s:
            continue
        going = []
        for ref in image.tags:
            repository, tag = ref.rsplit(":", 1)
            if repository in app_repositories and tag not in kept_tags:
                going.append(ref)
            elif repository in own_repositories and newest_own.get(repository) != image.id:
                going.append(ref)
        for ref in going:
            # Docker frees the layers when the last tag goes.
            result.images.append({"ref": ref, "id": image.id, "size": image.size,
                                  "freed": image.size if ref == going[-1] and len(going) == len(image.tags) else 0})
    kept_full = set(kept)
    for tree in trees:
        commit = tree.name.removesuffix(".part")
        if now - tree.modified < min_age_s:
            continue
        if tree.name.endswith(".part") or commit not in kept_full:
            result.trees.append({"name": tree.name, "size": tree.size})
    result.containers = sorted(c["name"] for c in containers
                               if c.get("part") in ONE_SHOT_PARTS and c.get("state") != "running")
    return result
