"""Chain settings of the coordinator, and where its signing key comes from.

The key comes from a keystore v3 file (its password given separately) or straight from a
secret value (an environment variable read by the CLI). It is held as `SecretStr` while it is
configuration and as an eth-account key inside `SigningKey`: neither shows it in a repr, a log
line or an error message.
"""

from __future__ import annotations

import json
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, SecretStr

CONTRACT_NAMES = ("AGT", "StakingVault", "AlayaNFT", "Medallion", "RewardPool", "AuditAnchor")
KEY_ENV = "ALAYA_COORDINATOR_SIGNER_KEY"
PASSWORD_ENV = "ALAYA_COORDINATOR_SIGNER_PASSWORD"


class ChainConfigError(ValueError):
    """The chain settings cannot be used; the message says which and why (never a secret)."""


class ChainConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rpc_url: str = Field(min_length=1)
    contracts: dict[str, str]  # contract name -> address, as deploy_suite().addresses() writes them
    signer_key: SecretStr | None = None  # hex private key (from the environment)
    signer_keystore: Path | None = None  # or a keystore v3 file ...
    signer_password: SecretStr | None = None  # ... and its password
    poa: bool = False  # BSC, Polygon: blocks carry more than 32 bytes of extraData
    confirmations: int = Field(default=0, ge=0, le=1000)  # before a sent transaction counts
    wei_per_micro_credit: int = Field(default=10**12, gt=0)  # 1 credit = 1 AGT (18 decimals)
    claim_window_s: int = Field(default=30 * 86_400, gt=0)  # a RewardPool epoch stays claimable so long
    open_pool_epochs: bool = True  # False: someone else opens RewardPool epochs (vouchers wait for it)
    block_ttl_s: float = Field(default=1.0, ge=0)  # how long "the latest block" is taken as known
    rpc_timeout_s: float = Field(default=10.0, gt=0)
    deployed_at_block: int = Field(default=0, ge=0)  # event searches start here, not at block 0 ...
    log_window: int = Field(default=10_000, ge=1)  # ... and span at most this many blocks a request


def read_contracts_file(path: Path) -> dict[str, str]:
    """{name: checksummed address} from a JSON file holding the six contract addresses."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ChainConfigError(f"{path}: cannot read the contract addresses ({exc.strerror})") from None
    except ValueError as exc:
        raise ChainConfigError(f"{path}: not JSON ({exc})") from None
    return check_contracts(data, where=str(path))


def check_contracts(data: object, *, where: str) -> dict[str, str]:
    if not isinstance(data, dict):
        raise ChainConfigError(f"{where}: expected an object of contract name -> address")
    missing = [name for name in CONTRACT_NAMES if name not in data]
    if missing:
        raise ChainConfigError(f"{where}: no address for {', '.join(missing)}")
    for name in CONTRACT_NAMES:
        if not isinstance(data[name], str) or not is_address(data[name]):
            raise ChainConfigError(f"{where}: {name}: {data[name]!r} is not an address")
    return {name: to_checksum_address(data[name]) for name in CONTRACT_NAMES}


def load_signing_account(config: ChainConfig) -> LocalAccount:
    """The coordinator's voucher and transaction key. Errors name the source, never the key."""
    if (config.signer_key is None) == (config.signer_keystore is None):
        raise ChainConfigError("give the coordinator's key either as a keystore file or as "
                               f"{KEY_ENV}, not both and not neither")
    if config.signer_key is not None:
        try:
            return Account.from_key(config.signer_key.get_secret_value().strip())
        except (ValueError, TypeError):
            raise ChainConfigError(f"{KEY_ENV} is not a private key (64 hex digits)") from None
    path = Path(config.signer_keystore)  # type: ignore[arg-type]
    if config.signer_password is None:
        raise ChainConfigError(f"{path}: its password is missing (set {PASSWORD_ENV} or use --signer-password-fd)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ChainConfigError(f"{path}: cannot read the keystore ({exc.strerror})") from None
    except ValueError:
        raise ChainConfigError(f"{path}: the keystore is not JSON") from None
    try:
        key = Account.decrypt(document, config.signer_password.get_secret_value())
    except ValueError:
        raise ChainConfigError(f"{path}: wrong password, or the keystore is damaged") from None
    except (KeyError, TypeError):
        raise ChainConfigError(f"{path}: not a keystore v3 file") from None
    return Account.from_key(key)
