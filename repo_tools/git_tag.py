"""Tag the source tree after a release (`git_tag` in repo-tools.json, e.g. "v{version}").

The last step of the publishing flow: the tag records which source became which signed
release. It runs after the release is signed and uploaded, so a failure here loses nothing:
the command says so and prints the `git tag` line to run by hand.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from repo_tools.errors import RepoError

# a conservative subset of what `git check-ref-format` accepts
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]*$")


class GitTagError(RepoError, ValueError):
    """The tag template is invalid, or git could not tag."""


def tag_name(template: str, version: str) -> str:
    """`v{version}` + 1.2.0b1 -> `v1.2.0b1`; a template that yields no valid tag is refused."""
    if "{version}" not in template:
        raise GitTagError(f"git_tag {template!r} must contain {{version}}, e.g. v{{version}}")
    name = template.replace("{version}", version)
    if not _TAG.match(name) or ".." in name or name.endswith((".lock", "/", ".")):
        raise GitTagError(
            f"git_tag {template!r} gives {name!r}, which is not a valid git tag: use letters, "
            "digits, '.', '_', '+', '-' and '/' around {version}"
        )
    return name


def tag_release(workdir: Path, name: str, message: str) -> None:
    """An annotated tag on HEAD of the git work tree at `workdir`."""
    command = ["git", "-C", str(workdir), "tag", "--annotate", name, "--message", message]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitTagError(f"could not run git: {error}") from None
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()
        raise GitTagError(
            f"git could not tag {workdir.resolve()} ({reason[-1] if reason else 'no output'}); "
            f"tag it by hand: git tag -a {name} -m {message!r}"
        )


def tag_configured(template: str, app: str, version: str, channel: str, workdir: Path) -> str:
    """Tag `workdir`'s HEAD when a template (`git_tag` of repo-tools.json) is set: the last
    step of a release. Returns the tag's name, "" when no tag is configured."""
    if not template:
        return ""
    name = tag_name(template, version)
    tag_release(workdir, name, f"{app} {version} ({channel})")
    return name
