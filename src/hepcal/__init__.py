"""hepcal: decision support for calcified liver lesions.

The flow: a case (the contract) → ``findings`` (validated model) → ``knowledge`` (cited
knowledge base) → ``reasoning`` (posterior, explanation, next finding, recommendation) →
``report`` / ``web`` / ``cli``. The CT side (``imaging``) produces findings in the same contract.
"""

__version__ = "0.1.0"
