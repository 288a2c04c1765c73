"""Sign-in with Ethereum (EIP-4361): nonces, sessions, accounts."""
