"""The rules that keep stock tufup clients safe (repo_tools/tufup_compat.py), on plain data,
and the mirror of tufup's name reading checked against tufup's own code."""

from __future__ import annotations

from packaging.version import Version

from repo_tools.tufup_compat import chain_problems, for_tufup, tufup_internal, tufup_reading
from tests.support.stock_tufup import tufup_names

NAMES = [
    "demo-1.0.0.tar.gz",
    "demo-1.1.0.patch",
    "demo-1.1.0.from-1.0.0.patch",
    "demo-1.1.0.tar.zst",
    "demo-1.1.0.manifest.json",
    "demo-1.1.0.from-1.0.0.delta",
    "trading-bot-2.0.0rc1.tar.gz",
    "my_app-1.0.tar.gz",
    "demo.tar.gz",
    "a/b/demo-3.0.0.tar.gz",
]


def test_the_mirror_reads_every_name_as_stock_tufup_does():
    stock = tufup_names(*NAMES)
    for name in NAMES:
        ours = tufup_reading(name)
        theirs = stock[name]
        if theirs["name"] is None:
            assert ours is None, name
            continue
        assert ours is not None, name
        assert ours.app == theirs["name"], name
        assert (None if ours.version is None else str(ours.version)) == theirs["version"], name
        assert (ours.is_archive, ours.is_patch) == (theirs["is_archive"], theirs["is_patch"])


def test_tufup_reads_required_at_the_top_of_our_archive_metadata():
    ours = {"updater": {"kind": "archive", "required": True, "version": "1.1.0"}}
    assert tufup_internal(for_tufup(ours))["required"] is True
    assert for_tufup(ours)["updater"] == ours["updater"]  # ours untouched
    plain = {"updater": {"kind": "archive", "required": False}}
    assert for_tufup(plain) == plain and not tufup_internal(plain).get("required")
    patch = {"updater": {"kind": "patch", "required": True}}
    assert for_tufup(patch) == patch
    # tufup's own form: its fields under "tufup"
    assert tufup_internal({"user": None, "tufup": {"required": True}}) == {"required": True}


def _tufup_patch(size: int = 10) -> dict:
    return {"user": None, "tufup": {"tar_size": size, "tar_hash": "ab", "tar_hash_algorithm": "x"}}


def test_chain_problems():
    archives = {f"demo-{v}.tar.gz": {} for v in ("1.0.0", "1.1.0", "1.2.0")}
    assert chain_problems(archives) == []  # full archives only: always safe
    complete = {**archives, "demo-1.1.0.patch": _tufup_patch(), "demo-1.2.0.patch": _tufup_patch()}
    assert chain_problems(complete) == []
    # the case of issue 12: 1.2.0 without its patch, above 1.1.0 with one
    broken = {**archives, "demo-1.1.0.patch": _tufup_patch()}
    (problem,) = chain_problems(broken)
    assert "demo-1.2.0.tar.gz has no tufup patch" in problem
    assert "install their content as 1.2.0" in problem
    # a name tufup cannot read crashes its clients
    crash = {**archives, "demo-1.1.0.from-1.0.0.patch": {"updater": {}}}
    (problem,) = chain_problems(crash)
    assert "no valid version" in problem and "crash" in problem
    # a patch without what tufup checks
    unchecked = {**complete, "demo-1.2.0.patch": {"user": None, "tufup": {}}}
    assert any("without tar_size" in p for p in chain_problems(unchecked))
    # other apps, other chains; names tufup ignores are not looked at
    other = {**complete, "tool-1.0.0.tar.gz": {}, "demo-1.3.0.tar.zst": {}}
    assert chain_problems(other) == []
    assert tufup_reading("demo-1.2.0.patch").version == Version("1.2.0")
