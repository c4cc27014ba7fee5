"""greenlight adopt ENV --project P [--service PART=SERVICE] | greenlight adopt ENV --finish."""

from __future__ import annotations

from ..pipeline import ENVIRONMENTS, ExitCode, Outcome, Pipeline, Stage, UsageError, check_env

NAME = "adopt"
HELP = "serve a running compose app's containers behind greenlight's proxy with no request refused; --finish stops them"
USAGE = "greenlight adopt ENV --project PROJECT [--service PART=SERVICE ...] | greenlight adopt ENV --finish"
READ_ONLY = False


def arguments(parser) -> None:
    parser.add_argument("env", choices=ENVIRONMENTS)
    parser.add_argument("--project", default="", help="the compose project (docker-compose's -p; by default its folder's name)")
    parser.add_argument("--service", action="append", default=[], metavar="PART=SERVICE",
                        help="the compose service of a web part whose name differs from the part's")
    parser.add_argument("--finish", action="store_true",
                        help="once a release of greenlight's serves: stop the compose app's web containers and give "
                             "greenlight's proxy the public ports")


def run(args, pipeline):
    # The module's own rules for a project's and a part's names (plugins/module_utils/adopt.py).
    from ansible_collections.greenlight.deploy.plugins.module_utils.adopt import PART_NAME, PROJECT_NAME  # noqa: PLC0415

    if args.finish:
        if args.project or args.service:
            raise UsageError("greenlight adopt ENV --finish takes no --project or --service: the adoption names them")
        return finish(pipeline, args.env)
    if not PROJECT_NAME.fullmatch(args.project):
        raise UsageError(f"--project {args.project!r}: the compose project, lowercase letters, digits, - and _ "
                         f"(docker-compose ps shows it in the containers' names)")
    services = {}
    for item in args.service:
        part, _, service = item.partition("=")
        if not (PART_NAME.fullmatch(part) and PROJECT_NAME.fullmatch(service.lower()) and service.isascii()):
            raise UsageError(f"--service {item!r}: PART=SERVICE, a web part's name and its compose service")
        services[part] = service
    return adopt(pipeline, args.env, args.project, services)


def adopt(pipeline: Pipeline, env: str, project: str, services: dict[str, str]) -> Outcome:
    check_env(env, pipeline.inventory_dir)
    command = f"adopt {env}"
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"adopt {project} into {env}", "adopt.yml", env,
                            {"adopt_project": project, "adopt_services": services})
    if not result.ok:
        return pipeline.failed(command, stages, result, f"adopting {project} into {env} failed")
    info = result.stats.get("greenlight_adopt", {})
    containers = ", ".join(f"{part} {name}" for part, name in sorted(info.get("containers", {}).items()))
    ports = ", ".join(str(port) for port in info.get("ports", []))
    return Outcome(command, ExitCode.OK,
                   f"{env}: greenlight's proxy serves {project}'s containers ({containers}) as {info.get('color', '?')}, "
                   f"on port {ports}; the compose app runs on untouched. Next: greenlight promote or deploy a release "
                   f"(its canary is judged against them), then greenlight adopt {env} --finish",
                   stages, {"adopt": info})


def finish(pipeline: Pipeline, env: str) -> Outcome:
    check_env(env, pipeline.inventory_dir)
    command = f"adopt {env} --finish"
    stages: list[Stage] = []
    result = pipeline.stage(stages, f"hand {env}'s ports over", "adopt.yml", env, {"adopt_finish": True})
    if not result.ok:
        return pipeline.failed(command, stages, result, f"handing {env}'s ports over failed; run it again")
    info = result.stats.get("greenlight_adopt", {})
    stopped = ", ".join(sorted(info.get("stopped", {}).values()))
    ports = ", ".join(str(port) for port in info.get("ports", []))
    drained = info.get("drained") or {}
    cut = (f"; {drained['left']} client connection(s) from before the ports moved were still open after "
           f"{drained.get('seconds', 0):g} s and were cut" if drained.get("left") else "")
    return Outcome(command, ExitCode.OK,
                   f"{env}: greenlight's proxy holds ports {ports}; the compose containers {stopped} are stopped "
                   f"(remove their services from the compose file, or docker-compose would start them again){cut}",
                   stages, {"adopt": info})
