"""Installed tufup applications move over (issue 12): a release that embeds our client,
installed by a real stock tufup client into its in-place folder, takes over on its first
start (client/tufup_takeover.py) into an install root in the application's data folder,
keeping the user's files and tufup's trusted metadata, and from then on updates through our
client. Real releases over HTTPS, real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.install import server_entry
from tests.support.publisher import Publisher, release_bundle, set_config, tools_ok
from tests.support.stock_tufup import StockClient, TufupPublisher, install_stock

ROOT = Path(__file__).resolve().parent.parent
APP = """\
import json, pathlib, sys
here = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(here))  # this bundle's own client
data = pathlib.Path(sys.argv[1])  # the application's data folder
from client.tufup_takeover import take_over_tufup
outcome = take_over_tufup("demo", tufup_metadata_dir=data / "metadata", install_root=data)
from client import Updater
version = json.loads((here / ".update" / "release.json").read_text())["version"]
updater = Updater.from_config(install_root=data)
updater.running_version = version
if sys.argv[2:] == ["update"]:
    print("result", updater.update())
updater.confirm_healthy()
print("app", version, "in", here.parent.name, outcome.start)
"""


def _bundle(bundle: Path, label: str) -> Path:
    shutil.rmtree(bundle, ignore_errors=True)
    bundle.mkdir(parents=True)
    (bundle / "app.py").write_text(APP)
    (bundle / "label.txt").write_text(label)
    shutil.copytree(
        ROOT / "client", bundle / "client", ignore=shutil.ignore_patterns("__pycache__")
    )
    return bundle


class Field:
    def __init__(self, publisher: Publisher, server_url: str, ca_file: Path, tmp: Path) -> None:
        self.publisher, self.url, self.ca, self.tmp = publisher, server_url, ca_file, tmp
        settings = {"servers": [server_entry(server_url)], "ca_bundle": str(ca_file)}
        set_config(publisher.repo, client_settings=settings)
        self.env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def release(self, version: str) -> None:
        bundle = _bundle(self.tmp / "bundle", version)
        release_bundle(self.publisher.repo, self.publisher.keys, bundle, "--version", version)

    def start(self, entry: Path, data: Path, *args: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, str(entry), str(data), *args],
            capture_output=True, text=True, timeout=120, env=self.env,
        )  # fmt: skip
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
        return done.stdout.strip().splitlines()


def _take_over_and_update(field: Field, stock: StockClient) -> None:
    data = stock.base  # tufup's metadata/ and targets/, the user's files, the in-place app/
    (data / "user-settings.ini").write_text("[user]\ntheme = dark\n")
    field.release("2.0.0")  # the first release that embeds our client
    result = stock.update(field.url)
    assert result.get("found") == "2.0.0", result
    assert (stock.app_dir / "client" / "tufup_takeover.py").is_file()
    tufup_timestamp = json.loads((data / "metadata" / "timestamp.json").read_text())

    # the first start, from tufup's in-place folder: set up, then the process is replaced by
    # the installed application (which finds itself installed)
    assert field.start(stock.app_dir / "app.py", data) == ["app 2.0.0 in versions installed"]
    assert (data / "current").resolve() == data / "versions" / "2.0.0"
    state = json.loads((data / "state.json").read_text())
    assert state["app"] == "demo"
    assert (data / "user-settings.ini").read_text() == "[user]\ntheme = dark\n"
    assert (data / "metadata" / "timestamp.json").is_file()  # tufup's own files untouched
    carried = json.loads((data / "cache" / "metadata" / "timestamp.json").read_text())
    assert carried["signed"]["version"] >= tufup_timestamp["signed"]["version"]
    events = [json.loads(x)["event"] for x in (data / "history.jsonl").read_text().splitlines()]
    assert events[:2] == ["setup", "took_over"]
    # started again from the old folder: the installed application runs instead, no new setup
    assert field.start(stock.app_dir / "app.py", data) == ["app 2.0.0 in versions installed"]
    events = [json.loads(x)["event"] for x in (data / "history.jsonl").read_text().splitlines()]
    assert events.count("setup") == 1

    # from now on our client updates it
    field.release("2.1.0")
    entry = data / "current" / "app.py"
    assert field.start(entry, data, "update")[0] == "result 2.1.0"
    assert field.start(entry, data)[-1] == "app 2.1.0 in versions installed"
    assert (data / "user-settings.ini").is_file()


def test_a_stock_tufup_install_takes_over_into_our_layout(tmp_path: Path, https_server, test_ca):
    """A repo-tools repository its stock clients already use (their app at 1.0.0, made
    before; only its root is what they trust)."""
    publisher = Publisher(tmp_path / "publisher")
    server = https_server(publisher.repo)
    field = Field(publisher, server.url, test_ca.ca_file, tmp_path)
    stock = StockClient(
        tmp_path / "data", "demo", "1.0.0", publisher.repo / "metadata" / "1.root.json",
        test_ca.ca_file,
    )  # fmt: skip
    _take_over_and_update(field, stock)


def test_an_adopted_repository_s_stock_clients_take_over(tmp_path: Path, https_server, test_ca):
    """The whole way: a tufup repository, a stock client at 1.0.0 with tufup's patch base
    cached, `adopt-tufup`, the release embedding our client, take-over, our updates."""
    tufup = TufupPublisher(tmp_path / "tufup")
    tufup.release("1.0.0", "one")
    server = https_server(tufup.repo)
    stock = install_stock(
        tmp_path / "data", "demo", tufup.repo / "targets" / "demo-1.0.0.tar.gz", "1.0.0",
        tufup.repo / "metadata" / "1.root.json", test_ca.ca_file, cached=True,
    )  # fmt: skip
    assert stock.update(server.url).get("found") is None
    keys = tmp_path / "keys"
    tools_ok(tufup.repo, keys, "adopt-tufup", "--tufup-keys", str(tufup.keystore))
    field = Field(Publisher.of(tufup.repo, keys), server.url, test_ca.ca_file, tmp_path)
    _take_over_and_update(field, stock)
