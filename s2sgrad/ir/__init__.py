"""The IR: the grammar of normal-form programs, its checker, and the typed
side tables in which analyses record facts about a program."""
