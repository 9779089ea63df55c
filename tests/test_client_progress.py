"""The GUI view model: events in, what to show out (pure, no toolkit, no server)."""

from __future__ import annotations

from client.progress import UpdateView, dismiss, reduce


def feed(*events: tuple[str, str, dict]) -> UpdateView:
    view = UpdateView()
    for kind, message, data in events:
        view = reduce(view, kind, message, data)
    return view


AVAILABLE = (
    "update_available",
    "demo 1.1.0 is available",
    {"version": "1.1.0", "notes": "faster", "download_bytes": 4_000_000, "method": "patch"},
)


def test_available_offers_download_with_size_and_notes() -> None:
    view = feed(AVAILABLE)
    assert view.title == "Version 1.1.0 is available"
    assert "faster" in view.detail and "4.0 MB" in view.detail and "patch" in view.detail
    assert view.actions == ("download", "dismiss")
    assert view.notification == "demo 1.1.0 is available"


def test_a_withdrawn_running_version_says_so_and_where_it_moves() -> None:
    data = {"version": "1.1.0", "from_version": "1.2.0", "method": "kept", "download_bytes": 0,
            "withdrawn": "orders were sent twice", "notes": ""}  # fmt: skip
    view = reduce(UpdateView(), "update_available", "update", data)
    assert view.title == "Version 1.2.0 was withdrawn by the publisher"
    assert view.detail == (
        "orders were sent twice. Move to version 1.1.0 (already on this computer)."
    )
    assert view.actions == ("download", "dismiss")
    stranded = reduce(UpdateView(), "no_update", "1.0.0 was withdrawn ...", {"withdrawn": "x"})
    assert stranded.title == "This version was withdrawn by the publisher"
    assert stranded.notification == "1.0.0 was withdrawn ..." and stranded.actions == ("dismiss",)
    ready = reduce(view, "downloaded", "ready", data)
    assert ready.detail == "Already on this computer: switching back is instant."
    assert ready.actions == ("install", "dismiss")


def test_progress_sums_a_patch_chain_against_the_announced_size() -> None:
    view = feed(
        AVAILABLE,
        ("download_progress", "", {"name": "a.patch", "done": 1_000_000, "total": 2_000_000}),
        ("download_progress", "", {"name": "a.patch", "done": 2_000_000, "total": 2_000_000}),
        ("download_progress", "", {"name": "b.patch", "done": 1_000_000, "total": 2_000_000}),
    )
    assert view.state == "downloading"
    assert view.progress == 0.75
    assert view.detail == "3.0 MB of 4.0 MB"
    assert view.notification is None and view.actions == ()


def test_installed_asks_for_restart_once() -> None:
    view = feed(AVAILABLE, ("downloaded", "", {"version": "1.1.0"}))
    assert view.actions == ("install", "dismiss")
    view = reduce(view, "installed", "demo 1.1.0 installed", {"version": "1.1.0"})
    assert view.actions == ("restart", "dismiss") and view.notification
    later = reduce(view, "checked", "update check done", {})
    assert later.state == "installed" and later.notification is None


def test_error_offers_retry_and_keeps_the_message() -> None:
    view = feed(AVAILABLE, ("error", "metadata expired on 2026-01-01", {"kind": "expired"}))
    assert view.state == "error" and view.actions == ("retry", "dismiss")
    assert "expired" in view.detail


def test_no_update_does_not_hide_a_pending_install() -> None:
    installed = feed(AVAILABLE, ("installed", "x", {"version": "1.1.0"}))
    assert reduce(installed, "no_update", "up to date", {}).state == "installed"
    assert feed(("no_update", "demo 1.0.0 is up to date", {})).title == "Up to date"


def test_rollback_needs_restart_only_when_the_running_version_changed() -> None:
    running_old = feed(("rolled_back", "r", {"version": "1.0.0", "restart_required": False}))
    assert running_old.actions == ("dismiss",)
    assert feed(("rolled_back", "r", {"version": "1.0.0"})).actions == ("restart", "dismiss")


def test_notifications_off_means_no_toast_and_dismiss_resets() -> None:
    view = reduce(UpdateView(), *AVAILABLE, notify=False)
    assert view.notification is None and view.state == "available"
    assert dismiss(view).state == "idle"
