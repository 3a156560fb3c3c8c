"""The browser uploader and viewers: a Vite build of the repo's `web/` folder, served under /app."""
