"""The shipped principle library: YAML files only, read with importlib.resources."""
