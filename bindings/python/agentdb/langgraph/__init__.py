"""LangGraph integrations: ``AgentDBSaver`` (checkpointer) and ``AgentDBStore`` (long-term store).

Requires the ``langgraph`` package (not a dependency of ``agentdb`` itself).
"""

from .checkpoint import AgentDBSaver
from .store import AgentDBStore

__all__ = ["AgentDBSaver", "AgentDBStore"]
