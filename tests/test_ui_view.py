"""The update UI's states from updater events: what the notice says and offers (pure, no screen).

`next_view` is the one place these rules live; the Tk and Qt adapters only render its View.
"""

from __future__ import annotations

from client.events import Event
from client.ui.fields import parse_field, setting_fields
from client.ui.history import history_rows
from client.ui.view import Action, Context, MenuItem, Phase, View, menu_for, next_view
from client.words import error_words, size_text

AVAILABLE = Event(
    "update_available",
    "demo 1.2.0 is available",
    {
        "version": "1.2.0",
        "from_version": "1.0.0",
        "notes": "faster order book",
        "release_notes": [
            {"version": "1.2.0", "notes": "faster order book", "published": None},
            {"version": "1.1.0", "notes": "dark mode", "published": None},
        ],
        "download_bytes": 4_000_000,
        "method": "patch",
        "required": False,
        "withdrawn": "",
    },
)


def feed(*events: Event, ctx: Context | None = None) -> View:
    view = View(running_version="1.0.0")
    for event in events:
        view = next_view(view, event, ctx or Context())
    return view


def progress(name: str, done: int, total: int) -> Event:
    return Event("download_progress", "", {"name": name, "done": done, "total": total})


def test_available_names_both_versions_size_and_every_release_note_since() -> None:
    view = feed(AVAILABLE)
    assert view.phase == Phase.AVAILABLE and view.visible and view.notify
    assert view.headline == "Version 1.2.0 is available (you have 1.0.0)."
    assert view.advice == "Download 4.0 MB (a patch)."
    assert view.notes == (("1.2.0", "faster order book"), ("1.1.0", "dark mode"))
    assert view.actions == (Action.DOWNLOAD, Action.SKIP, Action.LATER)
    assert MenuItem.DOWNLOAD in menu_for(view, True) and MenuItem.INSTALL in menu_for(view, True)


def test_a_required_update_cannot_be_skipped_or_postponed() -> None:
    required = Event(AVAILABLE.kind, "", {**AVAILABLE.data, "required": True})
    view = feed(required, ctx=Context(reminded_version="1.2.0"))
    assert view.visible and view.required and view.actions == (Action.DOWNLOAD,)
    assert view.advice.startswith("The publisher marked this update as required.")


def test_remind_me_later_hides_background_news_of_that_version_only() -> None:
    later = Context(reminded_version="1.2.0")
    assert not feed(AVAILABLE, ctx=later).visible
    assert not feed(AVAILABLE, ctx=later).notify
    assert feed(AVAILABLE, ctx=Context(reminded_version="1.1.0")).visible
    assert feed(AVAILABLE, ctx=Context(manual=True, reminded_version="1.2.0")).visible


def test_news_found_while_the_user_watches_is_not_an_os_notification() -> None:
    assert not feed(AVAILABLE, ctx=Context(manual=True)).notify
    quiet = Event(AVAILABLE.kind, "", AVAILABLE.data, notify=False)  # notifications off
    assert not feed(quiet).notify and feed(quiet).visible


def test_progress_sums_a_chain_with_speed_and_time_left() -> None:
    view = feed(AVAILABLE, progress("all", 3_000_000, 4_000_000), ctx=Context(speed=1_000_000))
    assert view.phase == Phase.DOWNLOADING and view.progress == 0.75
    assert view.progress_text == "3.0 MB of 4.0 MB, 1.0 MB/s, about 1 s left"
    assert view.actions == (Action.CANCEL,) and MenuItem.CHECK not in menu_for(view, True)


def test_downloaded_then_installed_asks_for_a_restart() -> None:
    ready = feed(AVAILABLE, Event("downloaded", "", {"version": "1.2.0", "method": "patch"}))
    assert ready.phase == Phase.READY and ready.actions == (Action.INSTALL, Action.LATER)
    assert ready.notes == feed(AVAILABLE).notes  # the notes survive the download
    done = next_view(ready, Event("installed", "", {"version": "1.2.0"}), Context())
    assert done.phase == Phase.RESTART_PENDING and done.headline == "Version 1.2.0 is installed."
    assert done.actions == (Action.RESTART, Action.DISMISS)
    assert next_view(done, Event("checked", "", {}), Context()) is done


def test_install_timing_is_said_when_installs_are_automatic() -> None:
    ctx = Context(auto_install=True, when="The update will be installed between 02:00 and 05:00.")
    ready = feed(AVAILABLE, Event("downloaded", "", {"version": "1.2.0"}), ctx=ctx)
    assert ready.when == "The update will be installed between 02:00 and 05:00."
    assert feed(AVAILABLE, Event("downloaded", "", {"version": "1.2.0"})).when == ""


def test_errors_read_as_sentences_with_the_detail_kept() -> None:
    detail = "ConnectionRefusedError: [Errno 111]"
    error = Event("error", "update server unreachable", {"kind": "unreachable", "detail": detail})
    background = feed(error, ctx=Context(next_check="at 14:05"))
    assert not background.visible  # no network in the background: no notice
    manual = feed(error, ctx=Context(manual=True, next_check="at 14:05"))
    assert manual.visible and manual.headline == "Could not reach the update server."
    assert manual.advice.endswith("Next automatic check at 14:05.")
    assert manual.detail == "ConnectionRefusedError: [Errno 111]"
    assert manual.actions == (Action.RETRY, Action.DISMISS)
    forged = feed(Event("error", "bad signature", {"kind": "signature"}))
    assert forged.visible and "not signed by the publisher" in forged.headline


