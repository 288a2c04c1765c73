"""Data requests: what a requester wants labelled, how, for what reward; progress and export."""
