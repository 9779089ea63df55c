"""A real PKCS#11 token for the hardware-key tests: SoftHSM2 with its own token folder.

`SoftToken.make(folder, label)` writes a softhsm2.conf pointing at a fresh token folder,
initialises a token (`softhsm2-util --init-token`), and `generate(key_id)` creates an ECDSA
P-256 key pair on it through python-pkcs11 (in a child process, as a token tool would: the
PKCS#11 library is initialised once per process and reads its configuration then). `env`
holds what a repo-tools process needs to use the token: SOFTHSM2_CONF, PYKCS11LIB and the PIN
file. Without softhsm2 or python-pkcs11 the test is skipped, but fails in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.display import need, unavailable

LIBRARIES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
PIN = "246813"
SO_PIN = "97531864"

_GENERATE = """
import sys, pkcs11
from pkcs11.util.ec import encode_named_curve_parameters
lib = pkcs11.lib(sys.argv[1])
token = lib.get_token(token_label=sys.argv[2])
with token.open(rw=True, user_pin=sys.argv[3]) as session:
    params = session.create_domain_parameters(
        pkcs11.KeyType.EC,
        {pkcs11.Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
        local=True,
    )
    params.generate_keypair(store=True, id=pkcs11.util.biginteger(int(sys.argv[4])),
                            label="repo-tools-" + sys.argv[4])
"""


def library() -> str:
    for path in LIBRARIES:
        if Path(path).exists():
            return path
    unavailable("the SoftHSM2 PKCS#11 library is not installed (apt-get install softhsm2)")
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class SoftToken:
    folder: Path
    label: str
    env: dict[str, str]

    @classmethod
    def make(cls, folder: Path, label: str) -> SoftToken:
        util = need("softhsm2-util", "softhsm2")
        lib = library()
        try:
            import pkcs11  # noqa: F401  (python-pkcs11, securesystemslib's HSM signer uses it)
        except ImportError:
            unavailable("python-pkcs11 is not installed (pip install 'secure-updater[hsm]')")
        tokens = folder / "tokens"
        tokens.mkdir(parents=True)
        conf = folder / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
        pin_file = folder / "pin.txt"
        pin_file.write_text(PIN + "\n")
        env = {
            "SOFTHSM2_CONF": str(conf),
            "PYKCS11LIB": lib,
            "REPO_TOOLS_PIN_FILE": str(pin_file),
        }
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, "--pin", PIN, "--so-pin", SO_PIN],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
            timeout=60,
        )
        return cls(folder, label, env)

    def generate(self, key_id: int) -> None:
        subprocess.run(
            [sys.executable, "-c", _GENERATE, self.env["PYKCS11LIB"], self.label, PIN, str(key_id)],
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            timeout=60,
        )

    def process_env(self, **extra: str) -> dict[str, str]:
        """The environment of a repo-tools process that uses this token."""
        base = {k: v for k, v in os.environ.items() if not k.startswith("REPO_TOOLS_")}
        return {**base, **self.env, **extra}
