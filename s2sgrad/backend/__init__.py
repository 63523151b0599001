"""The array backend: the one module through which generated code and the
runtime reach array functions (NumPy today)."""
