"""greenlight init: parts from Dockerfiles, free ports, a vault of its own, and a pair that
greenlight's own settings check accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from greenlight import init
from greenlight.cli import main
from ansible_collections.greenlight.deploy.plugins.module_utils import settings

REPO = Path(__file__).parents[2]


def git_repo(path: Path, files: dict[str, str]) -> str:
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", "x"], check=True, env=env)
    return str(path)


def test_a_dockerfile_says_the_port_and_the_health_path() -> None:
    text = ("FROM debian\nEXPOSE 3000/tcp\n# HEALTHCHECK CMD curl http://localhost:9/not-this\n"
            "HEALTHCHECK --interval=5s \\\n  CMD curl -f http://localhost:3000/up || exit 1\n")
    assert init.image_from("Dockerfile", text) == init.Image("app", ".", "Dockerfile", 3000, "/up")
    assert init.image_from("services/Worker_1/Dockerfile", "FROM x\nCMD run\n") == init.Image(
        "worker-1", "services/Worker_1", "Dockerfile", None, "")
    assert init.image_from("docker/Dockerfile.api", "EXPOSE 8000 9000\n").name == "api"


def test_the_repositorys_own_dockerfile_is_the_web_part() -> None:
    app = init.App("shop", "/r", [init.Image("app", ".", "Dockerfile", 3000, "/up")])
    assert app.settings()[2] == [{"name": "web", "image": "app", "port": 3000, "health": "/up"}]


def test_several_web_images_one_takes_every_request_and_an_api_gets_api() -> None:
    app = init.App("shop", "/r", [init.Image("backend", "backend", "Dockerfile", 8000, "/health"),
                                  init.Image("frontend", "frontend", "Dockerfile", 8080, ""),
                                  init.Image("worker", "worker", "Dockerfile")])
    images, roles, parts = app.settings()
    assert roles["default"].name == "frontend"
    assert parts == [{"name": "backend", "image": "backend", "port": 8000, "health": "/health", "paths": ["/api/"]},
                     {"name": "frontend", "image": "frontend", "port": 8080, "health": "/"},
                     {"name": "worker", "image": "worker"}]
    assert images == {"backend": {"context": "backend"}, "frontend": {"context": "frontend"}, "worker": {"context": "worker"}}


def test_ports_skip_the_taken_ones_and_never_repeat() -> None:
    busy = {80, 5000, 5001, 5002}
    chosen = init.choose_ports({8404}, is_free=lambda port: port not in busy)
    assert chosen["production"]["proxy_http_port"] == 81
    assert chosen["production"]["proxy_api_port"] == 5003 and chosen["staging"]["proxy_api_port"] == 5004
    assert chosen["production"]["proxy_metrics_port"] == 8405 and chosen["staging"]["proxy_metrics_port"] == 8406
    every = [p for env in chosen.values() for p in env.values()]
    assert len(every) == len(set(every))


def test_init_writes_a_pair_the_settings_check_accepts_with_its_own_vault(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "shop", {
        "api/Dockerfile": "FROM x\nEXPOSE 8000\nHEALTHCHECK CMD wget -q -O- http://127.0.0.1:8000/healthz\n",
        "web/Dockerfile": "FROM x\nEXPOSE 8080\n", "worker/Dockerfile": "FROM x\nCMD work\n"})
    found = init.create(tmp_path / "inv", repo, greenlight_root=tmp_path / "state", is_free=lambda port: True)
    assert found[:3] == ["api/Dockerfile: web part on port 8000, health /healthz",
                         "web/Dockerfile: web part on port 8080, health / (no HEALTHCHECK path)",
                         "worker/Dockerfile: a worker (no EXPOSE)"]
    password = (tmp_path / "inv/.vault-password").read_text().strip()
    assert (tmp_path / "inv/.vault-password").stat().st_mode & 0o777 == 0o600
    assert ".vault-password" in (tmp_path / "inv/.gitignore").read_text()
    from ansible.parsing.vault import VaultLib, VaultSecret
    for env in ("staging", "production"):
        written = yaml.safe_load((tmp_path / f"inv/{env}/group_vars/all/main.yml").read_text())
        assert written["greenlight_app"] == "shop" and written["greenlight_env"] == env
        assert [p["name"] for p in written["app_parts"]] == ["api", "web", "worker"]
        assert "port" not in written["app_parts"][2]
        assert settings.problems({k: v for k, v in written.items() if k in ("app_images", "app_parts", "app_migrate_image",
                                                                             "deploy_strategy", "proxy_http_port")}) == []
        vault = (tmp_path / f"inv/{env}/group_vars/all/vault.yml").read_bytes()
        assert vault.startswith(b"$ANSIBLE_VAULT")
        plain = yaml.safe_load(VaultLib([("default", VaultSecret(password.encode()))]).decrypt(vault))
        assert sorted(plain) == sorted(init.SECRETS) and all(len(v) >= 32 for v in plain.values())
    with pytest.raises(init.InitError, match="exists already"):
        init.create(tmp_path / "inv", repo, greenlight_root=tmp_path / "state", is_free=lambda port: True)


def test_a_repository_without_a_web_dockerfile_is_refused_with_what_to_do(tmp_path: Path, capsys) -> None:
    repo = git_repo(tmp_path / "tool", {"Dockerfile": "FROM x\nCMD run\n"})
    assert main(["init", str(tmp_path / "inv"), "--repo", repo]) == 2
    assert "no Dockerfile of the repository EXPOSEs a port" in capsys.readouterr().err
    assert not (tmp_path / "inv").exists()
    assert main(["init", str(tmp_path / "inv"), "--repo", str(tmp_path / "missing")]) == 2
    assert "cannot clone" in capsys.readouterr().err


# -- which Docker engine an inventory names (greenlight promote moves images between two) --

from greenlight.pipeline import engine  # noqa: E402

# The settings as Ansible resolved them (greenlight/variables.py): init's inventories set
# ansible_connection to "local" for localhost and "ssh" for any other host.
@pytest.mark.parametrize(("staging", "production", "same"), [
    ({"ansible_host": "localhost", "ansible_connection": "local"}, {"ansible_host": "127.0.0.1"}, True),
    ({"ansible_host": "203.0.113.7", "ansible_connection": "ssh"}, {"ansible_host": "localhost"}, False),
    # The second-engine test: staging over SSH to this machine's port 18022, production local.
    ({"ansible_host": "127.0.0.1", "ansible_connection": "ssh", "ansible_port": 18022, "ansible_user": "d"},
     {"ansible_host": "localhost", "ansible_connection": "local"}, False),
    ({"ansible_host": "vps", "ansible_user": "d"}, {"ansible_host": "vps", "ansible_user": "d", "ansible_port": 22}, True),
    ({"ansible_host": "vps"}, {"ansible_host": "vps", "greenlight_docker_socket": "/run/other.sock"}, False),
])
def test_two_environments_share_an_engine_only_on_one_host_and_socket(staging: dict, production: dict, same: bool) -> None:
    assert (engine(staging) == engine(production)) is same


def test_a_folder_named_like_a_template_is_said_skipped_and_never_run(tmp_path: Path, monkeypatch) -> None:
    """Folder names come from the app's repository: one greenlight does not take is not written."""
    hostile = "{{ lookup('ansible.builtin.pipe', 'touch init-ran') }}"
    repo = git_repo(tmp_path / "shop", {"Dockerfile": "FROM x\nEXPOSE 8000\n", f"{hostile}/Dockerfile": "FROM x\n"})
    monkeypatch.chdir(tmp_path)
    found = init.create(tmp_path / "inv", repo, greenlight_root=tmp_path / "state", is_free=lambda port: True)
    assert any(line.startswith(repr(f"{hostile}/Dockerfile")) and "skipped" in line for line in found), found
    written = (tmp_path / "inv/staging/group_vars/all/main.yml").read_text()
    assert "lookup" not in written
    assert not (tmp_path / "init-ran").exists()


