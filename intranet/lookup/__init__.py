"""Find anything from one box (issue 16): the header search over requests and citizens, and the citizen page."""
