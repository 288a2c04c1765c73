"""The embedded wallet, free of Qt: keys (BIP-39/44), keystore files, the OS keychain, lock
state, signers, the chains as data, and Alaya's contracts, vouchers and Merkle proofs.
`app.wallet.wallet.Wallet` is the entry point."""
