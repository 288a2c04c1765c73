"""The embedded wallet: keys, chains, Alaya's contracts, vouchers and Merkle proofs (no Qt)."""
