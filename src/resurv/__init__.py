"""resurv."""
