"""repo_tools' one error base: every error it raises on purpose is a RepoError with an exit
code, client errors are passed on as RepoErrors, and the CLI turns them into one line."""

from __future__ import annotations

import errno
import importlib
import inspect
import pkgutil

import pytest

import repo_tools
from client.archive import BundleError
from client.formats import FormatError
from repo_tools.cli_base import os_error_message, run
from repo_tools.config import ConfigError, PublisherConfig
from repo_tools.errors import RepoError, reported_as
from repo_tools.git_tag import GitTagError, tag_name
from repo_tools.keys import KeyFileError
from repo_tools.versioning import VersionError, next_version, parse_release_version


def _repo_tools_modules() -> list[str]:
    return [f"repo_tools.{info.name}" for info in pkgutil.iter_modules(repo_tools.__path__)]


def test_every_error_class_of_repo_tools_is_a_repo_error() -> None:
    defined = [
        value
        for name in _repo_tools_modules()
        if name != "repo_tools.__main__"
        for value in vars(importlib.import_module(name)).values()
        if inspect.isclass(value)
        and issubclass(value, Exception)
        and value.__module__.startswith("repo_tools.")
    ]
    assert RepoError in defined and len(defined) > 8
    assert [error for error in defined if not issubclass(error, RepoError)] == []
    exit_codes = {error.exit_code for error in defined if issubclass(error, RepoError)}
    assert exit_codes == {1}  # what every failure of repo-tools exits with, as before
    assert repo_tools.RepoError is RepoError


@pytest.mark.parametrize("error", [ConfigError, KeyFileError, VersionError, GitTagError])
def test_former_value_errors_are_still_value_errors(error: type[RepoError]) -> None:
    assert issubclass(error, ValueError) and issubclass(error, RepoError)


def test_client_errors_are_passed_on_with_their_message() -> None:
    with pytest.raises(ConfigError, match="invalid app name") as caught:
        PublisherConfig(app_name="-bad").validate()
    assert isinstance(caught.value.__cause__, FormatError)
    with pytest.raises(VersionError, match="invalid version 'x'"):
        parse_release_version("x")
    with pytest.raises(VersionError, match="invalid version"):
        next_version([], None, "stable", "not-a-version")
    with pytest.raises(VersionError, match="invalid channel"):
        next_version([], "patch", "nightly")
    with pytest.raises(RepoError, match="^empty bundle$"), reported_as(RepoError, BundleError):
        raise BundleError("empty bundle")
    with pytest.raises(KeyError), reported_as(RepoError, BundleError):
        raise KeyError("not one of the causes")


def test_tag_template_errors_are_value_errors_and_repo_errors() -> None:
    with pytest.raises(GitTagError, match="must contain"):
        tag_name("v", "1.0.0")
    assert tag_name("v{version}", "1.0.0") == "v1.0.0"


def test_run_exits_with_the_error_exit_code_and_one_line(capsys) -> None:
    class Stuck(RepoError):
        exit_code = 3

    def stuck() -> None:
        raise Stuck("the repository is stuck")

    with pytest.raises(SystemExit) as exited:
        run(stuck)
    assert exited.value.code == 3
    assert capsys.readouterr().err == "error: the repository is stuck\n"
    with pytest.raises(SystemExit) as exited:
        run(lambda: (_ for _ in ()).throw(OSError(errno.EACCES, "Permission denied", "/x")))
    assert exited.value.code == 1
    assert capsys.readouterr().err == "error: Permission denied: /x\n"
    assert run(lambda: 42) == 42


def test_os_error_messages() -> None:
    full = os_error_message(OSError(errno.ENOSPC, "No space left on device"))
    assert full.startswith("disk full or file-size limit reached while writing ([Errno 28]")
    assert "File too large" in os_error_message(OSError(errno.EFBIG, "File too large"))
    assert (
        os_error_message(OSError(errno.ENOENT, "No such file", "a.json")) == "No such file: a.json"
    )
    assert os_error_message(OSError("plain")) == "plain: "
