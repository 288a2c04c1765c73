"""The wallet on its chain: connection, contracts, balances, and a `TxSender` for one account.

`ChainWallet.open(chain, signer)` connects to the chain's first RPC URL (web3 8 HTTPProvider,
`ExtraDataToPOAMiddleware` where the chain is PoA), checks that the node serves the chain id the
chain list promises, and opens the contract suite from the chain's addresses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from app.core.errors import AlayaError
from app.wallet.chains import Chain
from app.wallet.contracts import ContractSuite, StakeInfo, block_windows, call, load_artifact
from app.wallet.errors import WalletError
from app.wallet.signer import Signer
from app.wallet.transactions import NONCES, NonceManager, TxSender

RPC_TIMEOUT_S = 30


@dataclass(frozen=True)
class TokenBalance:
    symbol: str
    address: str
    amount: int
    decimals: int


@dataclass(frozen=True)
class Balances:
    account: str
    native: int  # the gas token, in wei
    native_symbol: str
    agt: int
    stake: StakeInfo
    tokens: tuple[TokenBalance, ...]  # reward tokens other than AGT


def connect(chain: Chain, rpc_url: str | None = None) -> Web3:
    """A web3 connection to `chain`, its chain id checked."""
    url = rpc_url or str(chain.rpc_urls[0])
    w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    if chain.poa:
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        served = w3.eth.chain_id
    except Exception as exc:  # connection refused, timeouts, HTTP errors: whatever requests raises
        raise WalletError(f"{chain.name}: the node at {url} does not answer ({type(exc).__name__})") from None
    if served != chain.chain_id:
        raise WalletError(f"{chain.name}: the node at {url} serves chain {served}, not {chain.chain_id}")
    return w3


class ChainWallet:
    """One account of the wallet on one chain."""

    def __init__(self, w3: Web3, chain: Chain, suite: ContractSuite, signer: Signer, *,
                 nonces: NonceManager = NONCES, poll_s: float = 0.5) -> None:
        self.w3, self.chain, self.suite, self.signer = w3, chain, suite, signer
        self.tx = TxSender(w3, signer, confirmations=chain.confirmations, native_symbol=chain.native_symbol,
                           nonces=nonces, poll_s=poll_s)

    @classmethod
    def open(cls, chain: Chain, signer: Signer, *, rpc_url: str | None = None, **options: object) -> ChainWallet:
        w3 = connect(chain, rpc_url)
        if not chain.contracts:
            raise WalletError(f"Alaya's contracts are not deployed on {chain.name} yet (no addresses in the chain list)")
        try:
            suite = ContractSuite.at(w3, chain.contracts)
        except AlayaError as exc:
            raise WalletError(f"{chain.name}: {exc}") from None
        return cls(w3, chain, suite, signer, **options)  # type: ignore[arg-type]

    @property
    def address(self) -> str:
        return self.signer.address

    def latest_timestamp(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def events(self, event: Any, **argument_filters: Any) -> list[Any]:
        """Every log of `event` (e.g. `suite.reward_pool.events.Claimed()`) matching the filters,
        oldest first: from the contracts' deployment block to the latest, `log_window` blocks
        per request."""
        chain, logs = self.chain, []
        for start, end in block_windows(chain.deployed_at_block, self.w3.eth.block_number, chain.log_window):
            logs += event.get_logs(from_block=start, to_block=end, argument_filters=argument_filters)
        return logs

    def erc20(self, address: str) -> Any:
        """An ERC-20 token contract on this chain (AGT's ABI: its ERC-20 part is the standard one)."""
        return self.w3.eth.contract(address=address, abi=load_artifact("AGT").abi)

    def balances(self, reward_tokens: Sequence[str] = ()) -> Balances:
        """Gas token, AGT, stake, and each ERC-20 in `reward_tokens` (addresses), read at one block."""
        block = self.w3.eth.block_number
        me = self.address
        tokens = [self._token_balance(address, block) for address in reward_tokens
                  if not Web3.is_address(address) or Web3.to_checksum_address(address) != self.suite.agt.address]
        return Balances(me, self.w3.eth.get_balance(me, block), self.chain.native_symbol,
                        call(self.suite.agt.functions.balanceOf(me), block=block),
                        self.suite.stake_info(me, block=block), tuple(tokens))

    def _token_balance(self, address: str, block: int) -> TokenBalance:
        if not isinstance(address, str) or not Web3.is_address(address):
            raise WalletError(f"not a token address: {address!r}")
        checksummed = Web3.to_checksum_address(address)
        if not self.w3.eth.get_code(checksummed, block):
            raise WalletError(f"no token contract at {checksummed} on {self.chain.name}")
        token = self.erc20(checksummed)
        try:
            return TokenBalance(call(token.functions.symbol(), block=block), checksummed,
                                call(token.functions.balanceOf(self.address), block=block),
                                call(token.functions.decimals(), block=block))
        except Exception:  # not an ERC-20: web3 cannot decode what it answered
            raise WalletError(f"{checksummed} on {self.chain.name} does not answer as an ERC-20 token") from None


def read_addresses(path: str) -> dict[str, str]:
    """Contract addresses from a JSON file (what `ContractSuite.addresses()` wrote); the suite checks them."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise WalletError(f"{path}: cannot read the contract addresses ({exc.strerror})") from None
    except ValueError:
        raise WalletError(f"{path}: the contract addresses are not JSON") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise WalletError(f"{path}: expected an object of contract name -> address")
    return data


class WatchOnly:
    """A signer that only knows its address: reads (balances, level) without unlocking."""

    def __init__(self, address: str) -> None:
        self.address = address

    def _refuse(self, *_: object) -> str:
        raise WalletError("reading needs no key, but this needs the wallet unlocked")

    sign_message = sign_typed_data = sign_transaction = _refuse
