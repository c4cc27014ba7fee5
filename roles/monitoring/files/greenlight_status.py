"""The monitoring stack's status container (roles/monitoring, docs/operations.md).

Every --interval seconds, for each environment registered on this host:
- writes greenlight's own facts (history, backups, lock, containers) for node exporter's
  textfile collector, so Prometheus can alert on them;
- regenerates the status page (index.html, and status.json for scripts) from those facts and
  Prometheus's HTTP API;
and serves the page on a loopback port. Python's standard library only: it runs on Debian's
python3 in the monitoring image, with greenlight's module_utils on its path.
"""

from __future__ import annotations

import argparse
import functools
import html
import http.server
import json
import sys
import threading
import time
import traceback
import urllib.parse
import urllib.request
from pathlib import Path

from ansible_collections.greenlight.deploy.plugins.module_utils import backups, docker_api, history, monitoring_facts
from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.greenlight.deploy.plugins.module_utils.monitoring_facts import Registration

# The status page's charts: the last hour, a point a minute.
CHART_SECONDS = 3600
CHART_STEP = 60
CHARTS = {
    "requests/s": 'sum by (app, env) (rate(haproxy_frontend_http_requests_total{proxy="fe_public"}[2m]))',
    "5xx/s": 'sum by (app, env) (rate(haproxy_frontend_http_responses_total{proxy="fe_public", code="5xx"}[2m]))',
    "p95 s": 'max by (app, env) (quantile_over_time(0.95, probe_duration_seconds{job="blackbox_http"}[5m]))',
}
HEALTH_NOW = 'min by (app, env) (probe_success{job="blackbox_http"})'
HEALTH_ANY = 'max by (app, env) (probe_success{job="blackbox_http"})'
HEALTH_24H = 'avg by (app, env) (avg_over_time(probe_success{job="blackbox_http"}[24h]))'


def registrations(folder: Path) -> list[Registration]:
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            found.append(Registration.from_dict(json.loads(path.read_text())))
        except (OSError, ValueError, KeyError) as exc:
            print(f"skipping {path.name}: {exc}", file=sys.stderr)
    # production first: the page reads left to right, most important first
    return sorted(found, key=lambda reg: (reg.app, reg.env != "production", reg.env))


def container_rows(socket: str, reg: Registration) -> list[dict]:
    rows = []
    for name, container in docker_api.list_containers(socket, {"greenlight.app": reg.app, "greenlight.env": reg.env}).items():
        if container.part in ("migrate", "seed"):
            continue  # one-off containers come and go
        rows.append({"name": name, "running": container.state == "running",
                     "restarts": docker_api.restart_count(socket, name)})
    return rows


def collect_facts(regs: list[Registration], socket: str) -> tuple[str, int]:
    lines: list[str] = []
    errors = 0
    for reg in regs:
        try:
            lines += monitoring_facts.environment(reg)
            if socket:
                lines += monitoring_facts.containers(reg, container_rows(socket, reg))
        except Exception:  # one broken environment must not blind the others
            errors += 1
            traceback.print_exc()
    return monitoring_facts.render(lines, errors), errors


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _get(self, path: str, **params: str) -> dict:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=10) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus: {body.get('error')}")
        return body["data"]

    def by_env(self, expr: str) -> dict[tuple[str, str], float]:
        data = self._get("/api/v1/query", query=expr)
        return {(s["metric"].get("app", ""), s["metric"].get("env", "")): float(s["value"][1]) for s in data["result"]}

    def series_by_env(self, expr: str, now: float) -> dict[tuple[str, str], list[tuple[float, float]]]:
        data = self._get("/api/v1/query_range", query=expr, start=str(now - CHART_SECONDS), end=str(now),
                         step=str(CHART_STEP))
        return {(s["metric"].get("app", ""), s["metric"].get("env", "")): [(float(t), float(v)) for t, v in s["values"]]
                for s in data["result"]}

    def firing(self) -> list[dict]:
        return [alert for alert in self._get("/api/v1/alerts")["alerts"] if alert.get("state") == "firing"]


