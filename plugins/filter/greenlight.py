"""Filters of greenlight's roles: the one derivation of a release's image references, and of
the app repository's URL without its credentials (plugins/module_utils/git_auth.py).

    {{ release_images | greenlight.deploy.image_refs(commit) }}  ->  {image: "<repository>:<tag>"}
    {{ commit | greenlight.deploy.image_tag }}                    ->  the commit's first 12 characters
    {{ app_repo | greenlight.deploy.git_plain_url }}              ->  the URL without user:password@
    {{ app_repo | greenlight.deploy.git_auth_config }}            ->  a git config sending them as a header
    {{ role_path | greenlight.deploy.fingerprint }}                ->  one hash of every file under a folder
    {{ part.database | greenlight.deploy.database_env(host, name, user, mount) }}  ->  its env file's text
    {{ image_config | greenlight.deploy.password_wrapped(part.command) }}  ->  {entrypoint, command}

A release's images are tagged by its commit, so every environment on a host shares them and
a worker, a rollback or a promotion finds them from the commit alone.
"""

from __future__ import annotations


from ansible_collections.greenlight.deploy.plugins.module_utils import database_env as database
from ansible_collections.greenlight.deploy.plugins.module_utils.converged import fingerprint
from ansible_collections.greenlight.deploy.plugins.module_utils.git_auth import auth_config, plain_url

TAG_LENGTH = 12


def image_tag(commit: str) -> str:
    commit = str(commit or "")
    if len(commit) < TAG_LENGTH:
        raise ValueError(f"greenlight.deploy.image_tag: {commit!r} is not a commit (40 hexadecimal characters)")
    return commit[:TAG_LENGTH]


def image_refs(images: dict, commit: str) -> dict:
    tag = image_tag(commit)
    return {name: f"{repository}:{tag}" for name, repository in dict(images).items()}


def database_env(setting: object, host: str, name: str, user: str, mount: str, port: int = database.PORT) -> str:
    return database.env_text(setting, str(host), str(name), str(user), str(mount), int(port))


def password_wrapped(config: dict, command: list | None = None) -> dict:
    entrypoint, cmd = database.wrapped((config or {}).get("Entrypoint"), (config or {}).get("Cmd"), command)
    return {"entrypoint": entrypoint, "command": cmd}


class FilterModule:
    def filters(self) -> dict:
        return {"image_tag": image_tag, "image_refs": image_refs,
                "git_plain_url": plain_url, "git_auth_config": auth_config,
                "fingerprint": fingerprint, "database_env": database_env, "password_wrapped": password_wrapped}
