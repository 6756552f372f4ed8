"""Consultant logins: accounts, sessions that expire, and rate-limited sign-in."""
