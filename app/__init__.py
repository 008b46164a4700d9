"""kilde."""
