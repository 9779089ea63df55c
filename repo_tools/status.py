"""`repo-tools status`: what is published, per channel and per role."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from client.formats import CHANNELS, visible_on
from client.tree_format import DELTA_SUFFIX
from repo_tools.catalog import released_archives
from repo_tools.repository import load_roles, metadata_dir, root_versions, targets_dir
from repo_tools.roles import ROLES


@dataclass(frozen=True)
class RoleStatus:
    version: int
    expires: str  # ISO 8601 UTC
    threshold: int
    keys: int
    signatures: int


@dataclass(frozen=True)
class RepositoryStatus:
    latest: dict[str, str | None]  # channel -> newest release offered on it
    releases: list[str]
    rollouts: dict[str, int]  # staged rollouts still in progress (or halted): version -> percent
    withdrawn: dict[str, str]  # withdrawn releases (repo-tools yank): version -> reason
    patches: int  # deltas (format 2) and patches (format 1, tufup's)
    roles: dict[str, RoleStatus]
    root_versions: int
    metadata_bytes: int
    targets_bytes: int

    def to_json(self) -> dict[str, Any]:
        """The `status --json` document."""
        return asdict(self)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*") if p.is_file()) if folder.exists() else 0


def repository_status(repo: Path) -> RepositoryStatus:
    roles = load_roles(repo)
    archives = released_archives(roles.targets.signed)
    offered = [v for v, (_, info) in archives.items() if not info.yanked]
    latest = {
        channel: str(max((v for v in offered if visible_on(v, channel)), default="")) or None
        for channel in CHANNELS
    }
    role_info = {}
    for name in ROLES:
        md = roles.by_name(name)
        role_keys = roles.root.signed.roles[name]
        role_info[name.value] = RoleStatus(
            version=md.signed.version,
            expires=md.signed.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            threshold=role_keys.threshold,
            keys=len(role_keys.keyids),
            signatures=len(md.signatures),
        )
    patches = [n for n in roles.targets.signed.targets if n.endswith((".patch", DELTA_SUFFIX))]
    ordered = sorted(archives.items())
    return RepositoryStatus(
        latest=latest,
        releases=[str(v) for v in sorted(archives)],
        rollouts={str(v): info.rollout for v, (_, info) in ordered if info.rollout < 100},
        withdrawn={str(v): info.yanked for v, (_, info) in ordered if info.yanked},
        patches=len(patches),
        roles=role_info,
        root_versions=len(root_versions(repo)),
        metadata_bytes=_folder_size(metadata_dir(repo)),
        targets_bytes=_folder_size(targets_dir(repo)),
    )


def format_status(status: RepositoryStatus) -> str:
    lines = ["Latest release per channel:"]
    lines += [f"  {c:<7} {v or '-'}" for c, v in status.latest.items()]
    lines.append(f"Releases: {len(status.releases)}, deltas and patches: {status.patches}")
    for version, percent in status.rollouts.items():
        lines.append(f"  {version}: rollout {percent}%" + (" (halted)" if percent == 0 else ""))
    for version, reason in status.withdrawn.items():
        lines.append(f"  {version}: withdrawn ({reason})")
    lines.append("Roles:")
    for name, info in status.roles.items():
        lines.append(
            f"  {name:<9} v{info.version:<4} expires {info.expires}  "
            f"threshold {info.threshold}/{info.keys} keys, {info.signatures} signature(s)"
        )
    lines.append(
        f"Size: metadata {status.metadata_bytes:,} bytes, targets {status.targets_bytes:,} bytes"
    )
    return "\n".join(lines)
