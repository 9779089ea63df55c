"""The publisher's tools: `repo-tools` (repo_tools.cli) over one library module per job."""

from repo_tools.errors import RepoError

__all__ = ["RepoError"]