def test_up_to_date_shows_only_for_a_manual_check_and_never_hides_news() -> None:
    nothing = Event("no_update", "demo 1.0.0 is up to date", {"withdrawn": ""})
    assert not feed(nothing).visible
    shown = feed(nothing, ctx=Context(manual=True, next_check="at 14:05"))
    assert shown.visible and shown.headline == "Version 1.0.0 is up to date."
    assert shown.advice == "Next automatic check at 14:05."
    news = feed(AVAILABLE)
    assert next_view(news, nothing, Context()) is news


def test_a_withdrawn_running_version_says_so_every_time() -> None:
    stranded = Event("no_update", "", {"withdrawn": "orders were sent twice"})
    view = feed(stranded)
    assert view.phase == Phase.WITHDRAWN and view.visible
    assert view.headline == "The publisher withdrew version 1.0.0."
    assert view.detail == "orders were sent twice"
    moving = Event(
        AVAILABLE.kind, "", {**AVAILABLE.data, "withdrawn": "x", "from_version": "1.3.0"}
    )
    assert feed(moving).headline.startswith("Version 1.3.0 was withdrawn by the publisher;")


def test_rollback_needs_a_restart_only_when_the_running_version_changed() -> None:
    stays = feed(Event("rolled_back", "", {"version": "1.0.0", "restart_required": False}))
    assert stays.actions == (Action.DISMISS,)
    moves = feed(Event("rolled_back", "", {"version": "1.0.0", "from_version": "1.1.0"}))
    assert moves.actions == (Action.RESTART, Action.DISMISS)
    assert moves.headline == "Rolled back from version 1.1.0 to 1.0.0."


def test_rollback_in_the_menu_only_with_a_kept_version_and_when_allowed() -> None:
    view = View(previous_version="0.9.0")
    assert MenuItem.ROLLBACK in menu_for(view, True)
    assert MenuItem.ROLLBACK not in menu_for(view, False)
    assert MenuItem.ROLLBACK not in menu_for(View(), True)


def test_every_error_kind_has_words() -> None:
    from client.errors import ErrorKind

    for kind in ErrorKind:
        headline, advice = error_words(kind, "")
        assert headline.endswith(".") and advice.endswith("."), kind
    assert size_text(4_000_000) == "4.0 MB" and size_text(10) == "less than 0.1 MB"


def test_settings_fields_and_what_a_user_types() -> None:
    from client.settings import Settings

    fields = {f.key: f for f in setting_fields(Settings())}
    assert fields["auto_check"].value == "true" and fields["update_channel"].choices
    assert "servers" not in fields and "entry_point" not in fields  # the publisher's
    assert parse_field("check_interval_hours", "12") == 12
    assert parse_field("check_interval_hours", "0.5") == 0.5
    assert parse_field("auto_check", "False") is False
    assert parse_field("check_interval_hours", "often") == "often"  # validation names it


def test_history_rows_in_words_with_rollback_on_kept_versions() -> None:
    records = [
        {"time": "2026-12-01T10:00:00+00:00", "event": "installed", "result": "ok",
         "from_version": "1.0.0", "to_version": "1.1.0"},
        {"time": "2026-12-01T11:00:00+00:00", "event": "checked", "result": "ok"},
        {"time": "2026-12-01T12:00:00+00:00", "event": "checked", "result": "failed",
         "kind": "unreachable", "error": "refused"},
        {"time": "2026-12-01T13:00:00+00:00", "event": "installed", "result": "ok",
         "from_version": "1.1.0", "to_version": "1.2.0"},
    ]  # fmt: skip
    rows = history_rows(records, kept=["1.0.0", "1.1.0", "1.2.0"], current="1.2.0")
    assert [r.event for r in rows] == ["Installed", "Checked", "Installed"]  # no empty checks
    assert rows[0].change == "1.1.0 -> 1.2.0" and not rows[0].can_roll_back  # current
    assert rows[1].result == "Failed" and rows[1].reason == "Could not reach the update server."
    assert rows[2].version == "1.1.0" and rows[2].can_roll_back
    assert len(rows[2].time) == len("2026-12-01 10:00")


def test_background_checks_never_hide_the_second_launch_question() -> None:
    asking = View(running_version="1.0.0", ask_auto_check=True, visible=True,
                  headline="Check for updates automatically?")  # fmt: skip
    nothing = Event("no_update", "demo 1.0.0 is up to date", {"withdrawn": ""})
    offline = Event("error", "unreachable", {"kind": "unreachable"})
    assert next_view(asking, nothing, Context()) is asking
    assert next_view(asking, offline, Context()) is asking
    news = next_view(asking, AVAILABLE, Context())  # news replaces it (asked at a later launch)
    assert news.phase == Phase.AVAILABLE and news.visible and not news.ask_auto_check


def test_a_background_check_clears_an_old_error_but_nothing_else() -> None:
    nothing = Event("no_update", "up to date", {"withdrawn": ""})
    failed = feed(Event("error", "refused", {"kind": "unreachable"}))
    assert next_view(failed, nothing, Context()).phase == Phase.UP_TO_DATE
    told = View(phase=Phase.ROLLED_BACK, visible=True, headline="Version 1.1.0 did not start")
    assert next_view(told, nothing, Context()) is told


def test_the_rollback_menu_item_names_its_version() -> None:
    from client.ui.view import menu_label

    assert menu_label(MenuItem.ROLLBACK, View(previous_version="1.0.0")) == "Roll Back to 1.0.0..."
    assert menu_label(MenuItem.ROLLBACK, View()) == "Roll Back..."
    assert menu_label(MenuItem.CHECK, View()) == "Check for Updates..."
