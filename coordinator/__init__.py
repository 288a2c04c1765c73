"""The Alaya coordinator: sign-in by wallet, data requests, leases, submissions, consensus, credits."""
