"""What a key holder is about to sign: a draft against the version it replaces, in words.

Pure decisions on metadata (no files, no clock but the one passed in), shared by the repository
machine (`ceremony status`, `ceremony sign`) and an air-gapped signing machine (`ceremony sign
--request`, `targets sign --request`), which has only a signing request. Two results:
* `lines`: the readable summary (versions, expiry, keys added and removed per role with their
  full key ids and holder names, thresholds before and after, online keys rotated; for targets,
  the files added, changed and removed);
* `problems`: why the draft must not be signed at all (it does not follow from the version it
  claims to replace, or `finish`/`publish` would refuse it later). Nothing is signed while there
  is a problem; `warnings` are shown and need the holder's attention only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tuf.api.metadata import Key, Metadata, Root, Targets

from repo_tools.roles import ROLES, Role

HOLDER_FIELD = "x-repo-tools-holder"  # a key's holder, carried in root next to the key
FOLLOWS_FIELD = "x-repo-tools-follows"  # a draft root's base: sha256 of its signed bytes
LONG_EXPIRY = timedelta(days=2 * 366)  # an expiry beyond this is pointed out


@dataclass
class Changes:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        out = list(self.lines)
        out += [f"WARNING: {w}" for w in self.warnings]
        out += [f"REFUSED: {p}" for p in self.problems]
        return "\n".join(out)


def fingerprint(md: Metadata) -> str:
    """What a draft root names as its base: the sha256 of the base's signed part."""
    return hashlib.sha256(md.signed_bytes).hexdigest()


def holder_of(key: Key) -> str:
    name = key.unrecognized_fields.get(HOLDER_FIELD)
    return str(name) if name else "no holder name"


def _key_line(sign: str, keyid: str, key: Key) -> str:
    return f"    {sign} {keyid} ({key.keytype}, {holder_of(key)})"


def _expiry_lines(old: datetime, new: datetime, now: datetime, changes: Changes) -> None:
    days = (new - now).days
    changes.lines.append(
        f"expires {new:%Y-%m-%d %H:%M} UTC (in {days} days); the current one "
        f"{old:%Y-%m-%d %H:%M} UTC"
    )
    if new <= now:
        changes.problems.append(f"the draft expired on {new:%Y-%m-%d %H:%M} UTC")
    elif new - now > LONG_EXPIRY:
        changes.warnings.append(
            f"the draft expires in {days} days, more than two years from now: a key stolen "
            "later stays useful that long. Refuse unless your team agreed on it"
        )


def _version_follows(changes: Changes, role: str, old: int, new: int) -> None:
    """The draft's version line, and a problem unless it is the published version + 1."""
    changes.lines.append(f"{role} version {old} -> {new}")
    if new != old + 1:
        changes.problems.append(
            f"the draft is {role} version {new}, but the published {role} is version {old}: "
            f"only version {old + 1} can follow it"
        )


def compare_roots(current: Metadata[Root], draft: Metadata[Root], now: datetime) -> Changes:
    """The draft root against the published root it must follow."""
    changes = Changes()
    old, new = current.signed, draft.signed
    _version_follows(changes, "root", old.version, new.version)
    follows = new.unrecognized_fields.get(FOLLOWS_FIELD)
    if follows != fingerprint(current):
        changes.problems.append(
            "the draft does not follow the published root (it names "
            f"{str(follows)[:16] if follows else 'no base'}, the published root is "
            f"{fingerprint(current)[:16]}): it was made from another root or edited by hand"
        )
    _expiry_lines(old.expires, new.expires, now, changes)
    if new.consistent_snapshot != old.consistent_snapshot:
        changes.problems.append("the draft changes consistent_snapshot: clients would break")
    for role in ROLES:
        _role_lines(role, old, new, changes)
    return changes


def _role_lines(role: str, old: Root, new: Root, changes: Changes) -> None:
    before, after = old.roles.get(role), new.roles.get(role)
    if after is None or before is None:
        changes.problems.append(f"the draft has no {role} role")
        return
    added = [k for k in after.keyids if k not in before.keyids]
    removed = [k for k in before.keyids if k not in after.keyids]
    for keyid in set(before.keyids) & set(after.keyids):
        if old.keys[keyid].to_dict() != new.keys[keyid].to_dict():
            changes.problems.append(
                f"{role} key {keyid} has another public key in the draft than in the "
                "published root under the same key id"
            )
    if not 1 <= after.threshold <= len(after.keyids):
        changes.problems.append(
            f"{role} threshold {after.threshold} needs between 1 and {len(after.keyids)} keys"
        )
    counts = f"{before.threshold} of {len(before.keyids)} -> {after.threshold} of "
    counts += str(len(after.keyids))
    if not added and not removed and before.threshold == after.threshold:
        changes.lines.append(f"{role}: unchanged ({after.threshold} of {len(after.keyids)} keys)")
        return
    rotated = " (online key rotated)" if role != Role.ROOT and added and removed else ""
    changes.lines.append(f"{role}: threshold {counts}{rotated}")
    changes.lines += [_key_line("+ added  ", k, new.keys[k]) for k in added]
    changes.lines += [_key_line("- removed", k, old.keys[k]) for k in removed]


def compare_targets(current: Metadata[Targets], draft: Metadata[Targets], now: datetime) -> Changes:
    """A targets draft (a release prepared for offline signing) against published targets."""
    changes = Changes()
    old, new = current.signed, draft.signed
    _version_follows(changes, "targets", old.version, new.version)
    _expiry_lines(old.expires, new.expires, now, changes)
    if new.delegations != old.delegations:
        changes.problems.append("the draft changes delegations, which repo-tools never does")
    for name in sorted(set(old.targets) | set(new.targets)):
        before, after = old.targets.get(name), new.targets.get(name)
        if before is not None and after is not None and before == after:
            continue
        if after is None:
            changes.lines.append(f"  - removed {name}")
            continue
        custom = after.unrecognized_fields.get("custom", {})
        detail = ", ".join(
            f"{k} {custom[k]}" for k in ("version", "base", "rollout", "yanked") if k in custom
        )
        sign = "+ added  " if before is None else "~ changed"
        changes.lines.append(
            f"  {sign} {name} ({after.length} bytes, sha256 {after.hashes.get('sha256', '?')}"
            + (f"; {detail}" if detail else "")
            + ")"
        )
    if len(changes.lines) == 2:
        changes.lines.append("  no target file changes")
    return changes
