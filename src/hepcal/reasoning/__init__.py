"""Reasoning: posterior, explanation, next finding and recommendation over the knowledge base."""

from hepcal.reasoning.assessment import Assessment, Entry, assess
from hepcal.reasoning.network import Network, compile_network, network

__all__ = ["Assessment", "Entry", "Network", "assess", "compile_network", "network"]
