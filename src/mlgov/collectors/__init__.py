"""Collectors: one per plane. Each reads one scope through the real SDK and returns records.

A collector never lets an SDK error escape: a scope or API family that cannot be read becomes
a failed `ScopeStatus` (and an AUD-001 finding), and the rest of the audit goes on.
"""
