"""The vocabulary every meetbot package shares: outcomes, errors, the job and its lifecycle, the
callback payloads, the settings, public URLs, and the few asyncio and HTTP helpers they all use.

A leaf: nothing in here imports another meetbot package.
"""
