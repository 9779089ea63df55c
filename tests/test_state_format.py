"""state.json's format version: older files migrate forward, a newer client's fields survive.

Every bundle embeds its own client, so an install root is read and written by older and newer
clients in turn (tests/test_client_takeover.py runs a real older client; these check the rules
on the file itself).
"""

from __future__ import annotations

import json

from client.state import MAX_UNKNOWN_FIELDS, STATE_FORMAT, State


def test_a_file_without_a_format_is_an_older_clients_and_is_written_with_ours() -> None:
    state, problems = State.parse({"app": "demo", "previous": "1.0.0"})
    assert problems == {} and state.format == 1 and state.previous == "1.0.0"
    assert state.to_dict()["format"] == STATE_FORMAT == 2


def test_a_newer_clients_fields_are_kept_and_written_back(installed_app) -> None:
    layout = installed_app.layout
    data = json.loads(layout.state_file.read_text())
    assert data["format"] == STATE_FORMAT  # this client wrote it at setup
    data.update(format=3, chunk_store={"objects": 12}, pending_v3=None)
    layout.state_file.write_text(json.dumps(data))
    state = layout.read_state()
    assert state.format == 3 and state.unknown == {
        "chunk_store": {"objects": 12},
        "pending_v3": None,
    }
    state.pinned = "1.0.0"
    layout.write_state(state)
    written = json.loads(layout.state_file.read_text())
    assert written["chunk_store"] == {"objects": 12} and "pending_v3" in written
    assert written["pinned"] == "1.0.0"
    assert written["format"] == STATE_FORMAT  # the newer client sees an older one wrote last
    assert not list(layout.root.glob("state.json.damaged*"))  # nothing was damage


def test_a_format_that_is_not_a_number_is_damage_repaired(installed_app) -> None:
    layout = installed_app.layout
    data = json.loads(layout.state_file.read_text())
    layout.state_file.write_text(json.dumps({**data, "format": "two"}))
    state = layout.read_state()
    assert state.app == "demo" and state.format == 1
    assert list(layout.root.glob("state.json.damaged*"))
    assert json.loads(layout.state_file.read_text())["format"] == STATE_FORMAT


def test_too_many_unknown_fields_are_dropped_as_damage() -> None:
    flood = {f"field{i}": i for i in range(MAX_UNKNOWN_FIELDS + 1)}
    state, problems = State.parse({"app": "demo", **flood})
    assert state.unknown == {} and "unknown" in problems
    kept, fine = State.parse({"app": "demo", **dict(list(flood.items())[:3])})
    assert fine == {} and len(kept.unknown) == 3


# -- updater_config.json ---------------------------------------------------------------------


def test_settings_files_hold_only_what_differs_and_older_clients_can_read_them(
    tmp_path,
) -> None:
    from client.settings import Settings, load, save, with_value

    path = tmp_path / "updater_config.json"
    save(path, with_value(Settings(), "check_interval_hours", 12))
    assert json.loads(path.read_text()) == {"check_interval_hours": 12}  # no format: any client
    save(path, with_value(load(path), "install_window", "02:00-05:00"))
    data = json.loads(path.read_text())
    assert data == {"check_interval_hours": 12, "install_window": "02:00-05:00", "format": 2}
    assert load(path).install_window == "02:00-05:00"


def test_a_newer_clients_settings_are_ignored_and_kept_but_typos_are_refused(tmp_path) -> None:
    import pytest

    from client.settings import SettingsError, load, save, with_value

    path = tmp_path / "updater_config.json"
    path.write_text(json.dumps({"format": 3, "auto_check": False, "delta_store": "chunks"}))
    settings = load(path)  # a format-3 client's key: not this client's business
    assert settings.auto_check is False
    save(path, with_value(settings, "check_interval_hours", 2))
    assert json.loads(path.read_text()) == {
        "format": 3, "auto_check": False, "delta_store": "chunks", "check_interval_hours": 2,
    }  # fmt: skip
    path.write_text(json.dumps({"format": 2, "auto_chek": False}))  # ours: a typo
    with pytest.raises(SettingsError, match="unknown key 'auto_chek'"):
        load(path)
    path.write_text(json.dumps({"auto_chek": False}))
    with pytest.raises(SettingsError, match="unknown key 'auto_chek'"):
        load(path)
