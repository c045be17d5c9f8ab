"""Property tests: random networks in the file language against an independent oracle."""
