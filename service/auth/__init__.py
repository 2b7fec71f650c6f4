"""Identity: who is calling (tokens) and what they may do (roles, policies)."""
