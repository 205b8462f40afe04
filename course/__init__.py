"""Course content: lessons, visualizations, the poetry corpus and the poet assembly."""
