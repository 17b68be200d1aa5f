"""The knowledge base: cited data files and their loader/validator."""

from hepcal.knowledge.loader import EvidenceVariable, KnowledgeBase, load, read

__all__ = ["EvidenceVariable", "KnowledgeBase", "load", "read"]
