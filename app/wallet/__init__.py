"""The embedded wallet, free of Qt: keys (BIP-39/44), keystore files, the OS keychain, lock
state, signers and the chains as data. `app.wallet.wallet.Wallet` is the entry point."""
