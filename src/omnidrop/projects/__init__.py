"""Projects: what an upload session (or a remote link) becomes, processed in the background."""