def environment_status(reg: Registration) -> dict:
    """What the host's files say about one environment: live release, last deploys, newest backup."""
    records = history.read(reg.history_file, limit=200).records
    live = history.recorded_live(records, reg.colors)
    deploys = [r for r in records if r.get("kind") in ("deploy", "rollback", "restore")][-5:]
    found = backups.listing(reg.backup_dir, reg.database)
    newest = found[0] if found else None
    return {
        "app": reg.app, "env": reg.env, "page": reg.page,
        "live": live.as_dict() if live else {},
        "deploys": [{"kind": r.get("kind"), "version": r.get("version"), "outcome": r.get("outcome"),
                     "strategy": r.get("strategy"), "ended": r.get("ended"), "error": r.get("error", ""),
                     "seconds": max(history.epoch(r.get("ended", "")) - history.epoch(r.get("started", "")), 0)
                     if r.get("started") else None}
                    for r in reversed(deploys)],
        "backup": ({"file": newest.file, "created": newest.created, "size": newest.size, "rows": newest.rows,
                    "verified": (newest.verified or {}).get("ok")} if newest else None),
    }


def gather(regs: list[Registration], prometheus: Prometheus, now: float) -> dict:
    envs = [environment_status(reg) for reg in regs]
    problems = []
    try:
        health_now, health_any, health_24h = (prometheus.by_env(q) for q in (HEALTH_NOW, HEALTH_ANY, HEALTH_24H))
        charts = {name: prometheus.series_by_env(expr, now) for name, expr in CHARTS.items()}
        alerts = prometheus.firing()
    except (OSError, RuntimeError, ValueError) as exc:
        problems.append(f"Prometheus did not answer: {exc}")
        health_now, health_any, health_24h, charts, alerts = {}, {}, {}, {}, []
    for env in envs:
        key = (env["app"], env["env"])
        env["health"] = ("unknown" if key not in health_now else "up" if health_now[key] == 1
                         else "degraded" if health_any.get(key) == 1 else "down")
        env["health_24h"] = health_24h.get(key)
        env["charts"] = {name: series.get(key, []) for name, series in charts.items()}
        env["alerts"] = [{"name": a["labels"].get("alertname"), "severity": a["labels"].get("severity", ""),
                          "summary": a.get("annotations", {}).get("summary", ""), "since": a.get("activeAt", "")}
                         for a in alerts if a["labels"].get("app") == env["app"] and a["labels"].get("env") == env["env"]]
    host_alerts = [{"name": a["labels"].get("alertname"), "severity": a["labels"].get("severity", ""),
                    "summary": a.get("annotations", {}).get("summary", "")}
                   for a in alerts if not a["labels"].get("app") and a["labels"].get("alertname") != "Watchdog"]
    return {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), "environments": envs,
            "host_alerts": host_alerts, "problems": problems}


def sparkline(points: list[tuple[float, float]], width: int = 220, height: int = 36) -> str:
    """A small SVG line chart of a series, with its last value."""
    if not points:
        return '<span class="muted">no data</span>'
    values = [v for _, v in points]
    top = max(values) or 1.0
    start, end = points[0][0], points[-1][0] or 1.0
    span = (end - start) or 1.0
    coords = " ".join(f"{(t - start) / span * width:.1f},{height - 2 - v / top * (height - 4):.1f}" for t, v in points)
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}"><polyline fill="none" '
            f'stroke="#2563eb" stroke-width="1.5" points="{coords}"/></svg> <b>{_number(values[-1])}</b>'
            f' <span class="muted">max {_number(top)}</span>')


def _number(value: float) -> str:
    return f"{value:.3g}"


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} s"


def _e(value: object) -> str:
    return html.escape(str(value if value is not None else ""))


