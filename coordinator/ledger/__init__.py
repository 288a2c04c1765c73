"""Credits (a double-entry ledger with monthly epochs) and the game layer of a contributor."""
