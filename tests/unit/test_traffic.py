"""The one switch: which runtime commands a state takes, what is stable, what a restart reads."""

from __future__ import annotations

import pytest

from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import canary, commands, config_for, matches, stable, wanted_weights

from .helpers import observed, proxy


def test_a_switch_sets_every_pool_the_preview_and_stickiness_in_one_batch() -> None:
    assert commands(proxy(), stable(("blue", "green"), "green")) == [
        "set weight api/green 100", "set weight preview_api/blue 100",
        "set weight web/green 100", "set weight preview_web/blue 100",
        "set weight api/blue 0", "set weight preview_api/green 0",
        "set weight web/blue 0", "set weight preview_web/green 0",
        "set map /usr/local/etc/haproxy/sticky.map canary off",
    ]


STATES = [stable(("blue", "green"), "blue"), stable(("blue", "green"), "green"),
          stable(("blue", "green"), "blue", ["green"]), stable(("blue", "green"), "green", ["blue"]),
          *(canary(("blue", "green"), new, old, share)
            for new, old in (("green", "blue"), ("blue", "green")) for share in (5, 25, 50))]


@pytest.mark.parametrize("before", STATES, ids=str)
@pytest.mark.parametrize("after", STATES, ids=str)
def test_no_pool_is_ever_left_without_a_server_between_two_commands_of_a_switch(before, after) -> None:
    weights = wanted_weights(proxy(), before)
    for command in commands(proxy(), after):
        if command.startswith("set weight "):
            target, weight = command.removeprefix("set weight ").split()
            backend, server = target.split("/")
            weights[backend][server] = int(weight)
            assert any(weights[backend].values()), f"{backend} had no server after {command!r}"


def test_a_canary_step_splits_the_users_pools_turns_stickiness_on_and_previews_the_new_color() -> None:
    step = canary(("blue", "green"), "green", "blue", 5)
    assert wanted_weights(proxy(), step)["api"] == {"blue": 95, "green": 5}
    assert wanted_weights(proxy(), step)["preview_web"] == {"blue": 0, "green": 100}
    assert step.sticky and not step.is_stable
    assert step.live == "blue"  # the larger share is the live color


def test_rolling_keeps_both_colors_serving_live_first() -> None:
    both = stable(("blue", "green"), "green", ["blue"])
    assert both.serving == ["green", "blue"] and both.is_stable
    assert both.preview == "blue"


@pytest.mark.parametrize("share", [-1, 101])
def test_a_share_is_a_percentage(share: int) -> None:
    with pytest.raises(ValueError):
        canary(("blue", "green"), "green", "blue", share)


def test_an_unknown_color_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown color 'red'"):
        stable(("blue", "green"), "red")
    with pytest.raises(ValueError, match="unknown color 'red'"):
        stable(("blue", "green"), "blue", ["red"])


def test_matches_needs_weights_preview_and_stickiness_all_equal() -> None:
    target = stable(("blue", "green"), "blue")
    assert matches(proxy(), target, observed({"blue": 100}, preview="green"))
    assert not matches(proxy(), target, observed({"blue": 100}, preview="green", sticky=True))
    assert not matches(proxy(), target, observed({"blue": 95, "green": 5}, preview="green"))
    assert not matches(proxy(), target, observed({"blue": 100}, preview="blue"))


def test_only_stable_states_have_a_configuration_to_persist() -> None:
    configs = [{"live": "blue", "serving": ["blue"], "text": "blue alone"},
               {"live": "blue", "serving": ["blue", "green"], "text": "both, blue live"}]
    assert config_for(configs, stable(("blue", "green"), "blue")) == "blue alone"
    assert config_for(configs, stable(("blue", "green"), "blue", ["green"])) == "both, blue live"
    with pytest.raises(ValueError, match="only a stable state"):
        config_for(configs, canary(("blue", "green"), "green", "blue", 50))
    with pytest.raises(ValueError, match="no proxy configuration"):
        config_for(configs, stable(("blue", "green"), "green"))


