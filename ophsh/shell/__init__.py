"""The shell: variables, aliases, built-ins, dispatch to a backend, and script replay."""
