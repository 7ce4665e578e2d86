"""The parts of the RemoteGPU API contract the benchmark needs, imported from the product here
and nowhere else in bench/, so that a move of them in the product is a one-line change."""

from __future__ import annotations

from rgpu_exec.contract import API_KEY_HEADER, exchange_url

__all__ = ["API_KEY_HEADER", "exchange_url"]
