"""The wallet's chain pages: balances and staking, level and medallions, redemption, verify."""
