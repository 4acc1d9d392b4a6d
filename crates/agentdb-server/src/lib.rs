//! AgentDB over HTTP (skeleton).
