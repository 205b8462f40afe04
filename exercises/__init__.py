"""The course exercises: one stub per reference piece, grouped by lesson."""
