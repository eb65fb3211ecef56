"""Earnings: credited time, exact pro-rata shares, immutable payouts."""
