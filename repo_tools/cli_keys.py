"""`repo-tools` commands for keys and root: `keygen`, `encrypt-key`, `ceremony ...`,
`rotate-key`.

Registered on the main group by repo_tools.cli; each one calls one function of
repo_tools.ceremony or repo_tools.rotate and formats its result.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import click

from repo_tools.cli_base import Context, run
from repo_tools.roles import ONLINE_ROLES

if TYPE_CHECKING:
    from repo_tools.holder_keys import NewKey

ONLINE_ROLE_NAMES = [role.value for role in ONLINE_ROLES]


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Private key file to create (public part: OUT.pub.json); with --token-key, the "
    "signer reference NAME.signer.json.",
)
@click.option("--holder", help="Who holds the key (shown to every holder who signs).")
@click.option(
    "--no-encrypt",
    is_flag=True,
    help="Write the private key unencrypted (default: encrypted with a passphrase from a "
    "prompt, REPO_TOOLS_PASSPHRASE_FILE or REPO_TOOLS_PASSPHRASE).",
)
@click.option(
    "--token-key",
    type=int,
    help="Use key ID N of a PKCS#11 token (YubiKey, HSM) instead of a key file; the token's "
    "library is named by PYKCS11LIB, its PIN asked for or taken from REPO_TOOLS_PIN_FILE.",
)
@click.option("--token-label", help="The token's label, when more than one is plugged in.")
@click.pass_obj
def keygen(
    obj: Context,
    out: Path,
    holder: str | None,
    no_encrypt: bool,
    token_key: int | None,
    token_label: str | None,
) -> None:
    """Create a key for a key holder (offline); share only the .pub.json file."""
    from repo_tools.holder_keys import import_token_key
    from repo_tools.holder_keys import keygen as do_keygen
    from repo_tools.passphrase import new_passphrase

    name = holder or out.name.split(".")[0]
    if token_key is not None:
        key = run(lambda: import_token_key(out, token_key, token_label, name))
        click.echo(f"token key {key.private} (holds no secret); public key {key.public}")
        return

    def make() -> NewKey:
        passphrase = None if no_encrypt else new_passphrase(f"private key {out}")
        return do_keygen(out, obj.repo, name, passphrase)

    key = run(make)
    state = "unencrypted" if no_encrypt else "encrypted"
    click.echo(f"private key {key.private} ({state}; keep it offline); public key {key.public}")


@click.command("encrypt-key")
@click.argument("key_file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def encrypt_key(key_file: Path) -> None:
    """Encrypt an existing key file (any role) with a passphrase, in place."""
    from repo_tools.keys import protect

    stored = run(lambda: protect(key_file))
    click.echo(f"encrypted {key_file} (key id {stored.keyid[:12]})")


class Shown(Protocol):
    """What a holder is shown before signing (a ceremony's or a held release's review, or the
    changes of a signing request)."""

    def text(self) -> str: ...


def confirmer(yes: bool) -> Callable[[Shown], bool]:
    """Show what is signed; ask unless --yes (no answer, e.g. no terminal: not confirmed)."""

    def confirm(shown: Shown) -> bool:
        click.echo(shown.text())
        if yes:
            return True
        try:
            return click.confirm("sign exactly this?", default=False, err=True)
        except click.Abort:
            return False

    return confirm


YES_OPTION = click.option(
    "--yes", is_flag=True, help="Sign without asking (automation); the summary is still printed."
)


@click.group()
def ceremony() -> None:
    """Offline root signing: rotate keys, change root keys or threshold."""


@ceremony.command("begin")
@click.option(
    "--rotate",
    multiple=True,
    type=click.Choice(ONLINE_ROLE_NAMES),
    help="Give this online role a new key (repeatable).",
)
@click.option(
    "--add-root-key",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Public key file (.pub.json from keygen) of a new root key holder.",
)
@click.option("--remove-root-key", multiple=True, help="Key id (or unique prefix) to remove.")
@click.option("--root-threshold", type=int, help="New number of root signatures required.")
@click.option(
    "--targets-key",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    help="Public key file (.pub.json) that alone signs targets from now on (repeatable): a "
    "token's key or offline targets holders'. finish signs targets with them.",
)
@click.option("--targets-threshold", type=int, default=1, show_default=True)
@click.pass_obj
def ceremony_begin(
    obj: Context,
    rotate: tuple[str, ...],
    add_root_key: tuple[Path, ...],
    remove_root_key: tuple[str, ...],
    root_threshold: int | None,
    targets_key: tuple[Path, ...],
    targets_threshold: int,
) -> None:
    """Draft the next root version with the requested changes."""
    from repo_tools.ceremony import begin

    changes = (list(rotate), list(add_root_key), list(remove_root_key), root_threshold)
    targets = (list(targets_key), targets_threshold) if targets_key else None
    draft = run(lambda: begin(obj.repo, obj.keys, *changes, targets_keys=targets))
    click.echo(
        f"draft root version {draft.version} in {draft.path}; "
        "each root key holder now runs `repo-tools ceremony sign --key FILE`"
    )


@ceremony.command("sign")
@click.option(
    "--key",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="A root private key file (current or new root key), or a token's .signer.json.",
)
@click.option(
    "--request",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="Sign this signing request (from `ceremony export`) where there is no repository; "
    "writes a signature file for `ceremony collect`.",
)
@click.option(
    "--out", type=click.Path(path_type=Path), help="Signature file to write (with --request)."
)
@YES_OPTION
@click.pass_obj
def ceremony_sign(
    obj: Context, key: Path, request: Path | None, out: Path | None, yes: bool
) -> None:
    """Show the draft's changes, then add one root key holder's signature."""
    if request is not None:
        written = run(lambda: sign_request_file(request, key, out, confirmer(yes)))
        click.echo(f"signature written to {written}: bring it back for `collect`")
        return
    from repo_tools.ceremony import sign_draft

    signed = run(lambda: sign_draft(obj.repo, key, obj.keys, confirmer(yes)))
    click.echo(f"signed with {signed.keyids[0][:12]}; {signed.progress.describe()}")


def sign_request_file(
    request_path: Path, key: Path, out: Path | None, confirm: Callable[[Shown], bool]
) -> Path:
    """Air-gapped: sign a signing request, write the signature file (nothing else is read)."""
    from repo_tools import signing_request as req

    request = req.read_request(request_path)
    signature = req.sign_with(request, key, confirm)
    path = out or req.signature_path(request_path.parent, request, signature.keyid)
    req.write_signature(path, request, signature)
    return path


@ceremony.command("export")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Request to write.")
@click.pass_obj
def ceremony_export(obj: Context, out: Path) -> None:
    """Write a signing request for holders who sign away from the repository."""
    from repo_tools.ceremony import export_request

    shown = run(lambda: export_request(obj.repo, obj.keys, out))
    click.echo(shown.text())
    click.echo(
        f"signing request written to {out}: each holder runs `repo-tools ceremony sign "
        "--request FILE --key KEY` and sends back the signature file"
    )


@ceremony.command("collect")
@click.argument("signatures", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.pass_obj
def ceremony_collect(obj: Context, signatures: tuple[Path, ...]) -> None:
    """Add signature files from `ceremony sign --request` to the draft (each checked)."""
    from repo_tools.ceremony import collect

    signed = run(lambda: collect(obj.repo, list(signatures)))
    click.echo(
        f"added {len(signed.keyids)} signature(s) ({', '.join(k[:12] for k in signed.keyids)}); "
        f"{signed.progress.describe()}"
    )


@ceremony.command("status")
@click.pass_obj
def ceremony_status(obj: Context) -> None:
    """What the draft changes, who signed it, the signatures against the thresholds."""
    from repo_tools.ceremony import review

    shown = run(lambda: review(obj.repo, obj.keys))
    click.echo(shown.text() + ("; ready to finish" if shown.progress.complete else ""))


@ceremony.command("finish")
@click.pass_obj
def ceremony_finish(obj: Context) -> None:
    """Publish the signed root; put rotated keys in place and re-sign their roles."""
    from repo_tools.ceremony import finish

    finished = run(lambda: finish(obj.repo, obj.keys))
    click.echo(f"published root version {finished.version}")


@ceremony.command("abort")
@click.pass_obj
def ceremony_abort(obj: Context) -> None:
    """Drop the draft and any new online keys it created."""
    from repo_tools.ceremony import abort

    run(lambda: abort(obj.repo, obj.keys))
    click.echo("ceremony aborted")


@click.command("rotate-key")
@click.argument("role", type=click.Choice(ONLINE_ROLE_NAMES))
@click.pass_obj
def rotate_key(obj: Context, role: str) -> None:
    """Replace an online role's key; finishes at once if enough root keys are at hand."""
    from repo_tools.rotate import rotate_key as do_rotate

    rotation = run(lambda: do_rotate(obj.repo, obj.keys, role))
    if not rotation.finished:
        click.echo(
            f"{rotation.progress.describe()}: collect the missing signatures with "
            "`repo-tools ceremony sign --key FILE`, then `repo-tools ceremony finish`"
        )
        sys.exit(1)
    click.echo(f"rotated the {role} key; published root version {rotation.root_version}")


@click.command("use-signer")
@click.argument("role", type=click.Choice(ONLINE_ROLE_NAMES))
@click.option(
    "--uri",
    required=True,
    help="securesystemslib signer URI of the role's key, e.g. hsm:2?label=ci-token or "
    "file2:/run/secrets/timestamp.pem (tested here: hsm:, file2:).",
)
@click.option("--key-id", help="Which of the role's keys (when root names several).")
@click.pass_obj
def use_signer(obj: Context, role: str, uri: str, key_id: str | None) -> None:
    """Sign an online role with a key held by a token, a secret file or a key service."""
    from repo_tools.signer_uri import use_signer as configure

    done = run(lambda: configure(obj.repo, obj.keys, role, uri, key_id))
    click.echo(
        f"{role} signs with {uri} (key id {done.keyid[:12]}) from {done.path}; remove the "
        f"old key file online/{role}.pem if it is still there"
    )
