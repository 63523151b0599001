"""The IR: the grammar of normal-form programs, its checker, and the typed
side tables in which analyses record facts about a program.

Output guarantees: :func:`grammar.check` raises IRCheckError (naming the
pass, the rule and the line) exactly for programs outside their stage's
grammar, and changes nothing.
"""
