"""What prune keeps: what serves, the warm color's release, the last releases of every
environment, whatever a container uses, anything young, and the newest of greenlight's own images."""

from __future__ import annotations

from ansible_collections.greenlight.deploy.plugins.module_utils.prune import Image, Tree, kept_commits, plan

A, B, C, D, E = (letter * 40 for letter in "abcde")
NOW = 1_000_000.0
OLD = NOW - 7200


def deploy(commit: str, outcome: str = "success", color: str = "blue", warm: str = "") -> dict:
    return {"kind": "deploy", "commit": commit, "version": commit[:4], "outcome": outcome,
            "live": {"version": commit[:4], "commit": commit, "color": color, "serving": [color],
                     "warm": {"color": "green", "version": warm[:4], "commit": warm} if warm else {}}
            if outcome == "success" else {}}


def test_the_live_and_warm_releases_and_the_last_ones_of_every_environment_are_kept() -> None:
    histories = {
        "shop-production": [deploy(A), deploy(B, warm=A), deploy(C, warm=B), deploy(E, outcome="failed")],
        "shop-staging": [deploy(D), deploy(C)],
    }
    kept = kept_commits(histories, keep_releases=1, colors=["blue", "green"])
    # Staging's D is neither live, warm nor its last release (keep_releases 1); a failed E never served.
    assert kept == {C: "live in shop-production", B: "warm in shop-production"}


def test_keep_releases_counts_distinct_successful_releases_per_environment() -> None:
    histories = {"shop-production": [deploy(A), deploy(B), deploy(C), deploy(C), deploy(D)]}
    assert set(kept_commits(histories, keep_releases=3, colors=["blue", "green"])) == {B, C, D}


def image(tag: str, ident: str, created: float = OLD, size: int = 100) -> Image:
    return Image(ident, (tag,), created, size)


def test_only_unused_old_images_of_unkept_commits_go_and_the_newest_own_image_stays() -> None:
    images = [
        image(f"shop-backend:{A[:12]}", "i-a"),                 # unkept: goes
        image(f"shop-backend:{B[:12]}", "i-b"),                 # kept commit
        image(f"shop-backend:{C[:12]}", "i-c"),                 # a stopped container uses it
        image(f"shop-backend:{D[:12]}", "i-d", created=NOW - 60),  # young: another run builds it
        image("greenlight/haproxy:old", "i-h1", created=OLD - 10),
        image("greenlight/haproxy:new", "i-h2", created=OLD),   # newest of its repository
        image("other-app:1", "i-o"),                            # not ours
    ]
    result = plan(images=images, used_image_ids={"i-c"}, app_repositories=["shop-backend"],
                  own_repositories=["greenlight/haproxy"], kept={B: "live"}, trees=[], containers=[],
                  now=NOW, min_age_s=3600)
    assert [i["ref"] for i in result.images] == [f"shop-backend:{A[:12]}", "greenlight/haproxy:old"]
    assert all(i["freed"] == 100 for i in result.images)


def test_an_image_with_a_kept_tag_only_loses_its_other_tag_and_frees_nothing() -> None:
    both = Image("i-x", (f"shop-backend:{A[:12]}", f"shop-backend:{B[:12]}"), OLD, 100)
    result = plan(images=[both], used_image_ids=set(), app_repositories=["shop-backend"], own_repositories=[],
                  kept={B: "live"}, trees=[], containers=[], now=NOW, min_age_s=3600)
    assert result.images == [{"ref": f"shop-backend:{A[:12]}", "id": "i-x", "size": 100, "freed": 0}]


def test_source_trees_of_unkept_commits_and_old_cut_builds_go() -> None:
    trees = [Tree(A, OLD, 10), Tree(B, OLD, 10), Tree(f"{B}.part", OLD, 5), Tree(f"{C}.part", NOW - 5, 5)]
    result = plan(images=[], used_image_ids=set(), app_repositories=[], own_repositories=[], kept={B: "live"},
                  trees=trees, containers=[], now=NOW, min_age_s=3600)
    assert [t["name"] for t in result.trees] == [A, f"{B}.part"]


def test_only_stopped_one_shot_containers_go() -> None:
    containers = [{"name": "shop-staging-migrate", "part": "migrate", "state": "exited"},
                  {"name": "shop-staging-seed", "part": "seed", "state": "running"},
                  {"name": "shop-staging-backend-blue", "part": "backend", "state": "exited"}]
    result = plan(images=[], used_image_ids=set(), app_repositories=[], own_repositories=[], kept={},
                  trees=[], containers=containers, now=NOW, min_age_s=3600)
    assert result.containers == ["shop-staging-migrate"]
