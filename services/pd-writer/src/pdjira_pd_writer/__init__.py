"""pdjira package."""
