"""Reception desk: walk-in intake on behalf of citizens."""