def test_a_repository_url_with_a_token_goes_to_the_vault_not_the_inventory() -> None:
    app = init.App("shop", "https://deploy:s3cret-token@git.example/shop.git",
                   [init.Image("app", ".", "Dockerfile", 3000, "/up")])
    written = init.main_yml(app, "production", init.PORTS["production"], "")
    assert "s3cret-token" not in written and 'app_repo: "{{ vault_app_repo }}"' in written
    from ansible.parsing.vault import VaultLib, VaultSecret
    vault = init.vault_text("pw", {"vault_app_repo": app.repo})
    plain = yaml.safe_load(VaultLib([("default", VaultSecret(b"pw"))]).decrypt(vault))
    assert plain["vault_app_repo"] == app.repo


@pytest.mark.parametrize("text", ["{{ x }}", "{% if %}", "{# c #}", "#jinja2:variable_start_string:'[['\n[[ x ]]"])
def test_template_text_in_any_form_is_written_as_data(text: str) -> None:
    assert settings.is_template(text) and init.dump({"context": text}).startswith("{context: !unsafe ")


def test_a_multi_stage_dockerfile_is_read_from_its_last_stage_with_its_build_arguments() -> None:
    text = ("ARG PORT=3000\nFROM node:20 AS build\nEXPOSE 9999\nHEALTHCHECK CMD curl -f http://localhost:9999/build\n"
            "RUN make \\\n  all\nFROM debian\nARG PORT\nENV HEALTH=/up\nEXPOSE ${PORT}/tcp\n"
            "HEALTHCHECK --interval=5s CMD curl -f http://localhost:${PORT}$HEALTH || exit 1\n")
    assert init.image_from("Dockerfile", text) == init.Image("app", ".", "Dockerfile", 3000, "/up")
    # A builder stage's EXPOSE is not the image's: a last stage without one is a worker.
    assert init.image_from("Dockerfile", "FROM a AS build\nEXPOSE 80\nFROM b\nCMD run\n").port is None


