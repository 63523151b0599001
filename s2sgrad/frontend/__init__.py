"""Front end: user function -> AST with resolved names -> normal form.

Output guarantees: *parse* gives the user's ``FunctionDef`` (grammar stage
``source``) with a resolver of its names; *normalise* gives a program of the
``normal`` stage of :mod:`s2sgrad.ir.grammar`, or an UnsupportedSyntaxError
naming the construct and the user's file and line.
"""
