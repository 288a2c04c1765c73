"""The coordinator's chain side: stake tier and NFT level read for routing (cached per block),
EIP-712 vouchers signed with the coordinator's key, the RewardPool epoch opened and the Merkle
root of an epoch's accepted submissions anchored when the month closes, inclusion proofs served.

Everything here is optional: a coordinator started without `--chain-rpc` has no `ctx.chain`,
admin-set tiers, and answers the chain endpoints with 409 `no_chain`.
"""
