"""The wallet on a real OS keychain: GNOME Keyring's Secret Service on a private D-Bus session.

keyring finds the Secret Service by itself (no backend is forced), the wallet takes it as
real, keeps its password there, opens again from it, and `require_passphrase` takes it out.
Needs `dbus-run-session` and `gnome-keyring-daemon` (Debian: dbus-daemon, gnome-keyring);
skipped without them unless ALAYA_REQUIRE_KEYCHAIN=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("dbus-run-session", "gnome-keyring-daemon")

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from app.wallet import keystore
    keystore.SCRYPT_N = 2**12  # a light cost for the test; users get 2**18
    from app.wallet.errors import KeychainError
    from app.wallet.keychain import SERVICE, Keychain
    from app.wallet.wallet import Wallet

    chain = Keychain.detect()
    assert chain is not None, "the Secret Service was not taken as a real keychain"
    print(type(chain.backend).__module__)
    folder = Path(sys.argv[1])
    record = Wallet(folder, keychain=chain).create_from_mnemonic(
        "test test test test test test test test test test test junk")
    assert record.protected_by == "keychain"
    reopened = Wallet(folder, keychain=Keychain.detect())
    reopened.unlock()
    print(reopened.signer().address)
    reopened.require_passphrase("a passphrase now")
    try:
        chain.fetch(record.id)
    except KeychainError:
        print("entry removed")
    """
)


def test_a_real_secret_service_keeps_the_wallet_password(tmp_path: Path) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        if os.environ.get("ALAYA_REQUIRE_KEYCHAIN") == "1":
            pytest.fail(f"missing {', '.join(missing)} (Debian: dbus-daemon, gnome-keyring)")
        pytest.skip(f"no {', '.join(missing)}")
    data = tmp_path / "home" / "data"
    (data / "keyrings").mkdir(parents=True)
    # the login keyring (created by --unlock from the password on stdin) is the default
    # collection; without this, creating one asks through a GUI prompter, which a headless box lacks
    (data / "keyrings" / "default").write_text("login")
    env = {key: value for key, value in os.environ.items() if key != "PYTHON_KEYRING_BACKEND"}
    env.update(PYTHONPATH=str(REPO), HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(data), ALAYA_CHILD=CHILD)
    script = (f'printf "keyring-login" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; '
              f'"{sys.executable}" -c "$ALAYA_CHILD" "{tmp_path / "wallet"}"')
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out, "w") as stdout, open(err, "w") as stderr:  # files: a daemon may outlive the session
        code = subprocess.run(["dbus-run-session", "--", "sh", "-c", script], stdout=stdout, stderr=stderr,
                              stdin=subprocess.DEVNULL, env=env, timeout=120).returncode
    assert code == 0, err.read_text()[-3000:]
    assert out.read_text().split("\n")[:3] == ["keyring.backends.SecretService",
                                               "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "entry removed"]