class FakeRuntime:
    """HAProxy's runtime API for the switches' map: `show map`, `set map`, `add map`."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = dict(entries)
        self.sent: list[str] = []

    def send(self, socket_path: str, commands: list[str]) -> str:
        out = []
        for command in commands:
            self.sent.append(command)
            words = command.split()
            if words[:2] == ["show", "map"]:
                out += [f"0x{i:x} {key} {value}" for i, (key, value) in enumerate(self.entries.items(), 1)]
            elif words[:2] == ["set", "map"]:
                if words[3] not in self.entries:
                    return "entry not found.\n"
                self.entries[words[3]] = words[4]
            elif words[:2] == ["add", "map"]:
                self.entries[words[3]] = words[4]
        return "\n".join(out) + "\n" if out else ""


def test_the_maintenance_page_goes_on_in_the_file_first_and_off_in_the_proxy_first(monkeypatch, tmp_path) -> None:
    from ansible_collections.greenlight.deploy.plugins.module_utils import traffic

    runtime = FakeRuntime({"canary": "off", "maintenance": "off"})
    monkeypatch.setattr(traffic, "send", runtime.send)
    monkeypatch.setattr(traffic, "in_flight", lambda proxy: 0)
    target = proxy(str(tmp_path))
    order = []
    writes = traffic.write_atomically
    monkeypatch.setattr(traffic, "write_atomically",
                        lambda path, text: (order.append(("file", text.split()[-1], len(runtime.sent))), writes(path, text)))
    assert traffic.set_maintenance(target, True) is True
    assert runtime.entries["maintenance"] == "on"
    assert (tmp_path / "sticky.map").read_text() == "canary off\nmaintenance on\n"
    assert order[0] == ("file", "on", 1)  # after reading the map, before setting it
    assert traffic.set_maintenance(target, True) is False  # already on: the proxy is not asked again
    assert traffic.set_maintenance(target, False) is True
    assert runtime.entries["maintenance"] == "off" and runtime.sent[-1].startswith("set map")
    assert (tmp_path / "sticky.map").read_text() == "canary off\nmaintenance off\n"


def test_a_proxy_started_from_a_map_without_the_key_gets_it_added(monkeypatch, tmp_path) -> None:
    from ansible_collections.greenlight.deploy.plugins.module_utils import traffic

    runtime = FakeRuntime({"canary": "off"})
    monkeypatch.setattr(traffic, "send", runtime.send)
    monkeypatch.setattr(traffic, "in_flight", lambda proxy: 0)
    assert traffic.set_maintenance(proxy(str(tmp_path)), True) is True
    assert "add map /usr/local/etc/haproxy/sticky.map maintenance on" in runtime.sent
    monkeypatch.setattr(traffic, "read_servers", lambda socket_path: {})
    assert traffic.observe(proxy(str(tmp_path))).maintenance is True  # read from the same map


def test_the_maintenance_page_waits_for_the_requests_in_flight_then_gives_up_at_its_limit(monkeypatch) -> None:
    from ansible_collections.greenlight.deploy.plugins.module_utils import traffic

    left = iter([3, 1, 0])
    monkeypatch.setattr(traffic, "in_flight", lambda proxy: next(left))
    slept: list[float] = []
    assert traffic.drain(proxy(), 30, sleep=slept.append) == 0 and len(slept) == 2
    now = iter([0.0, 0.0, 31.0])
    monkeypatch.setattr(traffic, "in_flight", lambda proxy: 2)
    assert traffic.drain(proxy(), 30, clock=lambda: next(now), sleep=slept.append) == 2


def test_a_page_that_cannot_drain_the_requests_in_flight_is_an_error(monkeypatch, tmp_path) -> None:
    from ansible_collections.greenlight.deploy.plugins.module_utils import traffic
    from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError

    runtime = FakeRuntime({"canary": "off", "maintenance": "off"})
    monkeypatch.setattr(traffic, "send", runtime.send)
    monkeypatch.setattr(traffic, "in_flight", lambda proxy: 2)
    with pytest.raises(HAProxyError, match="2 requests to the app were still in flight 0.1 s after"):
        traffic.set_maintenance(proxy(str(tmp_path)), True, drain_seconds=0.1)
