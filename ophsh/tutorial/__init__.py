"""The guided course, ``ophsh tutorial``: lessons as data, checks, the course, its prompt."""