@pytest.mark.parametrize(("text", "reason"), [
    ("FROM a\nENV A=1 B\nEXPOSE 80\n", "dockerfile-parse cannot read it"),
    ("FROM a\nLABEL a=b c\nEXPOSE 80\n", "dockerfile-parse cannot read it"),
    ("FROM a\nENV \nEXPOSE 80\n", "dockerfile-parse cannot read it"),
    ("FROM a\n" + "RUN true\n" * 1001, "more than 1000 instructions"),
    ("FROM a\nRUN " + "x" * 300_000 + "\n", "larger than 256 KiB"),
])
def test_a_dockerfile_init_cannot_read_is_skipped_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(init.Unreadable, match=reason):
        init.image_from("Dockerfile", text)


def test_values_that_double_line_by_line_stay_as_written_and_cost_no_memory() -> None:
    import resource

    lines = ["FROM a", "ENV E0=xxxxxxxxxxxxxxxx"] + [f"ENV E{i}=${{E{i - 1}}}${{E{i - 1}}}" for i in range(1, 40)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    image = init.image_from("Dockerfile", "\n".join(lines + ["EXPOSE 8080", "ENV P=${E39}"]) + "\n")
    assert image.port == 8080
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


def test_migrations_are_run_in_the_api_image_when_there_is_one() -> None:
    import yaml

    images = [init.Image("backend", "backend", "Dockerfile", 5000, "/health"), init.Image("frontend", "frontend", "Dockerfile", 80, "")]
    ports = {key: 1 for key in ("proxy_http_port", "proxy_https_port", "proxy_api_port", "proxy_preview_port",
                                "proxy_metrics_port", "mysql_port", "monitoring_mysqld_exporter_port")}
    written = yaml.safe_load(init.main_yml(init.App("shop", "/r", images), "production", ports, ""))
    assert written["app_migrate_image"] == "backend" and written["backend_migrate_command"] == []
    alone = yaml.safe_load(init.main_yml(init.App("shop", "/r", [images[1]]), "production", ports, ""))
    assert alone["app_migrate_image"] == "frontend"