def render(status: dict) -> str:
    """The page: one column per environment, production first."""
    columns = []
    for env in status["environments"]:
        live = env["live"]
        warm = live.get("warm") or {}
        rows = [
            ("live", f'<b class="version">{_e(live.get("version") or "nothing")}</b> on {_e(live.get("color", "-"))}'),
            ("warm", f'{_e(warm.get("version"))} on {_e(warm.get("color"))}' if warm else "none"),
            ("health now", f'<span class="h-{_e(env["health"])}">{_e(env["health"])}</span>'),
            ("health 24 h", f'{env["health_24h"] * 100:.2f}% of probes answered' if env["health_24h"] is not None else "-"),
        ]
        rows += [(name, sparkline(series)) for name, series in env["charts"].items()]
        backup = env["backup"]
        rows.append(("newest backup", (f'{_e(backup["created"])}, {backup["rows"]} rows, '
                                       + {True: "verified", False: "verification FAILED", None: "not verified"}[backup["verified"]])
                     if backup else "none"))
        alerts = "".join(f'<li class="alert {_e(a["severity"])}"><b>{_e(a["name"])}</b> {_e(a["summary"])}</li>'
                         for a in env["alerts"]) or '<li class="muted">none</li>'
        deploys = "".join(
            f'<tr><td>{_e(d["ended"])}</td><td>{_e(d["kind"])}</td><td>{_e(d["version"])}</td>'
            f'<td class="o-{_e(d["outcome"])}">{_e(d["outcome"])}</td>'
            f'<td>{_seconds(d["seconds"])}</td></tr>' for d in env["deploys"])
        columns.append(
            f'<section class="env" id="env-{_e(env["app"])}-{_e(env["env"])}"><h2>{_e(env["app"])} {_e(env["env"])}'
            f'{" (pages)" if env["page"] else ""}</h2><table>'
            + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows)
            + f'</table><h3>firing alerts</h3><ul class="alerts">{alerts}</ul>'
            f'<h3>last deploys</h3><table class="deploys">{deploys or "<tr><td>none</td></tr>"}</table></section>')
    host = "".join(f'<li class="alert {_e(a["severity"])}"><b>{_e(a["name"])}</b> {_e(a["summary"])}</li>'
                   for a in status["host_alerts"])
    problems = "".join(f'<p class="problem">{_e(p)}</p>' for p in status["problems"])
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="60"><title>greenlight status</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #111; }}
.envs {{ display: flex; gap: 2em; flex-wrap: wrap; }} .env {{ flex: 1; min-width: 26em; }}
th {{ text-align: left; padding-right: 1em; font-weight: normal; color: #555; }}
.h-up, .o-success {{ color: #15803d; }} .h-down, .h-degraded, .o-failed, .o-interrupted, .page {{ color: #b91c1c; }}
.alerts {{ padding-left: 1.2em; }} .muted {{ color: #888; }} .problem {{ color: #b91c1c; }}
.version {{ font-size: 1.2em; }} .deploys td {{ padding-right: 1em; }}
</style></head><body>
<h1>greenlight status</h1><p class="muted">generated {_e(status["generated"])}, every minute</p>{problems}
<div class="envs">{"".join(columns)}</div>
{f'<h3>host alerts</h3><ul class="alerts">{host}</ul>' if host else ""}
</body></html>
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # one line per request would flood docker logs
        pass


def run_once(args: argparse.Namespace) -> None:
    regs = registrations(Path(args.registrations))
    facts, errors = collect_facts(regs, args.docker_socket)
    write_atomically(str(args.textfile), facts)
    status = gather(regs, Prometheus(args.prometheus), time.time())
    if errors:
        status["problems"].append(f"greenlight's facts could not be read for {errors} environment(s)")
    out = Path(args.out)
    write_atomically(str(out / "status.json"), json.dumps(status, indent=1) + "\n")
    write_atomically(str(out / "index.html"), render(status))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrations", required=True)
    parser.add_argument("--textfile", required=True)
    parser.add_argument("--prometheus", required=True)
    parser.add_argument("--docker-socket", default="")
    parser.add_argument("--out", required=True)
    parser.add_argument("--listen", default="127.0.0.1:9099")
    parser.add_argument("--interval", type=float, default=60)
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)

    def loop() -> None:
        while True:
            started = time.monotonic()
            try:
                run_once(args)
            except Exception:  # keep serving and retry next round; the facts' age alerts
                traceback.print_exc()
            time.sleep(max(1.0, args.interval - (time.monotonic() - started)))

    threading.Thread(target=loop, daemon=True).start()
    host, port = args.listen.rsplit(":", 1)
    http.server.ThreadingHTTPServer((host, int(port)), functools.partial(QuietHandler, directory=args.out)).serve_forever()


if __name__ == "__main__":
    main()
