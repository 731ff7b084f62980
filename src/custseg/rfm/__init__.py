"""rfm stage."""
